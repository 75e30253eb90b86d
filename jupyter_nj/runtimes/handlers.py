"""REST handlers for /nj/api/environments and /nj/api/runtimes/{kernel_id}: thin, every decision
is in EnvironmentManager or the kernel's provisioner. Ends in `default_handlers`."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import NJError, NJHandler
from .model import BACKENDS, check_name
from .pins import pin_notebook
from .provisioner import NJRuntimeMixin
from .snapshot import snapshot_runtime


class RuntimesHandler(NJHandler):
    auth_resource = "nj:runtimes"


class EnvironmentsHandler(RuntimesHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"environments": await self.nj.environment_manager.alist()})


class EnvironmentHandler(RuntimesHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        check_name(name)
        for environment in await self.nj.environment_manager.alist():
            if environment["name"] == name:
                self.write_json(environment)
                return
        raise NJError(404, "unknown-environment", f"There is no environment called {name!r}.")


class EnvironmentBuildHandler(RuntimesHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        check_name(name)
        body = self.read_json_body()
        backend = body.get("backend", "local")
        if backend not in BACKENDS:
            raise NJError(400, "bad-backend", f"Unknown backend {backend!r}: use local or docker.")
        record = await self.nj.environment_manager.abuild(name, backend)
        self.write_json(record.to_json(), status=201)


class RuntimeHandlerBase(RuntimesHandler):
    def runtime(self, kernel_id: str) -> NJRuntimeMixin:
        try:
            km = self.kernel_manager.get_kernel(kernel_id)
        except KeyError:
            raise NJError(404, "unknown-kernel", f"There is no kernel {kernel_id!r}.") from None
        provisioner = getattr(km, "provisioner", None)
        if not isinstance(provisioner, NJRuntimeMixin):
            raise NJError(
                409,
                "not-a-runtime",
                f"Kernel {kernel_id!r} does not run in a jupyter-nj environment; start it with "
                "an `nj-<environment>` kernel.",
            )
        return provisioner


class RuntimeHandler(RuntimeHandlerBase):
    @web.authenticated
    @authorized
    async def get(self, kernel_id: str) -> None:
        self.write_json(await self.runtime(kernel_id).runtime_info())


class RuntimePinHandler(RuntimeHandlerBase):
    """Pin a notebook to the exact version its kernel runs (`metadata.nj.runtimes.main`)."""

    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        runtime = self.runtime(kernel_id)
        path = self.read_json_body().get("path")
        if not isinstance(path, str) or not path.endswith(".ipynb"):
            raise NJError(400, "bad-path", "Give the notebook to pin as {'path': 'a/b.ipynb'}.")
        if runtime.record is None:
            raise NJError(409, "not-started", f"Kernel {kernel_id!r} has not started yet.")
        pin = await pin_notebook(self.nj.documents, path, runtime.record)
        self.write_json({"path": path, "pin": pin})


class RuntimeSnapshotHandler(RuntimeHandlerBase):
    """Save environment: the runtime's current state becomes a new version; re-pin the notebook."""

    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        runtime = self.runtime(kernel_id)
        path = self.read_json_body().get("path")
        if path is not None and (not isinstance(path, str) or not path.endswith(".ipynb")):
            raise NJError(400, "bad-path", "`path` must name a notebook (`a/b.ipynb`).")
        result = await snapshot_runtime(
            self.nj.environment_manager,
            self.kernel_manager.get_kernel(kernel_id),
            runtime,
            self.nj.documents,
            path,
        )
        self.write_json(result, status=201)


NAME = r"(?P<name>[^/]+)"
KERNEL_ID = r"(?P<kernel_id>[^/]+)"

# Routes under /nj/api, mounted by NJApp.initialize_handlers like every pillar's.
default_handlers = [
    (r"environments", EnvironmentsHandler),
    (rf"environments/{NAME}", EnvironmentHandler),
    (rf"environments/{NAME}/build", EnvironmentBuildHandler),
    (rf"runtimes/{KERNEL_ID}", RuntimeHandler),
    (rf"runtimes/{KERNEL_ID}/pin", RuntimePinHandler),
    (rf"runtimes/{KERNEL_ID}/snapshot", RuntimeSnapshotHandler),
]
