"""GPUs per runtime against the real server and the real engine, on machines without a GPU.

The host's GPUs come from the inventory test double (tests/runtimes/gpu_double.py) except where
a test says it reads the shipped NVML inventory: these tests prove the plumbing (allocation and
release, the device requests a container is created with, the engine's refusal, culling
decisions, the rebuild after a restart). None of them is a GPU test: scripts/gpu-check.sh is.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from .conftest import KernelSession, start_session_kernel, write_notebook
from .gpu_double import GpuInventoryDouble

DOUBLE = f"{GpuInventoryDouble.__module__}.{GpuInventoryDouble.__name__}"


@pytest.fixture
def gpu_inventory() -> str:
    return DOUBLE


@pytest.fixture
def gpu_count() -> int:
    return 1


@pytest.fixture
def gpu_host(gpu_count: int) -> list[str]:
    """The UUIDs of the double's GPUs (utilization 0 unless a test sets it)."""
    return [d.uuid for d in GpuInventoryDouble.reset(gpu_count)]


@pytest.fixture
def nj_config(nj_config: dict[str, Any], gpu_inventory: str, gpu_host: list[str]) -> dict[str, Any]:
    return {
        **nj_config,
        "gpu_inventory_class": gpu_inventory,
        "gpu_idle_timeout": 3.0,
        "gpu_cull_warning": 1.5,
        "gpu_cull_interval": 0.3,
    }


async def build_local_mini(jp_fetch: Any) -> None:
    response = await jp_fetch(
        "nj", "api", "environments", "mini", "build", method="POST", body='{"backend": "local"}'
    )
    assert response.code == 201


async def get_json(jp_fetch: Any, *parts: str) -> Any:
    return json.loads((await jp_fetch(*parts)).body)


async def ask_gpus(jp_fetch: Any, kernel_id: str, gpus: Any) -> Any:
    response = await jp_fetch(
        "nj", "api", "runtimes", kernel_id, "gpus", method="POST", body=json.dumps({"gpus": gpus})
    )
    return json.loads(response.body)


def refusal(err: pytest.ExceptionInfo[HTTPClientError]) -> str:
    response = err.value.response
    return response.body.decode() if response is not None else ""


def gpu_notebook(root: Path, path: str, gpus: Any, environment: str = "mini") -> None:
    write_notebook(root, path, {"environment": environment})
    nb = nbformat.read(str(root / path), as_version=4)
    nb.metadata["nj"]["runtimes"]["main"]["gpus"] = gpus
    nbformat.write(nb, str(root / path))


async def visible_devices(session: KernelSession) -> str:
    status, out, _ = await session.run(
        "import os; print(repr(os.environ.get('CUDA_VISIBLE_DEVICES')))"
    )
    assert status == "ok", out
    return out.strip()


