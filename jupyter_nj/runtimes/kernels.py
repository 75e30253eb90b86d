"""Kernel managers under which a kernel can be shut down, restarted or interrupted at any moment.

jupyter_client lets the lifecycle operations on one kernel overlap, and some of its checks assume
they never do. With a container kernel (a restart takes seconds: remove one container, start
another) the windows are wide enough to hit in normal use, for example a kernel killed for memory,
restarted by the server's restarter, and shut down by the user while that restart runs:

- `MultiKernelManager.shutdown_kernel` reads `km.ready.exception()`; while a restart is in flight
  `ready` is a fresh, pending future, so that raises `InvalidStateError` (a 500), the shutdown never
  happens and the restarted container is left behind;
- `interrupt_kernel` refuses a kernel in that state ("pending") with a RuntimeError (a 500);
- the restarter's poll checks `is_alive` and then restarts without looking again: a poll already in
  flight when a shutdown starts restarts the kernel after that shutdown cleaned up, and nothing
  tracks the container it starts;
- a start that fails during a restart leaves the kernel with a failed `ready`, and the shutdown
  that follows drops the kernel without cleaning up its resources (its private folder).

`NJMappingKernelManager` waits for an operation in flight on a kernel to settle before it shuts
down, restarts or interrupts it; `NJKernelManager` serialises restarts with the final shutdown and
refuses to restart a kernel whose final shutdown has begun. NJApp installs both when the server
runs jupyter_server's defaults (see `use_settling_kernel_managers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
from typing import Any

from jupyter_client.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import (
    AsyncMappingKernelManager,
    ServerKernelManager,
)
from tornado import web
from traitlets import default


class NJKernelManager(ServerKernelManager):
    """One kernel: a restart and the final shutdown never overlap, and no restart follows it."""

    _lifecycle: asyncio.Lock | None = None
    # Set when the final shutdown (not the one inside a restart) begins; reset by a new start.
    _stopping = False

    def _lifecycle_lock(self) -> asyncio.Lock:
        if self._lifecycle is None:
            self._lifecycle = asyncio.Lock()
        return self._lifecycle

    async def start_kernel(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self._stopping = False
        return await super().start_kernel(*args, **kwargs)

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.provisioner is None:  # a first start, not a restart (which keeps its backend)
            self._use_declared_backend(kw.get("env") or {})
        return await super()._async_pre_start_kernel(**kw)

    def _use_declared_backend(self, env: dict[str, str]) -> None:
        """A runtime declared with a backend runs on it: its kernelspec (`nj-<environment>`,
        which names the backend the server prefers) is taken with the other backend's
        provisioner. Only jupyter-nj's own kernelspecs change."""
        from .provisioner import BACKEND_VARIABLE, BACKENDS

        backend = env.get(BACKEND_VARIABLE, "")
        spec = self.kernel_spec
        if spec is None or backend not in BACKENDS:
            return
        name = (spec.metadata or {}).get("kernel_provisioner", {}).get("provisioner_name", "")
        if not name.startswith("nj-") or name == f"nj-{backend}":
            return
        chosen = copy.deepcopy(spec)
        chosen.metadata["kernel_provisioner"]["provisioner_name"] = f"nj-{backend}"
        chosen.metadata.setdefault("nj", {})["backend"] = backend
        # Container kernels are interrupted by message (see docs/architecture.md).
        chosen.interrupt_mode = "message" if backend == "docker" else "signal"
        self._kernel_spec = chosen

    async def restart_kernel(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        async with self._lifecycle_lock():
            if self._stopping:
                # A restarter poll that saw the kernel dead just as it was being shut down.
                self.log.info("nj: kernel %s is shut down; not restarting it", self.kernel_id)
                return None
            return await super().restart_kernel(*args, **kwargs)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> Any:  # type: ignore[override]
        if restart:  # a caller restarting by hand (shutdown then start): nothing final
            return await super().shutdown_kernel(now=now, restart=restart)
        self._stopping = True
        async with self._lifecycle_lock():
            # Again: a restart that held the lock started the kernel anew, which resets it.
            self._stopping = True
            return await super().shutdown_kernel(now=now, restart=False)


class NJMappingKernelManager(AsyncMappingKernelManager):
    """The server's kernels: shutdown, restart and interrupt wait for the kernel to settle.

    A notebook's other runtimes (jupyter_nj/compute/) follow its kernel: `followers`, set by the
    app, hears of every shutdown, restart and interrupt once it is done.
    """

    followers: Any = None

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self) -> str:
        return f"{NJKernelManager.__module__}.{NJKernelManager.__name__}"

    async def _settled(self, kernel_id: str) -> ServerKernelManager | None:
        """The kernel's manager once no start, restart or shutdown of it is in flight, or None
        when the kernel no longer exists (it failed to start or was shut down meanwhile)."""
        while True:
            pending = self._pending_kernels.get(kernel_id)
            if pending is not None and not pending.done():
                await asyncio.wait([pending])  # its outcome belongs to whoever started it
                continue
            km = self._kernels.get(kernel_id)
            if km is None:
                return None
            ready = km.ready
            if not ready.done():
                # A restart replaces `ready` between its shutdown and its start: look again.
                await asyncio.wait(
                    [ready if asyncio.isfuture(ready) else asyncio.wrap_future(ready)]
                )
                continue
            return km

    def restarting(self, kernel_id: str) -> bool:
        """Whether a restart (or the final shutdown) of kernel `kernel_id` is in flight."""
        km = self._kernels.get(kernel_id)
        return isinstance(km, NJKernelManager) and km._lifecycle_lock().locked()

    async def settled(self, kernel_id: str) -> None:
        """Return once no restart of kernel `kernel_id` is in flight and it is started (or
        gone), so channels opened next reach the kernel on its new ports."""
        km = self._kernels.get(kernel_id)
        if isinstance(km, NJKernelManager):
            async with km._lifecycle_lock():
                pass
        await self._settled(kernel_id)

    async def _async_shutdown_kernel(
        self, kernel_id: str, now: bool | None = False, restart: bool | None = False
    ) -> None:
        known = kernel_id in self._kernels or kernel_id in self._pending_kernels
        if not known:
            return await super()._async_shutdown_kernel(kernel_id, now=now, restart=restart)
        km = await self._settled(kernel_id)
        if km is None:
            # Shut down by someone else, or never started: nothing is left to stop.
            self._pending_kernels.pop(kernel_id, None)
            return None
        if not km.ready.cancelled() and km.ready.exception() is not None:
            # Its last start failed (a restart that could not start the kernel again); the
            # shutdown below then only forgets the kernel, so free its resources here.
            with contextlib.suppress(Exception):
                await ensure_async(km.cleanup_resources(restart=False))
        try:
            return await super()._async_shutdown_kernel(kernel_id, now=now, restart=restart)
        finally:
            if self.followers is not None and not restart:
                await self.followers.kernel_shut_down(kernel_id)

    shutdown_kernel = _async_shutdown_kernel  # type: ignore[assignment]

    async def _async_restart_kernel(self, kernel_id: str, now: bool = False) -> Any:
        self._check_kernel_id(kernel_id)
        if await self._settled(kernel_id) is None:
            # Shut down while we waited: the REST handler then answers 404 for the kernel.
            return None
        result = await super()._async_restart_kernel(kernel_id, now=now)
        if self.followers is not None:
            await self.followers.kernel_restarted(kernel_id)
        return result

    restart_kernel = _async_restart_kernel  # type: ignore[assignment]

    async def interrupt_kernel(self, kernel_id: str) -> None:  # type: ignore[override]
        self._check_kernel_id(kernel_id)
        if await self._settled(kernel_id) is None:
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")
        await ensure_async(super().interrupt_kernel(kernel_id))
        if self.followers is not None:
            await self.followers.kernel_interrupted(kernel_id)


def use_settling_kernel_managers(serverapp: Any, log: Any) -> None:
    """Run the server's kernels under the managers above, unless it is configured otherwise.

    Called while the extension is linked, before the server builds its kernel manager (so the
    trait's own default, which needs the gateway settings, cannot be read yet: the config is). A
    deployment that chose its own kernel manager, or a gateway, keeps it.
    """
    config = serverapp.config
    chosen = config.ServerApp.get("kernel_manager_class")
    gateway = config.GatewayClient.get("url") or os.environ.get("JUPYTER_GATEWAY_URL")
    if chosen or gateway:
        log.info("jupyter-nj: keeping the configured kernel manager (%s)", chosen or "gateway")
        return
    serverapp.kernel_manager_class = NJMappingKernelManager
