"""How a runtime (kernel) reaches its secrets: a kernel-scoped credential and a Unix socket.

At kernel start the runtimes pillar asks `SecretsManager.runtime_environment(...)` for a
`RuntimeSecrets`: environment variables (the attached secrets' values, the socket path and a
fresh random credential), the server's own credentials to remove from the inherited environment,
and a folder to make visible to the runtime. That folder holds:

- `secrets.sock`: a Unix socket served by this server. A container needs no network to use it:
  bind-mounting the folder (read-only is enough) makes it reachable;
- `python/`: a copy of the dependency-free client (`jupyter_nj/secrets/client.py`), to put on the
  runtime's PYTHONPATH so that `from jupyter_nj import secrets` works in any image or venv.

The credential is 32 random bytes. The server keeps only its SHA-256, bound to the notebook
path, the user who started the runtime and the kernel id; it dies with the kernel (checked on
every use) and after `NJApp.secrets_runtime_credential_ttl` seconds at the latest. It is not a
Vault token: the server reads Vault with its own credentials and applies the sharing rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base import nj_app_of
from .redaction import CREDENTIAL_PREFIX

log = logging.getLogger(__name__)

SOCKET_NAME = "secrets.sock"
CLIENT_FOLDER = "python"
#: Where a container runtime should mount `RuntimeSecrets.host_folder` (the default).
CONTAINER_FOLDER = "/run/nj-secrets"
#: Largest request line the socket accepts: a name and a credential, nothing more.
MAX_REQUEST_BYTES = 8192

# Variables through which the server itself reaches Vault or decrypts the local store. A runtime
# inherits the server's environment by default (local kernels), so these are removed from it.
SERVER_CREDENTIAL_VARIABLES = (
    "VAULT_TOKEN",
    "BAO_TOKEN",
    "VAULT_ROLE_ID",
    "VAULT_SECRET_ID",
    "VAULT_CLIENT_KEY",
    "BAO_CLIENT_KEY",
    "VAULT_PASSWORD",
    "NJ_SECRETS_KEY",
    # Under JupyterHub, the server's hub token: with it a kernel could ask the hub service for
    # every secret its user may read, attached or not, and manage the user's shares.
    "JUPYTERHUB_API_TOKEN",
    "JPY_API_TOKEN",
)


@dataclass
class RuntimeGrant:
    notebook_path: str
    user: str
    kernel_id: str
    expires_at: float


@dataclass
class RuntimeSecrets:
    """What a runtime needs for its secrets: the contract with the runtimes pillar.

    `env` is for a runtime that sees the host's file system (a local kernel). For a container,
    mount `host_folder` at `CONTAINER_FOLDER` (read-only) and use `container_env()`.
    `host_folder` and `python_path` are empty when the socket could not start (no Unix
    sockets on this platform): secrets then arrive as environment variables only.
    """

    env: dict[str, str]
    unset: tuple[str, ...]
    host_folder: str
    python_path: str
    attached: list[str] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    expires_at: float = 0.0

    def apply_to(self, base_env: dict[str, str]) -> dict[str, str]:
        """The environment for a local runtime: `base_env` without server credentials, plus ours."""
        env = {k: v for k, v in base_env.items() if k not in self.unset}
        env.update(self.env)
        if self.python_path:
            existing = env.get("PYTHONPATH", "")
            env["PYTHONPATH"] = (
                self.python_path + os.pathsep + existing if existing else self.python_path
            )
        return env

    def container_env(self, mount_point: str = CONTAINER_FOLDER) -> dict[str, str]:
        """The variables for a container that has `host_folder` mounted at `mount_point`."""
        env = dict(self.env)
        if self.host_folder:
            env["NJ_SECRETS_SOCKET"] = f"{mount_point}/{SOCKET_NAME}"
            env["PYTHONPATH"] = f"{mount_point}/{CLIENT_FOLDER}"
        return env

    def __repr__(self) -> str:  # the env holds values and a credential: never print them
        return (
            f"RuntimeSecrets(attached={self.attached}, injected={self.injected}, "
            f"skipped={sorted(self.skipped)}, host_folder={self.host_folder!r})"
        )


class RuntimeCredentials:
    """Kernel-scoped credentials: issued at kernel start, checked on every secret read."""

    def __init__(self, ttl_seconds: float, kernel_alive: Callable[[str], bool] | None = None):
        self.ttl_seconds = ttl_seconds
        self.kernel_alive = kernel_alive
        self._grants: dict[str, RuntimeGrant] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def issue(self, notebook_path: str, user: str, kernel_id: str = "") -> tuple[str, RuntimeGrant]:
        token = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
        grant = RuntimeGrant(
            notebook_path=notebook_path,
            user=user,
            kernel_id=kernel_id,
            expires_at=time.time() + self.ttl_seconds,
        )
        with self._lock:
            self._drop_expired()
            self._grants[self._digest(token)] = grant
        return token, grant

    def lookup(self, token: Any) -> RuntimeGrant | None:
        if not isinstance(token, str) or not token:
            return None
        digest = self._digest(token)
        with self._lock:
            grant = self._grants.get(digest)
            if grant is None:
                return None
            if grant.expires_at < time.time():
                del self._grants[digest]
                return None
        if grant.kernel_id and self.kernel_alive and not self.kernel_alive(grant.kernel_id):
            self.revoke_kernel(grant.kernel_id)
            return None
        return grant

    def revoke_kernel(self, kernel_id: str) -> int:
        with self._lock:
            doomed = [d for d, g in self._grants.items() if g.kernel_id == kernel_id]
            for digest in doomed:
                del self._grants[digest]
        return len(doomed)

    def revoke_all(self) -> None:
        with self._lock:
            self._grants.clear()

    def _drop_expired(self) -> None:
        now = time.time()
        for digest in [d for d, g in self._grants.items() if g.expires_at < now]:
            del self._grants[digest]


RequestHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class SecretsSocketServer:
    """A Unix socket on the server's event loop that answers runtimes' secret requests.

    One JSON line in, one JSON line out, then the connection closes. The socket is world-
    connectable (a container runs as another uid); the credential in each request is what
    authorizes it. The work behind each request runs off the event loop (the manager's job).
    """

    def __init__(self, folder: Path | None, handle: RequestHandler) -> None:
        self._requested_folder = folder
        self._handle = handle
        self.folder: Path | None = None
        self._server: asyncio.AbstractServer | None = None
        self._owns_folder = False
        self._start_lock = asyncio.Lock()

    @property
    def socket_path(self) -> Path:
        assert self.folder is not None
        return self.folder / SOCKET_NAME

    @property
    def python_path(self) -> Path:
        assert self.folder is not None
        return self.folder / CLIENT_FOLDER

    async def ensure_started(self) -> None:
        async with self._start_lock:
            if self._server is not None:
                return
            await asyncio.to_thread(self._prepare_folder)
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.socket_path), limit=MAX_REQUEST_BYTES
            )
            os.chmod(self.socket_path, 0o666)
            log.info("Runtimes reach their secrets through %s", self.socket_path)

    def _prepare_folder(self) -> None:
        if self._requested_folder is not None:
            folder = Path(self._requested_folder)
            folder.mkdir(parents=True, exist_ok=True)
        else:
            # A short path of its own: Unix socket paths are limited to about 100 bytes, and this
            # folder is mounted into containers, so it holds nothing but the socket and client.
            folder = Path(tempfile.mkdtemp(prefix="nj-secrets-"))
            self._owns_folder = True
        # Readable and traversable by a runtime's unprivileged user: it holds no secret.
        os.chmod(folder, 0o755)
        with contextlib.suppress(FileNotFoundError):
            (folder / SOCKET_NAME).unlink()
        self.folder = folder
        write_client_bundle(folder / CLIENT_FOLDER)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        if self.folder is not None:
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            if self._owns_folder:
                shutil.rmtree(self.folder, ignore_errors=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                line = await asyncio.wait_for(reader.readline(), timeout=10)
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("not an object")  # noqa: TRY004  one answer for all bad input
            except (ValueError, asyncio.LimitOverrunError, asyncio.TimeoutError):
                response: dict[str, Any] = {
                    "ok": False,
                    "reason": "bad-request",
                    "message": "The request was not one JSON object on one line.",
                }
            else:
                try:
                    response = await self._handle(request)
                except Exception:
                    log.exception("A runtime's secret request failed")
                    response = {
                        "ok": False,
                        "reason": "internal",
                        "message": "The Jupyter server hit an internal error; its log has details.",
                    }
            writer.write(json.dumps(response).encode("utf-8") + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the runtime went away mid-request
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


STUB_PACKAGE_INIT = '''"""Kernel-side part of jupyter-nj, copied here by the Jupyter server."""

# If the full jupyter-nj is also installed, keep its other modules importable.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
'''

STUB_SECRETS_INIT = '''"""`from jupyter_nj import secrets; secrets.get("NAME")` inside a runtime."""

from .client import *  # noqa: F401,F403
from .client import __all__  # noqa: F401
'''


def write_client_bundle(folder: Path) -> Path:
    """Copy the kernel-side client into `folder` as an importable `jupyter_nj.secrets` package."""
    package = folder / "jupyter_nj"
    secrets_package = package / "secrets"
    secrets_package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(STUB_PACKAGE_INIT)
    (secrets_package / "__init__.py").write_text(STUB_SECRETS_INIT)
    shutil.copyfile(Path(__file__).with_name("client.py"), secrets_package / "client.py")
    for path in (folder, package, secrets_package):
        os.chmod(path, 0o755)
    for path in package.rglob("*.py"):
        os.chmod(path, 0o644)
    return folder


def secrets_manager_of(configurable: Any) -> Any:
    """The running server's SecretsManager, found from any object in its tree (a kernel
    provisioner, a kernel manager, the server app), or None outside a jupyter-nj server.

    For kernel provisioners, which jupyter_client creates without a reference to extensions:

        manager = secrets_manager_of(self)
        if manager is not None:
            runtime = await manager.runtime_environment(
                env.get("JPY_SESSION_NAME", ""), kernel_id=self.kernel_id
            )
    """
    return getattr(nj_app_of(configurable), "secrets_manager", None)
