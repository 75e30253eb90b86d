"""GpuManager: the GPU part of the runtimes pillar (one per server, owned by RuntimeService).

It holds the inventory (an implementation of `GpuInventory`; NVML ships), the allocator, and the
culling loop for runtimes that hold GPUs. Runtimes without GPUs are never looked at here: they
follow jupyter_server's own culling settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...base import NJError
from .allocator import GpuAllocator, GpuRequest, parse_gpu_request, requested_count
from .culling import IdleClock, Verdict
from .inventory import GpuInventory, GpuReport

log = logging.getLogger(__name__)

EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_nj/gpus/v1"
EVENT_SCHEMA_PATH = Path(__file__).parent / "events" / "gpus.yaml"


@dataclass(frozen=True)
class CullSettings:
    """Seconds, and percent for `utilization` (NJApp.gpu_idle_*, gpu_cull_*)."""

    timeout: float = 1800.0
    utilization: float = 5.0
    warning: float = 300.0
    interval: float = 60.0


class GpuManager:
    def __init__(
        self,
        inventory: GpuInventory,
        allocator: GpuAllocator,
        culling: CullSettings | None = None,
    ) -> None:
        self.inventory = inventory
        self.allocator = allocator
        self.culling = culling or CullSettings()
        self.kernel_manager: Any = None
        self.event_logger: Any = None
        # Whether a container found at the server's start still runs (blocking; from service).
        self.container_alive: Callable[[str], bool] | None = None
        self._adopted: dict[str, str] = {}  # kernel id -> container id, rebuilt holders
        self._clocks: dict[str, IdleClock] = {}
        self._task: asyncio.Task[None] | None = None

    # -- the inventory -----------------------------------------------------------------------

    async def report(self) -> GpuReport:
        return await asyncio.to_thread(self.inventory.read)

    async def inventory_json(self) -> dict[str, Any]:
        """GET /nj/api/gpus: the host's GPUs and who holds each."""
        report = await self.report()
        holders = self.allocator.holders()
        return {
            "available": report.available,
            "reason": report.reason,
            "hint": report.hint,
            "sharing": self.allocator.sharing,
            "max_per_runtime": self.allocator.max_per_runtime,
            "max_per_user": self.allocator.max_per_user,
            "gpus": [
                {
                    "uuid": d.uuid,
                    "index": d.index,
                    "name": d.name,
                    "memory_total": d.memory_total,
                    "memory_used": d.memory_used,
                    "utilization": d.utilization,
                    "allocated_to": holders[d.uuid][0].to_json() if holders.get(d.uuid) else None,
                    "holders": [h.to_json() for h in holders.get(d.uuid, [])],
                }
                for d in report.devices
            ],
        }

    # -- allocation --------------------------------------------------------------------------

    async def allocate(
        self, kernel_id: str, request: GpuRequest, notebook: str, runtime: str
    ) -> tuple[str, ...]:
        """The devices a starting kernel gets (NJError when it cannot have them)."""
        if requested_count(request) == 0 and request != "all":
            self.release(kernel_id)
            return ()
        self.ensure_culling()
        report = await self.report()
        return self.allocator.allocate(kernel_id, request, report, notebook, runtime)

    def release(self, kernel_id: str) -> tuple[str, ...]:
        self._clocks.pop(kernel_id, None)
        self._adopted.pop(kernel_id, None)
        released = self.allocator.release(kernel_id)
        if released:
            log.info("jupyter-nj: kernel %s released GPU(s) %s", kernel_id, ", ".join(released))
        return released

    async def check_request(
        self, kernel_id: str, value: Any, runtime: str, user: str
    ) -> GpuRequest:
        """Whether runtime `runtime` (kernel `kernel_id`) may run with `value` (a pin's `gpus`)
        now: the limits, and enough free devices. NJError otherwise, before anything restarts."""
        request = parse_gpu_request(value)
        if requested_count(request) == 0 and request != "all":
            return request
        report = await self.report()
        if not report.available:
            raise NJError(
                409,
                "no-gpu",
                f"Runtime {runtime!r} cannot have a GPU: there is {report.reason}. {report.hint}",
            )
        self.allocator.check_limits(request, user, report, kernel_id)
        self.allocator.check_fits(kernel_id, request, report)
        return request

    def rebuild(self, containers: list[Any]) -> int:
        """Adopt the GPUs of kernel containers already running (see GpuAllocator)."""
        found = self.allocator.rebuild_from_containers(containers)
        for container in containers:
            kernel_id = (getattr(container, "labels", {}) or {}).get("org.jupyter-nj.kernel-id")
            if kernel_id and self.allocator.held_by(kernel_id):
                self._adopted[kernel_id] = str(container.id)
        return found

    # -- culling -----------------------------------------------------------------------------

    def attach(self, kernel_manager: Any, event_logger: Any = None) -> None:
        """The server's kernels (to cull) and event logger (to report culls)."""
        self.kernel_manager = kernel_manager
        if event_logger is not None:
            event_logger.register_event_schema(EVENT_SCHEMA_PATH)
            self.event_logger = event_logger
        self.ensure_culling()

    def ensure_culling(self) -> None:
        """Start the culling loop, once, on the running event loop (at the server's start, and
        at the latest when a runtime first takes a GPU)."""
        # Also with culling off: the same passes release the GPUs of crashed runtimes and of
        # containers found at the start that are gone.
        if self._task is not None or self.kernel_manager is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving yet: the server's start calls this again
        self._task = loop.create_task(self._cull_loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.inventory.close)

    async def _cull_loop(self) -> None:
        while True:
            await asyncio.sleep(max(self.culling.interval, 0.1))
            try:
                await self.check_once()
            except Exception:  # one bad check must not end culling
                log.exception("jupyter-nj: GPU culling check failed")

    async def check_once(self, now: float | None = None) -> list[dict[str, Any]]:
        """One pass over the runtimes holding GPUs: release what is gone, warn, cull. Returns
        the events it emitted."""
        km = self.kernel_manager
        held = self.allocator.kernels()
        if not held:
            return []
        report = await self.report()
        now = time.time() if now is None else now
        emitted: list[dict[str, Any]] = []
        for kernel_id, (holder, uuids) in held.items():
            if kernel_id in self._adopted:
                alive = self.container_alive
                container = self._adopted[kernel_id]
                if alive is None or not await asyncio.to_thread(alive, container):
                    self.release(kernel_id)
                continue
            if km is None or kernel_id not in km:
                if kernel_id in getattr(km, "_pending_kernels", {}):
                    continue  # still starting: the kernel manager lists it once it runs
                # Crashed and forgotten, or shut down without a cleanup: the devices are free.
                self.release(kernel_id)
                continue
            kernel = km.get_kernel(kernel_id)
            restarting = getattr(km, "restarting", None)
            if restarting is not None and restarting(kernel_id):
                continue
            if not await _alive(kernel):
                # Crashed, and the restarter gave up (or has not restarted it yet: its restart
                # takes devices again): a dead runtime holds no GPU.
                self.release(kernel_id)
                continue
            if self.culling.timeout <= 0:
                continue
            clock = self._clocks.get(kernel_id)
            if clock is None:
                clock = self._clocks[kernel_id] = IdleClock(
                    timeout=self.culling.timeout,
                    threshold=self.culling.utilization,
                    warning=self.culling.warning,
                    idle_since=now,
                )
            utilization = [
                device.utilization if device is not None else None
                for device in (report.device(u) for u in uuids)
            ]
            activity = getattr(kernel, "last_activity", None)
            verdict = clock.observe(
                now,
                busy=getattr(kernel, "execution_state", "") in {"busy", "starting"},
                last_activity=activity.timestamp() if activity is not None else 0.0,
                utilization=utilization,
            )
            if verdict is Verdict.KEEP:
                continue
            idle = round(clock.idle_for(now), 1)
            event: dict[str, Any] = {
                "kernel_id": kernel_id,
                "notebook": holder.notebook,
                "runtime": holder.runtime,
                "gpus": list(uuids),
                "idle_seconds": idle,
            }
            if verdict is Verdict.WARN:
                remaining = max(self.culling.timeout - idle, 0.0)
                event.update(
                    action="runtime-cull-warning",
                    cull_in_seconds=round(remaining, 1),
                    message=(
                        f"Runtime {holder.runtime!r} holds {len(uuids)} GPU(s) and has been "
                        f"idle for {_duration(idle)}: it stops in {_duration(remaining)} unless "
                        "a cell runs or its GPU gets busy."
                    ),
                )
            else:
                event.update(
                    action="runtime-culled",
                    message=(
                        f"Runtime {holder.runtime!r} was stopped to free its {len(uuids)} "
                        f"GPU(s): it ran no cell and its GPUs stayed under "
                        f"{self.culling.utilization:g}% for {_duration(idle)} "
                        "(NJApp.gpu_idle_timeout). Its variables are gone; "
                        + (
                            "start it again to continue."
                            if holder.runtime == "main"
                            else "the next cell on it starts it again."
                        )
                    ),
                )
                provisioner = getattr(kernel, "provisioner", None)
                if provisioner is not None:
                    provisioner.exit_reason = event["message"]
            self._emit(event)
            emitted.append(event)
            if verdict is Verdict.CULL:
                log.warning("jupyter-nj: culling GPU runtime %s: %s", kernel_id, event["message"])
                try:
                    await km.shutdown_kernel(kernel_id)
                finally:
                    self.release(kernel_id)
        return emitted

    def _emit(self, data: dict[str, Any]) -> None:
        if self.event_logger is None:
            return
        try:
            self.event_logger.emit(schema_id=EVENT_SCHEMA_ID, data=data)
        except Exception:  # reporting must never stop a cull
            log.exception("jupyter-nj: could not emit the GPU event %s", data.get("action"))


