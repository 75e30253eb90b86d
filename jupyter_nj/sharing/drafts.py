"""Draft snapshots: each active draft link's page, kept in a store that a process other than its
author's server serves (the hub's pages service, service.py), so the link answers while that
server is stopped or culled.

    <store>/<sha256 of the token>/state.json   the link's expiry, and how it ended (if it did)
    <store>/<sha256 of the token>/page.html    the page the author's server rendered at its
                                               last save (gone once the link ended)

Folders are named by the token's digest, as the author's `links.json` names links: the store
holds nothing that opens a page, and a reader finds a page from the token alone. The author's
server writes (when the link is made, after each save of its notebook, when it ends); the
service only reads, and checks the expiry itself at every request, so an expired link answers
410 there even while its author's server is stopped. Every file is written whole (a temporary
file renamed over it) with mode 0600, under a lock per link, so a refresh that was rendering
when the link was revoked cannot bring its page back. Blocking file I/O: call the
`DraftSnapshots` methods from a thread (`page` does so itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from tornado import web

from ..base import NJError
from . import pages
from .links import LINK_PREFIX, DraftLink, ended_error, token_digest, unknown_link, write_private
from .publications import folder_lock

STATE_FILE = "state.json"
PAGE_FILE = "page.html"
_DIGEST = re.compile(r"[0-9a-f]{64}")
# A token is 32 characters; anything much longer is not one (and is not hashed).
_MAX_TOKEN = 256


class DraftSnapshots:
    """The draft snapshot store at `root` (NJApp.drafts_dir)."""

    def __init__(self, root: Path, cache_size: int = 64) -> None:
        self.root = Path(root)
        self.cache_size = cache_size
        # digest -> (page file's identity, page, ETag): a page is read once per write.
        self._pages: OrderedDict[str, tuple[tuple[int, int, int], bytes, str]] = OrderedDict()
        self._pages_lock = threading.Lock()  # `read` runs in several worker threads at once

    def folder(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise ValueError("a draft snapshot is named by a token's SHA-256 (hex)")
        return self.root / digest

    # -- the author's server -------------------------------------------------------------------

    def write(self, link: DraftLink, page: str | None) -> bool:
        """The link's page as now rendered (None: keep the page there is, record the expiry).
        Returns False, writing nothing, once the link ended: an end is final."""
        with folder_lock(self.folder(link.token_sha256), 0o700) as folder:
            state = _read_state(folder)
            if state is not None and state.get("ended"):
                return False
            if page is not None:
                write_private(folder / PAGE_FILE, page.encode("utf-8"))
            # After the page: a reader that sees an active state finds a page.
            record = {"expires": link.expires, "ended": None, "written": time.time()}
            write_private(folder / STATE_FILE, json.dumps(record).encode("utf-8"))
            return True

    def end(self, link: DraftLink, how: str, at: float | None = None) -> None:
        """Tombstone the link (`how`: revoked, expired, gone) and delete its page."""
        with folder_lock(self.folder(link.token_sha256), 0o700) as folder:
            state = _read_state(folder) or {}
            if not state.get("ended"):
                record = {
                    "expires": link.expires,
                    "ended": how,
                    "at": time.time() if at is None else at,
                }
                write_private(folder / STATE_FILE, json.dumps(record).encode("utf-8"))
            (folder / PAGE_FILE).unlink(missing_ok=True)

    def has_page(self, link: DraftLink) -> bool:
        return (self.folder(link.token_sha256) / PAGE_FILE).exists()

    # -- any process that serves the pages ---------------------------------------------------

    def read(self, token: str, now: float | None = None) -> tuple[bytes, str]:
        """(page, ETag) of the draft a token opens: 404 for a token never handed out here,
        410 once the link was revoked, expired (checked now, from the stored expiry) or its
        notebook is gone."""
        if not token or len(token) > _MAX_TOKEN:
            raise unknown_link()
        digest = token_digest(token)
        folder = self.folder(digest)
        state = _read_state(folder)
        if state is None:
            raise unknown_link()
        if state.get("ended"):
            raise ended_error(str(state["ended"]))
        expires = state.get("expires")
        now = time.time() if now is None else now
        if isinstance(expires, (int, float)) and now >= expires:
            raise ended_error("expired")
        try:
            st = (folder / PAGE_FILE).stat()
            identity = (st.st_ino, st.st_mtime_ns, st.st_size)
            with self._pages_lock:
                cached = self._pages.get(digest)
                if cached is not None and cached[0] == identity:
                    self._pages.move_to_end(digest)
                    return cached[1], cached[2]
            page = (folder / PAGE_FILE).read_bytes()
        except FileNotFoundError:
            # Made an instant ago and still rendering, or its render failed: the author's
            # server writes it again at the notebook's next save.
            raise NJError(
                503, "draft-not-ready", "This draft's page is not written yet: reload in a moment."
            ) from None
        etag = hashlib.sha256(page).hexdigest()[:32]
        with self._pages_lock:
            self._pages[digest] = (identity, page, etag)
            while len(self._pages) > self.cache_size:
                self._pages.popitem(last=False)
        return page, etag

    async def page(self, token: str) -> tuple[bytes, str]:
        """`read`, off the event loop (what pages.draft_page calls)."""
        return await asyncio.to_thread(self.read, token)


def _read_state(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # Written whole, so unreadable means damaged: treat the link as ended, never serve.
        return {"ended": "revoked"}
    return data if isinstance(data, dict) else {"ended": "revoked"}


class DraftSnapshotPage(web.RequestHandler):
    """GET <prefix>nj/l/<token> in the pages service: a draft snapshot, answered as the author's
    server answers its draft page (pages.py). Never behind the hub's login, whatever the
    service's `--access`: the token is the credential, as on the author's server."""

    def initialize(self, snapshots: DraftSnapshots) -> None:
        self.snapshots = snapshots

    def prepare(self) -> None:
        pages.hide_token(self)

    def set_default_headers(self) -> None:
        pages.protect_draft(self)

    def compute_etag(self) -> None:
        return None  # the ETag is the page's digest (DraftSnapshots.read)

    async def get(self, token: str) -> None:
        await pages.draft_page(self, self.snapshots, token)


def snapshot_routes(prefix: str, store: Path | None) -> list[Any]:
    """The pages service's routes for the draft snapshot store at `store` (none without one);
    `prefix` ends with a slash."""
    if store is None:
        return []
    pattern = prefix.rstrip("/") + LINK_PREFIX + r"([^/]+)"
    return [(pattern, DraftSnapshotPage, {"snapshots": DraftSnapshots(store)})]
