"""A stopped or unreachable Docker engine: clear errors, local runtimes keep working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import start_session_kernel, write_notebook


@pytest.fixture
def nj_config(nj_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    # A catalog of its own: the fake Docker record below must not reach other tests.
    return {
        **nj_config,
        "nj_dir": str(tmp_path / "data"),
        "docker_host": f"unix://{tmp_path}/no-engine.sock",
        "runtime_backend": "auto",
    }


async def test_docker_build_without_engine_is_a_clear_503(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "nj",
            "api",
            "environments",
            "mini",
            "build",
            method="POST",
            body=json.dumps({"backend": "docker"}),
        )
    assert err.value.code == 503
    assert err.value.response is not None
    body = json.loads(err.value.response.body)
    assert body["reason"] == "docker-unavailable" and "local backend" in body["message"]
    listing = await jp_fetch("nj", "api", "environments")
    assert listing.code == 200


async def test_local_runtimes_work_and_docker_pins_run_locally(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any
) -> None:
    manager = nj_app.environment_manager
    local = await manager.abuild("mini", "local")
    # A notebook pinned on a Docker server (same lock) opens here on the local backend.
    docker_twin = type(local)(
        name="mini",
        version="sha256:" + "d" * 64,
        backend="docker",
        recipe=local.recipe,
        lock_sha256=local.lock_sha256,
        image="nj-env/mini:x",
    )
    manager.catalog.add(docker_twin)
    pin = {"environment": "mini", "version": docker_twin.version, "backend": "docker"}
    write_notebook(jp_root_dir, "from-docker.ipynb", pin)
    specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
    assert specs["nj-mini"]["spec"]["metadata"]["kernel_provisioner"]["provisioner_name"] == (
        "nj-local"
    )
    session = await start_session_kernel(jp_fetch, jp_serverapp, "from-docker.ipynb", "nj-mini")
    try:
        status, out, _ = await session.run("print(1 + 1)")
        assert (status, out.strip()) == ("ok", "2")
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert info["backend"] == "local"
        assert info["version"]["lock_sha256"] == docker_twin.lock_sha256
    finally:
        await session.shutdown()
