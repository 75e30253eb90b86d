"""What a secret is, who may use it, and the rules every secret name and value must follow.

Shared by the backends, the manager and the handlers. Nothing here performs I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..base import NJError

# A secret name doubles as an environment variable name in runtimes, so it follows the POSIX
# rule for those (no leading digit) as well as the "letters, digits, underscore".
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_NAME_LENGTH = 128
# Vault's custom_metadata allows 512 bytes per value; the same cap applies to the local store so
# that both backends accept exactly the same input.
MAX_METADATA_FIELD_BYTES = 500
MAX_PRINCIPAL_LENGTH = 128
MAX_SHARED_ENTRIES = 32
# Secrets become environment variables of a runtime, so a name that steers the dynamic loader,
# the interpreter or Jupyter itself would let whoever owns a shared secret run code in another
# user's kernel (LD_PRELOAD, PYTHONSTARTUP, ...). Such names are refused.
RESERVED_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "SHELL",
        "USER",
        "LOGNAME",
        "PWD",
        "IFS",
        "ENV",
        "BASH_ENV",
        "TMPDIR",
        "LANG",
        "TERM",
        "HOSTNAME",
        "MPLBACKEND",
    }
)
RESERVED_PREFIXES = ("LD_", "DYLD_", "PYTHON", "NJ_", "JPY_", "JUPYTER", "IPYTHON", "BASH_FUNC")
# A user or group name: no separators, no whitespace or control characters.
PRINCIPAL_PATTERN = re.compile(r"[^\s,/\\\x00-\x1f]+\Z")


class SecretNotFound(NJError):
    def __init__(self, name: str) -> None:
        super().__init__(
            404,
            "secret-not-found",
            f"There is no secret {name!r} that you can see. Check the name, or ask its owner to "
            "share it with you or with one of your groups.",
        )


def validate_name(name: Any) -> str:
    """The name itself, or a 400 that says which rule it breaks (never echoing huge input)."""
    if not isinstance(name, str) or not name:
        raise NJError(400, "bad-name", "A secret name must be a non-empty string.")
    if len(name) > MAX_NAME_LENGTH:
        raise NJError(
            400,
            "bad-name",
            f"A secret name may have at most {MAX_NAME_LENGTH} characters (got {len(name)}).",
        )
    if not NAME_PATTERN.match(name):
        raise NJError(
            400,
            "bad-name",
            f"Secret name {name!r} is not allowed: use letters, digits and underscores, "
            "not starting with a digit (it becomes an environment variable name).",
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        raise NJError(
            400,
            "reserved-name",
            f"Secret name {name!r} is reserved: runtimes get secrets as environment variables, "
            "and this one would change how the runtime itself starts. Pick another name.",
        )
    return name


def validate_value(value: Any, max_bytes: int) -> str:
    # Messages here describe the value's type and size only, never its content.
    if not isinstance(value, str):
        raise NJError(400, "bad-value", "A secret value must be a string.")
    if not value:
        raise NJError(400, "bad-value", "A secret value must not be empty.")
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        raise NJError(
            413,
            "value-too-large",
            f"The secret value is {size} bytes; the limit is {max_bytes} bytes "
            "(NJApp.secrets_max_value_bytes).",
        )
    if "\x00" in value:
        raise NJError(
            400,
            "bad-value",
            "A secret value must not contain NUL characters (environment variables cannot).",
        )
    return value


def validate_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise NJError(400, "bad-description", "The description must be a string.")
    size = len(description.encode("utf-8"))
    if size > MAX_METADATA_FIELD_BYTES:
        raise NJError(
            400,
            "bad-description",
            f"The description is {size} bytes; the limit is {MAX_METADATA_FIELD_BYTES}.",
        )
    return description


def validate_principals(kind: str, names: Any) -> tuple[str, ...]:
    """A sorted, de-duplicated tuple of user or group names, or a 400 naming the bad entry."""
    if names is None:
        return ()
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise NJError(400, "bad-sharing", f"shared_with.{kind} must be a list of names.")
    cleaned = tuple(sorted({n.strip() for n in names if n.strip()}))
    if len(cleaned) > MAX_SHARED_ENTRIES:
        raise NJError(
            400,
            "bad-sharing",
            f"A secret can be shared with at most {MAX_SHARED_ENTRIES} {kind}.",
        )
    for entry in cleaned:
        if len(entry) > MAX_PRINCIPAL_LENGTH or not PRINCIPAL_PATTERN.match(entry):
            raise NJError(
                400,
                "bad-sharing",
                f"{entry[:MAX_PRINCIPAL_LENGTH]!r} is not a valid name in shared_with.{kind} "
                "(no whitespace, commas or slashes; at most "
                f"{MAX_PRINCIPAL_LENGTH} characters).",
            )
    if len(json.dumps(list(cleaned)).encode("utf-8")) > MAX_METADATA_FIELD_BYTES:
        raise NJError(
            400,
            "bad-sharing",
            f"The list shared_with.{kind} is too long to store; share with a group instead.",
        )
    return cleaned


@dataclass(frozen=True)
class SecretMetadata:
    """Everything about a secret except its value: safe to list, log and send to a browser."""

    description: str = ""
    owner: str = ""
    shared_users: tuple[str, ...] = ()
    shared_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecretRecord:
    name: str
    metadata: SecretMetadata
    created: str = ""
    updated: str = ""
    version: int = 0

    def to_json(self, principal: Principal | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.metadata.description,
            "owner": self.metadata.owner,
            "shared_with": {
                "users": list(self.metadata.shared_users),
                "groups": list(self.metadata.shared_groups),
            },
            "created": self.created,
            "updated": self.updated,
            "version": self.version,
        }
        if principal is not None:
            data["can_manage"] = can_manage(self, principal)
        return data


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user name and the groups that user belongs to right now."""

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)


def can_read(record: SecretRecord, principal: Principal) -> bool:
    meta = record.metadata
    return (
        principal.name == meta.owner
        or principal.name in meta.shared_users
        or bool(principal.groups.intersection(meta.shared_groups))
    )


def can_manage(record: SecretRecord, principal: Principal) -> bool:
    # Only the owner changes the value, the sharing or deletes; sharing grants use, not control.
    return principal.name == record.metadata.owner


def attached_names(metadata: Any) -> list[str]:
    """The secret names a notebook's metadata attaches (`metadata.nj.secrets`), valid ones only."""
    nj = metadata.get("nj") if isinstance(metadata, dict) else None
    names = nj.get("secrets") if isinstance(nj, dict) else None
    if not isinstance(names, list):
        return []
    return [n for n in names if isinstance(n, str) and NAME_PATTERN.match(n)]


def unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name, None)
    return list(seen)
