"""When a runtime that holds GPUs is idle, and for how long.

A GPU runtime is idle while it runs no cell (its kernel is not busy and sends nothing) and every
one of its GPUs stays under `NJApp.gpu_idle_utilization`. Any sample at or above it, any cell,
any message restarts the clock, so a training loop that keeps the GPU busy is never culled,
even when it prints nothing; a runtime that merely holds GPU memory is (memory held says nothing:
PyTorch keeps its cache until the process exits). A utilization NVML cannot read counts as busy:
a runtime is never culled on missing data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(str, Enum):
    KEEP = "keep"
    WARN = "warn"
    CULL = "cull"


@dataclass
class IdleClock:
    """One GPU runtime's idle time, advanced by `observe` at every check."""

    timeout: float
    threshold: float
    warning: float
    idle_since: float
    warned: bool = False

    def observe(
        self,
        now: float,
        busy: bool,
        last_activity: float,
        utilization: list[int | None],
    ) -> Verdict:
        """What to do after a check at `now`: the kernel's state, its last message (a Unix
        time) and the utilization of each of its GPUs (percent, None: unknown)."""
        gpu_busy = not utilization or any(u is None or u >= self.threshold for u in utilization)
        if busy or gpu_busy:
            self.idle_since = now
        self.idle_since = max(self.idle_since, min(last_activity, now))
        if now - self.idle_since < max(self.timeout - self.warning, 0):
            self.warned = False
        idle = now - self.idle_since
        if idle >= self.timeout:
            return Verdict.CULL
        if self.warning > 0 and idle >= self.timeout - self.warning and not self.warned:
            self.warned = True
            return Verdict.WARN
        return Verdict.KEEP

    def idle_for(self, now: float) -> float:
        return max(now - self.idle_since, 0.0)
