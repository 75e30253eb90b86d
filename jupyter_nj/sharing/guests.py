"""Edit links and the guests they let in: another user co-edits one document, and reaches
nothing else of the server.

A JupyterHub share (share codes, JupyterHub 5 and later) grants `access:servers` on the whole
single-user server: whoever accepts it could open every file, start kernels and terminals and
run code as the owner. An edit link is a share narrowed to one notebook: the hub's share code
lets the guest in, and `GuestAuthorizer`, the server's Authorizer, lets a user who is not the
server's owner reach only

- the contents, files, checkpoints and real-time room of a notebook an active edit link names
  (reading and saving it; no rename, no delete);
- kernels and sessions only when that link allows running (`"run": true`); terminals never;
- JupyterLab's own pages and settings, read-only; no jupyter-nj API but the status.

Revoking the link ends a guest's access at their next request, whatever the hub's share says
(the hub's share code is deleted too, so nobody new can accept it). On a server whose identity
provider knows several users (not JupyterHub), an edit link is the same grant, and the URL is
the notebook's own JupyterLab URL.
"""

from __future__ import annotations

import logging
import os
import posixpath
from typing import Any
from urllib.parse import quote, urlencode

from jupyter_server.auth.authorizer import Authorizer

from ..base import NJError

log = logging.getLogger(__name__)

# Resources a guest may read: the JupyterLab shell and what it loads, nothing with data.
GUEST_READABLE = {"lab", "kernelspecs", "events", "api", "nj:status"}
# Resources a guest reaches only on a granted notebook.
DOCUMENT_RESOURCES = {"contents", "files"}
RUNNING_RESOURCES = {"kernels", "sessions"}


class GuestAuthorizer(Authorizer):
    """The server's Authorizer: its owner may do anything; any other user only what an active
    edit link grants (see the module's docstring). The owner's name and the grants come from
    jupyter-nj (`nj_app` in the tornado settings), read at each request."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        nj = handler.settings.get("nj_app")
        if nj is None or nj.sharing_manager is None or not nj.narrows_guests():
            return True  # nothing to narrow: jupyter_server's own rule
        name = requester(nj, user)
        if name == nj.server_owner():
            return True
        links = nj.sharing_manager.links
        grants = links.edit_grants(name, requester_groups(user)) if links else []
        allowed = self._guest_may(handler, action, resource, grants)
        if not allowed:
            log.info(
                "jupyter-nj: guest %s refused %s on %s (%s %s)",
                requester(nj, user),
                action,
                resource,
                handler.request.method,
                handler.request.path,
            )
        return allowed

    def _guest_may(
        self, handler: Any, action: str, resource: str, grants: list[tuple[str, bool]]
    ) -> bool:
        if not grants:
            return False
        if resource in GUEST_READABLE:
            return action == "read"
        if resource in RUNNING_RESOURCES:
            return any(run for _path, run in grants) and handler.request.method != "DELETE"
        if resource not in DOCUMENT_RESOURCES:
            return False
        if handler.request.method in {"DELETE", "PATCH"}:
            return False  # a guest never renames or deletes the document
        path = document_path(handler)
        if path is None:
            return False
        if path == "JupyterLab:globalAwareness":
            return action == "read"
        return any(path == granted for granted, _run in grants)


def requester(nj: Any, user: Any) -> str:
    """Who is asking: the hub's user name whenever the hub says (never the server owner's
    name that `NJApp.secrets_identity = "server-owner"` gives secrets), else jupyter-nj's
    identity rule."""
    hub_user = getattr(user, "hub_user", None)
    if isinstance(hub_user, dict) and hub_user.get("name"):
        return str(hub_user["name"])
    return str(nj.user_name(user))


def requester_groups(user: Any) -> frozenset[str]:
    """The requester's hub groups, as the hub's model of their token says (empty off a hub):
    what a notebook shared with a hub group is granted by."""
    hub_user = getattr(user, "hub_user", None)
    groups = hub_user.get("groups") if isinstance(hub_user, dict) else None
    if not isinstance(groups, list):
        return frozenset()
    return frozenset(g for g in groups if isinstance(g, str))


def document_path(handler: Any) -> str | None:
    """The API path of the document a contents, files or real-time request is about, or None.

    The contents and files handlers take it as their `path` argument (a checkpoint request
    too); a real-time room names the file by id (`json:notebook:<file id>`), which the server's
    file id manager turns back into a path.
    """
    kwargs = getattr(handler, "path_kwargs", None) or {}
    args = getattr(handler, "path_args", None) or []
    raw = kwargs.get("path", args[0] if args else None)
    if raw is None:
        return None
    text = str(raw).strip("/")
    if type(handler).__name__ == "YDocWebSocketHandler":
        if text == "JupyterLab:globalAwareness":
            return text
        parts = text.split(":", 2)
        if len(parts) != 3:
            return None
        manager = handler.settings.get("file_id_manager")
        try:
            found = manager.get_path(parts[2]) if manager is not None else None
        except Exception:  # noqa: BLE001  an unknown id opens nothing
            return None
        return str(found).strip("/") if found else None
    return posixpath.normpath(text) if text else None


def use_guest_authorizer(serverapp: Any, log_: Any) -> None:
    """Make GuestAuthorizer the server's Authorizer, unless the operator chose one."""
    if "authorizer_class" in serverapp.config.get("ServerApp", {}):
        log_.info(
            "jupyter-nj: the server's own Authorizer is kept; edit links then do not narrow "
            "what a guest reaches (docs/sharing.md)."
        )
        return
    serverapp.authorizer_class = GuestAuthorizer


