"""JupyterHub's idle culler, as the deploy config runs it, against jupyter-nj's servers: a server
with nothing going on is stopped; one whose kernel is busy with a computation that prints
nothing is not, until the computation ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from .conftest import Hub, execute, running_hub

pytestmark = pytest.mark.hub

# Well above the time a server takes to start here (5-8 s): the culler counts a server's idle
# time from its start, so a slower start than this would cull it before it could be used.
IDLE_TIMEOUT = 15  # seconds (NJ_HUB_IDLE_TIMEOUT)
REPORTS = 1  # seconds between a server's activity reports to the hub, and busy-kernel checks
COMPUTATION = IDLE_TIMEOUT + 10  # seconds the busy kernel computes without a word


@pytest.fixture(scope="module")
def culling_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(
        tmp_path_factory.mktemp("culling-hub"),
        NJ_HUB_IDLE_TIMEOUT=str(IDLE_TIMEOUT),
        NJ_HUB_CULL_EVERY="1",
        NJ_HUB_TEST_ACTIVITY_INTERVAL=str(REPORTS),
        NJ_HUB_TEST_BUSY_INTERVAL=str(REPORTS),
    ) as hub:
        yield hub


def running(hub: Hub, user: str) -> bool:
    """Asked of the hub, never of the server: a request to the server is activity."""
    model = hub.api("GET", f"users/{user}").json()
    return bool(model.get("servers")) or bool(model.get("pending"))


def wait_until_stopped(hub: Hub, user: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while running(hub, user):
        assert time.monotonic() < deadline, f"{user}'s server was not culled:\n{hub.log_tail()}"
        time.sleep(0.5)
    return time.monotonic()


def test_the_culler_stops_idle_servers_and_spares_busy_kernels(culling_hub: Hub) -> None:
    hub = culling_hub
    hub.start_server("alice")
    reply = hub.server("alice", "api/kernels", method="POST", json={"name": "python3"})
    assert reply.status_code == 201, reply.text
    kernel_id = reply.json()["id"]
    # The kernel computes on with no client once it is busy, as after a closed browser tab.
    asyncio.run(
        execute(hub, "alice", kernel_id, f"import time; time.sleep({COMPUTATION})", until="busy")
    )
    busy_since = time.monotonic()
    hub.start_server("bob")

    # bob's server has nothing going on: the culler stops it after the idle timeout.
    bob_stopped = wait_until_stopped(hub, "bob", IDLE_TIMEOUT + 20)
    # alice's kernel computes in silence, well past the idle timeout: her server stays.
    while time.monotonic() < max(bob_stopped, busy_since + IDLE_TIMEOUT + 5):
        assert running(hub, "alice"), "a server with a busy kernel was culled"
        time.sleep(0.5)
    assert running(hub, "alice"), "a server with a busy kernel was culled"
    # Once the computation ends, her server is idle like any other, and goes.
    stopped = wait_until_stopped(hub, "alice", COMPUTATION + IDLE_TIMEOUT + 20)
    assert stopped - busy_since > COMPUTATION - 1
