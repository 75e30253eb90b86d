"""Published pages as any tornado handler answers them: the newest edition (a redirect), an
edition's page, an edition's downloads; and draft pages (`/nj/l/<token>`).

Two kinds of handler serve them: the single-user server's (handlers.py, under its base URL, with
jupyter_server's login) and the pages service's (service.py: one process that serves the
publication store and the draft snapshots on its own, so pages outlive the servers that made
them). Both call these, so both answer the same way: the same headers, the same 404/410 pages,
the same sandbox.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tornado.web import RequestHandler

from ..base import NJError
from .links import LINK_PREFIX
from .render import PAGE_POLICY, PUBLISHED_PAGE_POLICY, message_page


def edition_number(text: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise NJError(404, "unknown-publication", f"There is no edition {text!r}.")
    return int(text)


def protect(handler: RequestHandler) -> None:
    """The headers of every published page and download: sandboxed, no Referer."""
    handler.set_header("Content-Security-Policy", PUBLISHED_PAGE_POLICY)
    handler.set_header("Referrer-Policy", "no-referrer")
    handler.set_header("X-Content-Type-Options", "nosniff")


def refuse(handler: RequestHandler, status: int, title: str, message: str) -> None:
    handler.set_status(status)
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.finish(message_page(status, title, message))


def refused(handler: RequestHandler, err: NJError) -> None:
    title = "This page was unpublished" if err.status_code == 410 else "No such page"
    refuse(handler, err.status_code, title, err.message)


def cache_headers(handler: RequestHandler, public: bool) -> None:
    # Content never changes, but an edition can be unpublished: a reader's browser asks again
    # each time and gets a 304 while the ETag holds.
    handler.set_header("Cache-Control", ("public" if public else "private") + ", no-cache")


async def latest(handler: RequestHandler, service: Any, owner: str, slug: str, base: str) -> None:
    """302 to the newest edition still published (`base`: where `/nj/p/` lives)."""
    try:
        edition = await service.latest(owner, slug)
    except NJError as err:
        refused(handler, err)
        return
    handler.set_header("Cache-Control", "no-store")
    handler.redirect(base.rstrip("/") + edition.url, status=302)


async def page(
    handler: RequestHandler, service: Any, owner: str, slug: str, number: str, public: bool
) -> None:
    """The edition's page, from memory once served (one stat for the tombstone)."""
    try:
        body, etag = await service.page(owner, slug, edition_number(number))
    except NJError as err:
        refused(handler, err)
        return
    cache_headers(handler, public)
    handler.set_header("ETag", f'"{etag}"')
    if handler.check_etag_header():
        handler.set_status(304)
        await handler.finish()
        return
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    await handler.finish(body)


async def download(
    handler: RequestHandler,
    service: Any,
    owner: str,
    slug: str,
    number: str,
    name: str,
    public: bool,
) -> None:
    """One of the edition's files (its notebook, its results, an environment's lock)."""
    try:
        target, edition = await asyncio.to_thread(
            service.download, owner, slug, edition_number(number), name
        )
    except NJError as err:
        refused(handler, err)
        return
    cache_headers(handler, public)
    media = "application/octet-stream"
    if name.endswith(".zip"):
        media = "application/zip"
    elif name.endswith(".ipynb"):
        media = "application/x-ipynb+json"
    handler.set_header("Content-Type", media)
    handler.set_header(
        "Content-Disposition",
        f'attachment; filename="{edition.slug}-{edition.number}-{name}"',
    )
    await handler.finish(await asyncio.to_thread(target.read_bytes))


# -- draft pages --------------------------------------------------------------------------------


def hide_token(handler: RequestHandler) -> None:
    """Cut the token from the request line before anything logs it (the access log and error
    reports print `request.uri`)."""
    handler.request.uri = LINK_PREFIX + "[token]"
    handler.request.path = handler.request.uri


def protect_draft(handler: RequestHandler) -> None:
    """The headers of every draft page: sandboxed, never cached (a revoked link ends at the next
    request), no Referer (the token must not leak to links in the notebook), not indexed."""
    handler.set_header("Content-Security-Policy", PAGE_POLICY)
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("Referrer-Policy", "no-referrer")
    handler.set_header("X-Robots-Tag", "noindex, nofollow")
    handler.set_header("X-Content-Type-Options", "nosniff")


async def draft_page(handler: RequestHandler, service: Any, token: str) -> None:
    """The draft a token opens, from `service.page(token)` (a server's live render, or the
    snapshot store's copy): 200, or the 404/410/503 page that says why not."""
    try:
        body, etag = await service.page(token)
    except NJError as err:
        title = "This link no longer works" if err.status_code == 410 else "No such page"
        refuse(handler, err.status_code, title, err.message)
        return
    handler.set_header("ETag", f'"{etag}"')
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    await handler.finish(body)
