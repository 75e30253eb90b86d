"""REST handler for GET /nj/api/status."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import NJHandler


class StatusHandler(NJHandler):
    auth_resource = "nj:status"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.nj.status_manager.status())


# Routes under /nj/api, mounted by NJApp.initialize_handlers like every pillar's.
default_handlers = [(r"status", StatusHandler)]
