"""The warm pool: a kernel start claims a container that is already running and waiting."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import start_session_kernel, warm_pool, write_notebook
from .test_docker_runtime import writable_folder

pytestmark = pytest.mark.docker


@pytest.fixture
def runtime_backend() -> str:
    return "docker"


@pytest.fixture
def nj_config(nj_config: dict[str, Any]) -> dict[str, Any]:
    return {**nj_config, "runtime_pool_size": 1}


async def wait_for(predicate: Any, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


def pool_settled(pool: Any) -> bool:
    with pool.lock:
        return not any(pool.starting.values())


async def test_pooled_start_claims_a_waiting_container(
    docker_mini: dict[str, Any],
    docker_client: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NJ_TEST_SERVER_SECRET", "must-not-reach-kernels")
    work = writable_folder(jp_root_dir, "p")
    write_notebook(jp_root_dir, "p/a.ipynb")
    write_notebook(jp_root_dir, "p/b.ipynb")
    sessions = []
    pool = warm_pool(jp_serverapp)
    try:
        sessions.append(await start_session_kernel(jp_fetch, jp_serverapp, "p/a.ipynb", "nj-mini"))
        await wait_for(lambda: pool_settled(pool) and sum(map(len, pool.ready.values())))
        waiting = docker_client.containers.list(filters={"label": "org.jupyter-nj.pool=waiting"})
        assert waiting

        second = await start_session_kernel(jp_fetch, jp_serverapp, "p/b.ipynb", "nj-mini")
        sessions.append(second)
        container = docker_client.containers.get(f"nj-kernel-{second.kernel_id}")
        assert container.id in {c.id for c in waiting}  # it was a pooled one
        status, out, _ = await second.run(
            "import os, json; print(json.dumps({'uid': os.getuid(), 'cwd': os.getcwd(),"
            " 'session': os.environ.get('JPY_SESSION_NAME'), 'env': sorted(os.environ)}))"
        )
        assert status == "ok", out
        seen = json.loads(out)
        assert seen["uid"] == 1000 and seen["cwd"] == str(work.resolve())
        assert seen["session"] == "p/b.ipynb"
        assert "NJ_TEST_SERVER_SECRET" not in seen["env"]
        status, out, _ = await second.run("print(6 * 7)")
        assert out.strip() == "42"
    finally:
        for session in sessions:
            await session.shutdown()
        await wait_for(lambda: pool_settled(pool))
        pool.drain(lambda r: docker_client.containers.get(r.container_id).remove(force=True))
    assert not docker_client.containers.list(
        all=True, filters={"label": "org.jupyter-nj.pool=waiting"}
    )