class HubShares:
    """JupyterHub share codes for this single-user server, through the hub's REST API with the
    server's own token (its role needs `shares!user`, docs/jupyterhub.md)."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = environ if environ is not None else dict(os.environ)
        self.api_url = env.get("JUPYTERHUB_API_URL", "").rstrip("/")
        self.token = env.get("JUPYTERHUB_API_TOKEN", "")
        self.user = env.get("JUPYTERHUB_USER", "")
        self.server_name = env.get("JUPYTERHUB_SERVER_NAME", "")
        self.base_url = env.get("JUPYTERHUB_SERVICE_PREFIX", "/")

    @property
    def available(self) -> bool:
        return bool(self.api_url and self.token and self.user)

    def _owner_path(self, collection: str) -> str:
        """`share-codes/<owner>/<server>` or `shares/<owner>/<server>`: this server's."""
        return f"{collection}/{quote(self.user, safe='')}/{quote(self.server_name)}"

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        refused_status: int = 403,
        failed_status: int = 502,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """One call of the hub's API (`<api>/<path>`) with the server's token, its JSON answer
        back; what the hub refuses becomes an NJError that says what to do (listing passes 503
        for both statuses: the caller's own input is not at fault there). The token never
        appears in a message. Blocking."""
        import requests

        try:
            response = requests.request(
                method,
                f"{self.api_url}/{path}",
                headers={"Authorization": f"token {self.token}", **(headers or {})},
                timeout=10,
                **kwargs,
            )
        except requests.RequestException as err:
            raise NJError(503, "hub-unreachable", f"JupyterHub did not answer: {err}") from None
        if response.status_code == 403:
            raise NJError(
                refused_status,
                "hub-refused",
                f"JupyterHub refused {what}: the server's token needs the scopes "
                "docs/jupyterhub.md lists (`Spawner.server_token_scopes`, and the same scopes "
                "in the owner's role).",
            )
        if response.status_code == 400:
            raise NJError(
                400, "hub-bad-request", f"JupyterHub refused {what}: {_hub_message(response)}"
            )
        if not response.ok:
            raise NJError(
                failed_status,
                "hub-error",
                f"JupyterHub answered {response.status_code} to {what}.",
            )
        return response.json() if response.content else {}

    def create(self, path: str, expires_in: int | None) -> dict[str, Any]:
        """A share code for this server; its accept URL opens `path` in JupyterLab. Blocking."""
        body: dict[str, Any] = {}
        if expires_in:
            body["expires_in"] = int(expires_in)
        code = self._call("POST", self._owner_path("share-codes"), "a share code", json=body)
        lab = posixpath.join(self.base_url, "lab", "tree", quote(path))
        accept = code.get("accept_url") or ""
        joiner = "&" if "?" in accept else "?"
        code["url"] = accept + joiner + urlencode({"next": lab})
        return dict(code)

    def revoke(self, code_id: str) -> None:
        """Delete a share code (who accepted it keeps the hub's share: the Authorizer refuses
        them from now on). Blocking; a hub that does not answer is logged, not raised."""
        try:
            self._call(
                "DELETE",
                self._owner_path("share-codes"),
                "deleting a share code",
                params={"id": code_id},
            )
        except NJError as err:
            log.warning("jupyter-nj: could not delete the hub share code %s: %s", code_id, err)

    # -- shares by name and the names a user can share with ------------------------------------

    def share(self, kind: str, name: str) -> None:
        """Let the hub user or group `name` into this server (`kind` is "user" or "group"):
        JupyterHub's named share, which jupyter-nj's Authorizer narrows. Blocking."""
        what = f"a share with {kind} {name!r}"
        self._call("POST", self._owner_path("shares"), what, json={kind: name})

    def unshare(self, kind: str, name: str) -> None:
        """Take a user's or group's hub share of this server back. Blocking; a hub that does
        not answer is logged (the Authorizer refuses them anyway once no grant names them)."""
        what = f"revoking {kind} {name!r}"
        try:
            self._call("PATCH", self._owner_path("shares"), what, json={kind: name})
        except NJError as err:
            log.warning("jupyter-nj: could not revoke the hub share of %s %s: %s", kind, name, err)

    def names(self, collection: str) -> list[str]:
        """Every user's or group's name (`collection` is "users" or "groups"), page by page
        (the hub answers at most its page size at a time). Needs `list:users` / `list:groups`
        on the server's token. Blocking."""
        found: list[str] = []
        offset = 0
        while True:
            page = self._call(
                "GET",
                collection,
                f"listing {collection}",
                refused_status=503,
                failed_status=503,
                # The paginated form: the items and where the next page starts.
                headers={"Accept": "application/jupyterhub-pagination+json"},
                params={"offset": offset, "limit": 200},
            )
            items = page.get("items", []) if isinstance(page, dict) else page
            found.extend(str(item["name"]) for item in items if item.get("name"))
            more = (page.get("_pagination") or {}).get("next") if isinstance(page, dict) else None
            if not more or not items or len(found) >= MAX_PRINCIPALS:
                return sorted(set(found))[:MAX_PRINCIPALS]
            offset = int(more.get("offset", offset + len(items)))


# The most names one listing returns: the dialog offers choices, it is no directory browser.
MAX_PRINCIPALS = 5000


def _hub_message(response: Any) -> str:
    try:
        return str(response.json().get("message") or response.text)[:300]
    except ValueError:
        return str(response.text)[:300]
