"""Secrets kept by the jupyter-nj hub service (secrets/hub_service.py), for a user's server
under JupyterHub that holds no Vault token of its own.

Every call is one HTTP request to the service with the server's hub token
(`JUPYTERHUB_API_TOKEN`); the service decides, from the hub's answer about that token, what the
server's owner may read. So unlike the other backends this one sees only part of the store:
records the owner may read. What the manager checks on top (who, of the people inside this
server, may see a record) can only narrow that.

Blocking (requests); the manager calls it from a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from ...base import NJError
from ..model import SecretMetadata, SecretRecord
from . import BackendUnavailable, SecretExists, SecretsBackend

SECRETS_API = "nj/api/secrets"


@dataclass(frozen=True)
class HubServiceConfig:
    url: str  # the service's base URL, its prefix included (`http://127.0.0.1:8950/services/nj/`)
    token: str  # the server's hub token; never logged or repeated in an error
    timeout: float = 10.0
    verify: bool | str = True

    def __repr__(self) -> str:
        return f"HubServiceConfig(url={self.url!r}, token=<hidden>, timeout={self.timeout})"


def record_from_json(data: dict[str, Any]) -> SecretRecord:
    shared = data.get("shared_with") or {}
    return SecretRecord(
        name=str(data["name"]),
        metadata=SecretMetadata(
            description=str(data.get("description") or ""),
            owner=str(data.get("owner") or ""),
            shared_users=tuple(shared.get("users") or ()),
            shared_groups=tuple(shared.get("groups") or ()),
        ),
        created=str(data.get("created") or ""),
        updated=str(data.get("updated") or ""),
        version=int(data.get("version") or 0),
    )


class HubSecretsBackend(SecretsBackend):
    kind = "hub"

    def __init__(self, config: HubServiceConfig) -> None:
        self.config = config
        self._base = config.url.rstrip("/") + "/" + SECRETS_API
        # One keep-alive session per worker thread: requests' Session is not thread-safe.
        self._local = threading.local()

    def describe(self) -> str:
        return f"the jupyter-nj hub service at {self.config.url}"

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = f"token {self.config.token}"
            session.verify = self.config.verify
        return session

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call; a missing secret is None, the service's own errors are passed on as they
        are (the same codes a server's API answers), anything else is a 503 with advice."""
        url = self._base + path
        try:
            reply = self._session().request(method, url, json=body, timeout=self.config.timeout)
        except requests.RequestException:
            raise BackendUnavailable(
                "hub-service-unavailable",
                f"The jupyter-nj hub service at {self.config.url} does not answer, so secrets "
                "are unavailable until it is back; notebooks, history and kernels without "
                "secrets keep working. Ask the hub's operator to check the service in the "
                "hub's log.",
            ) from None
        if reply.status_code == 404 and method == "GET" and path:
            return None
        try:
            data = reply.json() if reply.content else {}
        except ValueError:
            data = {}
        if reply.status_code < 400:
            return data
        reason = str(data.get("reason") or "http-error") if isinstance(data, dict) else ""
        message = str(data.get("message") or "") if isinstance(data, dict) else ""
        if reply.status_code in (401, 403) and reason in ("token-required", "token-rejected"):
            raise BackendUnavailable(
                "hub-service-refused",
                f"The jupyter-nj hub service refused this server's hub token ({message}) "
                "Restart your server from the hub's home page.",
            )
        if (reply.status_code == 403 and reason == "scope-missing") or reply.status_code >= 500:
            # The operator's to fix (a role or the service itself), not the user's.
            raise BackendUnavailable(
                reason if reply.status_code < 500 else "hub-service-unavailable",
                message or f"The jupyter-nj hub service answered {reply.status_code}.",
            )
        if reply.status_code == 409 and reason == "secret-exists":
            raise NJError(409, reason, message)
        raise NJError(reply.status_code, reason, message or f"HTTP {reply.status_code}")

    @staticmethod
    def _one(name: str) -> str:
        return "/" + quote(name, safe="")

    def list_records(self) -> list[SecretRecord]:
        data = self._request("GET", "")
        return [record_from_json(item) for item in data.get("secrets", [])]

    def get_record(self, name: str) -> SecretRecord | None:
        data = self._request("GET", self._one(name))
        return None if data is None else record_from_json(data)

    def read_value(self, name: str) -> str | None:
        data = self._request("GET", self._one(name) + "/value")
        value = None if data is None else data.get("value")
        return value if isinstance(value, str) else None

    def read_secret(
        self, name: str, may_read: Callable[[SecretRecord], bool]
    ) -> tuple[SecretRecord | None, str | None]:
        # One round trip: the service sends the record with the value it decided to give.
        data = self._request("GET", self._one(name) + "/value")
        if data is None or not isinstance(data.get("record"), dict):
            return None, None
        record = record_from_json(data["record"])
        value = data.get("value")
        if not may_read(record) or not isinstance(value, str):
            return record, None
        return record, value

    @staticmethod
    def _body(value: str | None, metadata: SecretMetadata) -> dict[str, Any]:
        # No owner: the service makes the caller the owner of what it creates.
        body: dict[str, Any] = {
            "description": metadata.description,
            "shared_with": {
                "users": list(metadata.shared_users),
                "groups": list(metadata.shared_groups),
            },
        }
        if value is not None:
            body["value"] = value
        return body

    def create(self, name: str, value: str, metadata: SecretMetadata) -> SecretRecord:
        try:
            data = self._request("PUT", self._one(name), self._body(value, metadata))
        except NJError as err:
            if err.status == 409:
                raise SecretExists(name) from None
            raise
        return record_from_json(data)

    def update(self, name: str, value: str | None, metadata: SecretMetadata) -> SecretRecord:
        return record_from_json(self._request("PUT", self._one(name), self._body(value, metadata)))

    def delete(self, name: str) -> bool:
        try:
            self._request("DELETE", self._one(name))
        except NJError as err:
            if err.status == 404:
                return False
            raise
        return True

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
