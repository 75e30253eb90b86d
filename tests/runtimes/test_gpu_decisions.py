"""GPU allocation and culling decisions on their own (no server): which devices a request
gets, what a refusal says, and when an idle GPU runtime is warned and culled. The inventory is
the test double; these are not GPU tests."""

from __future__ import annotations

import pytest

from jupyter_nj.base import NJError
from jupyter_nj.runtimes.gpus.allocator import GpuAllocator, GpuHolder, parse_gpu_request
from jupyter_nj.runtimes.gpus.culling import IdleClock, Verdict

from .gpu_double import GpuInventoryDouble


@pytest.fixture
def two_gpus() -> list[str]:
    return [d.uuid for d in GpuInventoryDouble.reset(2)]


def report() -> object:
    return GpuInventoryDouble().read()


def test_requests_are_counts_uuids_or_all_and_nothing_else() -> None:
    assert parse_gpu_request(None) == 0
    assert parse_gpu_request(2) == 2
    assert parse_gpu_request("1") == 1
    assert parse_gpu_request(["GPU-a", "GPU-a", "GPU-b"]) == ("GPU-a", "GPU-b")
    assert parse_gpu_request("all") == "all"
    for bad in (-1, "many", [1], {"n": 1}):
        with pytest.raises(NJError) as err:
            parse_gpu_request(bad)
        assert err.value.status_code == 400


def test_two_runtimes_never_get_the_same_gpu_and_the_refusal_names_the_holder(
    two_gpus: list[str],
) -> None:
    allocator = GpuAllocator()
    first = allocator.allocate("k1", 1, report(), "a.ipynb", "main", "ada")
    second = allocator.allocate("k2", 1, report(), "b.ipynb", "train", "bob")
    assert first != second and set(first + second) == set(two_gpus)
    with pytest.raises(NJError) as err:
        allocator.allocate("k3", 1, report(), "c.ipynb", "main", "cy")
    assert err.value.status_code == 409
    assert "runtime 'main' of a.ipynb" in err.value.message
    assert "runtime 'train' of b.ipynb" in err.value.message and "bob" in err.value.message
    # A restart asks again and keeps its own device; a release frees it for the next one.
    assert allocator.allocate("k1", 1, report(), "a.ipynb", "main", "ada") == first
    assert allocator.release("k1") == first
    assert allocator.allocate("k3", 1, report(), "c.ipynb", "main", "cy") == first


def test_a_specific_device_a_busy_one_and_an_unknown_one(two_gpus: list[str]) -> None:
    allocator = GpuAllocator()
    assert allocator.allocate("k1", (two_gpus[1],), report()) == (two_gpus[1],)
    with pytest.raises(NJError, match="GPU 1 .* is held by"):
        allocator.allocate("k2", (two_gpus[1],), report())
    with pytest.raises(NJError, match="no GPU GPU-nope"):
        allocator.allocate("k2", ("GPU-nope",), report())
    assert allocator.held_by("k2") == ()


def test_sharing_all_and_the_operators_limits(two_gpus: list[str]) -> None:
    shared = GpuAllocator(sharing=True)
    assert shared.allocate("k1", 2, report()) and shared.allocate("k2", 2, report())
    with pytest.raises(NJError) as err:
        GpuAllocator().allocate("k1", "all", report())
    assert err.value.status_code == 403 and "gpu_allow_all" in err.value.message
    assert GpuAllocator(allow_all=True).allocate("k1", "all", report()) == tuple(two_gpus)
    with pytest.raises(NJError, match="gpu_max_per_runtime"):
        GpuAllocator(max_per_runtime=1).allocate("k1", 2, report())
    per_user = GpuAllocator(max_per_user=1)
    per_user.allocate("k1", 1, report(), user="ada")
    with pytest.raises(NJError, match="gpu_max_per_user"):
        per_user.allocate("k2", 1, report(), user="ada")
    assert per_user.allocate("k2", 1, report(), user="bob")


def test_no_gpu_on_the_host_is_a_clear_refusal_and_none_needs_nothing() -> None:
    GpuInventoryDouble.reset(0)
    allocator = GpuAllocator()
    assert allocator.allocate("k1", 0, report()) == ()
    with pytest.raises(NJError) as err:
        allocator.allocate("k1", 1, report(), runtime="train")
    assert err.value.status_code == 409
    assert "Runtime 'train' asks for GPUs" in err.value.message


def test_rebuild_adopts_only_containers_that_hold_gpus(two_gpus: list[str]) -> None:
    class Container:
        def __init__(self, id: str, labels: dict[str, str]) -> None:
            self.id, self.labels = id, labels

    allocator = GpuAllocator()
    found = allocator.rebuild_from_containers(
        [
            Container("c1", {"org.jupyter-nj.gpus": two_gpus[0], "org.jupyter-nj.kernel-id": "k9"}),
            Container("c2", {"org.jupyter-nj.kernel-id": "k8"}),
        ]
    )
    assert found == 1 and allocator.held_by("k9") == (two_gpus[0],)
    assert allocator.allocate("k1", 1, report()) == (two_gpus[1],)
    holder = allocator.holders()[two_gpus[0]][0]
    assert isinstance(holder, GpuHolder) and holder.kernel_id == "k9"


def clock(timeout: float = 100, warning: float = 20) -> IdleClock:
    return IdleClock(timeout=timeout, threshold=5, warning=warning, idle_since=0)


def test_a_runtime_that_only_holds_gpu_memory_is_warned_then_culled() -> None:
    idle = clock()
    assert idle.observe(50, busy=False, last_activity=0, utilization=[0]) is Verdict.KEEP
    assert idle.observe(85, busy=False, last_activity=0, utilization=[1]) is Verdict.WARN
    assert idle.observe(90, busy=False, last_activity=0, utilization=[1]) is Verdict.KEEP
    assert idle.observe(100, busy=False, last_activity=0, utilization=[0]) is Verdict.CULL


def test_a_busy_gpu_keeps_a_silent_runtime_and_a_cell_restarts_the_clock() -> None:
    training = clock()
    for now in range(0, 1000, 10):  # no message at all, the GPU busy: never culled
        assert training.observe(now, False, 0, [97]) is Verdict.KEEP
    cell = clock()
    assert cell.observe(90, False, 0, [0]) is Verdict.WARN
    assert cell.observe(95, False, 94, [0]) is Verdict.KEEP  # a cell ran at 94
    assert cell.observe(190, False, 94, [0]) is Verdict.WARN  # warned again first
    assert cell.observe(194, False, 94, [0]) is Verdict.CULL
    busy = clock()
    assert busy.observe(150, True, 0, [0]) is Verdict.KEEP  # running a cell (CPU work)


def test_an_unreadable_utilization_never_culls() -> None:
    unknown = clock()
    assert unknown.observe(500, False, 0, [None]) is Verdict.KEEP
    assert unknown.observe(1000, False, 0, []) is Verdict.KEEP
