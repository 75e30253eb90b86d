"""The environment catalog: version records, lock files and local venvs under one folder.

Layout (all under the catalog folder: by default `<jupyter data dir>/nj/environments/`, one per
user, shared by every server and command line of that user, so a notebook finds its pinned
version whichever folder it is opened from):

    records/<name>/<hex>.json   one EnvironmentVersion per file, never rewritten
    records/<name>/current-<backend>   the version the latest build produced (the default)
    locks/<sha256>.lock         lock files, content-addressed (many versions share one)
    venvs/<hex[:16]>/           local backend: the materialised venv of a version

Running kernels' private overlays live in each server's own data folder, not here.

Files are written to a temporary name and renamed, so a reader never sees half a record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..base import NJError
from .model import (
    EnvironmentVersion,
    check_name,
    check_version,
    sha256_hex,
)


class EnvironmentCatalog:
    """Reads and writes version records. Blocking file I/O: call it from a thread on a server."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- paths ---------------------------------------------------------------------------------

    def records_dir(self, name: str) -> Path:
        return self.root / "records" / check_name(name)

    def lock_path(self, lock_sha256: str) -> Path:
        return self.root / "locks" / f"{lock_sha256}.lock"

    def venv_path(self, version: str) -> Path:
        return self.root / "venvs" / version.removeprefix("sha256:")[:16]

    @contextlib.contextmanager
    def venv_lock(self, version: str) -> Iterator[None]:
        """Held while a version's venv is made: servers sharing the catalog (and the command
        line) may start the same version at once, and one must not remove the other's
        half-made venv as a dead build. Blocks until the other is done."""
        venv = self.venv_path(version)
        venv.parent.mkdir(parents=True, exist_ok=True)
        with open(venv.with_name(venv.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- writing -------------------------------------------------------------------------------

    def store_lock(self, lock_text: str) -> str:
        digest = sha256_hex(lock_text.encode("utf-8"))
        path = self.lock_path(digest)
        if not path.exists():
            _atomic_write(path, lock_text)
        return digest

    def add(self, record: EnvironmentVersion) -> EnvironmentVersion:
        """Record a version. Versions are immutable: an existing record is kept as it is."""
        path = self.records_dir(record.name) / f"{record.version.removeprefix('sha256:')}.json"
        if path.exists():
            return self._read(path)
        _atomic_write(path, json.dumps(record.to_json(), indent=2, sort_keys=True))
        return record

    def set_current(self, record: EnvironmentVersion) -> None:
        """Make `record` what unpinned notebooks get (a rebuild of an older lock brings it back)."""
        _atomic_write(self.records_dir(record.name) / f"current-{record.backend}", record.version)

    def current(self, name: str, backend: str) -> EnvironmentVersion | None:
        """The version the last build for `backend` produced, else the newest one."""
        pointer = self.records_dir(name) / f"current-{backend}"
        try:
            return self.get(name, pointer.read_text(encoding="utf-8").strip())
        except (FileNotFoundError, NJError):
            return self.latest(name, backend)

    # -- reading -------------------------------------------------------------------------------

    def names(self) -> list[str]:
        base = self.root / "records"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.json")))

    def versions(self, name: str, backend: str | None = None) -> list[EnvironmentVersion]:
        """Versions of an environment, newest first."""
        folder = self.records_dir(name)
        if not folder.is_dir():
            return []
        records = [self._read(p) for p in folder.glob("*.json")]
        if backend:
            records = [r for r in records if r.backend == backend]
        return sorted(records, key=lambda r: (r.created, r.version), reverse=True)

    def latest(self, name: str, backend: str | None = None) -> EnvironmentVersion | None:
        found = self.versions(name, backend)
        return found[0] if found else None

    def get(self, name: str, version: str) -> EnvironmentVersion:
        """One version by full ID or unique hex prefix; a clear 404 when it is not here."""
        prefix = check_version(version)
        folder = self.records_dir(name)
        matches = sorted(folder.glob(f"{prefix}*.json")) if folder.is_dir() else []
        if not matches:
            raise NJError(
                404,
                "unknown-version",
                f"Environment {name}@{prefix[:12]} is not on this server. Build it with "
                f"`jupyter nj env build {name}` or import it, then reopen the notebook.",
            )
        if len(matches) > 1:
            raise NJError(
                400,
                "ambiguous-version",
                f"{prefix!r} matches {len(matches)} versions of {name!r}; give more digits.",
            )
        return self._read(matches[0])

    def lock_text(self, record: EnvironmentVersion) -> str:
        try:
            return self.lock_path(record.lock_sha256).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NJError(
                409,
                "lock-missing",
                f"The lock file of {record.name}@{record.short} is missing from the catalog.",
            ) from None

    @staticmethod
    def _read(path: Path) -> EnvironmentVersion:
        return EnvironmentVersion.from_json(json.loads(path.read_text(encoding="utf-8")))


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
