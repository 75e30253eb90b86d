"""Secrets in HashiCorp Vault or OpenBao, through hvac, in a KV version 2 engine.

Each secret is one KV v2 entry `<mount>/<path_prefix>/<NAME>` whose data is `{"value": ...}`.
Its description, owner and sharing live in the entry's `custom_metadata`, so listing and showing
secrets never reads a value.

The server authenticates with a token, AppRole or userpass. A daemon thread keeps the token
alive: it renews renewable tokens before they expire and logs in again (AppRole/userpass) when a
token can no longer be renewed. Every hvac call here blocks; the manager calls this class from a
worker thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import hvac
import requests
from hvac import exceptions as vault_errors

from ..model import NAME_PATTERN, SecretMetadata, SecretNotFound, SecretRecord
from . import BackendUnavailable, SecretExists, SecretsBackend

log = logging.getLogger(__name__)

T = TypeVar("T")

AUTH_METHODS = ("token", "approle", "userpass")


@dataclass
class VaultConfig:
    """Everything needed to reach and authenticate to Vault. `repr` hides the credentials."""

    url: str
    token: str = ""
    namespace: str = ""
    verify: bool | str = True
    client_cert: str = ""
    client_key: str = ""
    timeout: float = 10.0
    kv_mount: str = "secret"
    path_prefix: str = "jupyter-nj"
    auth_method: str = "token"
    auth_mount: str = ""
    role_id: str = ""
    secret_id: str = ""
    username: str = ""
    password: str = ""
    renew_check_interval: float = 60.0
    renew_below_seconds: float = 600.0

    def __repr__(self) -> str:
        return (
            f"VaultConfig(url={self.url!r}, namespace={self.namespace!r}, "
            f"auth_method={self.auth_method!r}, kv_mount={self.kv_mount!r}, "
            f"path_prefix={self.path_prefix!r})"
        )


class VaultSecretsBackend(SecretsBackend):
    kind = "vault"

    def __init__(self, config: VaultConfig) -> None:
        if config.auth_method not in AUTH_METHODS:
            raise ValueError(f"auth_method must be one of {AUTH_METHODS}")
        self.config = config
        self._client: hvac.Client | None = None
        self._login_lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def describe(self) -> str:
        where = f"{self.config.url} {self.config.kv_mount}/{self._prefix or ''}".rstrip("/")
        if self.config.namespace:
            where += f" (namespace {self.config.namespace})"
        return where

    # -- connection and authentication ----------------------------------------------------------

    @property
    def _prefix(self) -> str:
        return self.config.path_prefix.strip("/")

    def _path(self, name: str) -> str:
        return f"{self._prefix}/{name}" if self._prefix else name

    def _new_client(self) -> hvac.Client:
        cfg = self.config
        cert = (cfg.client_cert, cfg.client_key) if cfg.client_cert else None
        # token="" rather than None: hvac would otherwise fall back to VAULT_TOKEN or a stray
        # ~/.vault-token of whoever runs the server, which is not the configured identity.
        return hvac.Client(
            url=cfg.url,
            token=cfg.token if cfg.auth_method == "token" else "",
            namespace=cfg.namespace or None,
            verify=cfg.verify,
            cert=cert,
            timeout=cfg.timeout,
        )

    def _login(self, client: hvac.Client) -> None:
        cfg = self.config
        if cfg.auth_method == "approle":
            client.auth.approle.login(
                role_id=cfg.role_id,
                secret_id=cfg.secret_id or None,
                use_token=True,
                mount_point=cfg.auth_mount or "approle",
            )
        elif cfg.auth_method == "userpass":
            client.auth.userpass.login(
                username=cfg.username,
                password=cfg.password,
                use_token=True,
                mount_point=cfg.auth_mount or "userpass",
            )

    def _connected(self) -> hvac.Client:
        with self._login_lock:
            if self._client is None:
                client = self._new_client()
                with self._translate_errors():
                    self._login(client)
                self._client = client
            return self._client

    def _relogin(self) -> bool:
        """Log in again (AppRole/userpass only): True if a fresh token was obtained."""
        if self.config.auth_method == "token":
            return False
        with self._login_lock:
            client = self._new_client()
            self._login(client)
            old, self._client = self._client, client
        if old is not None:
            old.adapter.close()
        return True

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        """hvac and requests errors become `BackendUnavailable` with advice, never a 500.

        Messages name the server and the kind of failure only: hvac's own text can quote the
        request, and a request may carry a value.
        """
        url = self.config.url
        try:
            yield
        except requests.exceptions.SSLError:
            raise BackendUnavailable(
                "vault-tls",
                f"The TLS connection to Vault at {url} failed (certificate not trusted?). "
                "Check NJApp.vault_verify (a CA bundle path) and the client certificate settings.",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
            raise BackendUnavailable(
                "vault-unreachable",
                f"Vault at {url} is not reachable. Secrets are unavailable until it is back; "
                "notebooks still open and run without them.",
            ) from None
        except vault_errors.VaultDown:
            raise BackendUnavailable(
                "vault-sealed",
                f"Vault at {url} is sealed. An operator must unseal it "
                "(`bao operator unseal` / `vault operator unseal`).",
            ) from None
        except vault_errors.VaultNotInitialized:
            raise BackendUnavailable(
                "vault-not-initialized", f"Vault at {url} is not initialized."
            ) from None
        except (vault_errors.Unauthorized, vault_errors.Forbidden):
            raise BackendUnavailable(
                "vault-token-rejected",
                f"Vault at {url} refused the server's credentials (token expired or revoked, or "
                f"no policy for {self.config.kv_mount}/{self._prefix}). Configure a valid token "
                "(NJApp.vault_token, VAULT_TOKEN or BAO_TOKEN) or AppRole/userpass login.",
            ) from None
        except vault_errors.VaultError as err:
            raise BackendUnavailable(
                "vault-error",
                f"Vault at {url} answered with an error ({type(err).__name__}).",
            ) from None

    def _call(self, action: Callable[[hvac.Client], T]) -> T:
        """Run one hvac action; with AppRole/userpass, log in once more if the token was refused."""
        with self._translate_errors():
            client = self._connected()
            try:
                return action(client)
            except (vault_errors.Forbidden, vault_errors.Unauthorized):
                if not self._relogin():
                    raise
                return action(self._connected())

    # -- background token renewal ---------------------------------------------------------------

    def start(self) -> None:
        if self._renewer is None:
            self._renewer = threading.Thread(
                target=self._renew_loop, name="nj-vault-token-renewal", daemon=True
            )
            self._renewer.start()

    def close(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=self.config.timeout + 1)
            self._renewer = None
        if self._client is not None:
            self._client.adapter.close()
            self._client = None

    def renew_token_if_needed(self) -> str:
        """One renewal check. Returns what it did: "not-expiring", "renewed" or "logged-in"."""
        client = self._connected()
        with self._translate_errors():
            info = client.auth.token.lookup_self()["data"]
        ttl = int(info.get("ttl") or 0)
        if ttl == 0 and not info.get("expire_time"):
            return "not-expiring"  # a root or periodic token without expiry
        if ttl > self.config.renew_below_seconds:
            return "not-expiring"
        if info.get("renewable"):
            with self._translate_errors():
                client.auth.token.renew_self()
            return "renewed"
        with self._translate_errors():
            if self._relogin():
                return "logged-in"
        log.warning(
            "The Vault token expires in %d s and cannot be renewed; configure AppRole or "
            "userpass login, or a renewable token.",
            ttl,
        )
        return "not-renewable"

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.config.renew_check_interval):
            try:
                self.renew_token_if_needed()
            except BackendUnavailable as err:
                log.warning("Vault token renewal check failed: %s", err.message)
            except Exception:  # the renewal thread must survive anything
                log.exception("Vault token renewal check failed unexpectedly")

    # -- the interface --------------------------------------------------------------------------

    def _custom_metadata(self, metadata: SecretMetadata) -> dict[str, str]:
        fields = {
            "nj_description": metadata.description,
            "nj_owner": metadata.owner,
            "nj_shared_users": json.dumps(list(metadata.shared_users)),
            "nj_shared_groups": json.dumps(list(metadata.shared_groups)),
        }
        # Vault refuses empty custom_metadata values; a missing key reads back as "".
        return {key: value for key, value in fields.items() if value}

    @staticmethod
    def _json_list(text: str | None) -> tuple[str, ...]:
        try:
            items = json.loads(text or "[]")
        except ValueError:
            return ()
        return tuple(i for i in items if isinstance(i, str)) if isinstance(items, list) else ()

    def _record_from_metadata(self, name: str, data: dict[str, Any]) -> SecretRecord:
        custom = data.get("custom_metadata") or {}
        return SecretRecord(
            name=name,
            metadata=SecretMetadata(
                description=custom.get("nj_description", ""),
                owner=custom.get("nj_owner", ""),
                shared_users=self._json_list(custom.get("nj_shared_users")),
                shared_groups=self._json_list(custom.get("nj_shared_groups")),
            ),
            created=str(data.get("created_time", "")),
            updated=str(data.get("updated_time", "")),
            version=int(data.get("current_version") or 0),
        )

    def _read_metadata(self, client: hvac.Client, name: str) -> dict[str, Any] | None:
        try:
            response = client.secrets.kv.v2.read_secret_metadata(
                path=self._path(name), mount_point=self.config.kv_mount
            )
        except vault_errors.InvalidPath:
            return None
        data = response["data"]
        # A name whose every version was deleted but whose metadata remains has no value.
        return data if int(data.get("current_version") or 0) > 0 else None

    def list_records(self) -> list[SecretRecord]:
        def action(client: hvac.Client) -> list[SecretRecord]:
            try:
                listing = client.secrets.kv.v2.list_secrets(
                    path=self._prefix, mount_point=self.config.kv_mount
                )
            except vault_errors.InvalidPath:
                return []  # nothing stored under the prefix yet
            names = sorted(
                key for key in listing["data"].get("keys", []) if NAME_PATTERN.match(key)
            )
            records = []
            for name in names:
                data = self._read_metadata(client, name)
                if data is not None:
                    records.append(self._record_from_metadata(name, data))
            return records

        return self._call(action)

    def get_record(self, name: str) -> SecretRecord | None:
        def action(client: hvac.Client) -> SecretRecord | None:
            data = self._read_metadata(client, name)
            return None if data is None else self._record_from_metadata(name, data)

        return self._call(action)

    def read_value(self, name: str) -> str | None:
        def action(client: hvac.Client) -> str | None:
            try:
                response = client.secrets.kv.v2.read_secret_version(
                    path=self._path(name),
                    mount_point=self.config.kv_mount,
                    # Explicit: hvac warns when it is left to its changing default.
                    raise_on_deleted_version=True,
                )
            except vault_errors.InvalidPath:
                return None
            value = (response["data"].get("data") or {}).get("value")
            return value if isinstance(value, str) else None

        return self._call(action)

    def read_secret(
        self, name: str, may_read: Callable[[SecretRecord], bool]
    ) -> tuple[SecretRecord | None, str | None]:
        """One Vault read instead of two: KV v2 answers a data read with the key's
        custom_metadata, which is all `may_read` looks at. The value is in this process for
        a moment either way (this process holds the token that reads every value); it is
        dropped here when the caller may not read it. The record's times are this version's."""

        def action(client: hvac.Client) -> tuple[SecretRecord | None, str | None]:
            try:
                response = client.secrets.kv.v2.read_secret_version(
                    path=self._path(name),
                    mount_point=self.config.kv_mount,
                    raise_on_deleted_version=True,
                )
            except vault_errors.InvalidPath:
                return None, None
            meta = response["data"].get("metadata") or {}
            record = self._record_from_metadata(
                name,
                {
                    "custom_metadata": meta.get("custom_metadata"),
                    "created_time": meta.get("created_time", ""),
                    "updated_time": meta.get("created_time", ""),
                    "current_version": meta.get("version"),
                },
            )
            value = (response["data"].get("data") or {}).get("value")
            if not may_read(record) or not isinstance(value, str):
                return record, None
            return record, value

        return self._call(action)

    def create(self, name: str, value: str, metadata: SecretMetadata) -> SecretRecord:
        path = self._path(name)
        mount = self.config.kv_mount

        def action(client: hvac.Client) -> SecretRecord:
            try:
                # cas=0: only succeeds if the key has no version yet, so two concurrent creators
                # cannot both win.
                client.secrets.kv.v2.create_or_update_secret(
                    path=path, secret={"value": value}, cas=0, mount_point=mount
                )
            except vault_errors.InvalidRequest:
                raise SecretExists(name) from None
            try:
                client.secrets.kv.v2.update_metadata(
                    path=path, mount_point=mount, custom_metadata=self._custom_metadata(metadata)
                )
            except BaseException:
                # Without metadata the secret would have no owner; take it back out.
                with contextlib.suppress(Exception):
                    client.secrets.kv.v2.delete_metadata_and_all_versions(
                        path=path, mount_point=mount
                    )
                raise
            data = self._read_metadata(client, name)
            if data is None:
                raise SecretNotFound(name)
            return self._record_from_metadata(name, data)

        return self._call(action)

    def update(self, name: str, value: str | None, metadata: SecretMetadata) -> SecretRecord:
        path = self._path(name)
        mount = self.config.kv_mount

        def action(client: hvac.Client) -> SecretRecord:
            if self._read_metadata(client, name) is None:
                raise SecretNotFound(name)
            if value is not None:
                client.secrets.kv.v2.create_or_update_secret(
                    path=path, secret={"value": value}, mount_point=mount
                )
            client.secrets.kv.v2.update_metadata(
                path=path, mount_point=mount, custom_metadata=self._custom_metadata(metadata)
            )
            data = self._read_metadata(client, name)
            if data is None:
                raise SecretNotFound(name)
            return self._record_from_metadata(name, data)

        return self._call(action)

    def delete(self, name: str) -> bool:
        def action(client: hvac.Client) -> bool:
            if self._read_metadata(client, name) is None:
                return False
            client.secrets.kv.v2.delete_metadata_and_all_versions(
                path=self._path(name), mount_point=self.config.kv_mount
            )
            return True

        return self._call(action)
