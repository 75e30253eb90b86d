"""Environments and their immutable, content-identified versions.

An *environment definition* is a folder (`environment.toml`, `requirements.in`,
`requirements.lock`). Building it for a backend yields an *environment version*: an immutable
record identified by content. For the local backend the identity is the hash of what the venv is
materialised from (lock, Python request, kernel command); for Docker it is the image ID.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..base import NJError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BACKENDS = ("local", "docker")

# Lower case, digits and inner dashes: valid as a kernelspec name suffix, a Docker repository
# component and a folder name, so one name works everywhere without escaping.
NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
VERSION_PATTERN = re.compile(r"^(?:sha256:)?[0-9a-f]{7,64}$")
SHORT_LENGTH = 12
LOCK_FILE = "requirements.lock"
INPUT_FILE = "requirements.in"
DEFINITION_FILE = "environment.toml"


def check_name(name: str) -> str:
    """The name unchanged, or a 400 that says what a valid name looks like."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise NJError(
            400,
            "bad-name",
            f"{_shown(name)} is not a valid environment name: use 1 to 40 lower-case letters, "
            "digits and inner dashes (for example `python` or `my-env`).",
        )
    return name


def _shown(name: object) -> str:
    """A name as an error message repeats it: shortened, since it may be thousands long."""
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


def check_version(version: str) -> str:
    """A version reference (full `sha256:<hex>` or a hex prefix of at least 7), normalised."""
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise NJError(
            400,
            "bad-version",
            f"{version!r} is not a valid environment version: use the `sha256:<hex>` ID or at "
            "least its first 7 hex digits.",
        )
    return version.removeprefix("sha256:")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def short_version(version: str) -> str:
    return version.removeprefix("sha256:")[:SHORT_LENGTH]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class EnvironmentDefinition:
    """What an environment is made of, as written in its folder."""

    name: str
    display_name: str
    description: str
    language: str
    python: str
    kernel: list[str]
    apt: list[str]
    lock_text: str
    source_dir: Path
    # `[local]`: a command that must succeed on the server for the local backend to offer this
    # environment (its kernel runs a program of the server's own, such as R), and how to get it.
    local_requires: tuple[str, ...] = ()
    local_install: str = ""

    @classmethod
    def load(cls, folder: Path) -> EnvironmentDefinition:
        """Read and validate a definition folder; a malformed one is a 422 saying what to fix."""
        spec_path = folder / DEFINITION_FILE
        try:
            spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NJError(
                404, "unknown-environment", f"No environment definition at {folder.name!r}."
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise _malformed(folder.name, f"{DEFINITION_FILE} is not valid TOML ({err})") from None
        name = spec.get("name", folder.name)
        check_name(name)
        if name != folder.name:
            raise _malformed(folder.name, f"`name = {name!r}` must match the folder name")
        kernel = spec.get("kernel")
        if not (isinstance(kernel, list) and kernel and all(isinstance(a, str) for a in kernel)):
            raise _malformed(name, "`kernel` must be a non-empty list of strings")
        if "{connection_file}" not in kernel:
            raise _malformed(name, "`kernel` must pass `{connection_file}` to the kernel")
        apt = spec.get("apt", [])
        if not (isinstance(apt, list) and all(_is_debian_package(p) for p in apt)):
            raise _malformed(name, "`apt` must be a list of Debian package names")
        python = spec.get("python", "3")
        if not (isinstance(python, str) and re.fullmatch(r"3(\.\d{1,2}){0,2}", python)):
            raise _malformed(name, "`python` must be a version such as `3.11`")
        local = spec.get("local", {})
        if not isinstance(local, dict):
            raise _malformed(name, "`local` must be a table (`[local]`)")
        requires = local.get("requires", [])
        if not (isinstance(requires, list) and all(isinstance(a, str) for a in requires)):
            raise _malformed(name, "`[local] requires` must be a command: a list of strings")
        install = local.get("install", "")
        if not isinstance(install, str):
            raise _malformed(name, "`[local] install` must be a string saying how to install")
        try:
            lock_text = (folder / LOCK_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _malformed(
                name,
                f"{LOCK_FILE} is missing: run `jupyter nj env lock {name}` to create it",
            ) from None
        return cls(
            name=name,
            display_name=str(spec.get("display_name", name)),
            description=str(spec.get("description", "")),
            language=str(spec.get("language", "python")),
            python=python,
            kernel=list(kernel),
            apt=list(apt),
            lock_text=lock_text,
            source_dir=folder,
            local_requires=tuple(requires),
            local_install=install,
        )

    @staticmethod
    def load_python(folder: Path) -> str:
        """Just the Python request of a definition (for locking, before a lock exists)."""
        try:
            spec = tomllib.loads((folder / DEFINITION_FILE).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise _malformed(folder.name, f"{DEFINITION_FILE} cannot be read ({err})") from None
        return str(spec.get("python", "3"))

    def recipe(self) -> dict[str, Any]:
        """Everything besides the lock that decides what a build produces (kept in records)."""
        recipe: dict[str, Any] = {
            "display_name": self.display_name,
            "description": self.description,
            "language": self.language,
            "python": self.python,
            "kernel": self.kernel,
            "apt": self.apt,
        }
        if self.local_requires:
            # In the record too: a local runtime of the version checks it again at start.
            recipe["local"] = {"requires": list(self.local_requires), "install": self.local_install}
        return recipe

    def local_version(self) -> str:
        """The content ID of this definition materialised as a local venv."""
        return local_version_id(self.recipe(), self.lock_text)


def local_version_id(recipe: dict[str, Any], lock_text: str) -> str:
    # Only what changes the venv or how the kernel starts takes part, so editing a description
    # does not make a new version.
    material = {
        "format": "nj-local-1",
        "python": recipe["python"],
        "kernel": recipe["kernel"],
        "lock": sha256_hex(lock_text.encode("utf-8")),
    }
    return "sha256:" + sha256_hex(json.dumps(material, sort_keys=True).encode("utf-8"))


def _is_debian_package(name: object) -> bool:
    return isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9+.-]{1,80}", name) is not None


def _malformed(name: str, what: str) -> NJError:
    return NJError(
        422, "bad-definition", f"The definition of environment {name!r} is invalid: {what}."
    )


@dataclass
class EnvironmentVersion:
    """One immutable, built version of an environment, as the catalog records it."""

    name: str
    version: str
    backend: str
    recipe: dict[str, Any]
    lock_sha256: str
    created: str = field(default_factory=utc_now)
    parent: str | None = None
    image: str | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def short(self) -> str:
        return short_version(self.version)

    @property
    def display_name(self) -> str:
        return f"{self.recipe.get('display_name', self.name)} @ {self.short} ({self.backend})"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["short"] = self.short
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnvironmentVersion:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})
