"""The embedded default store: one encrypted file per OS user, its key in a separate file.

Layout (both created with mode 0600 in a 0700 folder):

- `<jupyter data dir>/nj/secrets.enc`: a Fernet token (AES-128-CBC + HMAC-SHA256) over the JSON
  of every secret, metadata included, so names and descriptions are not readable either;
- `<jupyter data dir>/nj/secrets.key`: the Fernet key, by default beside it, configurable
  (`NJApp.secrets_local_key_file`) so that it can live on another volume than the data.

Every operation re-reads the file under an exclusive `flock`, so the server and the CLI can
change secrets at the same time and each sees the other's change at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ..model import SecretMetadata, SecretRecord
from . import BackendUnavailable, SecretExists, SecretsBackend

try:  # POSIX only; on Windows the in-process lock still serialises the server's own writers.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1


def default_store_dir() -> Path:
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "nj"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically (temp file + rename) with mode 0600 from the first byte on."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _tighten(path: Path) -> None:
    # Someone (a backup restore, a copy) may have widened the mode; the store is never group- or
    # world-readable while this server uses it.
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, mode & 0o700)


class LocalSecretsBackend(SecretsBackend):
    kind = "local"

    def __init__(self, store_path: Path, key_path: Path) -> None:
        self.store_path = Path(store_path)
        self.key_path = Path(key_path)
        self._thread_lock = threading.Lock()

    def describe(self) -> str:
        return f"encrypted file {self.store_path}"

    # -- key and file handling ------------------------------------------------------------------

    def _ensure_folders(self) -> None:
        for folder in {self.store_path.parent, self.key_path.parent}:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _fernet(self) -> Fernet:
        if not self.key_path.exists():
            if self.store_path.exists():
                # Never create a fresh key over existing data: that would make it unreadable.
                raise BackendUnavailable(
                    "local-key-missing",
                    f"The secrets store {self.store_path} exists but its key file "
                    f"{self.key_path} is missing. Restore the key file (or point "
                    "NJApp.secrets_local_key_file at it); nothing was changed.",
                )
            try:
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it a moment ago
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key())
                    handle.flush()
                    os.fsync(handle.fileno())
        _tighten(self.key_path)
        try:
            return Fernet(self.key_path.read_bytes().strip())
        except ValueError:
            raise BackendUnavailable(
                "local-key-invalid",
                f"The key file {self.key_path} does not hold a valid key.",
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Fernet]:
        try:
            self._ensure_folders()
            with self._thread_lock:
                lock_path = self.store_path.with_name(self.store_path.name + ".lock")
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    if fcntl is not None:
                        fcntl.flock(fd, fcntl.LOCK_EX)
                    yield self._fernet()
                finally:
                    os.close(fd)  # closing releases the flock
        except PermissionError as err:
            raise BackendUnavailable(
                "local-store-unreadable",
                f"The secrets store cannot be used: permission denied on {err.filename}.",
            ) from None

    def _load(self, fernet: Fernet) -> dict[str, dict[str, Any]]:
        if not self.store_path.exists():
            return {}
        _tighten(self.store_path)
        try:
            payload = json.loads(fernet.decrypt(self.store_path.read_bytes()))
        except InvalidToken:
            raise BackendUnavailable(
                "local-key-mismatch",
                f"The secrets store {self.store_path} cannot be decrypted with the key in "
                f"{self.key_path} (wrong key, or the file was damaged). Nothing was changed.",
            ) from None
        secrets = payload.get("secrets", {})
        return secrets if isinstance(secrets, dict) else {}

    def _save(self, fernet: Fernet, secrets: dict[str, dict[str, Any]]) -> None:
        payload = json.dumps({"format": FORMAT_VERSION, "secrets": secrets}).encode("utf-8")
        _write_private(self.store_path, fernet.encrypt(payload))

    @staticmethod
    def _record(name: str, entry: dict[str, Any]) -> SecretRecord:
        return SecretRecord(
            name=name,
            metadata=SecretMetadata(
                description=entry.get("description", ""),
                owner=entry.get("owner", ""),
                shared_users=tuple(entry.get("shared_users", ())),
                shared_groups=tuple(entry.get("shared_groups", ())),
            ),
            created=entry.get("created", ""),
            updated=entry.get("updated", ""),
            version=int(entry.get("version", 0)),
        )

    @staticmethod
    def _apply(entry: dict[str, Any], metadata: SecretMetadata) -> None:
        entry["description"] = metadata.description
        entry["owner"] = metadata.owner
        entry["shared_users"] = list(metadata.shared_users)
        entry["shared_groups"] = list(metadata.shared_groups)

    # -- the interface --------------------------------------------------------------------------

    def list_records(self) -> list[SecretRecord]:
        with self._locked() as fernet:
            secrets = self._load(fernet)
        return [self._record(name, entry) for name, entry in sorted(secrets.items())]

    def get_record(self, name: str) -> SecretRecord | None:
        with self._locked() as fernet:
            entry = self._load(fernet).get(name)
        return None if entry is None else self._record(name, entry)

    def read_value(self, name: str) -> str | None:
        with self._locked() as fernet:
            entry = self._load(fernet).get(name)
        return None if entry is None else str(entry["value"])

    def create(self, name: str, value: str, metadata: SecretMetadata) -> SecretRecord:
        with self._locked() as fernet:
            secrets = self._load(fernet)
            if name in secrets:
                raise SecretExists(name)
            now = _now()
            entry: dict[str, Any] = {"value": value, "created": now, "updated": now, "version": 1}
            self._apply(entry, metadata)
            secrets[name] = entry
            self._save(fernet, secrets)
        return self._record(name, entry)

    def update(self, name: str, value: str | None, metadata: SecretMetadata) -> SecretRecord:
        from ..model import SecretNotFound

        with self._locked() as fernet:
            secrets = self._load(fernet)
            entry = secrets.get(name)
            if entry is None:
                raise SecretNotFound(name)
            if value is not None:
                entry["value"] = value
                entry["version"] = int(entry.get("version", 0)) + 1
            entry["updated"] = _now()
            self._apply(entry, metadata)
            self._save(fernet, secrets)
        return self._record(name, entry)

    def delete(self, name: str) -> bool:
        with self._locked() as fernet:
            secrets = self._load(fernet)
            if secrets.pop(name, None) is None:
                return False
            self._save(fernet, secrets)
        return True
