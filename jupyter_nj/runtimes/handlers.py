"""REST handlers for /nj/api/runtimes/{kernel_id}: what a kernel runs, and pinning it."""

from __future__ import annotations

from tornado import web

from ..base import NJError, NJHandler
from .pins import pin_notebook
from .provisioner import NJRuntimeMixin
from .snapshot import snapshot_runtime


class RuntimeHandlerBase(NJHandler):
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
    async def get(self, kernel_id: str) -> None:
        self.write_json(await self.runtime(kernel_id).runtime_info())


class RuntimePinHandler(RuntimeHandlerBase):
    """Pin a notebook to the exact version its kernel runs (`metadata.nj.runtimes.main`)."""

    @web.authenticated
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
            self.nj.root_dir,
            path,
        )
        self.write_json(result, status=201)