async def _alive(kernel: Any) -> bool:
    try:
        return bool(await kernel.is_alive())
    except Exception:  # noqa: BLE001  an engine briefly away: no reason to take its GPUs
        return True


def _duration(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds)} s"


async def choose_runtime_gpus(
    manager: GpuManager,
    kernel_manager: Any,
    documents: Any,
    kernel_id: str,
    runtime: Any,
    value: Any,
    user: str,
) -> dict[str, Any]:
    """The runtime's GPU menu: check that runtime `runtime` (the provisioner of kernel
    `kernel_id`) may have `value`, write it into the notebook's pin, restart the runtime on it.
    NJError when it may not (nothing changes then) or when it did not start with it."""
    from ..pins import write_pin_gpus

    name = runtime.runtime_name
    notebook = runtime.session_name
    if not notebook.endswith(".ipynb"):
        raise NJError(
            409,
            "no-notebook",
            "This runtime belongs to no notebook, so there is no pin to ask for GPUs in.",
        )
    request = await manager.check_request(kernel_id, value, name, user)
    stored: Any = list(request) if isinstance(request, tuple) else request
    manager.allocator.asked_by(notebook, name, user)
    await documents.edit_notebook_metadata(
        notebook, lambda nb: write_pin_gpus(nb, name, stored, runtime.record)
    )
    try:
        await kernel_manager.restart_kernel(kernel_id)
    except Exception as err:  # noqa: BLE001  the start's own reason is the answer
        reason = runtime.start_error or str(err)
        raise NJError(
            409,
            "gpu-start-failed",
            f"Runtime {name!r} did not start with the GPUs it asks for: {reason}",
        ) from None
    held = runtime.gpus
    if held:
        message = f"Runtime {name!r} restarted with GPU(s) {', '.join(held)}."
    else:
        message = f"Runtime {name!r} restarted without a GPU."
    return {"runtime": name, "notebook": notebook, "gpus": list(held), "message": message}
