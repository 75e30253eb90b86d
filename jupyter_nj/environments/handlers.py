"""REST handlers for /nj/api/environments: thin, every decision is in EnvironmentManager."""

from __future__ import annotations

from tornado import web

from ..base import NJError, NJHandler
from .model import BACKENDS, check_name


class EnvironmentsHandler(NJHandler):
    @web.authenticated
    async def get(self) -> None:
        manager = self.nj.environment_manager
        self.write_json({"environments": await manager.alist()})


class EnvironmentHandler(NJHandler):
    @web.authenticated
    async def get(self, name: str) -> None:
        check_name(name)
        manager = self.nj.environment_manager
        for environment in await manager.alist():
            if environment["name"] == name:
                self.write_json(environment)
                return
        raise NJError(404, "unknown-environment", f"There is no environment called {name!r}.")


class EnvironmentBuildHandler(NJHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        check_name(name)
        body = self.read_json_body()
        backend = body.get("backend", "local")
        if backend not in BACKENDS:
            raise NJError(400, "bad-backend", f"Unknown backend {backend!r}: use local or docker.")
        record = await self.nj.environment_manager.abuild(name, backend)
        self.write_json(record.to_json(), status=201)
