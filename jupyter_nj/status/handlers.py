"""REST handler for GET /nj/api/status."""

from __future__ import annotations

from tornado import web

from ..base import NJHandler


class StatusHandler(NJHandler):
    @web.authenticated
    async def get(self) -> None:
        self.write_json(await self.nj.status_manager.status())