@pytest.mark.parametrize("gpu_inventory", ["jupyter_nj.runtimes.gpus.inventory.NvmlInventory"])
async def test_a_host_without_an_nvidia_driver_says_so_and_a_gpu_request_is_refused_clearly(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    """The shipped NVML inventory on this machine (no driver): not an error, a reason."""
    inventory = await get_json(jp_fetch, "nj", "api", "gpus")
    assert inventory["available"] is False and inventory["gpus"] == []
    assert inventory["reason"] == "no NVIDIA driver on this host"
    assert "nvidia-smi" in inventory["hint"] and "container toolkit" in inventory["hint"]

    await build_local_mini(jp_fetch)
    write_notebook(jp_root_dir, "plain.ipynb", {"environment": "mini"})
    session = await start_session_kernel(jp_fetch, jp_serverapp, "plain.ipynb", "nj-mini")
    try:
        with pytest.raises(HTTPClientError) as err:
            await ask_gpus(jp_fetch, session.kernel_id, 1)
        assert err.value.code == 409
        assert "no NVIDIA driver on this host" in refusal(err)
        # Refused before anything changed: the runtime still runs, the pin asks for nothing.
        assert (await session.run("1 + 1"))[0] == "ok"
        pin = nbformat.read(str(jp_root_dir / "plain.ipynb"), as_version=4).metadata["nj"]
        assert "gpus" not in pin["runtimes"]["main"]
    finally:
        await session.shutdown()


async def test_a_local_runtime_gets_its_own_gpu_and_another_runtime_is_told_who_holds_it(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, gpu_host: list[str]
) -> None:
    await build_local_mini(jp_fetch)
    gpu_notebook(jp_root_dir, "a.ipynb", 1)
    gpu_notebook(jp_root_dir, "b.ipynb", 1)
    first = await start_session_kernel(jp_fetch, jp_serverapp, "a.ipynb", "nj-mini")
    second: KernelSession | None = None
    try:
        assert await visible_devices(first) == repr(gpu_host[0])
        inventory = await get_json(jp_fetch, "nj", "api", "gpus")
        held = inventory["gpus"][0]["allocated_to"]
        assert held["kernel_id"] == first.kernel_id
        assert (held["notebook"], held["runtime"]) == ("a.ipynb", "main")
        info = await get_json(jp_fetch, "nj", "api", "runtimes", first.kernel_id)
        assert info["gpus"]["requested"] == 1 and info["gpus"]["allocated"] == gpu_host

        with pytest.raises(HTTPClientError) as err:
            await start_session_kernel(jp_fetch, jp_serverapp, "b.ipynb", "nj-mini")
        assert "is held by runtime 'main' of a.ipynb" in refusal(err)

        await first.shutdown()  # released on shutdown: the other notebook may have it now
        inventory = await get_json(jp_fetch, "nj", "api", "gpus")
        assert inventory["gpus"][0]["allocated_to"] is None
        second = await start_session_kernel(jp_fetch, jp_serverapp, "b.ipynb", "nj-mini")
        assert await visible_devices(second) == repr(gpu_host[0])
    finally:
        await first.shutdown()
        if second is not None:
            await second.shutdown()


async def test_the_gpu_menu_restarts_the_runtime_with_a_gpu_and_back_without(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, gpu_host: list[str]
) -> None:
    await build_local_mini(jp_fetch)
    write_notebook(jp_root_dir, "menu.ipynb", {"environment": "mini"})
    session = await start_session_kernel(jp_fetch, jp_serverapp, "menu.ipynb", "nj-mini")
    try:
        assert await visible_devices(session) == repr("")  # no GPU asked: none visible
        answer = await ask_gpus(jp_fetch, session.kernel_id, [gpu_host[0]])
        assert answer["gpus"] == gpu_host and "restarted with GPU" in answer["message"]
        await session.ready()
        assert await visible_devices(session) == repr(gpu_host[0])
        pin = nbformat.read(str(jp_root_dir / "menu.ipynb"), as_version=4).metadata["nj"]
        assert pin["runtimes"]["main"]["gpus"] == gpu_host

        answer = await ask_gpus(jp_fetch, session.kernel_id, 0)
        assert answer["gpus"] == [] and "without a GPU" in answer["message"]
        await session.ready()
        assert await visible_devices(session) == repr("")
        pin = nbformat.read(str(jp_root_dir / "menu.ipynb"), as_version=4).metadata["nj"]
        assert "gpus" not in pin["runtimes"]["main"]
        inventory = await get_json(jp_fetch, "nj", "api", "gpus")
        assert inventory["gpus"][0]["allocated_to"] is None
    finally:
        await session.shutdown()


@pytest.mark.parametrize("gpu_count", [2])
async def test_an_idle_gpu_runtime_is_warned_then_culled_and_a_busy_one_is_kept(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, gpu_host: list[str]
) -> None:
    from jupyter_nj.runtimes.gpus.manager import EVENT_SCHEMA_ID

    events: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        events.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=EVENT_SCHEMA_ID, listener=listener)
    await build_local_mini(jp_fetch)
    gpu_notebook(jp_root_dir, "training.ipynb", 1)
    gpu_notebook(jp_root_dir, "holding.ipynb", 1)
    # The first free GPU (index 0) goes to the first runtime. Its GPU stays busy although the
    # runtime sends nothing (a silent training loop); the other runtime only holds its GPU.
    busy_gpu = gpu_host[0]
    GpuInventoryDouble.utilization[busy_gpu] = 97
    training = await start_session_kernel(jp_fetch, jp_serverapp, "training.ipynb", "nj-mini")
    holding = await start_session_kernel(jp_fetch, jp_serverapp, "holding.ipynb", "nj-mini")
    km = jp_serverapp.kernel_manager
    try:
        assert km.get_kernel(training.kernel_id).provisioner.gpus == (busy_gpu,)
        deadline = time.monotonic() + 30
        while holding.kernel_id in km and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert holding.kernel_id not in km, "the idle GPU runtime was not culled"
        await asyncio.sleep(3.5)  # longer than the idle timeout once more
        assert training.kernel_id in km, "a runtime whose GPU is busy was culled"
        await asyncio.sleep(0.1)

        mine = [e for e in events if e["kernel_id"] == holding.kernel_id]
        assert [e["action"] for e in mine] == ["runtime-cull-warning", "runtime-culled"]
        culled = mine[-1]
        assert culled["notebook"] == "holding.ipynb" and culled["runtime"] == "main"
        assert culled["gpus"] == [u for u in gpu_host if u != busy_gpu]
        assert culled["idle_seconds"] >= 3.0
        assert "NJApp.gpu_idle_timeout" in culled["message"]
        assert not [e for e in events if e["kernel_id"] == training.kernel_id]
        inventory = await get_json(jp_fetch, "nj", "api", "gpus")
        holders = {g["uuid"]: g["allocated_to"] for g in inventory["gpus"]}
        assert holders[busy_gpu]["kernel_id"] == training.kernel_id
        assert holders[culled["gpus"][0]] is None  # released by the cull
    finally:
        holding.client.stop_channels()
        await training.shutdown()


