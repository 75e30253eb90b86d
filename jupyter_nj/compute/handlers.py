"""REST handlers for /nj/api/compute: a notebook kernel's runtimes, and what a user does with
them (the toolbar's runtime list). Thin: NotebookRuntimes (groups.py) decides. Ends in
`default_handlers`."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..base import NJError, NJHandler
from .groups import NotebookRuntimes
from .runner import RunManager


class ComputeHandler(NJHandler):
    auth_resource = "nj:compute"

    @property
    def runtimes(self) -> NotebookRuntimes:
        runtimes = self.nj.notebook_runtimes
        if runtimes is None:
            raise NJError(
                503,
                "compute-off",
                "Several runtimes per notebook need jupyter-nj's kernel manager, and this server "
                "runs another one (ServerApp.kernel_manager_class, or a gateway).",
            )
        return runtimes

    def known_kernel(self, kernel_id: str) -> str:
        if kernel_id not in self.kernel_manager:
            raise NJError(404, "unknown-kernel", f"There is no kernel {kernel_id!r}.")
        if self.runtimes.is_companion(kernel_id):
            raise NJError(
                400,
                "not-a-notebook-kernel",
                f"Kernel {kernel_id!r} is one of a notebook's runtimes: ask with the notebook's "
                "own kernel.",
            )
        return kernel_id


class NotebookRuntimesHandler(ComputeHandler):
    @web.authenticated
    @authorized
    async def get(self, kernel_id: str) -> None:
        self.write_json(await self.runtimes.describe(self.known_kernel(kernel_id)))


class NotebookRuntimeActionHandler(ComputeHandler):
    @web.authenticated
    @authorized
    async def post(self, kernel_id: str, name: str, action: str) -> None:
        result = await self.runtimes.control(self.known_kernel(kernel_id), name, action)
        self.write_json(result)


class RunHandlerBase(ComputeHandler):
    @property
    def run_manager(self) -> RunManager:
        manager = self.nj.run_manager
        if manager is None:
            self.runtimes  # noqa: B018  the same 503 as the runtimes routes
            raise NJError(503, "compute-off", "Headless runs are off on this server.")
        return manager


class RunsHandler(RunHandlerBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        runs = sorted(self.run_manager.runs.values(), key=lambda r: r.created, reverse=True)
        path = self.get_query_argument("path", None)
        self.write_json(
            {"runs": [r.to_json() for r in runs if path is None or path in {r.path, r.output}]}
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.read_json_body()
        run = self.run_manager.start(
            body.get("path"),
            parameters=body.get("parameters"),
            output=body.get("output"),
            timeout=body.get("timeout"),
        )
        self.set_header("Location", url_path_join(self.base_url, "nj", "api", "runs", run.id))
        self.write_json(run.to_json(), status=202)


class RunHandler(RunHandlerBase):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.write_json(self.run_manager.get(run_id).to_json())


KERNEL_ID = r"(?P<kernel_id>[^/]+)"
NAME = r"(?P<name>[^/]+)"
ACTION = r"(?P<action>[a-z]+)"

# Routes under /nj/api, mounted by NJApp.initialize_handlers like every pillar's.
default_handlers = [
    (rf"compute/{KERNEL_ID}/runtimes", NotebookRuntimesHandler),
    (rf"compute/{KERNEL_ID}/runtimes/{NAME}/{ACTION}", NotebookRuntimeActionHandler),
    (r"runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
]
