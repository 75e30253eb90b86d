"""The only places history reads files under the server root, and how they refuse symlinks.

Code running in a runtime can write into the notebook's folder, so it can plant a symlink where
the saved notebook or a results file should be, pointing anywhere the server can read. Saved
files (the recorder's check, the manager's "current" and checkpoint reads) are opened component
by component from the server root with no link followed (`links.open_inside`); results files are
opened with `O_NOFOLLOW`, regular files only, while the folder is walked through directory
descriptors that never follow a symlinked folder (`os.fwalk`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from ..links import open_inside

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | os.O_NONBLOCK


def read_regular_file(path: str, limit: int, *, dir_fd: int | None = None) -> bytes:
    """Up to `limit` + 1 bytes of a regular file, never through a symlink (OSError if it is one)."""
    fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    return _read_up_to(fd, limit)


def read_saved_file(root: str, path: str, limit: int | None = None) -> bytes:
    """Up to `limit` + 1 bytes (all of it when None) of the regular file `path` under `root`,
    with no link followed anywhere on the way (a parent folder swapped for a link is refused)."""
    return _read_up_to(open_inside(root, path), limit)


def _read_up_to(fd: int, limit: int | None) -> bytes:
    """Reads and closes `fd`."""
    try:
        chunks = []
        left = None if limit is None else limit + 1
        while left is None or left > 0:
            chunk = os.read(fd, 1 << 24 if left is None else min(left, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            if left is not None:
                left -= len(chunk)
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]
    finally:
        os.close(fd)


def walk_folder(folder: str) -> Iterator[tuple[str, list[str], list[str], int]]:
    """`os.fwalk` of a folder that is not itself a symlink: (relative dir, dirs, files, dir fd).

    Prune `dirs` in place to skip folders, as with `os.walk`. Open files with
    `read_regular_file(name, limit, dir_fd=fd)`.
    """
    if os.path.islink(folder) or not os.path.isdir(folder):
        return
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(folder, follow_symlinks=False):
        rel = os.path.relpath(dirpath, folder)
        yield ("" if rel == "." else rel.replace(os.sep, "/") + "/"), dirnames, filenames, dir_fd
