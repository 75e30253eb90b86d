"""The pages service: a publication store served by a process of its own.

A published URL must answer while its author's server is stopped: under JupyterHub the hub culls
idle single-user servers, and with them their `/user/<name>/nj/p/` pages. This process serves
the same store (`NJApp.publish_dir`, a folder every single-user server writes) at
`<prefix>nj/p/<owner>/<slug>[/<n>[/<file>]]` with the same answers as a single-user server
(pages.py): pages rendered when they were published, tombstones checked on every request.
It reads the store only; publishing and unpublishing stay with the users' servers.

It is the publications part of the jupyter-nj hub service (`jupyter nj hub-service`,
jupyter_nj/hub_service.py, which also mounts the secrets pillar's routes); with
`--access authenticated` it asks readers to log in to the hub (jupyterhub's HubOAuth) before it
serves them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tornado import web

from . import pages
from .drafts import snapshot_routes
from .publications import PUBLISH_PREFIX, Publications
from .publishing import PublishingService


async def _no_snapshot(*_: Any) -> dict[str, Any]:
    raise RuntimeError("the pages service only reads publications")


class ServicePage(web.RequestHandler):
    """A published page or download, as the service answers it."""

    def initialize(self, service: PublishingService, base: str, public: bool) -> None:
        self.service = service
        self.base = base
        self.public = public

    def set_default_headers(self) -> None:
        pages.protect(self)

    def compute_etag(self) -> None:
        return None  # a page's ETag is its digest (pages.py)


class LatestPage(ServicePage):
    async def get(self, owner: str, slug: str) -> None:
        await pages.latest(self, self.service, owner, slug, self.base)


class EditionPage(ServicePage):
    async def get(self, owner: str, slug: str, number: str) -> None:
        await pages.page(self, self.service, owner, slug, number, self.public)


class EditionFile(ServicePage):
    async def get(self, owner: str, slug: str, number: str, name: str) -> None:
        await pages.download(self, self.service, owner, slug, number, name, self.public)


class Health(web.RequestHandler):
    def get(self) -> None:
        self.finish({"status": "ok"})


def _hub_authenticated(handler: type[ServicePage]) -> type[ServicePage]:
    """The handler, asking readers to log in to the hub first (jupyterhub's HubOAuth)."""
    from jupyterhub.services.auth import HubOAuthenticated

    class HubPage(HubOAuthenticated, handler):  # type: ignore[misc, valid-type]
        @web.authenticated
        async def get(self, *args: str) -> None:
            await super().get(*args)

    HubPage.__name__ = f"Hub{handler.__name__}"
    return HubPage


def make_app(
    store: Path,
    prefix: str = "/",
    access: str = "public",
    drafts: Path | None = None,
    routes: Sequence[Any] = (),
) -> web.Application:
    """The service's tornado application over the publication store at `store`, the draft
    snapshot store at `drafts` (drafts.py), plus `routes` (other pillars' routes on the same
    service: jupyter_nj/hub_service.py composes them)."""
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    service = PublishingService(Publications(store), _no_snapshot)
    public = access == "public"
    options = {"service": service, "base": prefix.rstrip("/"), "public": public}
    root = prefix.rstrip("/") + PUBLISH_PREFIX.rstrip("/")
    kinds: list[type[ServicePage]] = [LatestPage, EditionPage, EditionFile]
    settings: dict[str, Any] = {}
    extra: list[Any] = []
    if not public:
        from jupyterhub.services.auth import HubOAuthCallbackHandler

        kinds = [_hub_authenticated(kind) for kind in kinds]
        settings["cookie_secret"] = os.urandom(32)
        extra.append((prefix + "oauth_callback", HubOAuthCallbackHandler))
    latest, edition, download = kinds
    return web.Application(
        [
            (root + r"/([^/]+)/([^/]+)", latest, options),
            (root + r"/([^/]+)/([^/]+)/([^/]+)", edition, options),
            (root + r"/([^/]+)/([^/]+)/([^/]+)/([^/]+)", download, options),
            (prefix + "health", Health),
            *snapshot_routes(prefix, drafts),
            *extra,
            *routes,
        ],
        **settings,
    )
