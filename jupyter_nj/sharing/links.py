"""Draft links: a secret URL that shows a notebook's current state, read-only, without a login.

A link is a random token (192 bits) handed out once; the server keeps only its SHA-256, so the
store (`<server data>/links.json`) holds nothing a reader could open a page with, and the token
never reaches a log (see `DraftPageHandler.prepare`). Revoking or expiry ends access at the next
request: revoked and expired links stay in the store as tombstones, so their pages answer 410
("this link was revoked") rather than a 404 that looks like a typo.

With NJApp.drafts_dir set, each draft link's page is also kept in a shared store that another
process serves (drafts.py), so the link answers while this server is stopped.

A link follows its notebook by file id when the server has a file id manager, so a moved notebook
keeps its link; otherwise by path. Blocking file I/O: call it from a thread on a server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import posixpath
import secrets
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from ..base import NJError

log = logging.getLogger(__name__)

LINK_PREFIX = "/nj/l/"
TOKEN_BYTES = 24  # 192 bits of randomness


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ended_error(state: str) -> NJError:
    """The 410 of a link that ended, as every process that serves draft pages answers it."""
    if state == "gone":
        return NJError(410, "link-gone", "The notebook of this link is gone.")
    return NJError(410, f"link-{state}", f"This link was {state}: ask its author again.")


def unknown_link() -> NJError:
    return NJError(404, "unknown-link", "This link does not exist.")


def write_private(path: Path, data: bytes) -> None:
    """Write `path` whole (a temporary file renamed over it), mode 0600 from the first byte:
    a reader in another process sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class DraftLink:
    """One link as stored: everything but the token."""

    id: str
    token_sha256: str
    path: str
    author: str
    created: float
    expires: float | None = None
    file_id: str | None = None
    revoked: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # "draft": a read-only page for anyone with the token; "edit": co-editing for other users
    # (guests.py), whose URL is the hub's share code or the notebook's own JupyterLab URL.
    kind: str = "draft"
    run: bool = False  # an edit link's guests may run code (kernels, sessions)
    share_code: str | None = None  # the hub share code's id, deleted with the link
    # A named share: {"user": name} or {"group": name}, the hub user or group this edit link
    # grants the notebook to (and nobody else); None: whoever accepts its share code.
    shared_with: dict[str, str] | None = None

    def state(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and now >= self.expires:
            return "expired"
        return "active"

    def to_json(self) -> dict[str, Any]:
        """What the REST API and the command line show (never the token or its digest)."""
        return {
            "id": self.id,
            "path": self.path,
            "author": self.author,
            "created": _iso(self.created),
            "expires": _iso(self.expires) if self.expires is not None else None,
            "state": self.state(),
            "kind": self.kind,
            "run": self.run,
            "shared_with": dict(self.shared_with) if self.shared_with else None,
        }

    def grants(self, user: str, groups: frozenset[str]) -> bool:
        """Whether this (active edit) link lets `user`, a member of `groups`, in."""
        if not self.shared_with:
            return True
        if "user" in self.shared_with:
            return self.shared_with["user"] == user
        return self.shared_with.get("group") in groups


def parse_expiry(value: Any, now: float | None = None) -> float | None:
    """`expires` as the API takes it: null (never), an ISO 8601 time (naive means UTC), or a
    number of seconds from now. 400 for anything else or for a time already past."""
    now = time.time() if now is None else now
    if value is None:
        return None
    if isinstance(value, bool):
        raise NJError(400, "bad-expiry", "`expires` is an ISO 8601 time or seconds from now.")
    if isinstance(value, (int, float)):
        when = now + float(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise NJError(
                400,
                "bad-expiry",
                f"`expires` {value!r} is not an ISO 8601 time (for example 2027-01-31T18:00Z).",
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        when = parsed.timestamp()
    else:
        raise NJError(400, "bad-expiry", "`expires` is an ISO 8601 time or seconds from now.")
    if when <= now:
        raise NJError(400, "bad-expiry", "`expires` is in the past: give a later time.")
    return when


class DraftLinks:
    """The links of one server, kept in one JSON file (re-read when another process wrote it)."""

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self._lock = threading.Lock()
        self._links: dict[str, DraftLink] = {}
        self._loaded: tuple[float, int] | None = None

    # -- changes ---------------------------------------------------------------------------

    def create(
        self,
        path: str,
        author: str,
        expires: float | None = None,
        file_id: str | None = None,
        *,
        kind: str = "draft",
        run: bool = False,
        share_code: str | None = None,
        shared_with: dict[str, str] | None = None,
    ) -> tuple[DraftLink, str]:
        """A new link to `path`; returns it with its token (shown to the author once)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        link = DraftLink(
            id=secrets.token_hex(6),
            token_sha256=token_digest(token),
            path=path,
            author=author,
            created=time.time(),
            expires=expires,
            file_id=file_id,
            kind=kind,
            run=run,
            share_code=share_code,
            shared_with=shared_with,
        )
        with self._lock:
            self._refresh()
            self._links[link.id] = link
            self._save()
        return link, token

    def revoke(self, link_id: str) -> DraftLink:
        """End a link now. Revoking one already revoked is not an error (it stays revoked)."""
        with self._lock:
            self._refresh()
            link = self._links.get(link_id)
            if link is None:
                raise NJError(404, "unknown-link", f"There is no link {link_id!r} on this server.")
            if link.revoked is None:
                link.revoked = time.time()
                self._save()
            return link

    def moved(self, link: DraftLink, path: str) -> None:
        """Remember the notebook's new path (found through its file id)."""
        with self._lock:
            self._refresh()
            stored = self._links.get(link.id)
            if stored is not None and stored.path != path:
                stored.path = path
                self._save()

    # -- reading ---------------------------------------------------------------------------

    def list(self, path: str | None = None, include_ended: bool = False) -> list[DraftLink]:
        with self._lock:
            self._refresh()
            found = [
                link
                for link in self._links.values()
                if (path is None or link.path == path)
                and (include_ended or link.state() == "active")
            ]
        return sorted(found, key=lambda link: link.created)

    def resolve(self, token: str) -> DraftLink:
        """The active link a token opens: 404 for a token that never was, 410 once it ended."""
        digest = token_digest(token)
        with self._lock:
            self._refresh()
            link = next(
                (
                    candidate
                    for candidate in self._links.values()
                    if secrets.compare_digest(candidate.token_sha256, digest)
                ),
                None,
            )
        if link is None or link.kind != "draft":
            raise unknown_link()
        state = link.state()
        if state != "active":
            raise ended_error(state)
        return link

    # -- the file --------------------------------------------------------------------------

    def _refresh(self) -> None:
        try:
            st = self.store.stat()
        except FileNotFoundError:
            self._links, self._loaded = {}, None
            return
        stamp = (st.st_mtime, st.st_size)
        if stamp == self._loaded:
            return
        try:
            data = json.loads(self.store.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise NJError(
                500, "links-unreadable", f"The draft link store {self.store} is unreadable."
            ) from err
        known = set(DraftLink.__dataclass_fields__)
        self._links = {
            item["id"]: DraftLink(**{k: v for k, v in item.items() if k in known})
            for item in data.get("links", [])
        }
        self._loaded = stamp

    def _save(self) -> None:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"links": [asdict(link) for link in self._links.values()]}, indent=1, sort_keys=True
        )
        write_private(self.store, payload.encode("utf-8"))
        st = self.store.stat()
        self._loaded = (st.st_mtime, st.st_size)


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=timezone.utc).isoformat(timespec="seconds")


class DraftLinkService:
    """The links of a server as its handlers use them: the store off the event loop, the
    notebook read through LiveDocuments (as saved), redacted, rendered once per save; with a
    snapshot store (drafts.py), each draft link's page also written there at creation and
    after each save, and tombstoned when the link ends."""

    def __init__(
        self,
        links: DraftLinks,
        documents: Any,
        redact: Any = None,
        render_timeout: float = 60.0,
        refresh_seconds: int = 10,
        hub: Any = None,
        lab_url: str = "/lab/tree/",
        snapshots: Any = None,
        snapshot_delay: float = 1.0,
    ) -> None:
        self.links = links
        # guests.HubShares under JupyterHub (edit links are share codes), else None.
        self.hub = hub
        # Where an edit link opens a notebook off a hub: the server's own JupyterLab.
        self.lab_url = lab_url
        self.documents = documents
        self.redact = redact
        self.render_timeout = render_timeout
        self.refresh_seconds = refresh_seconds
        # (link id, path, last_modified) -> page, a few at a time: the page names its link's
        # author, so two links to one notebook are two pages.
        self._pages: dict[tuple[str, str, str], str] = {}
        # drafts.DraftSnapshots where draft pages are also served by another process (the
        # hub's pages service, NJApp.drafts_dir), else None.
        self.snapshots = snapshots
        # Seconds a refresh waits after a save, so that a burst of saves (autosave, a
        # collaborator typing) renders once.
        self.snapshot_delay = snapshot_delay
        self._stale: set[str] = set()  # notebooks saved since the last refresh
        self._refreshing: asyncio.Task[None] | None = None
        self._ended: set[str] = set()  # digests whose snapshots this process tombstoned
        # The server's event loop, where refreshes run (app.py sets it once the loop runs).
        self.loop: asyncio.AbstractEventLoop | None = None

    async def create(self, path: str, author: str, expires: Any = None) -> dict[str, Any]:
        when = parse_expiry(expires)
        # 404 for a missing notebook, 400 for a malformed one: nothing is stored then.
        await self.documents.saved_notebook(path, content=False)
        # On the event loop: jupyter_server_fileid's SQLite connection belongs to its thread.
        link, token = await asyncio.to_thread(
            self.links.create, path, author, when, self._file_id(path)
        )
        if self.snapshots is not None:
            # Where later saves' refreshes run, should the server not have said yet.
            self.loop = self.loop or asyncio.get_running_loop()
            # Before the URL is handed out, so that it answers from the store at once.
            await self._snapshot(link, path)
        return {**link.to_json(), "url": LINK_PREFIX + token}

    def _file_id(self, path: str) -> str | None:
        """The notebook's file id, indexed now if needed, so the link follows a move."""
        manager = self.documents.file_id_manager
        if manager is None:
            return None
        try:
            return str(manager.get_id(path) or manager.index(path) or "") or None
        except Exception:  # noqa: BLE001  without an id the link follows the path
            return None

    async def create_edit(
        self, path: str, author: str, expires: Any = None, run: bool = False
    ) -> dict[str, Any]:
        """An edit link: other users (hub users who accept its share code, or users of this
        server's identity provider) may open and save `path` in a real-time room, and nothing
        else of the server (guests.py); run code only with `run`."""
        from urllib.parse import quote

        when = parse_expiry(expires)
        await self.documents.saved_notebook(path, content=False)
        code: dict[str, Any] = {}
        if self.hub is not None and self.hub.available:
            expires_in = int(when - time.time()) if when is not None else None
            code = await asyncio.to_thread(self.hub.create, path, expires_in)
        link, _token = await asyncio.to_thread(
            partial(
                self.links.create,
                path,
                author,
                when,
                self._file_id(path),
                kind="edit",
                run=run,
                share_code=str(code["id"]) if code.get("id") else None,
            )
        )
        url = code.get("url") or self.lab_url.rstrip("/") + "/" + quote(path)
        return {**link.to_json(), "url": url}

    async def share_with(
        self, path: str, author: str, kind: str, name: str, run: bool = False
    ) -> dict[str, Any]:
        """A named share: the hub user or group `name` (`kind` "user" or "group") may co-edit
        `path` (and run code with `run`), and nothing else of this server. JupyterHub's share
        lets them into the server; this edit link, which names them, is what the Authorizer
        lets them reach (guests.py). Only under JupyterHub: elsewhere there is no hub to let
        them in (an edit link's URL is the way)."""
        if kind not in ("user", "group") or not name.strip():
            raise NJError(
                400, "bad-share", 'Name one hub user or group: {"user": "bob"} or {"group": "lab"}.'
            )
        if self.hub is None or not self.hub.available:
            raise NJError(
                409,
                "no-hub",
                "Sharing with a user or group by name needs JupyterHub: on this server, create an "
                "edit link and send its URL instead.",
            )
        await self.documents.saved_notebook(path, content=False)
        # The hub first: a name it does not know (400) stores nothing.
        await asyncio.to_thread(self.hub.share, kind, name.strip())
        link, _token = await asyncio.to_thread(
            partial(
                self.links.create,
                path,
                author,
                None,
                self._file_id(path),
                kind="edit",
                run=run,
                shared_with={kind: name.strip()},
            )
        )
        return link.to_json()

    def edit_grants(
        self, user: str, groups: frozenset[str] = frozenset()
    ) -> list[tuple[str, bool]]:
        """(notebook path, may run) of every active edit link that lets `user` (a member of
        `groups`) in: what that guest may reach. Reads the store (stat, and a read when it
        changed): cheap enough for each guest request."""
        return [
            (link.path, link.run)
            for link in self.links.list()
            if link.kind == "edit" and link.grants(user, groups)
        ]

    async def list(self, path: str | None = None) -> list[dict[str, Any]]:
        return [link.to_json() for link in await asyncio.to_thread(self.links.list, path)]

    async def revoke(self, link_id: str) -> dict[str, Any]:
        link = await asyncio.to_thread(self.links.revoke, link_id)
        if link.share_code and self.hub is not None and self.hub.available:
            await asyncio.to_thread(self.hub.revoke, link.share_code)
        if self.snapshots is not None and link.kind == "draft":
            await asyncio.to_thread(self.snapshots.end, link, "revoked", link.revoked)
            self._ended.add(link.token_sha256)
        named = link.shared_with and self.hub is not None and self.hub.available
        if named and not await asyncio.to_thread(self._hub_share_still_needed, link):
            [(kind, name)] = (link.shared_with or {}).items()
            await asyncio.to_thread(self.hub.unshare, kind, name)
        return link.to_json()

    def _hub_share_still_needed(self, ended: DraftLink) -> bool:
        """Whether another active edit link still needs the hub share `ended` named: one with
        the same user or group, or a share-code link (whoever accepted its code holds a hub
        share of the same kind, and the hub cannot say whose). Blocking."""
        for link in self.links.list():
            if link.kind != "edit" or link.id == ended.id:
                continue
            if link.shared_with == ended.shared_with:
                return True
            if "user" in (ended.shared_with or {}) and link.share_code and not link.shared_with:
                return True
        return False

    async def page(self, token: str) -> tuple[str, str]:
        """(HTML page, ETag) of the notebook a token opens, as it was last saved."""
        try:
            link = await asyncio.to_thread(self.links.resolve, token)
        except NJError as err:
            if err.status_code == 410 and self.snapshots is not None:
                await self.sweep()
            raise
        path = await self._current_path(link)
        try:
            return await self._render(link, path)
        except NJError as err:
            if err.status_code == 410 and self.snapshots is not None:
                await asyncio.to_thread(self.snapshots.end, link, "gone")
            raise

    async def _render(self, link: DraftLink, path: str) -> tuple[str, str]:
        """(page, ETag) of `link`'s notebook at `path` as saved; 410 once it is gone."""
        from .render import banner_html, render_in_thread

        try:
            model = await self.documents.saved_notebook(path, content=False)
        except NJError as err:
            if err.status_code == 404:
                raise ended_error("gone") from None
            raise
        stamp = str(model.get("last_modified", ""))
        key = (link.id, path, stamp)
        etag = hashlib.sha256(f"{link.id}\0{path}\0{stamp}".encode()).hexdigest()[:32]
        page = self._pages.get(key)
        if page is None:
            notebook = (await self.documents.saved_notebook(path))["content"]
            notebook = await asyncio.to_thread(self._prepare, notebook)
            banner = banner_html(
                f"{posixpath.basename(path)}: a draft shared by {link.author}",
                f"read-only, as last saved ({stamp[:19].replace('T', ' ')} UTC); "
                f"this page follows the author's saves",
            )
            head = f'<meta http-equiv="refresh" content="{self.refresh_seconds}">'
            page = await render_in_thread(notebook, banner, head, self.render_timeout)
            if len(self._pages) >= 8:
                self._pages.pop(next(iter(self._pages)))
            self._pages[key] = page
        return page, etag

    # -- snapshots for another process (drafts.py) ------------------------------------------

    def post_save_hook(self, model: dict[str, Any], os_path: str = "", **_: Any) -> None:
        """A contents manager's post-save hook: the snapshots of the saved notebook's links
        are rendered again soon after (once for a burst of saves), off the save itself."""
        if self.snapshots is None or model.get("type") != "notebook":
            return
        path = str(model.get("path", "")).strip("/")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # A contents manager that saves in a worker thread: over to the server's loop. A
            # save outside a server (the command line) has no loop, and no snapshot to refresh.
            if self.loop is not None:
                self.loop.call_soon_threadsafe(self._saved, path)
            return
        self._saved(path)

    def _saved(self, path: str) -> None:
        self._stale.add(path)
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh_stale())

    async def _refresh_stale(self) -> None:
        while self._stale:
            await asyncio.sleep(self.snapshot_delay)
            saved, self._stale = self._stale, set()
            try:
                await self.refresh(saved)
            except Exception:  # a snapshot problem must never reach a save
                log.exception("draft links: could not refresh the snapshots of %s", saved)

    async def refresh(self, paths: set[str]) -> int:
        """Render again the snapshots of the active draft links to the notebooks at `paths`
        (API paths, as saved); tombstone those of links that ended. Returns how many."""
        if self.snapshots is None:
            return 0
        written = 0
        for link in await asyncio.to_thread(self.links.list):
            if link.kind != "draft":
                continue
            path = await self._current_path(link)
            if path in paths:
                written += await self._snapshot(link, path)
        await self.sweep()
        return written

    async def _snapshot(self, link: DraftLink, path: str) -> int:
        """Write `link`'s snapshot; a notebook that cannot be rendered now keeps its last
        page (its next save tries again)."""
        page: str | None = None
        try:
            page, _etag = await self._render(link, path)
        except NJError as err:
            if err.status_code == 410:
                await asyncio.to_thread(self.snapshots.end, link, "gone")
                return 0
            log.warning("draft links: no snapshot of %s for now: %s", path, err.message)
        except Exception:  # nbconvert failing on one notebook must not fail its link
            log.exception("draft links: no snapshot of %s for now", path)
        return int(await asyncio.to_thread(self.snapshots.write, link, page))

    async def on_contents_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """A listener of jupyter_server's contents events: a deleted notebook's (or folder's)
        draft snapshots are tombstoned, as the server's own page answers 410 for them."""
        if self.snapshots is None or data.get("action") != "delete":
            return
        deleted = str(data.get("path", "")).strip("/")
        if not deleted:
            return
        for link in await asyncio.to_thread(self.links.list):
            path = await self._current_path(link)
            if link.kind == "draft" and (path == deleted or path.startswith(deleted + "/")):
                await asyncio.to_thread(self.snapshots.end, link, "gone")

    async def sweep(self) -> None:
        """Tombstone the snapshots of this server's links that ended (expired, revoked from the
        command line), so that their pages leave the store. The pages service refuses an
        expired link by its stored expiry anyway; this deletes the page."""
        snapshots = self.snapshots
        if snapshots is None:
            return

        def ended() -> list[DraftLink]:
            return [
                link
                for link in self.links.list(include_ended=True)
                if link.kind == "draft"
                and link.state() != "active"
                and link.token_sha256 not in self._ended
            ]

        for link in await asyncio.to_thread(ended):
            await asyncio.to_thread(snapshots.end, link, link.state(), link.revoked)
            self._ended.add(link.token_sha256)

    def _prepare(self, notebook: Any) -> dict[str, Any]:
        """A plain-dict copy of the notebook with secret values replaced (blocking)."""
        plain = json.loads(json.dumps(notebook))
        return dict(self.redact(plain)) if self.redact is not None else plain

    async def _current_path(self, link: DraftLink) -> str:
        """Where the linked notebook is now: followed by file id across moves."""
        if not link.file_id:
            return link.path
        manager = self.documents.file_id_manager
        if manager is None:
            return link.path
        try:
            path = manager.get_path(link.file_id)  # its SQLite connection is the loop thread's
        except Exception:  # noqa: BLE001  an unknown id: the stored path is the best guess
            return link.path
        if path and path != link.path:
            await asyncio.to_thread(self.links.moved, link, path)
            return str(path)
        return link.path
