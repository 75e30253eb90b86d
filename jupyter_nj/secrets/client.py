"""Read secrets from inside a runtime: `from jupyter_nj import secrets; secrets.get("NAME")`.

Standard library only: the Jupyter server copies this one file into every runtime (Docker or
local), where nothing else of jupyter-nj is installed.

Each call asks the Jupyter server, through the Unix socket named by `NJ_SECRETS_SOCKET`, with the
kernel-scoped credential in `NJ_SECRETS_TOKEN`. Nothing is cached: a changed value, a new
attachment or a revoked share applies to the next call, without restarting the kernel.
"""

from __future__ import annotations

import json
import os
import socket

__all__ = [
    "SecretAccessError",
    "SecretError",
    "SecretNotFoundError",
    "SecretsUnavailableError",
    "get",
    "names",
]

SOCKET_VARIABLE = "NJ_SECRETS_SOCKET"
TOKEN_VARIABLE = "NJ_SECRETS_TOKEN"
TIMEOUT_SECONDS = 30.0


class SecretError(Exception):
    """Base of every error this module raises. `.reason` is a short code, `.name` the secret."""

    def __init__(self, message: str, reason: str = "", name: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.name = name


class SecretNotFoundError(SecretError, KeyError):
    """The secret does not exist, or is not shared with the user who started this runtime."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class SecretAccessError(SecretError, PermissionError):
    """The secret exists but this notebook may not read it (not attached, credential expired)."""


class SecretsUnavailableError(SecretError, ConnectionError):
    """The secrets service cannot answer now (store down or sealed, not a jupyter-nj runtime)."""


_ERRORS = {
    "not-attached": SecretAccessError,
    "credential-invalid": SecretAccessError,
    "not-shared": SecretNotFoundError,
    "bad-name": SecretNotFoundError,
}


def _ask(request: dict[str, str]) -> dict[str, object]:
    path = os.environ.get(SOCKET_VARIABLE, "")
    token = os.environ.get(TOKEN_VARIABLE, "")
    name = request.get("name", "")
    if not path or not token:
        raise SecretsUnavailableError(
            "This kernel was not started by jupyter-nj with secrets support "
            f"({SOCKET_VARIABLE}/{TOKEN_VARIABLE} are not set). Start the notebook with a "
            "jupyter-nj runtime (an nj-* kernel) to read secrets.",
            reason="no-credential",
            name=name,
        )
    request = dict(request, token=token, v="1")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(TIMEOUT_SECONDS)
            conn.connect(path)
            conn.sendall(json.dumps(request).encode("utf-8") + b"\n")
            chunks = []
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError as err:
        raise SecretsUnavailableError(
            f"Cannot reach the Jupyter server's secrets service at {path} "
            f"({type(err).__name__}). Was the server restarted? Restart the kernel.",
            reason="unreachable",
            name=name,
        ) from None
    try:
        answer = json.loads(b"".join(chunks))
    except ValueError:
        raise SecretsUnavailableError(
            "The secrets service sent an unreadable answer.", reason="bad-answer", name=name
        ) from None
    if not isinstance(answer, dict):
        raise SecretsUnavailableError(
            "The secrets service sent an unreadable answer.", reason="bad-answer", name=name
        )
    if not answer.get("ok"):
        reason = str(answer.get("reason", "error"))
        error_class = _ERRORS.get(reason, SecretsUnavailableError)
        raise error_class(str(answer.get("message", "Secret unavailable.")), reason, name)
    return answer


def get(name: str) -> str:
    """The current value of secret `name`, which must be attached to this notebook.

    Raises `SecretAccessError` if it is not attached, `SecretNotFoundError` if it does not exist
    or is not shared with you, `SecretsUnavailableError` if the store cannot be reached. The value
    is redacted as `[secret NAME]` where jupyter-nj stores or logs output; see the docs for the
    limits of that.
    """
    if not isinstance(name, str):
        raise TypeError("secrets.get() takes the secret's name as a string")
    answer = _ask({"op": "get", "name": name})
    value = answer.get("value")
    if not isinstance(value, str):
        raise SecretsUnavailableError(
            f"The secrets service returned no value for {name!r}.", reason="bad-answer", name=name
        )
    return value


def names() -> list[str]:
    """The names of the secrets this notebook can read now (attached and shared with you)."""
    answer = _ask({"op": "names"})
    listed = answer.get("names")
    return [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
