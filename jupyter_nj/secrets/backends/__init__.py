"""Where secret values live. One interface, two implementations (Vault/OpenBao, local file).

Every method blocks (HTTP to Vault, file I/O plus decryption); callers on the event loop go
through `SecretsManager`, which runs them in a worker thread. Backends know nothing about users
or sharing rules: they store the metadata the manager gives them and enforce nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from ...base import NJError
from ..model import SecretMetadata, SecretRecord


class BackendUnavailable(NJError):
    """The store cannot be used right now (down, sealed, token refused, key missing).

    A 503: the caller did nothing wrong, and retrying after the operator fixes it works.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(503, reason, message)


class SecretExists(NJError):
    def __init__(self, name: str) -> None:
        super().__init__(
            409,
            "secret-exists",
            f"A secret named {name!r} already exists. Pick another name, or ask its owner.",
        )


class SecretsBackend(ABC):
    """A key-value store of secret values with non-secret metadata beside each one."""

    #: short identifier reported by the API and the CLI ("vault", "local")
    kind: str = ""

    @abstractmethod
    def describe(self) -> str:
        """Where the secrets are kept, for humans (an address or a path; never a credential)."""

    @abstractmethod
    def list_records(self) -> list[SecretRecord]:
        """Every secret's metadata, without reading any value."""

    @abstractmethod
    def get_record(self, name: str) -> SecretRecord | None:
        """One secret's metadata, or None if there is no such secret."""

    @abstractmethod
    def read_value(self, name: str) -> str | None:
        """The current value, or None if there is no such secret."""

    def read_secret(
        self, name: str, may_read: Callable[[SecretRecord], bool]
    ) -> tuple[SecretRecord | None, str | None]:
        """The record, and the value when `may_read(record)`: the value is not even fetched for
        a caller who may not read it. A backend that answers both in one round trip overrides
        it (the hub backend, whose service has already decided for the server's owner)."""
        record = self.get_record(name)
        if record is None or not may_read(record):
            return record, None
        return record, self.read_value(name)

    @abstractmethod
    def create(self, name: str, value: str, metadata: SecretMetadata) -> SecretRecord:
        """Store a new secret; raises `SecretExists` if the name is taken (checked atomically)."""

    @abstractmethod
    def update(self, name: str, value: str | None, metadata: SecretMetadata) -> SecretRecord:
        """Replace the metadata and, when `value` is not None, the value of an existing secret."""

    @abstractmethod
    def delete(self, name: str) -> bool:
        """Remove the secret and all its versions; False if there was none."""

    def start(self) -> None:  # noqa: B027  optional hook: most backends need no background work
        """Start background work (token renewal). Called once by the server, not by the CLI."""

    def close(self) -> None:  # noqa: B027  optional hook
        """Stop background work and release connections."""


__all__ = [
    "BackendUnavailable",
    "SecretExists",
    "SecretsBackend",
]
