"""REST handlers for /nj/api/import/{path}, /nj/api/export/{path}, /nj/api/remix/{path} and
/nj/api/links, and the draft page at /nj/l/<token>: the one jupyter-nj page that answers without
a login."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from ..base import NJError, NJHandler
from .links import LINK_PREFIX
from .render import PAGE_POLICY, message_page


class SharingHandler(NJHandler):
    auth_resource = "nj:sharing"

    @property
    def sharing(self) -> Any:
        manager = self.nj.sharing_manager
        if manager is None:
            raise NJError(503, "sharing-unavailable", "Import and export are off on this server.")
        return manager


class ImportHandler(SharingHandler):
    """POST `{"to"?, "overwrite"?, "format"?}`: save the text file at `path` as a notebook."""

    @web.authenticated
    @authorized
    async def post(self, path: str = "") -> None:
        body = self.read_json_body()
        to, overwrite, fmt = body.get("to"), body.get("overwrite", False), body.get("format")
        if to is not None and not isinstance(to, str):
            raise NJError(400, "bad-body", "`to` is the path of the notebook to write (text).")
        if not isinstance(overwrite, bool):
            raise NJError(400, "bad-body", "`overwrite` is true or false.")
        if fmt is not None and not isinstance(fmt, str):
            raise NJError(400, "bad-body", "`format` is md, myst, rmd or py.")
        result = await self.sharing.import_notebook(path, to=to, overwrite=overwrite, fmt=fmt)
        self.write_json(result, status=201)


class ExportHandler(SharingHandler):
    """GET `?version=&format=`: the notebook as text, as a download."""

    @web.authenticated
    @authorized
    async def get(self, path: str = "") -> None:
        version = self.get_query_argument("version", None) or None
        fmt = self.get_query_argument("format", None) or None
        exported = await self.sharing.export_notebook(path, version=version, fmt=fmt)
        fallback = exported.filename.encode("ascii", "replace").decode().replace('"', "_")
        self.set_header(
            "Content-Disposition",
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(exported.filename)}",
        )
        await self.finish(
            exported.text.encode("utf-8"),
            set_content_type=f"{exported.media_type}; charset=utf-8",
        )


class DraftLinksHandler(SharingHandler):
    @property
    def links(self) -> Any:
        service = self.sharing.links
        if service is None:
            raise NJError(503, "links-unavailable", "Draft links are off on this server.")
        return service


class LinksHandler(DraftLinksHandler):
    """GET `?path=`: the active draft links (of one notebook); POST `{"path", "expires"?}`: a
    new one, whose `url` (the token) is shown this once."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        normalized = self.sharing.notebook_path(path) if path else None
        self.write_json({"links": await self.links.list(normalized)})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.read_json_body()
        path = body.get("path")
        if not isinstance(path, str) or not path.strip():
            raise NJError(400, "bad-body", "`path` is the notebook to share (text).")
        user = self.current_user
        author = getattr(user, "display_name", "") or getattr(user, "username", "") or "someone"
        created = await self.links.create(
            self.sharing.notebook_path(path), author, body.get("expires")
        )
        # Under the server's base URL (JupyterHub's /user/<name>/, for example).
        created["url"] = self.base_url.rstrip("/") + created["url"]
        self.write_json(created, status=201)


class LinkHandler(DraftLinksHandler):
    """DELETE: revoke a link now (its page answers 410 from the next request on)."""

    @web.authenticated
    @authorized
    async def delete(self, link_id: str) -> None:
        self.write_json(await self.links.revoke(link_id))


class DraftPageHandler(JupyterHandler):
    """GET /nj/l/<token>: the notebook as last saved, read-only, for anyone with the URL.

    Reachable without a login on purpose (the token is the credential); nothing else of the
    server is. The page is sandboxed (render.py), never cached (a revoked link ends at the next
    request), sends no Referer (the token must not leak to links in the notebook), and the token
    is cut from the request line before anything logs it.
    """

    async def prepare(self, *, _redirect_to_login: bool = True) -> None:
        # Before any log line: the access log and error reports print `request.uri`.
        self.request.uri = LINK_PREFIX + "[token]"
        self.request.path = self.request.uri
        await super().prepare(_redirect_to_login=False)

    @property
    def content_security_policy(self) -> str:
        return PAGE_POLICY

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Robots-Tag", "noindex, nofollow")
        self.set_header("X-Content-Type-Options", "nosniff")

    def check_xsrf_cookie(self) -> None:
        return None  # GET only, no cookie is read

    @allow_unauthenticated
    async def get(self, token: str) -> None:
        nj = self.settings.get("nj_app")
        service = getattr(getattr(nj, "sharing_manager", None), "links", None)
        if service is None:
            self._message(404, "No such page", "Draft links are off on this server.")
            return
        try:
            page, etag = await service.page(token)
        except NJError as err:
            title = "This link no longer works" if err.status_code == 410 else "No such page"
            self._message(err.status_code, title, err.message)
            return
        self.set_header("ETag", f'"{etag}"')
        self.set_header("Content-Type", "text/html; charset=utf-8")
        await self.finish(page)

    def _message(self, status: int, title: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(message_page(status, title, message))


class RemixHandler(SharingHandler):
    """POST `{"version": id | "current", "to"?: path}`: remix the notebook at `path`."""

    @web.authenticated
    @authorized
    async def post(self, path: str = "") -> None:
        body = self.read_json_body()
        version, to = body.get("version", "current"), body.get("to")
        if not isinstance(version, str) or not version.strip():
            raise NJError(400, "bad-body", '`version` is a version id or "current".')
        if to is not None and not isinstance(to, str):
            raise NJError(400, "bad-body", "`to` is the path of the notebook to write (text).")
        result = await self.sharing.remix(path, version=version, to=to)
        self.write_json(result, status=201)


# Routes under /nj/api, mounted by NJApp.initialize_handlers like every pillar's.
default_handlers = [
    (r"import/(.*)", ImportHandler),
    (r"export/(.*)", ExportHandler),
    (r"remix/(.*)", RemixHandler),
    (r"links", LinksHandler),
    (r"links/([^/]+)", LinkHandler),
]

# Pages outside /nj/api (pattern relative to the server's base URL); reachable without login.
page_handlers = [(r"nj/l/([^/]+)", DraftPageHandler)]
