"""REST handlers for /nj/api/gpus and /nj/api/runtimes/{kernel_id}/gpus (resource `nj:gpus`):
thin, the decisions are GpuManager's. Ends in `default_handlers`."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...base import NJError
from ..handlers import KERNEL_ID, RuntimeHandlerBase
from .manager import GpuManager, choose_runtime_gpus


class GpusHandlerBase(RuntimeHandlerBase):
    auth_resource = "nj:gpus"

    @property
    def gpus(self) -> GpuManager:
        service = self.nj.runtime_service
        if service is None or service.gpus is None:
            raise NJError(503, "gpus-unavailable", "GPUs are not managed by this server.")
        manager: GpuManager = service.gpus
        return manager


class GpusHandler(GpusHandlerBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.gpus.inventory_json())


class RuntimeGpusHandler(GpusHandlerBase):
    """The runtime's GPU menu: `{"gpus": 0 | n | ["GPU-…"]}` restarts the runtime with them."""

    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        body = self.read_json_body()
        if "gpus" not in body:
            raise NJError(
                400, "bad-gpus", 'Say what the runtime should have: {"gpus": 0 | 1 | ["GPU-…"]}.'
            )
        runtime = self.runtime(kernel_id)
        result = await choose_runtime_gpus(
            self.gpus,
            self.kernel_manager,
            self.nj.documents,
            kernel_id,
            runtime,
            body["gpus"],
            _user_name(self.current_user),
        )
        result["runtime_info"] = await runtime.runtime_info()
        self.write_json(result)


def _user_name(user: Any) -> str:
    return str(getattr(user, "username", "") or getattr(user, "name", "") or "")


default_handlers = [
    (r"gpus", GpusHandler),
    (rf"runtimes/{KERNEL_ID}/gpus", RuntimeGpusHandler),
]
