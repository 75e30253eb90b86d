"""REST handlers for /nj/api/import/{path}, /nj/api/export/{path}, /nj/api/remix/{path},
/nj/api/links, /nj/api/principals, /nj/api/publish/{path} and /nj/api/publications, and the
pages that answer without a login: the draft page at /nj/l/<token> and published pages at
/nj/p/<owner>/<slug> (those only while `NJApp.publish_access` is "public")."""

from __future__ import annotations

import asyncio
import html
import json
from typing import Any
from urllib.parse import quote, urlencode

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..base import NJError, NJHandler
from . import pages
from .publications import PUBLISH_PREFIX
from .render import PAGE_POLICY, PUBLISHED_PAGE_POLICY, message_page


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
    """GET `?path=`: the active links (of one notebook); POST `{"path", "expires"?}`: a new
    draft link, whose `url` (the token) is shown this once; with `"edit": true` (and
    `"run"`), an edit link for other users instead (guests.py); with `"share_with":
    {"user": name}` or `{"group": name}` (and `"run"`), a named share under JupyterHub."""

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
        edit, run = body.get("edit", False), body.get("run", False)
        if not isinstance(edit, bool) or not isinstance(run, bool):
            raise NJError(400, "bad-body", "`edit` and `run` are true or false.")
        if run and not edit:
            raise NJError(400, "bad-body", '`run` is for edit links (send `"edit": true`).')
        user = self.current_user
        author = getattr(user, "display_name", "") or getattr(user, "username", "") or "someone"
        notebook = self.sharing.notebook_path(path)
        named = body.get("share_with")
        if named is not None:
            kind, name = share_target(named)
            created = await self.links.share_with(notebook, author, kind, name, run)
            self.write_json(created, status=201)
            return
        if edit:
            created = await self.links.create_edit(notebook, author, body.get("expires"), run)
        else:
            created = await self.links.create(notebook, author, body.get("expires"))
            # Under the server's base URL (JupyterHub's /user/<name>/, for example), or where
            # NJApp.drafts_base_url says the snapshots are read (the hub's pages service, so
            # the URL answers while this server is stopped).
            base = self.nj.drafts_base_url if self.nj.drafts_dir else ""
            created["url"] = str(base or self.base_url).rstrip("/") + created["url"]
        self.write_json(created, status=201)


def share_target(value: Any) -> tuple[str, str]:
    """("user" or "group", name) of a named share's `share_with`, or a 400 saying the form."""
    if (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in ("user", "group")
        and isinstance(next(iter(value.values())), str)
        and next(iter(value.values())).strip()
    ):
        [(kind, name)] = value.items()
        return str(kind), str(name).strip()
    raise NJError(
        400,
        "bad-share",
        '`share_with` names one hub user or group: {"user": "bob"} or {"group": "lab"}.',
    )


class PrincipalsHandler(SharingHandler):
    """GET: the users and groups the current user can name when sharing (principals.py)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        directory = self.sharing.principals
        if directory is None:
            raise NJError(503, "principals-unavailable", "Type the names: no list on this server.")
        self.write_json(await directory.listing())


class LinkHandler(DraftLinksHandler):
    """DELETE: revoke a link now (its page answers 410 from the next request on)."""

    @web.authenticated
    @authorized
    async def delete(self, link_id: str) -> None:
        self.write_json(await self.links.revoke(link_id))


class DraftPageHandler(JupyterHandler):
    """GET /nj/l/<token>: the notebook as last saved, read-only, for anyone with the URL.

    Reachable without a login on purpose (the token is the credential); nothing else of the
    server is. pages.py answers it as the pages service answers a draft snapshot: sandboxed
    (render.py), never cached, no Referer, and the token cut from the request line before
    anything logs it.
    """

    async def prepare(self, *, _redirect_to_login: bool = True) -> None:
        pages.hide_token(self)  # before any log line
        await super().prepare(_redirect_to_login=False)

    @property
    def content_security_policy(self) -> str:
        return PAGE_POLICY

    def set_default_headers(self) -> None:
        super().set_default_headers()
        pages.protect_draft(self)

    def check_xsrf_cookie(self) -> None:
        return None  # GET only, no cookie is read

    @allow_unauthenticated
    async def get(self, token: str) -> None:
        nj = self.settings.get("nj_app")
        service = getattr(getattr(nj, "sharing_manager", None), "links", None)
        if service is None:
            pages.refuse(self, 404, "No such page", "Draft links are off on this server.")
            return
        await pages.draft_page(self, service, token)


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


class PublicationsBase(SharingHandler):
    @property
    def publish_base(self) -> str:
        return str(self.nj.publish_base_url or self.base_url)


class PublishHandler(PublicationsBase):
    """POST `{"version"?: id | "current", "slug"?, "rerun"?, "results"?}`: publish the notebook
    at `path` as the next edition of the user's publication."""

    @web.authenticated
    @authorized
    async def post(self, path: str = "") -> None:
        body = self.read_json_body()
        version, slug = body.get("version", "current"), body.get("slug")
        rerun, results = body.get("rerun", False), body.get("results", True)
        if not isinstance(version, str) or not version.strip():
            raise NJError(400, "bad-body", '`version` is a version id or "current".')
        if slug is not None and not isinstance(slug, str):
            raise NJError(400, "bad-body", "`slug` is text (letters, digits, hyphens).")
        if not isinstance(rerun, bool) or not isinstance(results, bool):
            raise NJError(400, "bad-body", "`rerun` and `results` are true or false.")
        edition = await self.sharing.publish(
            path,
            self.current_user,
            version=version.strip(),
            slug=slug.strip() if isinstance(slug, str) and slug.strip() else None,
            rerun=rerun,
            include_results=results,
        )
        self.write_json(_under_base(self.publish_base, edition), status=201)