async def test_a_crashed_gpu_runtime_that_is_not_restarted_releases_its_gpu(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, gpu_host: list[str]
) -> None:
    import os
    import signal

    await build_local_mini(jp_fetch)
    gpu_notebook(jp_root_dir, "crash.ipynb", 1)
    session = await start_session_kernel(jp_fetch, jp_serverapp, "crash.ipynb", "nj-mini")
    try:
        # A GPU that stays busy: only the crash can free it, never the idle clock.
        GpuInventoryDouble.utilization[gpu_host[0]] = 97
        km = session.km
        km.autorestart = False  # as after the restarter gave up
        if km._restarter is not None:
            km._restarter.stop()
        os.kill(km.provisioner.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        held: Any = True
        while held and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            held = (await get_json(jp_fetch, "nj", "api", "gpus"))["gpus"][0]["allocated_to"]
        assert held is None, "a dead runtime still holds its GPU"
        assert session.kernel_id in jp_serverapp.kernel_manager  # not culled: released
    finally:
        await session.shutdown()


async def test_a_cell_whose_runtime_finds_no_free_gpu_says_which_runtime_holds_it(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, gpu_host: list[str]
) -> None:
    from ..compute.conftest import open_notebook

    await build_local_mini(jp_fetch)
    gpu_notebook(jp_root_dir, "holder.ipynb", 1)
    write_notebook(jp_root_dir, "cells.ipynb", {"environment": "mini"})
    nb = nbformat.read(str(jp_root_dir / "cells.ipynb"), as_version=4)
    nb.metadata["nj"]["runtimes"]["train"] = {"environment": "mini", "gpus": 1}
    nbformat.write(nb, str(jp_root_dir / "cells.ipynb"))
    holder = await start_session_kernel(jp_fetch, jp_serverapp, "holder.ipynb", "nj-mini")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "cells.ipynb", "nj-mini")
    notebook = await open_notebook(jp_ws_fetch, session.kernel_id)
    try:
        reply = await notebook.run("print('training')", runtime="train")
        assert reply["status"] == "error"
        assert "Runtime 'train'" in reply["out"]
        assert "is held by runtime 'main' of holder.ipynb" in reply["out"]
        assert (await notebook.run("print('main')"))["out"].strip() == "main"
        # Once the holder stops, the same cell gets the GPU.
        await holder.shutdown()
        reply = await notebook.run(
            "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])", runtime="train"
        )
        assert reply["out"].strip() == gpu_host[0]
    finally:
        await notebook.close()
        await session.shutdown()
        await holder.shutdown()
