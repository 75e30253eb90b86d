"""REST handlers for /nj/api/import/{path}, /nj/api/export/{path} and /nj/api/remix/{path}."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import NJError, NJHandler


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
]
