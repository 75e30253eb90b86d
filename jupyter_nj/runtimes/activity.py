"""A busy kernel keeps its server active.

jupyter_server counts a kernel as active when the kernel sends a message, so a long computation
that prints nothing looks idle from its "busy" status on. Whatever reads the server's last
activity then stops the server in the middle of the computation: JupyterHub's idle culler does
(the single-user server reports `last_activity()` to the hub), and so does jupyter_server's own
`ServerApp.shutdown_no_activity_timeout`. jupyter_server adds every tornado setting whose name
ends in `_last_activity` to that value; while any kernel is busy, this keeps one such setting at
the current time.

"starting" does not count: jupyter_server leaves a kernel in that state until the kernel's first
status message, which a kernel no client ever connected to may never send, and such a kernel
would then keep its server alive for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)

SETTING = "nj_busy_kernels_last_activity"
ACTIVE_STATES = frozenset({"busy"})


class BusyKernelActivity:
    """Every `interval` seconds: if a kernel of `kernel_manager` is busy, `settings[SETTING]`
    becomes now. `settings` is the server's tornado settings (`serverapp.web_app.settings`)."""

    def __init__(
        self, kernel_manager: Any, settings: MutableMapping[str, Any], interval: float
    ) -> None:
        self.kernel_manager = kernel_manager
        self.settings = settings
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def busy_kernels(self) -> list[str]:
        busy = []
        for kernel_id in list(self.kernel_manager.list_kernel_ids()):
            try:
                kernel = self.kernel_manager.get_kernel(kernel_id)
            except KeyError:  # shut down since the listing
                continue
            if getattr(kernel, "execution_state", "") in ACTIVE_STATES:
                busy.append(kernel_id)
        return busy

    def check(self) -> bool:
        """Record activity now if a kernel is busy; returns whether one is."""
        if not self.busy_kernels():
            return False
        self.settings[SETTING] = datetime.now(timezone.utc)
        return True

    def start(self) -> None:
        """Start checking, once, on the running event loop; without one (the server is not
        serving yet) the server's start calls this again. An interval of 0 turns it off."""
        if self.interval <= 0 or self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            try:
                self.check()
            except Exception:  # a failed check must not end the watch
                log.exception("jupyter-nj: could not check for busy kernels")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
