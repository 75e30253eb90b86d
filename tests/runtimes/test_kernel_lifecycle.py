"""Shut down, restart or interrupt a container kernel at any moment of its life, through REST.

Each test drives a real container kernel through the server's own kernel manager and REST API,
with the server's restarter running, and catches the kernel in one moment of its life: starting,
being restarted by the restarter after it crashed or ran out of memory, being culled. The moment
is reached by waiting on what the code signals (a restart callback, the manager's state), never by
sleeping. Each test then checks that no container and no private folder of the kernel is left.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.docker

DEADLINE = 180.0  # seconds; a container restart on two loaded cores takes a few


@pytest.fixture
def runtime_backend() -> str:
    return "docker"


@pytest.fixture
def work(jp_root_dir: Path) -> Path:
    folder = jp_root_dir / "lc"
    folder.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        os.chown(folder, 1000, 100)  # kernels run as 1000:100
    return folder


async def until(condition: Callable[[], Any], what: str, deadline: float = DEADLINE) -> None:
    """Wait until `condition()` is true (it may be a coroutine function)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        assert loop.time() < end, f"gave up waiting: {what}"
        await asyncio.sleep(0.05)


async def start_kernel(jp_fetch: Any) -> str:
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "nj-mini", "path": "lc"})
    )
    return str(json.loads(response.body)["id"])


async def rest(jp_fetch: Any, *path: str, method: str = "POST") -> int:
    """The status of one kernel REST call; a 4xx is an answer, a 5xx fails the test."""
    body = None if method == "DELETE" else "{}"
    try:
        response = await jp_fetch("api", "kernels", *path, method=method, body=body)
    except HTTPClientError as err:
        assert err.code < 500, f"{method} {'/'.join(path)} answered {err.code}: {err.response}"
        return int(err.code)
    return int(response.code)


def containers_of(docker_client: Any, kernel_id: str) -> list[Any]:
    return list(
        docker_client.containers.list(
            all=True, filters={"label": f"org.jupyter-nj.kernel-id={kernel_id}"}
        )
    )


def restart_begins(km: Any) -> asyncio.Event:
    """Set when the server's restarter decides to restart the kernel (it found it dead)."""
    event = asyncio.Event()
    km.add_restart_callback(event.set, "restart")
    return event


async def answers(km: Any) -> None:
    """The kernel (whichever container runs it now) executes code."""
    client = km.client()
    client.start_channels()
    out: list[str] = []
    try:
        await client.wait_for_ready(timeout=DEADLINE)
        reply = await client.execute_interactive(
            "print(6 * 7)",
            timeout=DEADLINE,
            output_hook=lambda m: out.append(m["content"].get("text", "")),
        )
        assert reply["content"]["status"] == "ok" and "".join(out).strip() == "42"
    finally:
        client.stop_channels()


async def gone(jp_serverapp: Any, docker_client: Any, kernel_id: str, kernel_dir: str) -> None:
    assert kernel_id not in jp_serverapp.kernel_manager
    assert containers_of(docker_client, kernel_id) == []
    assert not os.path.exists(kernel_dir)


async def crash_and_catch_the_restart(
    docker_client: Any, jp_serverapp: Any, kernel_id: str, how: str
) -> Any:
    """Make the kernel die (`kill`: the container is killed; `oom`: it runs out of memory) and
    return once the server's restarter is restarting it."""
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    began = restart_begins(km)
    if how == "kill":
        await until(lambda: containers_of(docker_client, kernel_id), "the container")
        containers_of(docker_client, kernel_id)[0].kill()
    else:
        client = km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=DEADLINE)
            # Past the 1 GiB limit the tests configure; swap is capped at the same value.
            client.execute("hog = [bytearray(64 * 2**20) for _ in range(40)]")
            await asyncio.wait_for(began.wait(), DEADLINE)
        finally:
            client.stop_channels()
    await asyncio.wait_for(began.wait(), DEADLINE)
    # The restart is in flight: the manager is not ready until the new container runs.
    assert not km.ready.done()
    return km


@pytest.mark.parametrize("how", ["kill", "oom"])
async def test_shutdown_while_the_restarter_restarts_a_dead_kernel(
    how: str, docker_mini: Any, docker_client: Any, jp_fetch: Any, jp_serverapp: Any, work: Path
) -> None:
    kernel_id = await start_kernel(jp_fetch)
    kernel_dir = jp_serverapp.kernel_manager.get_kernel(kernel_id).provisioner.kernel_dir
    await crash_and_catch_the_restart(docker_client, jp_serverapp, kernel_id, how)
    assert await rest(jp_fetch, kernel_id, method="DELETE") == 204
    await gone(jp_serverapp, docker_client, kernel_id, kernel_dir)