class PublicationsHandler(PublicationsBase):
    """GET `?path=&owner=`: publications (of one notebook; of one owner, default the user's;
    `owner=*` for every owner's in this store), newest first, unpublished ones included."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        owner = self.get_query_argument("owner", None)
        if owner is None:
            owner = self.sharing.owner_of(self.current_user)
        normalized = self.sharing.notebook_path(path) if path else None
        editions = await self.sharing.publications.find(None if owner == "*" else owner, normalized)
        self.write_json({"publications": [_under_base(self.publish_base, e) for e in editions]})


class PublicationHandler(PublicationsBase):
    """DELETE /nj/api/publications/<owner>/<slug>[/<n>]: unpublish every edition, or one.
    Only the owner may; the URLs answer 410 from the next request on."""

    @web.authenticated
    @authorized
    async def delete(self, owner: str, slug: str, number: str | None = None) -> None:
        n = pages.edition_number(number) if number is not None else None
        ended = await self.sharing.unpublish(owner, slug, n, self.current_user)
        self.write_json({"unpublished": [_under_base(self.publish_base, e) for e in ended]})


def _under_base(base_url: str, edition: dict[str, Any]) -> dict[str, Any]:
    """An edition's URLs under `base_url`: the server's (JupyterHub's /user/<name>/), or where
    `NJApp.publish_base_url` says pages are read."""
    base = base_url.rstrip("/")
    return {**edition, "url": base + edition["url"], "latest": base + edition["latest"]}


class PublishedPage(JupyterHandler):
    """Base of the published pages (pages.py answers them): readable without a login while
    `NJApp.publish_access` is "public" (anyone with the URL), otherwise by logged-in users."""

    async def prepare(self, *, _redirect_to_login: bool = True) -> None:
        await super().prepare(_redirect_to_login=False)

    @property
    def content_security_policy(self) -> str:
        return PUBLISHED_PAGE_POLICY

    def set_default_headers(self) -> None:
        super().set_default_headers()
        pages.protect(self)

    def check_xsrf_cookie(self) -> None:
        return None  # GET only, no cookie is read

    def compute_etag(self) -> None:
        return None  # a page's ETag is its digest (pages.py), not a hash of it again

    @property
    def publishing(self) -> Any:
        nj = self.settings.get("nj_app")
        return getattr(getattr(nj, "sharing_manager", None), "publishing", None)

    @property
    def public(self) -> bool:
        return getattr(self.settings.get("nj_app"), "publish_access", "public") == "public"

    def allowed(self) -> bool:
        """Whether this reader may see published pages; sends the answer when not."""
        if self.publishing is None:
            pages.refuse(self, 404, "No such page", "Publishing is off on this server.")
            return False
        if self.public or self.current_user:
            return True
        self.redirect(self.get_login_url() + "?" + urlencode({"next": self.request.uri}))
        return False


class PublishedLatestHandler(PublishedPage):
    """GET /nj/p/<owner>/<slug>: to the newest edition still published (a redirect, so a
    reader's address bar shows the permanent URL of what they read)."""

    @allow_unauthenticated
    async def get(self, owner: str, slug: str) -> None:
        if self.allowed():
            await pages.latest(self, self.publishing, owner, slug, self.base_url)


class PublishedEditionHandler(PublishedPage):
    """GET /nj/p/<owner>/<slug>/<n>: the edition's page, rendered when it was published."""

    @allow_unauthenticated
    async def get(self, owner: str, slug: str, number: str) -> None:
        if self.allowed():
            await pages.page(self, self.publishing, owner, slug, number, self.public)


class PublishedFileHandler(PublishedPage):
    """GET /nj/p/<owner>/<slug>/<n>/<file>: a download of the edition (its notebook, its
    results, an environment's lock)."""

    @allow_unauthenticated
    async def get(self, owner: str, slug: str, number: str, name: str) -> None:
        if self.allowed():
            await pages.download(self, self.publishing, owner, slug, number, name, self.public)


class PublicationRemixHandler(JupyterHandler):
    """/nj/p/<owner>/<slug>/<n>/remix, the published page's Remix: GET (a login first, like
    any Jupyter page) asks where the copy goes; POST remixes the edition into the user's files
    and opens it in JupyterLab (or answers JSON to a JSON request)."""

    auth_resource = "nj:sharing"

    @property
    def sharing(self) -> Any:
        manager = getattr(self.settings.get("nj_app"), "sharing_manager", None)
        if manager is None:
            raise NJError(503, "sharing-unavailable", "Sharing is off on this server.")
        return manager

    def _wants_json(self) -> bool:
        return self.request.headers.get("Content-Type", "").startswith("application/json")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        message = exc.message if isinstance(exc, NJError) else "The remix failed."
        reason = exc.reason if isinstance(exc, NJError) else "error"
        if self._wants_json():
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": message, "reason": reason}))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(message_page(status_code, "Remix failed", message))

    @web.authenticated
    @authorized
    async def get(self, owner: str, slug: str, number: str) -> None:
        service = self.sharing.publications
        edition = await asyncio.to_thread(
            service.store.edition, owner, slug, pages.edition_number(number)
        )
        if edition.unpublished is not None:
            raise NJError(410, "unpublished", f"{owner}/{slug}/{edition.number} was unpublished.")
        title = html.escape(edition.title)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        await self.finish(
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Remix "
            f"{title}</title></head><body style='font: 15px system-ui, sans-serif; margin: 12vh "
            f"auto; max-width: 36em'><h1>Remix {title}</h1><p>A copy of edition "
            f"{edition.number} by {html.escape(edition.author)}, with its environment pins and "
            "results, goes into your files. Secrets it names are not copied: you need access "
            "of your own.</p><form method='post'>"
            + self.xsrf_form_html()
            + "<label>Save as <input name='to' size='32' placeholder='(a free name at the "
            "top of your files)'></label> <button type='submit'>Remix</button></form>"
            "</body></html>"
        )

    @web.authenticated
    @authorized
    async def post(self, owner: str, slug: str, number: str) -> None:
        wants_json = self._wants_json()
        if wants_json:
            try:
                body = json.loads(self.request.body or b"{}")
            except ValueError:
                raise NJError(400, "bad-json", "The request body is not JSON.") from None
            to = body.get("to") if isinstance(body, dict) else None
        else:
            to = self.get_body_argument("to", "")
        if to is not None and not isinstance(to, str):
            raise NJError(400, "bad-body", "`to` is the path of the notebook to write (text).")
        result = await self.sharing.remix_publication(
            owner,
            slug,
            pages.edition_number(number),
            self.current_user,
            to=(to or "").strip() or None,
        )
        if wants_json:
            self.set_status(201)
            self.set_header("Content-Type", "application/json")
            await self.finish(json.dumps(result))
            return
        self.redirect(url_path_join(self.base_url, "lab", "tree", quote(result["path"])))


# Routes under /nj/api, mounted by NJApp.initialize_handlers like every pillar's.
default_handlers = [
    (r"import/(.*)", ImportHandler),
    (r"export/(.*)", ExportHandler),
    (r"remix/(.*)", RemixHandler),
    (r"links", LinksHandler),
    (r"links/([^/]+)", LinkHandler),
    (r"principals", PrincipalsHandler),
    (r"publish/(.*)", PublishHandler),
    (r"publications", PublicationsHandler),
    (r"publications/([^/]+)/([^/]+)", PublicationHandler),
    (r"publications/([^/]+)/([^/]+)/([^/]+)", PublicationHandler),
]

# Pages outside /nj/api (pattern relative to the server's base URL). All but the remix page
# are reachable without a login; the first match wins, so the remix page comes before the
# downloads.
_P = PUBLISH_PREFIX.strip("/")
page_handlers = [
    (r"nj/l/([^/]+)", DraftPageHandler),
    (_P + r"/([^/]+)/([^/]+)", PublishedLatestHandler),
    (_P + r"/([^/]+)/([^/]+)/([^/]+)/remix", PublicationRemixHandler),
    (_P + r"/([^/]+)/([^/]+)/([^/]+)", PublishedEditionHandler),
    (_P + r"/([^/]+)/([^/]+)/([^/]+)/([^/]+)", PublishedFileHandler),
]
