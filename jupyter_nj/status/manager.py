"""StatusManager: asks each backend whether it is live, concurrently and with a time limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class BackendStatus:
    """What one backend reports: whether it is usable, what it is, and what to do if it is not."""

    name: str
    label: str
    live: bool
    detail: str
    hint: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Probe = Callable[[], BackendStatus]


class StatusManager:
    """Runs the registered probes off the event loop and caches the answer briefly.

    Probes block (a Docker ping, an HTTP call to Vault, a file write), so each runs in a thread;
    one that does not answer within `timeout` seconds is reported as not live instead of holding up
    the others. The short cache keeps many open browser tabs from multiplying that work.
    """

    def __init__(
        self,
        version: str,
        probes: Mapping[str, Probe],
        timeout: float = 3.0,
        cache_seconds: float = 2.0,
    ) -> None:
        self.version = version
        self.probes = probes
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def status(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        results = await asyncio.gather(
            *(self._run_probe(name, probe) for name, probe in self.probes.items())
        )
        report = {
            "version": self.version,
            "backends": [r.to_json() for r in results],
        }
        self._cached = (time.monotonic(), report)
        return report

    def status_sync(self) -> dict[str, Any]:
        """The same report for callers without an event loop (the command line)."""
        return asyncio.run(self.status())

    async def _run_probe(self, name: str, probe: Probe) -> BackendStatus:
        try:
            return await asyncio.wait_for(asyncio.to_thread(probe), self.timeout)
        except asyncio.TimeoutError:
            return BackendStatus(
                name=name,
                label=name,
                live=False,
                detail=f"did not answer within {self.timeout:g} s",
                hint="Check that the service is running and reachable from the Jupyter server.",
            )
        except Exception as err:  # noqa: BLE001  a probe must never take the status endpoint down
            return BackendStatus(
                name=name,
                label=name,
                live=False,
                detail=f"probe failed: {type(err).__name__}",
                hint="See the server log for the full error.",
            )