async def test_restart_while_the_restarter_restarts_a_dead_kernel(
    docker_mini: Any, docker_client: Any, jp_fetch: Any, jp_serverapp: Any, work: Path
) -> None:
    kernel_id = await start_kernel(jp_fetch)
    km = await crash_and_catch_the_restart(docker_client, jp_serverapp, kernel_id, "kill")
    kernel_dir = km.provisioner.kernel_dir
    assert await rest(jp_fetch, kernel_id, "restart") == 200
    await answers(km)
    assert len(containers_of(docker_client, kernel_id)) == 1  # the two restarts left one
    assert await rest(jp_fetch, kernel_id, method="DELETE") == 204
    await gone(jp_serverapp, docker_client, kernel_id, kernel_dir)


async def test_interrupt_while_the_restarter_restarts_a_dead_kernel(
    docker_mini: Any, docker_client: Any, jp_fetch: Any, jp_serverapp: Any, work: Path
) -> None:
    kernel_id = await start_kernel(jp_fetch)
    km = await crash_and_catch_the_restart(docker_client, jp_serverapp, kernel_id, "oom")
    kernel_dir = km.provisioner.kernel_dir
    assert await rest(jp_fetch, kernel_id, "interrupt") == 204
    await answers(km)
    assert await rest(jp_fetch, kernel_id, method="DELETE") == 204
    await gone(jp_serverapp, docker_client, kernel_id, kernel_dir)


@pytest.mark.parametrize("action", ["shutdown", "restart", "interrupt"])
async def test_lifecycle_calls_right_after_the_start_while_the_kernel_boots(
    action: str, docker_mini: Any, docker_client: Any, jp_fetch: Any, jp_serverapp: Any, work: Path
) -> None:
    # POST /api/kernels answers once the container runs, before the kernel in it is ready.
    kernel_id = await start_kernel(jp_fetch)
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    kernel_dir = km.provisioner.kernel_dir
    if action == "shutdown":
        assert await rest(jp_fetch, kernel_id, method="DELETE") == 204
    else:
        assert await rest(jp_fetch, kernel_id, action) == (200 if action == "restart" else 204)
        # An interrupt that lands before the kernel handles signals may kill it; then the
        # restarter brings it back. Either way the kernel ends up answering.
        await answers(km)
        assert len(containers_of(docker_client, kernel_id)) == 1
        assert await rest(jp_fetch, kernel_id, method="DELETE") == 204
    await gone(jp_serverapp, docker_client, kernel_id, kernel_dir)


async def test_server_shutdown_while_a_kernel_is_still_being_started(
    docker_mini: Any, docker_client: Any, jp_serverapp: Any, work: Path
) -> None:
    mkm = jp_serverapp.kernel_manager
    starting = asyncio.ensure_future(mkm.start_kernel(kernel_name="nj-mini", path="lc"))
    await until(lambda: mkm._pending_kernels or starting.done(), "the start to be pending")
    assert not starting.done()
    [kernel_id] = list(mkm._pending_kernels)
    await mkm.shutdown_all()  # what the server does when it stops
    await starting
    assert kernel_id not in mkm
    assert containers_of(docker_client, kernel_id) == []


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest, nj_config: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True},
            "allow_unauthenticated_access": False,
        },
        "NJApp": nj_config,
    }
    if request.node.get_closest_marker("culling"):
        # Idle for 2 s: culled at the next check, every second.
        config["MappingKernelManager"] = {"cull_idle_timeout": 2, "cull_interval": 1}
    return config


@pytest.mark.culling
@pytest.mark.parametrize("action", ["shutdown", "restart", "interrupt"])
async def test_lifecycle_calls_while_the_culler_shuts_the_kernel_down(
    action: str,
    docker_mini: Any,
    docker_client: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    work: Path,
) -> None:
    kernel_id = await start_kernel(jp_fetch)
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    kernel_dir = km.provisioner.kernel_dir
    await until(lambda: km.shutting_down, "the culler to start shutting the kernel down")
    if action == "shutdown":
        assert await rest(jp_fetch, kernel_id, method="DELETE") in {204, 404}
    else:
        # The culler's shutdown wins; the kernel is gone when the call is answered.
        assert await rest(jp_fetch, kernel_id, action) == 404
    await until(lambda: kernel_id not in jp_serverapp.kernel_manager, "the cull to finish")
    await gone(jp_serverapp, docker_client, kernel_id, kernel_dir)
