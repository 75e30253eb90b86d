"""The secrets API of the jupyter-nj hub service: secrets across users without Vault tokens in
users' servers.

Under JupyterHub one process (the hub service, `jupyter nj hub-service`) holds the Vault
credentials. A user's server calls it with its own hub token (`JUPYTERHUB_API_TOKEN`, through
backends/hub.py); the service asks the hub who that token belongs to and the user's groups on
every request (so a group change counts at the next read) and answers only what that user may
read. The rules are the secrets pillar's own: the same `SecretsManager` over the Vault backend,
with the caller as the principal.

    GET    <prefix>nj/api/secrets                 what the caller may read (metadata only)
    GET    <prefix>nj/api/secrets/NAME            one record (404 when not readable)
    GET    <prefix>nj/api/secrets/NAME/value      the value (audited; 404 when not readable)
    PUT    <prefix>nj/api/secrets/NAME            create (owner: the caller) or change (owner)
    DELETE <prefix>nj/api/secrets/NAME            owner only

A token must carry `access:services!service=<this service>` (or `access:services`): the scope
JupyterHub itself uses to say who may use a service. The hub's /user answers with the user's
name and groups whatever else the token holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
from typing import Any

import requests
from tornado import web

from ..base import NJError, error_body, json_object
from .manager import SecretsManager
from .model import Principal

log = logging.getLogger(__name__)

SECRETS_API = "nj/api/secrets"


class HubCallers:
    """Who a request comes from, asked of the hub on every request (no cache: a member
    removed from a group loses the group's secrets at the next read)."""

    def __init__(
        self,
        hub_api_url: str,
        service_name: str,
        timeout: float = 10.0,
        cache_seconds: float = 0.0,
    ) -> None:
        self.hub_api_url = hub_api_url.rstrip("/")
        self.service_name = service_name
        self.timeout = timeout
        # 0 (the default): the hub is asked on every request. More trades that for speed: a
        # group change then counts within this many seconds (docs/jupyterhub.md).
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}
        self.access_scopes = {"access:services", f"access:services!service={service_name}"}
        self._local = threading.local()

    @staticmethod
    def token_of(handler: web.RequestHandler) -> str:
        header = handler.request.headers.get("Authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() not in ("token", "bearer") or not token.strip():
            raise NJError(
                401,
                "token-required",
                "This service needs the caller's JupyterHub token in an "
                "`Authorization: token <hub token>` header (a user's server sends its "
                "JUPYTERHUB_API_TOKEN).",
            )
        return token.strip()

    def _session(self) -> requests.Session:
        # Keep-alive to the hub, one session per worker thread (Session is not thread-safe):
        # a new connection per request would cost more than the hub's answer itself.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _ask_hub(self, token: str) -> tuple[int, Any]:
        reply = self._session().get(
            f"{self.hub_api_url}/user",
            headers={"Authorization": f"token {token}"},
            timeout=self.timeout,
        )
        return reply.status_code, reply.json() if reply.status_code == 200 else None

    async def principal(self, handler: web.RequestHandler) -> Principal:
        token = self.token_of(handler)
        if not self.cache_seconds:
            return await self._principal_from_hub(token)
        # Keyed by a digest: the tokens themselves are never kept.
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        principal = await self._principal_from_hub(token)
        if len(self._cache) > 10000:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        self._cache[key] = (now + self.cache_seconds, principal)
        return principal

    async def _principal_from_hub(self, token: str) -> Principal:
        try:
            status, model = await asyncio.to_thread(self._ask_hub, token)
        except (requests.RequestException, ValueError):
            raise NJError(
                503,
                "hub-unavailable",
                f"JupyterHub at {self.hub_api_url} does not answer; retry once it is back.",
            ) from None
        if status in (401, 403):
            raise NJError(
                401,
                "token-rejected",
                "JupyterHub does not accept this token (unknown, expired or revoked). "
                "Restart your server from the hub's home page for a fresh one.",
            )
        if status != 200 or not isinstance(model, dict):
            raise NJError(
                503,
                "hub-unavailable",
                f"JupyterHub answered {status} when asked who is calling; retry, or ask the "
                "hub's operator to check the hub.",
            )
        scopes = set(model.get("scopes") or ())
        if not scopes & self.access_scopes or model.get("kind", "user") != "user":
            raise NJError(
                403,
                "scope-missing",
                f"This token may not use the hub service {self.service_name!r}: it needs the "
                f"scope access:services!service={self.service_name} (the deploy config grants "
                "it to users and to their servers' tokens; docs/jupyterhub.md).",
            )
        groups = model.get("groups") or []
        return Principal(
            name=str(model["name"]),
            groups=frozenset(g for g in groups if isinstance(g, str)),
        )


class ServiceSecretsHandler(web.RequestHandler):
    """Thin: who is asking (the hub says), parse, call the manager, serialize."""

    def initialize(self, manager: SecretsManager | None, callers: HubCallers) -> None:
        self.manager = manager
        self.callers = callers

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:
        # Token-authenticated API only: no cookies are read, so there is no cross-site request
        # to forge.
        return None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        body = error_body(
            status_code,
            exc_info[1] if exc_info else None,
            "The jupyter-nj hub service hit an internal error; its log (the hub's) has the "
            "details.",
        )
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def read_json_body(self) -> dict[str, Any]:
        return json_object(self.request.body)

    async def prepare(self) -> None:
        # Authentication first, whatever the verb: a caller the hub does not know learns
        # nothing, not even whether secrets are configured here.
        await self.authenticate()
        if self.manager is None:
            raise NJError(
                503,
                "secrets-off",
                "The jupyter-nj hub service has no Vault configured (VAULT_ADDR or "
                "c.NJApp.vault_url in its environment); ask the hub's operator.",
            )

    async def authenticate(self) -> None:
        self.principal = await self.callers.principal(self)

    @property
    def secrets(self) -> SecretsManager:
        assert self.manager is not None  # prepare() refused otherwise
        return self.manager


class ServiceSecretsList(ServiceSecretsHandler):
    async def get(self) -> None:
        self.write_json(await self.secrets.list_secrets(self.principal))


class ServiceSecret(ServiceSecretsHandler):
    async def get(self, name: str) -> None:
        self.write_json(await self.secrets.get_secret(self.principal, name))

    async def put(self, name: str) -> None:
        record, created = await self.secrets.put_secret(self.principal, name, self.read_json_body())
        self.write_json(record, status=201 if created else 200)

    async def delete(self, name: str) -> None:
        await self.secrets.delete_secret(self.principal, name)
        self.set_status(204)
        self.finish()


class ServiceSecretValue(ServiceSecretsHandler):
    """The hot path (every secret a runtime reads): the hub's answer about the caller and the
    record's metadata are fetched at the same time; the value only once the caller may read."""

    async def authenticate(self) -> None:
        self.callers.token_of(self)  # no token, no work
        if self.manager is None:
            await super().authenticate()

    async def get(self, name: str) -> None:
        record, value = await self.secrets.read_secret_value(
            self.callers.principal(self), name, via=self.callers.service_name
        )
        self.write_json({"name": name, "value": value, "record": record})


def secrets_routes(
    prefix: str, manager: SecretsManager | None, callers: HubCallers
) -> list[tuple[str, type[web.RequestHandler], dict[str, Any]]]:
    """The secrets pillar's routes on the hub service (mounted by jupyter_nj/hub_service.py)."""
    root = prefix.rstrip("/") + "/" + SECRETS_API
    options = {"manager": manager, "callers": callers}
    return [
        (root, ServiceSecretsList, options),
        (root + r"/([^/]+)", ServiceSecret, options),
        (root + r"/([^/]+)/value", ServiceSecretValue, options),
    ]
