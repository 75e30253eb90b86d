"""A small warm pool of container runtimes per environment version (off by default).

A pooled container is already running with the interpreter started and the kernel machinery
imported, waiting for a *claim*: a file in its private folder naming the kernel's arguments,
variables and working directory. Claiming it skips the container start and the imports, which are
most of a kernel start. The price: a pooled container cannot know its notebook's folder in advance,
so it mounts the whole server root (the working directory is still the notebook's folder), and its
labels cannot name the kernel (Docker labels are fixed at creation; the container is renamed
`nj-kernel-<id>` instead).
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

CLAIM_FILE = "claim.json"

# Runs inside a pooled container as the kernel user: import the slow part, wait for the claim,
# then become the kernel exactly as `python -m <module> <args>` would.
WAITER = r"""
import json, os, runpy, sys, time
folder = sys.argv[1]
try:
    import ipykernel.kernelapp  # noqa: F401
except ImportError:
    pass
claim = os.path.join(folder, "claim.json")
while not os.path.exists(claim):
    time.sleep(0.005)
with open(claim) as f:
    request = json.load(f)
os.environ.update(request["env"])
os.chdir(request["cwd"])
sys.argv = [request["module"], *request["args"]]
runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
"""


@dataclass
class PooledRuntime:
    container_id: str
    kernel_dir: str


class WarmPool:
    """One server's pool (its RuntimeService holds it), keyed by everything that decides a pooled
    container's shape."""

    def __init__(self) -> None:
        self.ready: dict[Hashable, list[PooledRuntime]] = {}
        self.starting: dict[Hashable, int] = {}
        self.lock = threading.Lock()

    def take(self, key: Hashable, is_running: Callable[[str], bool]) -> PooledRuntime | None:
        """A ready runtime for `key`, or None (blocking: checks the container still runs)."""
        while True:
            with self.lock:
                waiting = self.ready.get(key) or []
                if not waiting:
                    return None
                runtime = waiting.pop(0)
            if is_running(runtime.container_id):
                return runtime
            # Removed behind our back (orphan clean-up, engine restart): try the next one.

    def size(self, key: Hashable) -> int:
        with self.lock:
            return len(self.ready.get(key) or [])

    def fill(self, key: Hashable, size: int, start: Callable[[], PooledRuntime]) -> None:
        """Start runtimes in the background until `size` are ready or starting for `key`."""
        with self.lock:
            missing = size - len(self.ready.get(key) or []) - self.starting.get(key, 0)
            if missing <= 0:
                return
            self.starting[key] = self.starting.get(key, 0) + missing

        def worker() -> None:
            for _ in range(missing):
                try:
                    runtime = start()
                except Exception as err:  # noqa: BLE001  a pool that cannot fill stays empty
                    log.warning("nj: could not start a pooled runtime: %s", err)
                    runtime = None
                with self.lock:
                    self.starting[key] -= 1
                    if runtime is not None:
                        self.ready.setdefault(key, []).append(runtime)

        threading.Thread(target=worker, name="nj-pool-fill", daemon=True).start()

    def drain(self, remove: Callable[[PooledRuntime], Any]) -> int:
        """Remove every waiting runtime (server stop, tests)."""
        with self.lock:
            waiting = [r for runtimes in self.ready.values() for r in runtimes]
            self.ready.clear()
        for runtime in waiting:
            try:
                remove(runtime)
            except Exception as err:  # noqa: BLE001
                log.warning("nj: could not remove pooled runtime %s: %s", runtime, err)
            shutil.rmtree(runtime.kernel_dir, ignore_errors=True)
        return len(waiting)
