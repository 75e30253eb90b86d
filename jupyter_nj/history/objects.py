"""Writing git objects and refs without holding the interpreter lock through disk waits.

pygit2 keeps Python's global interpreter lock while libgit2 writes a loose object or moves a ref.
On a busy disk one such write can wait 100 ms for the filesystem journal, and for all that time
no other thread runs: the server's event loop (every collaborator's edits) stalls behind a
history write. The few object kinds a version needs (blobs, trees, commits, and its ref) are
simple to write in git's own loose format with the standard library, whose hashing, compression
and file calls release the lock; everything else (reading, notes, repacks) stays with pygit2 and
the git CLI, which read these objects like any others (`git fsck` checks them in the tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import pygit2

BLOB_MODE = 0o100644
TREE_MODE = 0o040000
# Loose objects are read far more often than written, but they are repacked every few hundred
# versions anyway; fast compression keeps the write cheap.
COMPRESSION = 1
# Ids of objects this writer wrote or found (objects are never pruned: `gc.pruneExpire` is
# "never" and a repack only drops loose copies of what it packed), so that an unchanged outputs
# tree is neither looked up on disk nor, once packed, written loose again.
KNOWN_OBJECTS = 65536
_FORBIDDEN_NAMES = {"", ".", ".."}


def valid_entry_name(name: str) -> bool:
    """Whether git accepts `name` as one tree entry (no separators, no `.git`)."""
    return (
        name not in _FORBIDDEN_NAMES
        and "/" not in name
        and "\0" not in name
        and name.lower() != ".git"
    )


class ObjectWriter:
    """Loose objects and refs of one bare repository, written as git writes them."""

    def __init__(self, git_dir: str | os.PathLike[str]) -> None:
        self.git_dir = Path(git_dir)
        self.objects = self.git_dir / "objects"
        self._objects_dir = str(self.objects)
        self._known: OrderedDict[bytes, None] = OrderedDict()

    def make_fan_out(self) -> None:
        """Create the 256 fan-out folders `objects/00` ... `objects/ff` that are missing.

        Creating a folder costs as much as creating a file, and a repack's prune removes every
        folder it emptied, so that the next few hundred versions would each pay for one or two;
        the store makes them all when it is created and after each repack, off the write path.
        """
        for n in range(256):
            with contextlib.suppress(FileExistsError, FileNotFoundError):
                os.mkdir(f"{self._objects_dir}/{n:02x}")

    def blob(self, data: bytes) -> pygit2.Oid:
        return self._write(b"blob", data)

    def tree(self, entries: Iterable[tuple[str, int, pygit2.Oid]]) -> pygit2.Oid:
        """A tree of (name, mode, id) entries, in git's order (a subtree sorts as `name/`)."""
        rows = []
        for name, mode, oid in entries:
            if not valid_entry_name(name):
                raise ValueError(f"{name!r} cannot be a tree entry")
            raw = name.encode("utf-8")
            rows.append((raw + b"/" if mode == TREE_MODE else raw, b"%o %s\0" % (mode, raw), oid))
        rows.sort(key=lambda row: row[0])
        return self._write(b"tree", b"".join(head + oid.raw for _key, head, oid in rows))

    def commit(
        self,
        tree: pygit2.Oid,
        parents: Iterable[pygit2.Oid],
        author: tuple[str, int],
        committer: tuple[str, int],
        email: str,
        message: str,
    ) -> pygit2.Oid:
        """A commit; `author` and `committer` are (name, unix time), both in UTC."""
        lines = [f"tree {tree}"]
        lines += [f"parent {parent}" for parent in parents]
        lines.append(f"author {author[0]} <{email}> {author[1]} +0000")
        lines.append(f"committer {committer[0]} <{email}> {committer[1]} +0000")
        return self._write(b"commit", ("\n".join(lines) + "\n\n" + message).encode("utf-8"))

    def set_ref(self, name: str, target: pygit2.Oid) -> None:
        """Point ref `name` at `target`: a lock file renamed into place, as git does.

        The caller holds the store's lock, so a lock file found here was left by a writer
        that died; it is replaced.
        """
        path = f"{self.git_dir}/{name}"
        lock = path + ".lock"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        try:
            fd = os.open(lock, flags, 0o644)
        except FileNotFoundError:
            # The ref's first version (its folder is made once, not checked on every write).
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(lock, flags, 0o644)
        try:
            _write_all(fd, f"{target}\n".encode("ascii"))
        finally:
            os.close(fd)
        os.replace(lock, path)

    def _write(self, kind: bytes, body: bytes) -> pygit2.Oid:
        header = b"%s %d\0" % (kind, len(body))
        digest = hashlib.sha1(header, usedforsecurity=False)
        digest.update(body)
        raw = digest.digest()
        oid = pygit2.Oid(raw=raw)
        known = self._known
        if raw in known:
            known.move_to_end(raw)
            return oid
        hexid = digest.hexdigest()
        folder = f"{self._objects_dir}/{hexid[:2]}"
        target = f"{folder}/{hexid[2:]}"
        if not os.path.exists(target):
            compressor = zlib.compressobj(COMPRESSION)
            data = compressor.compress(header) + compressor.compress(body) + compressor.flush()
            temporary = f"{folder}/tmp_obj_{secrets.token_hex(8)}"
            for attempt in range(10):
                try:
                    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
                    break
                except FileNotFoundError:
                    # A repack's prune removes the fan-out folders it emptied, so a folder can
                    # be missing, or vanish between making it and creating a file in it: make
                    # it (again). Once our file is in it, the folder is not empty and stays.
                    if attempt == 9:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(folder)
                except FileExistsError:
                    if attempt == 9:
                        raise
                    temporary = f"{folder}/tmp_obj_{secrets.token_hex(8)}"
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            # Another writer may have stored the same object meanwhile: either copy is it.
            os.replace(temporary, target)
        known[raw] = None
        if len(known) > KNOWN_OBJECTS:
            known.popitem(last=False)
        return oid


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
