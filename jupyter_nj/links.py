"""The server never follows a link a runtime could have planted to reach beyond the root.

Container runtimes write into the notebook's folder, links included. jupyter_server resolves API
paths without resolving links and writes through a link to its target, so a planted
`notes.ipynb -> ~/.jupyter/jupyter_server_config.py` would turn the next save into a config the
server runs. Two guards close that:

- `install_link_guard` makes the contents API refuse (403) to read or write through a link whose
  target is outside the server root or inside a folder runtimes must not reach (jupyter-nj's
  data, Jupyter's folders). Paths without links are untouched; `NJApp.follow_links_out_of_root`
  turns the guard off for sites that trust every runtime and link data in from elsewhere.
- `open_inside` is how jupyter-nj itself opens a file a runtime can reach (history's reads of
  saved files, `history/disk.py`): each path component is opened without following links, so
  neither a swapped file nor a swapped parent folder leads it anywhere else, whatever the timing.
"""

from __future__ import annotations

import errno
import inspect
import os
import stat
from collections.abc import Callable, Sequence
from typing import Any

from tornado.web import HTTPError


class LinkGuard:
    """Refuses contents-API paths whose links lead out of the root or into protected folders."""

    def __init__(self, root: str, protected: Callable[[], Sequence[str]]) -> None:
        self.root = os.path.realpath(root)
        self.protected = protected

    def check(self, api_path: str) -> None:
        """Raise a 403 when `api_path` goes through a link to somewhere runtimes must not lead."""
        lexical = os.path.normpath(os.path.join(self.root, api_path.strip("/")))
        real = os.path.realpath(lexical)
        if real == lexical:
            return  # no link on the way: jupyter_server's own checks apply
        if _within(real, self.root) and not any(
            _within(real, os.path.realpath(p)) for p in self.protected()
        ):
            return
        raise HTTPError(
            403,
            f"{api_path!r} is a link to a place outside the server root (or to jupyter-nj's own "
            "data), which the server does not read or write through: a runtime can plant such "
            "links. Remove the link, or copy what it points to into the root.",
        )

    def pre_save_hook(self, model: Any, path: str, **_: Any) -> None:
        self.check(path)


def install_link_guard(contents_manager: Any, guard: LinkGuard) -> None:
    """Guard saves (a pre-save hook, which may reject a save) and reads with content.

    Listings stay as they are (a listed link shows up; opening it is refused), so one planted
    link cannot make a whole folder fail to list.
    """
    contents_manager.register_pre_save_hook(guard.pre_save_hook)
    original = contents_manager.get
    if inspect.iscoroutinefunction(original):

        async def guarded_get(path: str, content: bool = True, *args: Any, **kwargs: Any) -> Any:
            if content:
                guard.check(path)
            return await original(path, content, *args, **kwargs)

        contents_manager.get = guarded_get
    else:

        def guarded_get_sync(path: str, content: bool = True, *args: Any, **kwargs: Any) -> Any:
            if content:
                guard.check(path)
            return original(path, content, *args, **kwargs)

        contents_manager.get = guarded_get_sync


def open_inside(root: str, os_path: str) -> int:
    """A read-only descriptor of the regular file `os_path` under `root`, no link followed.

    Raises `OSError` (ELOOP for a link, ENOTDIR, ENOENT, EINVAL for a FIFO or device, EXDEV for
    a path outside the root).
    """
    real_root = os.path.realpath(root)
    # `os_path` may be spelled from the root as given or from its resolved form.
    for base in (os.path.abspath(root), real_root):
        rel = os.path.relpath(os.path.abspath(os_path), base)
        parts = rel.split(os.sep)
        if rel != "." and parts[0] != os.pardir:
            break
    else:
        raise OSError(errno.EXDEV, "not inside the server root", os_path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    folder = os.open(real_root, flags | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            step = os.open(part, flags | os.O_DIRECTORY, dir_fd=folder)
            os.close(folder)
            folder = step
        fd = os.open(parts[-1], flags | getattr(os, "O_NONBLOCK", 0), dir_fd=folder)
    finally:
        os.close(folder)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or device would hang or lie
            raise OSError(errno.EINVAL, "not a regular file", os_path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
