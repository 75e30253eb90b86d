"""Diffs of versions with nbdime, computed off the event loop, with a time limit and a cache.

nbdime's own handlers run `diff_notebooks` on the event loop; a large notebook without cell ids
can take many seconds there, freezing every user of the server. Here the diff runs in a separate
process (the default: a diff that runs past the time limit is killed with its process) or a
thread. The worker loads stored versions from the git store itself, so only the diff travels back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from typing import Any

# ("version", version id) or ("content", notebook dict | text)
Side = tuple[str, Any]

_repos: dict[str, Any] = {}
_loaded: OrderedDict[tuple[str, str, bool], Any] = OrderedDict()
_targets_lock = threading.Lock()


class DiffTimeout(Exception):
    pass


def _load(store_path: str, side: Side, notebook: bool) -> Any:
    kind, value = side
    if kind != "version":
        return value
    import pygit2

    from .store import version_content, version_notebook

    repo = _repos.get(store_path)
    if repo is None:
        repo = _repos[store_path] = pygit2.Repository(store_path)
    key = (store_path, value, notebook)
    loaded = _loaded.get(key)
    if loaded is None:
        if notebook:
            loaded = version_notebook(repo, value)
        else:
            loaded = version_content(repo, value).decode("utf-8", errors="replace")
        # Versions are immutable: keep the last few (a diff of B..C often follows A..B).
        _loaded[key] = loaded
        while len(_loaded) > 8:
            _loaded.popitem(last=False)
    else:
        _loaded.move_to_end(key)
    return loaded


def compute_diff(
    store_path: str, base: Side, remote: Side, notebook: bool, ignore_outputs: bool
) -> list[Any]:
    """nbdime's diff of two sides (run in the worker process or thread); for notebooks the
    same result computed without diffing cells that did not change (`notebook_diff`)."""
    from nbdime.diffing.generic import diff_strings_linewise
    from nbdime.diffing.notebooks import set_notebook_diff_targets

    from .notebook_diff import diff_notebooks

    a = _load(store_path, base, notebook)
    b = _load(store_path, remote, notebook)
    if not notebook:
        return _plain(diff_strings_linewise(a, b))
    # nbdime keeps the diff targets in module state: one diff at a time per process.
    with _targets_lock:
        set_notebook_diff_targets(outputs=not ignore_outputs)
        try:
            return _plain(diff_notebooks(_node(a), _node(b)))
        finally:
            set_notebook_diff_targets()


def _node(nb: Any) -> Any:
    import nbformat

    return nb if isinstance(nb, nbformat.NotebookNode) else nbformat.from_dict(nb)


def _plain(value: Any) -> Any:
    """nbdime's DiffEntry objects as plain dicts and lists (JSON and pickle friendly)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_diff_entries(value: Any) -> Any:
    """Plain diff dicts (as sent over JSON) back into nbdime's DiffEntry objects."""
    from nbdime.diff_format import DiffEntry

    if isinstance(value, list):
        return [to_diff_entries(v) for v in value]
    if isinstance(value, dict) and "op" in value:
        return DiffEntry({k: to_diff_entries(v) if k == "diff" else v for k, v in value.items()})
    return value


def _warm() -> bool:
    import nbdime.diffing.notebooks  # noqa: F401
    import pygit2  # noqa: F401

    return True


class DiffService:
    """Runs diffs in a worker process (or thread), with a timeout and an LRU cache."""

    def __init__(
        self,
        store_path: str,
        *,
        executor: str = "process",
        timeout: float = 60.0,
        cache_size: int = 64,
    ) -> None:
        self.store_path = store_path
        self.executor_kind = executor
        self.timeout = timeout
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()
        self._pool: concurrent.futures.Executor | None = None
        self._pool_lock = threading.Lock()

    def _executor(self) -> concurrent.futures.Executor:
        with self._pool_lock:
            if self._pool is None:
                if self.executor_kind == "process":
                    # spawn, not fork: forking a threaded server process is unsafe.
                    self._pool = concurrent.futures.ProcessPoolExecutor(
                        max_workers=1,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_exit_with_parent,
                        initargs=(os.getpid(),),
                    )
                else:
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        max_workers=2, thread_name_prefix="nj-diff"
                    )
            return self._pool

    def warm_up(self) -> None:
        """Start the worker process ahead of the first diff (it imports nbdime once)."""
        self._executor().submit(_warm)

    def _kill_pool(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if isinstance(pool, concurrent.futures.ProcessPoolExecutor):
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
        elif pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _key(side: Side) -> Any:
        kind, value = side
        if kind == "version":
            return ("version", value)
        import json

        blob = json.dumps(value, sort_keys=True).encode() if not isinstance(value, str) else value
        if isinstance(blob, str):
            blob = blob.encode()
        return ("content", hashlib.sha1(blob, usedforsecurity=False).hexdigest())

    async def diff(
        self, base: Side, remote: Side, *, notebook: bool, ignore_outputs: bool = False
    ) -> list[Any]:
        key_base = await asyncio.to_thread(self._key, base)
        key_remote = await asyncio.to_thread(self._key, remote)
        key = (key_base, key_remote, notebook, ignore_outputs)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        future = self._executor().submit(
            compute_diff, self.store_path, base, remote, notebook, ignore_outputs
        )
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            if self.executor_kind == "process":
                self._kill_pool()
            raise DiffTimeout(
                f"The diff took longer than {self.timeout:g} s and was stopped."
            ) from None
        except concurrent.futures.process.BrokenProcessPool:
            self._kill_pool()
            raise
        self._cache[key] = result
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    def close(self) -> None:
        self._kill_pool()


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: end the worker when the server that started it is gone.

    A server killed without running its shutdown (SIGKILL, a crashed test run) would otherwise
    leave its idle diff worker behind for good, reparented to init.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="nj-diff-parent-watch", daemon=True).start()
