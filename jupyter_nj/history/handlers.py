"""REST handlers for /nj/api/history/{path}: list, one version, diff, restore, label."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import NJError, NJHandler


class HistoryHandler(NJHandler):
    """GET lists versions (or returns one version, or a diff); POST restores or labels."""

    auth_resource = "nj:history"

    @property
    def history(self) -> Any:
        manager = self.nj.history_manager
        if manager is None:
            raise NJError(503, "history-unavailable", self.nj.history_unavailable)
        return manager

    @web.authenticated
    @authorized
    async def get(self, path: str = "") -> None:
        version = self.get_query_argument("version", None)
        diff = self.get_query_argument("diff", None)
        if version is not None and diff is not None:
            raise NJError(400, "bad-query", "Ask for `version` or `diff`, not both.")
        if version is not None:
            await self.write_large_json(await self.history.get_version(path, version))
        elif diff is not None:
            ignore = self.get_query_argument("ignore_outputs", "false").lower()
            if ignore not in {"true", "false", "1", "0", "yes", "no"}:
                raise NJError(400, "bad-query", "`ignore_outputs` is true or false.")
            ignore_outputs = ignore in {"true", "1", "yes"}
            diffed = await self.history.diff(path, diff, ignore_outputs=ignore_outputs)
            await self.write_large_json(diffed)
        else:
            limit_arg = self.get_query_argument("limit", "50")
            try:
                limit = int(limit_arg)
            except ValueError:
                raise NJError(400, "bad-query", "`limit` is a whole number (1-1000).") from None
            if not 1 <= limit <= 1000:
                raise NJError(400, "bad-query", "`limit` is a whole number (1-1000).")
            before = self.get_query_argument("before", None) or None
            self.write_json(await self.history.list_versions(path, limit=limit, before=before))

    @web.authenticated
    @authorized
    async def post(self, path: str = "") -> None:
        body = self.read_json_body()
        if "restore" in body:
            version = body["restore"]
            if not isinstance(version, str) or not version:
                raise NJError(400, "bad-body", "`restore` is the id of a version (a string).")
            self.write_json(await self.history.restore(path, version))
        elif "label" in body:
            label, version = body.get("label"), body.get("version")
            if label is not None and not isinstance(label, str):
                raise NJError(400, "bad-body", "`label` is text (empty removes the label).")
            if len(label or "") > 200:
                raise NJError(400, "bad-body", "`label` is at most 200 characters.")
            if not isinstance(version, str) or not version:
                raise NJError(400, "bad-body", "Name the version to label in `version`.")
            self.write_json(await self.history.label(path, version, label))
        else:
            raise NJError(
                400,
                "bad-body",
                'Send {"restore": "<version id>"} or {"label": "<text>", "version": "<id>"}.',
            )


# Routes under /nj/api, mounted by NJApp.initialize_handlers like every pillar's.
default_handlers = [(r"history/(.*)", HistoryHandler)]
