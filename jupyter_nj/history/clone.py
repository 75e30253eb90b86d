"""A remix's results folder: each file a copy of its own, made as cheaply as the disk allows.

A results folder is written in place by runtimes, so the remix's files must never share an inode
with the original's (a hard link written through by one notebook's runtime would change the
other's file). Each file is, in order of preference:

1. a reflink of the original's file on disk (`FICLONE`: btrfs, XFS, bcachefs, overlayfs over
   them; copy-on-write, O(1) whatever the size, and a later write to either file copies only the
   blocks it touches), when that file still holds the bytes of the version's blob;
2. `os.copy_file_range` of that file (the kernel copies without passing the bytes through this
   process; NFS 4.2 and some filesystems turn it into a server-side copy or a reflink);
3. the blob's bytes from the history store (a version older than the file on disk).

Files are created with `O_EXCL | O_NOFOLLOW` inside a folder this module has just created, and
sources are opened with `O_NOFOLLOW`, so a link a runtime planted is neither followed nor
written through.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# The FICLONE ioctl number (_IOW(0x94, 9, int)), the same on every Linux architecture.
FICLONE = 0x40049409
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | os.O_NONBLOCK
_NO_REFLINK = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS}


@dataclass
class CloneReport:
    """How a results folder was made: files and bytes per method (reflink, copy, store)."""

    files: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)

    def add(self, method: str, size: int) -> None:
        self.files[method] = self.files.get(method, 0) + 1
        self.bytes[method] = self.bytes.get(method, 0) + size

    def to_json(self) -> dict[str, object]:
        return {
            "files": sum(self.files.values()),
            "bytes": sum(self.bytes.values()),
            "by_method": {m: {"files": n, "bytes": self.bytes[m]} for m, n in self.files.items()},
        }


@dataclass
class ResultEntry:
    """One file of the version's results: where it goes, its blob, and an on-disk source that
    still holds the blob's bytes (None: take them from the store)."""

    rel: str
    size: int
    source: str | None


def clone_file(source: str, target: str) -> str:
    """Make `target` (new) an independent copy of the regular file `source`: "reflink" or "copy"."""
    src = os.open(source, _READ)
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", source)
        os.set_blocking(src, True)
        dst = os.open(target, _CREATE, 0o644)
        try:
            try:
                fcntl.ioctl(dst, FICLONE, src)
                return "reflink"
            except OSError as err:
                if err.errno not in _NO_REFLINK:
                    raise
            _copy_range(src, dst, st.st_size)
            return "copy"
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy_range(src: int, dst: int, size: int) -> None:
    left = size
    try:
        while left > 0:
            done = os.copy_file_range(src, dst, min(left, 1 << 30))
            if done == 0:
                break
            left -= done
        return
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    # No in-kernel copy between these two files: read and write (from where it stopped).
    os.lseek(src, size - left, os.SEEK_SET)
    os.lseek(dst, size - left, os.SEEK_SET)
    while chunk := os.read(src, 1 << 22):
        os.write(dst, chunk)


def write_new_file(target: str, data: bytes) -> None:
    fd = os.open(target, _CREATE, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def make_results_folder(
    folder: Path,
    entries: Iterable[ResultEntry],
    blob_bytes: Callable[[str], bytes],
    written: Callable[[str, str], None],
    source_unchanged: Callable[[ResultEntry], bool] = lambda entry: True,
) -> CloneReport:
    """Create `folder` (it must not exist) holding every entry; `written(path, rel)` after each.

    `blob_bytes(rel)` gives the version's bytes of an entry with no on-disk source, or whose
    source cannot be cloned, or changed while it was cloned (`source_unchanged` says no: a
    runtime wrote it meanwhile).
    """
    report = CloneReport()
    os.mkdir(folder, 0o755)
    made = {folder}
    for entry in entries:
        target = folder / entry.rel
        for parent in reversed(target.parents):
            if parent in made or folder not in parent.parents:
                continue
            with contextlib.suppress(FileExistsError):
                os.mkdir(parent, 0o755)
            made.add(parent)
        method = None
        if entry.source is not None:
            try:
                method = clone_file(entry.source, str(target))
                if not source_unchanged(entry):
                    raise OSError(errno.ESTALE, "changed while cloned", entry.source)
            except OSError:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
                method = None
        if method is None:
            write_new_file(str(target), blob_bytes(entry.rel))
            method = "store"
        report.add(method, entry.size)
        written(str(target), entry.rel)
    return report
