"""SecretsManager: the one door to secrets. Validation, sharing rules, attachments, runtime
access, redaction registry and audit events; the backends only store.

Every backend call (hvac HTTP, file I/O and decryption) runs in a worker thread. Every error the
caller can act on is an `NJError` (a 4xx, or a 503 when the store is down), and no message,
log line or event ever carries a value.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..base import NJError
from ..documents import LiveDocuments
from .backends import BackendUnavailable, SecretsBackend
from .model import (
    Principal,
    SecretMetadata,
    SecretNotFound,
    SecretRecord,
    attached_names,
    can_manage,
    can_read,
    unique,
    validate_description,
    validate_name,
    validate_principals,
    validate_value,
)
from .redaction import Redactor
from .runtime import (
    SERVER_CREDENTIAL_VARIABLES,
    RuntimeCredentials,
    RuntimeSecrets,
    SecretsSocketServer,
)

log = logging.getLogger(__name__)

EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_nj/secrets/v1"
EVENT_SCHEMA_PATH = Path(__file__).parent / "events" / "secrets.yaml"

IDENTITY_MODES = ("auto", "server-owner", "identity-provider")


class IdentityResolver:
    """Turns the server's idea of the current user into a `Principal` (name and groups).

    - Under JupyterHub the user object carries the hub's model (`hub_user`, read with the
      caller's token, which always carries `read:users:groups!user`): the hub's name and
      groups are used (docs/jupyterhub.md; tests/hub/ checks it against a real hub).
    - With jupyter_server's own token/password login every browser session is an anonymous,
      random user, so on such a single-user server the secrets belong to the server's owner
      (`NJApp.secrets_user`, by default the OS user).
    - Any other identity provider (a multi-user deployment) supplies the user name.
    Groups come from `NJApp.secrets_groups` (group -> members), read on every check, so removing
    a member takes effect at once; the hub's groups are added to them.
    """

    def __init__(
        self,
        server_owner: Callable[[], str],
        configured_groups: Callable[[], Mapping[str, Sequence[str]]],
        mode: Callable[[], str] = lambda: "auto",
        identity_provider: Any = None,
    ) -> None:
        self._server_owner = server_owner
        self._configured_groups = configured_groups
        self._mode = mode
        self.identity_provider = identity_provider
        # Hub groups seen on each user's most recent request, for runtimes acting for them.
        self._hub_groups: dict[str, frozenset[str]] = {}

    def _single_user_provider(self) -> bool:
        provider = self.identity_provider
        return provider is None or type(provider).__module__ == "jupyter_server.auth.identity"

    def name_of(self, user: Any) -> str:
        hub_user = getattr(user, "hub_user", None)
        mode = self._mode()
        if isinstance(hub_user, dict) and hub_user.get("name") and mode != "server-owner":
            name = str(hub_user["name"])
            groups = hub_user.get("groups")
            if isinstance(groups, list):
                self._hub_groups[name] = frozenset(g for g in groups if isinstance(g, str))
            return name
        if mode == "server-owner" or (mode == "auto" and self._single_user_provider()):
            return self._server_owner()
        return str(getattr(user, "username", "") or self._server_owner())

    def principal_for_name(self, name: str) -> Principal:
        groups = {
            group
            for group, members in self._configured_groups().items()
            if name in set(members or ())
        }
        groups.update(self._hub_groups.get(name, ()))
        return Principal(name=name, groups=frozenset(groups))

    def principal_for_user(self, user: Any) -> Principal:
        return self.principal_for_name(self.name_of(user))


def default_server_owner() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001  no login name in some containers
        return "owner"


class SecretsManager:
    """Secrets for the REST API, the CLI and runtimes."""

    def __init__(
        self,
        backend: SecretsBackend,
        *,
        identity: IdentityResolver,
        redactor: Redactor | None = None,
        contents_manager: Any = None,
        documents: LiveDocuments | None = None,
        event_logger: Any = None,
        max_value_bytes: int = 65536,
        credential_ttl_seconds: float = 86400.0,
        kernel_alive: Callable[[str], bool] | None = None,
        socket_folder: Path | None = None,
    ) -> None:
        self.backend = backend
        self.identity = identity
        self.redactor = redactor or Redactor()
        self.contents_manager = contents_manager
        self.documents = documents or LiveDocuments(contents_manager=contents_manager)
        self.event_logger = event_logger
        self.max_value_bytes = max_value_bytes
        self.credentials = RuntimeCredentials(credential_ttl_seconds, kernel_alive)
        self.socket_server = SecretsSocketServer(socket_folder, self.handle_runtime_request)
        if event_logger is not None:
            event_logger.register_event_schema(EVENT_SCHEMA_PATH)

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def redact(self) -> Callable[[Any], Any]:
        """`redact(notebook_or_text)`: what other pillars (history) call, without importing us."""
        return self.redactor.redact

    async def _backend(self, method: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(method, *args)

    def _emit(self, action: str, secret: str, user: str, outcome: str, **extra: Any) -> None:
        if self.event_logger is None:
            return
        data: dict[str, Any] = {
            "action": action,
            "secret": secret,
            "user": user,
            "outcome": outcome,
            "backend": self.backend.kind,
        }
        data.update({k: v for k, v in extra.items() if v not in (None, "")})
        try:
            self.event_logger.emit(schema_id=EVENT_SCHEMA_ID, data=data)
        except Exception:  # auditing must never break the request
            log.exception("Could not emit the secret audit event %s", action)

    def principal(self, user: Any) -> Principal:
        return self.identity.principal_for_user(user)

    async def _visible_record(self, principal: Principal, name: str) -> SecretRecord:
        record = await self._backend(self.backend.get_record, validate_name(name))
        # Not shared and not existing look the same, so names cannot be probed.
        if record is None or not can_read(record, principal):
            raise SecretNotFound(name)
        return record

    # -- REST / CLI operations ------------------------------------------------------------------

    async def list_secrets(self, principal: Principal) -> dict[str, Any]:
        records = await self._backend(self.backend.list_records)
        return {
            "backend": self.backend.kind,
            "user": principal.name,
            "groups": sorted(principal.groups),
            "secrets": [r.to_json(principal) for r in records if can_read(r, principal)],
        }

    async def get_secret(self, principal: Principal, name: str) -> dict[str, Any]:
        record = await self._visible_record(principal, name)
        return record.to_json(principal)

    async def put_secret(
        self, principal: Principal, name: str, body: Mapping[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create or change a secret. Returns its metadata and whether it was created."""
        validate_name(name)
        unknown = set(body) - {"value", "description", "shared_with"}
        if unknown:
            raise NJError(
                400,
                "bad-field",
                f"Unknown field(s) {sorted(unknown)}; use value, description, shared_with.",
            )
        value = body.get("value")
        if value is not None:
            validate_value(value, self.max_value_bytes)
        shared = body.get("shared_with")
        if shared is not None and not isinstance(shared, dict):
            raise NJError(400, "bad-sharing", 'shared_with must be {"users": [], "groups": []}.')

        existing = await self._backend(self.backend.get_record, name)
        if existing is None:
            if value is None:
                raise NJError(400, "value-required", "A new secret needs a value.")
            metadata = SecretMetadata(
                description=validate_description(body.get("description")),
                owner=principal.name,
                shared_users=validate_principals("users", (shared or {}).get("users")),
                shared_groups=validate_principals("groups", (shared or {}).get("groups")),
            )
            record = await self._backend(self.backend.create, name, value, metadata)
            self._emit(
                "create",
                name,
                principal.name,
                "allowed",
                shared_users=list(metadata.shared_users),
                shared_groups=list(metadata.shared_groups),
            )
            return record.to_json(principal), True

        if not can_manage(existing, principal):
            self._emit("update", name, principal.name, "denied", reason="not-owner")
            if can_read(existing, principal):
                raise NJError(
                    403,
                    "not-owner",
                    f"Secret {name!r} is shared with you but owned by "
                    f"{existing.metadata.owner!r}; only the owner can change it.",
                )
            raise NJError(
                409,
                "secret-exists",
                f"A secret named {name!r} already exists and belongs to someone else. "
                "Pick another name.",
            )
        metadata = existing.metadata
        if "description" in body:
            metadata = replace(metadata, description=validate_description(body["description"]))
        if shared is not None:
            metadata = replace(
                metadata,
                shared_users=validate_principals("users", shared.get("users", [])),
                shared_groups=validate_principals("groups", shared.get("groups", [])),
            )
        record = await self._backend(self.backend.update, name, value, metadata)
        sharing_changed = (metadata.shared_users, metadata.shared_groups) != (
            existing.metadata.shared_users,
            existing.metadata.shared_groups,
        )
        if value is not None or metadata.description != existing.metadata.description:
            self._emit("update", name, principal.name, "allowed")
        if sharing_changed:
            self._emit(
                "share",
                name,
                principal.name,
                "allowed",
                shared_users=list(metadata.shared_users),
                shared_groups=list(metadata.shared_groups),
            )
        return record.to_json(principal), False

    async def delete_secret(self, principal: Principal, name: str) -> None:
        record = await self._visible_record(principal, name)
        if not can_manage(record, principal):
            self._emit("delete", name, principal.name, "denied", reason="not-owner")
            raise NJError(
                403,
                "not-owner",
                f"Only the owner ({record.metadata.owner!r}) can delete secret {name!r}.",
            )
        await self._backend(self.backend.delete, name)
        self._emit("delete", name, principal.name, "allowed")

    async def read_secret_value(
        self, caller: Awaitable[Principal], name: str, via: str
    ) -> tuple[dict[str, Any], str]:
        """The record and the value, for a caller who is not a runtime of this server: the hub
        service answering a user's server (`via` says which, for the audit event). `caller`
        is still being resolved (the hub is asked) while the entry is read, so a read costs
        the slower of the two, not their sum; the value leaves only once the hub's answer
        allows it. Same rules as a runtime's read, and not-shared looks like not-existing."""
        who = asyncio.ensure_future(caller)
        try:
            validate_name(name)
        except NJError:
            await who  # a caller the hub does not know hears that first
            raise
        failure: BackendUnavailable | None = None
        try:
            # The check comes below, once the hub has answered: the backend must not drop it.
            record, value = await self._backend(self.backend.read_secret, name, lambda _: True)
        except BackendUnavailable as err:
            record, value, failure = None, None, err
        finally:
            principal = await who  # its errors (401, 403, 503) come first
        if failure is not None:
            self._emit("read", name, principal.name, "failed", reason=failure.reason, via=via)
            raise failure
        if record is None or value is None or not can_read(record, principal):
            self._emit("read", name, principal.name, "denied", reason="not-shared", via=via)
            raise SecretNotFound(name)
        self._emit("read", name, principal.name, "allowed", via=via)
        return record.to_json(principal), value

    # -- attachments (metadata.nj.secrets of a notebook) ----------------------------------------

    async def _attached_names(self, path: str) -> list[str]:
        """The names a notebook attaches now, as collaborators see it. Read on every runtime
        request; `LiveDocuments` asks the open room first and caches what it parsed from disk."""
        return attached_names((await self.documents.notebook_metadata(path))[1])

    async def attachments(self, principal: Principal, path: str) -> dict[str, Any]:
        api_path, metadata = await self.documents.notebook_metadata(path)
        return await self._attachment_listing(principal, api_path, attached_names(metadata))

    async def _attachment_listing(
        self, principal: Principal, api_path: str, names: list[str]
    ) -> dict[str, Any]:
        records = {r.name: r for r in await self._backend(self.backend.list_records)}
        listing = []
        for name in names:
            record = records.get(name)
            status = "ok" if record is not None and can_read(record, principal) else "unavailable"
            listing.append({"name": name, "status": status})
        return {"path": api_path, "secrets": listing}

    async def set_attachments(self, principal: Principal, path: str, names: Any) -> dict[str, Any]:
        """Replace the names attached to a notebook. Each new one must be readable by the caller.

        Written into the open real-time room when there is one (the room saves it), else saved
        through the contents manager; see `LiveDocuments`.
        """
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise NJError(400, "bad-attachments", "secrets must be a list of secret names.")
        wanted = unique(validate_name(n) for n in names)
        api_path = self.documents.notebook_path(path)
        # The cached read runtimes use; the edit below reads the notebook itself.
        current = await self._attached_names(api_path)
        added = [n for n in wanted if n not in current]
        for name in added:
            try:
                await self._visible_record(principal, name)
            except SecretNotFound:
                self._emit(
                    "attach", name, principal.name, "denied", notebook=api_path, reason="not-shared"
                )
                raise

        def attach(notebook: dict[str, Any]) -> None:
            nj = notebook["metadata"].setdefault("nj", {})
            if not isinstance(nj, dict):
                raise NJError(400, "bad-notebook", "metadata.nj of this notebook is not an object.")
            nj["secrets"] = wanted

        api_path, metadata = await self.documents.edit_notebook_metadata(api_path, attach)
        for name in added:
            self._emit("attach", name, principal.name, "allowed", notebook=api_path)
        for name in current:
            if name not in wanted:
                self._emit("detach", name, principal.name, "allowed", notebook=api_path)
        return await self._attachment_listing(principal, api_path, attached_names(metadata))

    # -- runtimes -------------------------------------------------------------------------------

    async def runtime_environment(
        self, notebook_path: str, user: str | None = None, kernel_id: str = ""
    ) -> RuntimeSecrets:
        """What a runtime of `notebook_path` started for `user` gets. See docs/secrets.md.

        `user` None means the server's owner (what a single-user server's kernels run as).
        With `kernel_id`, the credential dies with that kernel. Never raises because a secret or
        the store is unavailable: the runtime then starts without those secrets and `skipped`
        says why, so notebooks still open and run.
        """
        if user is None:
            user = self.identity.name_of(None)
        token, grant = self.credentials.issue(notebook_path.strip("/"), user, kernel_id)
        # The credential is itself a secret: an environment dump must not print it either.
        self.redactor.redact_runtime_credentials()
        env = {"NJ_SECRETS_NOTEBOOK": grant.notebook_path}
        result = RuntimeSecrets(
            env=env,
            unset=SERVER_CREDENTIAL_VARIABLES,
            host_folder="",
            python_path="",
            expires_at=grant.expires_at,
        )
        try:
            await self.socket_server.ensure_started()
        except (OSError, AttributeError, NotImplementedError) as err:
            # No Unix sockets here (or no room for one): runtimes still get their secrets as
            # environment variables, only secrets.get() is unavailable.
            log.warning("Runtimes cannot read secrets on demand (%s)", type(err).__name__)
            result.skipped["secrets.get"] = "no-socket"
        else:
            env["NJ_SECRETS_SOCKET"] = str(self.socket_server.socket_path)
            env["NJ_SECRETS_TOKEN"] = token
            result.host_folder = str(self.socket_server.folder)
            result.python_path = str(self.socket_server.python_path)
        try:
            result.attached = await self._attached_names(grant.notebook_path)
        except NJError as err:
            result.skipped["*"] = err.reason
            return result
        principal = self.identity.principal_for_name(user)
        for name in result.attached:
            try:
                _, value = await self._read_for(principal, name)
            except NJError as err:
                result.skipped[name] = err.reason
                self._emit(
                    "inject",
                    name,
                    user,
                    "denied",
                    reason=err.reason,
                    notebook=grant.notebook_path,
                    kernel_id=kernel_id,
                )
                continue
            env[name] = value
            result.injected.append(name)
            self._emit(
                "inject", name, user, "allowed", notebook=grant.notebook_path, kernel_id=kernel_id
            )
        return result

    async def _read_for(self, principal: Principal, name: str) -> tuple[SecretRecord, str]:
        record, value = await self._backend(
            self.backend.read_secret, name, lambda found: can_read(found, principal)
        )
        if record is None or not can_read(record, principal):
            raise NJError(
                404,
                "not-shared",
                f"Secret {name!r} does not exist or is not shared with {principal.name!r}. "
                "Ask its owner to share it with you or with one of your groups.",
            )
        if value is None:
            raise SecretNotFound(name)
        # Registered before the value leaves the server, so nothing can print it unredacted.
        self.redactor.register(name, value)
        return record, str(value)

    async def handle_runtime_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request from a runtime's client (called by the socket server)."""
        grant = self.credentials.lookup(request.get("token"))
        if grant is None:
            return {
                "ok": False,
                "reason": "credential-invalid",
                "message": "This kernel's secrets credential is unknown or expired (the server "
                "restarted, or the kernel outlived NJApp.secrets_runtime_credential_ttl). Restart "
                "the kernel to get a fresh one.",
            }
        principal = self.identity.principal_for_name(grant.user)
        op = request.get("op")
        try:
            attached = await self._attached_names(grant.notebook_path)
        except NJError as err:
            return {"ok": False, "reason": err.reason, "message": err.message}
        if op == "names":
            records = await self._backend(self.backend.list_records)
            readable = {r.name for r in records if can_read(r, principal)}
            return {"ok": True, "names": [n for n in attached if n in readable]}
        if op != "get":
            return {"ok": False, "reason": "bad-request", "message": "Unknown operation."}
        name = request.get("name")
        try:
            validate_name(name)
        except NJError as err:
            return {"ok": False, "reason": "bad-name", "message": err.message}
        assert isinstance(name, str)
        context = {"notebook": grant.notebook_path, "kernel_id": grant.kernel_id}
        if name not in attached:
            self._emit("read", name, grant.user, "denied", reason="not-attached", **context)
            return {
                "ok": False,
                "reason": "not-attached",
                "message": f"Secret {name!r} is not attached to {grant.notebook_path!r}. Attach "
                "it in the Secrets panel or with `jupyter nj secrets attach "
                f"{grant.notebook_path} {name}`, then call secrets.get({name!r}) again (no "
                "kernel restart needed).",
            }
        try:
            _, value = await self._read_for(principal, name)
        except BackendUnavailable as err:
            self._emit("read", name, grant.user, "failed", reason=err.reason, **context)
            return {"ok": False, "reason": err.reason, "message": err.message}
        except NJError as err:
            self._emit("read", name, grant.user, "denied", reason=err.reason, **context)
            return {"ok": False, "reason": "not-shared", "message": err.message}
        self._emit("read", name, grant.user, "allowed", **context)
        return {"ok": True, "name": name, "value": value}

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self.backend.start()

    async def stop(self) -> None:
        self.credentials.revoke_all()
        await self.socket_server.stop()
        await asyncio.to_thread(self.backend.close)
