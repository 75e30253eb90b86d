"""Secrets: values kept in Vault/OpenBao (or an encrypted local store), attached to notebooks by
name, handed to runtimes, and redacted wherever output is stored or logged.

Inside a runtime: `from jupyter_nj import secrets; secrets.get("NAME")`. This module imports only
the dependency-free client, so that line stays cheap and works where nothing else of jupyter-nj
is installed. The server side lives in `jupyter_nj.secrets.manager`.
"""

from __future__ import annotations

from .client import (
    SecretAccessError,
    SecretError,
    SecretNotFoundError,
    SecretsUnavailableError,
    get,
    names,
)

__all__ = [
    "SecretAccessError",
    "SecretError",
    "SecretNotFoundError",
    "SecretsUnavailableError",
    "get",
    "names",
]
