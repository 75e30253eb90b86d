"""REST handlers for secrets. Thin: who is asking, parse, call the manager, serialize.

GET never returns a value: once set, a value goes only to runtimes.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import NJError, NJHandler


class SecretsBaseHandler(NJHandler):
    auth_resource = "nj:secrets"

    @property
    def manager(self) -> Any:
        manager = self.nj.secrets_manager
        if manager is None:
            raise NJError(503, "secrets-off", "Secrets are not available on this server.")
        return manager

    def principal(self) -> Any:
        return self.manager.principal(self.current_user)


class SecretsListHandler(SecretsBaseHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.manager.list_secrets(self.principal()))


class SecretHandler(SecretsBaseHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.write_json(await self.manager.get_secret(self.principal(), name))

    @web.authenticated
    @authorized
    async def put(self, name: str) -> None:
        record, created = await self.manager.put_secret(
            self.principal(), name, self.read_json_body()
        )
        self.write_json(record, status=201 if created else 200)

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.manager.delete_secret(self.principal(), name)
        self.set_status(204)
        self.finish()


class SecretAttachmentsHandler(SecretsBaseHandler):
    """`metadata.nj.secrets` of one notebook: GET lists, PUT `{"secrets": [names]}` replaces."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        self.write_json(await self.manager.attachments(self.principal(), path))

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        body = self.read_json_body()
        self.write_json(
            await self.manager.set_attachments(self.principal(), path, body.get("secrets"))
        )


# Routes under /nj/api, mounted by NJApp.initialize_handlers like every pillar's.
default_handlers = [
    (r"secrets", SecretsListHandler),
    (r"secrets/([^/]+)", SecretHandler),
    (r"secret-attachments/(.+)", SecretAttachmentsHandler),
]
