"""GPUs for container runtimes against the real engine, which here has no NVIDIA runtime: the
devices a container is created with, the engine's refusal as the runtime's and the cell's
answer, and allocations rebuilt from running containers when the server starts. The host's GPUs
are the inventory test double's; these are not GPU tests (scripts/gpu-check.sh is)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from docker.errors import NotFound
from tornado.httpclient import HTTPClientError

from ..compute.conftest import open_notebook
from .conftest import start_session_kernel, write_notebook
from .gpu_double import GpuInventoryDouble
from .test_docker_runtime import kernel_container, writable_folder
from .test_gpu_runtimes import ask_gpus, get_json, refusal

pytestmark = pytest.mark.docker

DOUBLE = f"{GpuInventoryDouble.__module__}.{GpuInventoryDouble.__name__}"


@pytest.fixture
def runtime_backend() -> str:
    return "docker"


@pytest.fixture
def gpu_host() -> list[str]:
    return [d.uuid for d in GpuInventoryDouble.reset(1)]


@pytest.fixture
def nj_config(nj_config: dict[str, Any], gpu_host: list[str]) -> dict[str, Any]:
    return {**nj_config, "gpu_inventory_class": DOUBLE, "gpu_cull_interval": 0.3}


def docker_pin(docker_mini: dict[str, Any]) -> dict[str, str]:
    return {"environment": "mini", "version": docker_mini["version"], "backend": "docker"}


async def test_a_container_asks_the_engine_for_exactly_its_gpu_and_the_refusal_is_reported(
    docker_mini: dict[str, Any],
    docker_client: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    gpu_host: list[str],
) -> None:
    writable_folder(jp_root_dir, "gpu")
    write_notebook(jp_root_dir, "gpu/nb.ipynb", docker_pin(docker_mini))
    session = await start_session_kernel(jp_fetch, jp_serverapp, "gpu/nb.ipynb", "nj-mini")
    try:
        with pytest.raises(HTTPClientError) as err:
            await ask_gpus(jp_fetch, session.kernel_id, 1)
        assert err.value.code == 409
        answer = json.loads(refusal(err))["message"]
        assert "did not start with the GPUs it asks for" in answer
        assert "no NVIDIA runtime" in answer and "nvidia-ctk runtime configure" in answer
        assert 'could not select device driver "nvidia"' in answer

        info = await get_json(jp_fetch, "nj", "api", "runtimes", session.kernel_id)
        assert "no NVIDIA runtime" in info["start_error"]
        # As the engine recorded the container it created: this device, by UUID, never "all".
        requests = info["gpus"]["device_requests"]
        assert len(requests) == 1
        assert requests[0]["Driver"] == "nvidia"
        assert requests[0]["DeviceIDs"] == gpu_host and not requests[0]["Count"]
        assert requests[0]["Capabilities"] == [["gpu"]]
        assert info["gpus"]["requested"] == 1 and info["gpus"]["allocated"] == []
        # The refused container is gone and the GPU is free again.
        assert kernel_container(docker_client, session.kernel_id) is None
        inventory = await get_json(jp_fetch, "nj", "api", "gpus")
        assert inventory["gpus"][0]["allocated_to"] is None

        # Back to no GPU from the same menu: the runtime starts again.
        answer = await ask_gpus(jp_fetch, session.kernel_id, 0)
        assert "without a GPU" in answer["message"]
        await session.ready()
        assert (await session.run("1 + 1"))[0] == "ok"
        container = kernel_container(docker_client, session.kernel_id)
        assert not container.attrs["HostConfig"].get("DeviceRequests")
        assert "org.jupyter-nj.gpus" not in container.labels
        pin = nbformat.read(str(jp_root_dir / "gpu/nb.ipynb"), as_version=4).metadata["nj"]
        assert "gpus" not in pin["runtimes"]["main"]
    finally:
        await session.shutdown()


async def test_a_cell_on_a_gpu_runtime_the_engine_cannot_start_says_why_on_the_cell(
    docker_mini: dict[str, Any],
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    writable_folder(jp_root_dir, "cells")
    write_notebook(jp_root_dir, "cells/nb.ipynb", docker_pin(docker_mini))
    nb = nbformat.read(str(jp_root_dir / "cells/nb.ipynb"), as_version=4)
    nb.metadata["nj"]["runtimes"]["train"] = {**docker_pin(docker_mini), "gpus": 1}
    nbformat.write(nb, str(jp_root_dir / "cells/nb.ipynb"))
    session = await start_session_kernel(jp_fetch, jp_serverapp, "cells/nb.ipynb", "nj-mini")
    notebook = await open_notebook(jp_ws_fetch, session.kernel_id)
    try:
        reply = await notebook.run("print('on the GPU')", runtime="train")
        assert reply["status"] == "error"
        assert "Runtime 'train'" in reply["out"] and "no NVIDIA runtime" in reply["out"]
        assert "nvidia-ctk" in reply["out"]
        # The notebook's own runtime is untouched.
        assert (await notebook.run("print('main')"))["out"].strip() == "main"
    finally:
        await notebook.close()
        await session.shutdown()


OTHER_SERVER = "/elsewhere/nj/servers/theirs"


@pytest.fixture
def gpu_container_of_another_server(
    docker_client: Any, runtime_base_image: str, gpu_host: list[str]
) -> Iterator[Any]:
    """A running kernel container that holds GPU 0, as another jupyter-nj server on the same
    engine (or an earlier run of this one) leaves it: only its labels say so."""
    from jupyter_nj.runtimes.gpus.allocator import GPUS_LABEL
    from jupyter_nj.runtimes.provisioner import KERNEL_ROLE, ROLE_LABEL, SERVER_LABEL

    container = docker_client.containers.run(
        runtime_base_image,
        ["sleep", "300"],
        name=f"nj-kernel-gpu-rebuild-{int(time.time())}",
        detach=True,
        labels={
            ROLE_LABEL: KERNEL_ROLE,
            SERVER_LABEL: OTHER_SERVER,
            GPUS_LABEL: gpu_host[0],
            "org.jupyter-nj.kernel-id": "kernel-of-another-server",
            "org.jupyter-nj.notebook": "theirs.ipynb",
            "org.jupyter-nj.runtime": "train",
            "org.jupyter-nj.user": "ada",
        },
    )
    try:
        yield container
    finally:
        with contextlib.suppress(NotFound):
            container.remove(force=True)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: Any) -> dict[str, Any]:
    # The container of the rebuild test runs before its server starts.
    if "gpu_container_of_another_server" in request.fixturenames:
        request.getfixturevalue("gpu_container_of_another_server")
    return jp_server_config


async def test_gpus_held_by_running_containers_are_rebuilt_at_the_server_start(
    gpu_container_of_another_server: Any, jp_fetch: Any, gpu_host: list[str]
) -> None:
    inventory = await get_json(jp_fetch, "nj", "api", "gpus")
    held = inventory["gpus"][0]["allocated_to"]
    assert held == {
        "kernel_id": "kernel-of-another-server",
        "notebook": "theirs.ipynb",
        "runtime": "train",
        "user": "ada",
    }
    # Once that container is gone, the next check frees its GPU.
    gpu_container_of_another_server.remove(force=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        inventory = await get_json(jp_fetch, "nj", "api", "gpus")
        if inventory["gpus"][0]["allocated_to"] is None:
            break
        await asyncio.sleep(0.3)
    assert inventory["gpus"][0]["allocated_to"] is None
