"""Kernel provisioners `nj-local` and `nj-docker`: kernels in a pinned environment version.

The kernelspec the server wrote names only the environment and a version
(`metadata.kernel_provisioner.config`); everything else (catalog, limits, the Docker client, the
pool) comes from the server's RuntimeService (service.py). Both pick the version to run the same
way: the notebook's pin (`metadata.nj.runtimes.main`, as `LiveDocuments` reads it) when it names
this environment, else the version the kernelspec names. A pin made on the other backend runs
the version built from the same lock and recipe, so a notebook pinned to a Docker image still opens
on a server without Docker.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import KernelProvisionerBase, LocalProvisioner
from traitlets import Unicode

from ..base import NJError
from .apt import SOCKET_IN_CONTAINER_VARIABLE, AptBridge, run_apt_in_container
from .apt import SOCKET_NAME as APT_SOCKET
from .boundary import (
    BoundaryError,
    MountPlan,
    RuntimeBoundary,
    plan_folder_mounts,
    server_boundary,
)
from .builds.docker import ENV_PREFIX, bind_mount
from .builds.local import venv_python
from .catalog import EnvironmentCatalog
from .engines import kubernetes as kube_engine
from .engines import swarm as swarm_engine
from .engines.base import ClusterRuntime
from .gpus.allocator import GPUS_LABEL, GpuRequest, parse_gpu_request
from .model import EnvironmentVersion, local_version_id
from .pins import notebook_pin, notebook_pin_gpus, pin_notebook
from .pool import CLAIM_FILE, WAITER, PooledRuntime
from .service import RuntimeService, RuntimeSettings, runtime_service_of

KERNEL_ROLE = "kernel"
ROLE_LABEL = "org.jupyter-nj.role"
# Which server started a container: its own data folder (the catalog may be shared by several).
SERVER_LABEL = "org.jupyter-nj.server"
KERNEL_DIR_LABEL = "org.jupyter-nj.kernel-dir"
KERNEL_DIR_PREFIX = "/tmp/njk-"
RUNTIME_LABEL = "org.jupyter-nj.runtime"
ENGINE_LABEL = "org.jupyter-nj.engine"
# A swarm runtime's connection as the server sees it (the relay's loopback ports); the kernel's
# own file is `connection.json`.
SERVER_CONNECTION_FILE = "server-connection.json"
USER_LABEL = "org.jupyter-nj.user"
# What the engine answers when a container asks for GPUs and it has no NVIDIA runtime.
NO_GPU_DRIVER = "could not select device driver"
NVIDIA_TOOLKIT_HINT = (
    "Install the NVIDIA container toolkit on the engine's host and enable it "
    "(`sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker`, "
    "docs/gpus.md), or ask for no GPU in the runtime's GPU menu."
)
# The one sub-folder of a kernel's private folder that the kernel may write: its IPC sockets. The
# rest (connection file, variables, the pool's claim, the secrets pipe, the apt socket) is written
# by the server and mounted read-only, so a kernel cannot swap any of it for a link.
SOCKETS_SUBDIR = "s"
CA_IN_CONTAINER = "/etc/ssl/certs/nj-ca-bundle.crt"
# Variables a kernel may receive from the server's environment; anything else stays out.
DEFAULT_ENV_ALLOWLIST = [
    "JPY_SESSION_NAME",
    "JPY_PARENT_PID",
    "LANG",
    "LC_ALL",
    "TZ",
    "MPLBACKEND",
    "PYDEVD_DISABLE_FILE_VALIDATION",
]
# Held by root inside the container only: docker-init needs KILL to forward signals to the
# unprivileged kernel; the rest let the server run apt-get there (see _run_container).
ROOT_CAPABILITIES = ["KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID"]
CA_VARIABLES = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
# Which of its notebook's runtimes a kernel is (`metadata.nj.runtimes.<name>`); the server sets
# it when it starts a cell's runtime (jupyter_nj/compute/), absent for the notebook's own kernel.
RUNTIME_VARIABLE = "NJ_RUNTIME"
# The backend a runtime's declaration asks for (`metadata.nj.runtimes.<name>.backend`), set by the
# server with RUNTIME_VARIABLE: the kernel manager then starts the environment's kernelspec
# through that backend's provisioner (runtimes/kernels.py), whatever backend the spec names.
BACKEND_VARIABLE = "NJ_RUNTIME_BACKEND"
BACKENDS = ("docker", "local")
MAIN_RUNTIME = "main"
# Where every runtime of a notebook finds the notebook's results folder.
RESULTS_VARIABLE = "NJ_RESULTS"
# Set (to the run's id) for the kernels of a headless run (compute/runner.py): a run executes a
# notebook as it is, so it never pins the notebook it reads.
HEADLESS_RUN_VARIABLE = "NJ_HEADLESS_RUN"
RESULTS_IN_CONTAINER = "/results"
# In the kernel's private folder (read-only in the container): the link `/results` leads to.
RESULTS_LINK = "results"


class RuntimeStartError(RuntimeError):
    """A kernel cannot start; the message tells the user what to do (shown in JupyterLab)."""


# Where a container sees the secrets folder (socket + client), and the pipe its shell reads the
# secret variables from.
SECRETS_IN_CONTAINER = "/run/nj-secrets"
SECRETS_FIFO = "secrets.env"
SECRETS_FIFO_TIMEOUT = 120.0


def _write_fifo_once(fifo: str, payload: bytes, timeout: float = SECRETS_FIFO_TIMEOUT) -> None:
    """Blocking: wait for a reader on `fifo`, write `payload`, close, remove the pipe."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as err:  # ENXIO: nobody has opened it for reading yet
                if err.errno != errno.ENXIO or time.monotonic() > deadline:
                    return
                time.sleep(0.02)
        try:
            os.set_blocking(fd, True)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(fifo)


class NJRuntimeMixin(KernelProvisionerBase):
    """Version choice, settings and snapshots shared by both provisioners."""

    backend = "local"

    environment = Unicode("", config=True, help="Environment name this kernelspec runs.")
    version = Unicode("", config=True, help="Version to run when the notebook has no pin.")
    _service: RuntimeService | None = None

    @property
    def service(self) -> RuntimeService:
        """The server's runtimes pillar: catalog, settings, Docker client, pool (service.py)."""
        if self._service is None:
            self._service = runtime_service_of(self)
            if self._service is None:
                raise RuntimeStartError(
                    "jupyter-nj kernels start under a Jupyter server with the jupyter_nj "
                    "extension enabled (`jupyter lab`, `jupyter server`)."
                )
        return self._service

    @property
    def settings(self) -> RuntimeSettings:
        return self.service.settings

    record: EnvironmentVersion | None = None
    session_name: str = ""
    # Which runtime of the notebook this is (`metadata.nj.runtimes.<runtime_name>` is its pin).
    runtime_name: str = MAIN_RUNTIME
    # The notebook's results folder on the host, when it has one (made at start).
    results_folder: str = ""
    # What the user should know about this runtime although it runs (shown by the toolbar).
    warnings: tuple[str, ...] = ()
    # The GPUs the notebook asks for this runtime (`metadata.nj.runtimes.<name>.gpus`), and the
    # devices (UUIDs) it holds while it runs.
    gpu_request: GpuRequest = 0
    gpus: tuple[str, ...] = ()
    # Why the last start failed ("" when it did not), for GET /nj/api/runtimes/{id}.
    start_error: str = ""

    async def choose_version(self, env: dict[str, str]) -> EnvironmentVersion:
        """The version this start must run."""
        self.session_name = self._api_path(env.get("JPY_SESSION_NAME", "")) or self.session_name
        self.runtime_name = env.get(RUNTIME_VARIABLE) or MAIN_RUNTIME
        pin = await notebook_pin(self.service.documents, self.session_name, self.runtime_name)
        # The notebook's own kernel pins a notebook that names no version yet (its other
        # runtimes are pinned by compute/groups.py the same way).
        self.pin_after_start = (
            self.settings.pin_on_first_start
            and self.service.documents is not None
            and self.runtime_name == MAIN_RUNTIME
            and self.session_name.endswith(".ipynb")
            and not env.get(HEADLESS_RUN_VARIABLE)
            and (pin is None or (pin["environment"] == self.environment and not pin.get("version")))
        )
        self.results_folder = await asyncio.to_thread(
            self.service.results_folder_of, self.session_name
        )
        self.start_error = ""
        record = await asyncio.to_thread(self._version_for, pin)
        await self.allocate_gpus()
        return record

    async def allocate_gpus(self) -> None:
        """Take the devices the notebook asks for (a restart keeps its own); a start that cannot
        have them does not happen, and says who holds them."""
        raw = await notebook_pin_gpus(self.service.documents, self.session_name, self.runtime_name)
        try:
            self.gpu_request = parse_gpu_request(raw)
        except NJError as err:
            raise self._failed(err.message) from None
        manager = self.service.gpus
        if manager is None:
            if self.gpu_request:
                raise self._failed("GPUs are not managed by this server; ask for no GPU.")
            self.gpus = ()
            return
        try:
            self.gpus = await manager.allocate(
                str(self.kernel_id), self.gpu_request, self.session_name, self.runtime_name
            )
        except NJError as err:
            self.gpus = ()
            raise self._failed(err.message) from None

    def release_gpus(self) -> None:
        if self.service.gpus is not None:
            self.service.gpus.release(str(self.kernel_id))
        self.gpus = ()

    def _failed(self, message: str) -> RuntimeStartError:
        self.start_error = message
        return RuntimeStartError(message)

    def _version_for(self, pin: dict[str, str] | None) -> EnvironmentVersion:
        """Blocking (catalog reads): the pinned version, else the kernelspec's."""
        catalog = self.service.catalog
        try:
            if pin and pin["environment"] == self.environment and pin.get("version"):
                record = catalog.get(self.environment, pin["version"])
            elif self.version:
                record = catalog.get(self.environment, self.version)
            else:
                raise RuntimeStartError(
                    f"Environment {self.environment!r} is not built yet: run `jupyter nj env "
                    f"build {self.environment}` (or POST /nj/api/environments/"
                    f"{self.environment}/build), then start the kernel again."
                )
        except NJError as err:
            raise RuntimeStartError(err.message) from None
        if record.backend != self.backend:
            record = self._same_content_on_this_backend(catalog, record)
        return record

    pin_after_start = False

    async def post_launch(self, **kwargs: Any) -> None:
        await super().post_launch(**kwargs)
        if not self.pin_after_start or self.record is None:
            return
        self.pin_after_start = False  # a restart keeps the pin it wrote
        try:
            await pin_notebook(self.service.documents, self.session_name, self.record)
        except Exception as err:  # noqa: BLE001  the kernel runs anyway; the pin can be set later
            self.log.warning(
                "jupyter-nj: could not pin %s to %s@%s: %s",
                self.session_name,
                self.record.name,
                self.record.short,
                getattr(err, "message", err),
            )
        else:
            self.log.info(
                "jupyter-nj: pinned %s to %s@%s (its first start)",
                self.session_name,
                self.record.name,
                self.record.short,
            )

    def _api_path(self, session_name: str) -> str:
        """JPY_SESSION_NAME as an API path. jupyter_server sets it to an absolute OS path when
        the session names its file (as JupyterLab's sessions do), and to the API path otherwise."""
        if not session_name or not os.path.isabs(session_name):
            return session_name
        if not self.settings.root_dir:
            return ""
        try:
            relative = (
                Path(session_name).resolve().relative_to(Path(self.settings.root_dir).resolve())
            )
        except ValueError:
            return ""  # outside the root: no notebook of ours, so no pin and no secrets
        return relative.as_posix()

    def _same_content_on_this_backend(
        self, catalog: EnvironmentCatalog, record: EnvironmentVersion
    ) -> EnvironmentVersion:
        for candidate in catalog.versions(record.name, self.backend):
            if candidate.lock_sha256 == record.lock_sha256 and _same_recipe(candidate, record):
                return candidate
        if self.backend == "local":
            # Same lock and recipe, materialised here: the version a local build would make.
            twin = EnvironmentVersion(
                name=record.name,
                version=local_version_id(record.recipe, catalog.lock_text(record)),
                backend="local",
                recipe=record.recipe,
                lock_sha256=record.lock_sha256,
                parent=record.parent,
                changes=record.changes,
            )
            return catalog.add(twin)
        raise RuntimeStartError(
            f"The notebook is pinned to {record.name}@{record.short} ({record.backend}), which "
            f"has no image on this server: build it with `jupyter nj env build {record.name} "
            "--backend docker` or import it."
        )

    def ca_environment(self, path: str) -> dict[str, str]:
        if not self.settings.ca_bundle:
            return {}
        return {name: path for name in CA_VARIABLES}

    async def attached_secrets(self) -> Any:
        """The secrets attached to this kernel's notebook, as the server hands them to runtimes
        (a `RuntimeSecrets`, see docs/secrets.md), or None outside a jupyter-nj server."""
        if self.service.secrets is None:
            return None
        return await self.service.secrets(self.session_name, str(self.kernel_id))

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        if self.record is not None:
            info["nj_version"] = self.record.to_json()
        return info

    exit_reason: str = ""
    saved_state: frozenset[str] = frozenset()

    async def runtime_info(self) -> dict[str, Any]:
        """What this kernel runs, for the REST API: the version, whether installs changed it
        since it started or was last saved (so a UI can warn before closing), and why it
        stopped, when it did."""
        return {
            "environment": self.environment,
            "backend": self.backend,
            "version": self.record.to_json() if self.record else None,
            "changed": await self.installed_state() != self.saved_state,
            "exit_reason": self.exit_reason,
            "warnings": list(self.warnings),
            "runtime": self.runtime_name,
            "start_error": self.start_error,
            "gpus": {
                "requested": list(self.gpu_request)
                if isinstance(self.gpu_request, tuple)
                else self.gpu_request,
                "allocated": list(self.gpus),
                **self.gpu_details(),
            },
        }

    def gpu_details(self) -> dict[str, Any]:
        """Backend-specific facts about the GPUs (the container's device requests)."""
        return {}

    async def installed_state(self) -> frozenset[str]:
        """What installs changed in this runtime so far (compared, never shown)."""
        return frozenset()

    async def snapshot(self, commands: list[str]) -> EnvironmentVersion:
        """Save what this runtime runs now as a new version of its environment, and run that
        version from the next restart on. `commands` are the install commands it ran."""
        parent = self.record
        if parent is None:
            raise NJError(409, "not-started", "The runtime has not started yet.")
        record = await asyncio.to_thread(self._save_version, parent, commands)
        self.record, self.version = record, record.version
        await self.mark_saved()
        return record

    def _save_version(self, parent: EnvironmentVersion, commands: list[str]) -> EnvironmentVersion:
        """Blocking: the new version, made from this runtime's current state."""
        raise NJError(409, "not-running", "The runtime is not running; start it first.")

    async def mark_saved(self) -> None:
        self.saved_state = await self.installed_state()


class NJLocalProvisioner(NJRuntimeMixin, LocalProvisioner):
    """Runs the kernel as a local process in the version's uv venv (no Docker needed)."""

    backend = "local"
    venv: Path | None = None
    overlay: Path | None = None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        env = kwargs.get("env") or {}
        record = await self.choose_version(env)
        backend = self.service.manager.local
        try:
            venv = await asyncio.to_thread(backend.materialise, record)
        except NJError as err:
            raise RuntimeStartError(err.message) from None
        self.record, self.venv = record, venv
        self._remove_overlay()
        runtimes = self.service.overlays_dir()
        runtimes.mkdir(parents=True, exist_ok=True)
        overlay = Path(tempfile.mkdtemp(prefix="njr-", dir=runtimes))
        try:
            self.overlay = await asyncio.to_thread(backend.overlay, record, venv, overlay)
        except NJError as err:
            shutil.rmtree(overlay, ignore_errors=True)
            raise RuntimeStartError(err.message) from None
        kwargs = await super().pre_launch(**kwargs)
        cmd = list(kwargs["cmd"])
        if cmd and cmd[0] in {sys.executable, "python", "python3"}:
            cmd[0] = str(venv_python(overlay))
        kwargs["cmd"] = cmd
        env = self._venv_env(kwargs.get("env") or {}, overlay, venv)
        secrets = await self.attached_secrets()
        # After the venv clean-up, which drops PYTHONPATH: the secrets client rides on it.
        kwargs["env"] = secrets.apply_to(env) if secrets is not None else env
        return kwargs

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart)
        # A restart starts from the version again, as a container restart does.
        self._remove_overlay()
        self.saved_state = frozenset()
        if not restart:
            self.release_gpus()

    async def installed_state(self) -> frozenset[str]:
        if self.overlay is None:
            return frozenset()
        overlay = self.overlay
        return await asyncio.to_thread(
            lambda: frozenset(
                p.name
                for p in overlay.glob("lib/python3*/site-packages/*")
                if p.name != "_nj_environment.pth"
            )
        )

    def _save_version(self, parent: EnvironmentVersion, commands: list[str]) -> EnvironmentVersion:
        if self.overlay is None:
            return super()._save_version(parent, commands)
        return self.service.manager.snapshot_local(parent, self.overlay, commands)

    def _remove_overlay(self) -> None:
        if self.overlay is not None:
            shutil.rmtree(self.overlay, ignore_errors=True)
            self.overlay = None

    def _venv_env(self, env: dict[str, str], overlay: Path, venv: Path) -> dict[str, str]:
        # The server's own interpreter settings must not reach the kernel: with them, `pip` in a
        # cell could install into the server's environment instead of the runtime's.
        clean = {
            k: v
            for k, v in env.items()
            if k not in {"PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX", "PYTHONSTARTUP"}
        }
        clean["VIRTUAL_ENV"] = str(overlay)
        clean["PATH"] = os.pathsep.join(
            [str(overlay / "bin"), str(venv / "bin"), env.get("PATH", os.defpath)]
        )
        clean["UV_PYTHON"] = str(venv_python(overlay))
        clean.update(self.ca_environment(self.settings.ca_bundle))
        clean[RUNTIME_VARIABLE] = self.runtime_name
        # The runtime's own GPUs and no others (an empty list hides every GPU from CUDA).
        clean["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus)
        if self.gpus:
            clean["NVIDIA_VISIBLE_DEVICES"] = ",".join(self.gpus)
        else:
            clean.pop("NVIDIA_VISIBLE_DEVICES", None)
        if self.results_folder:
            clean[RESULTS_VARIABLE] = self.results_folder
        else:
            clean.pop(RESULTS_VARIABLE, None)
        return clean


class NJDockerProvisioner(NJRuntimeMixin):
    """Runs the kernel in a container of the version's image.

    The host writes the connection file; the kernel talks ZeroMQ over IPC sockets in a private
    per-kernel folder bind-mounted at the same path, so no port is opened anywhere (the container's
    network is for outbound installs only). The kernel runs as an unprivileged UID/GID with all
    capabilities dropped, no Docker socket, CPU/memory/process limits, and only allow-listed
    variables, which reach it through a file in that private folder (never the container config,
    which `docker inspect` and `docker commit` would expose).
    """

    backend = "docker"
    container_id: str | None = None
    kernel_dir: str | None = None
    apt_bridge: AptBridge | None = None
    pooled: PooledRuntime | None = None
    secrets_folder: str = ""
    secret_env: dict[str, str] = {}  # noqa: RUF012  replaced per launch, never mutated
    # With NJApp.runtime_engine = "swarm" or "kubernetes": the kernel's service, task and relay
    # (engines/swarm.py), or its pod and Service (engines/kubernetes.py); `container_id` is
    # then the task's container, or the pod's UID.
    cluster: ClusterRuntime | None = None

    @property
    def has_process(self) -> bool:
        return self.container_id is not None

    def _client(self) -> Any:
        """The server's one client of its engine (blocking on first use: see RuntimeService)."""
        return self.service.docker()

    def _make_kernel_dir(self) -> str:
        """A private folder for one kernel: the server's, with a sockets folder for the kernel.

        Short path: unix socket paths are limited to about 107 bytes.
        """
        folder = tempfile.mkdtemp(prefix=os.path.basename(KERNEL_DIR_PREFIX), dir="/tmp")
        os.chmod(folder, 0o711)  # the kernel opens the files it is handed by name, lists nothing
        sockets = os.path.join(folder, SOCKETS_SUBDIR)
        os.mkdir(sockets, 0o700)
        _give_to(sockets, self.settings.kernel_uid, self.settings.kernel_gid)
        return folder

    def boundary(self) -> RuntimeBoundary:
        """What this server keeps out of its runtimes' reach (runtimes/boundary.py)."""
        if self.service.boundary is not None:
            return self.service.boundary()
        # Without the app's: this server's data folder, the catalog, and Jupyter's own.
        return server_boundary(self.settings.server_data, catalog=self.settings.catalog)

    # Whether this launch restarts a kernel that ran (its private folder is kept).
    restarting = False

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        env = kwargs.get("env") or {}
        self.restarting = self.kernel_dir is not None
        record = await self.choose_version(env)
        self.record = record
        km = self.parent
        assert km is not None, "a provisioner always belongs to a kernel manager"
        cwd = str(kwargs.get("cwd") or self.settings.root_dir or os.getcwd())
        secrets = await self.attached_secrets()
        self.secrets_folder = secrets.host_folder if secrets is not None else ""
        self.secret_env = secrets.container_env(SECRETS_IN_CONTAINER) if secrets is not None else {}
        # A pooled container was started before anyone knew its notebook, without the secrets
        # folder, and learns its environment from a claim file on disk: so only a notebook with
        # no attached secrets may take one, and its kernel then has no secrets client.
        has_secrets = secrets is not None and bool(secrets.attached)
        # Pooled containers are started with no devices: a GPU runtime always gets its own.
        if self.kernel_dir is None and not has_secrets and not self.gpus and self._poolable(cwd):
            self.pooled = await asyncio.to_thread(
                self.service.pool.take, self._pool_key(), self._is_running
            )
            if self.pooled is not None:
                self.kernel_dir = self.pooled.kernel_dir
                self.secret_env, self.secrets_folder = {}, ""
        if self.kernel_dir is None:
            self.kernel_dir = self._make_kernel_dir()
        await asyncio.to_thread(self._link_results)
        if self.on_cluster:
            self._use_tcp(km)
        else:
            km.transport = "ipc"
            km.ip = os.path.join(self.kernel_dir, SOCKETS_SUBDIR, "k")
            km.connection_file = os.path.join(self.kernel_dir, "connection.json")
        km.write_connection_file(jupyter_session=env.get("JPY_SESSION_NAME", ""))
        _give_to(km.connection_file, self.settings.kernel_uid, self.settings.kernel_gid)
        self.connection_info = km.get_connection_info()
        cmd = km.format_kernel_cmd(extra_arguments=kwargs.pop("extra_arguments", []))
        if cmd and cmd[0] == sys.executable:
            cmd[0] = "python"  # the image's interpreter, first on the image's PATH
        return await super().pre_launch(cmd=cmd, **kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        assert self.record is not None and self.kernel_dir is not None
        env = self.write_env_file(kwargs.get("env") or {})
        if self.secret_env and not self.on_kubernetes:
            self._offer_secrets_once(self.secret_env)
        cwd = str(Path(kwargs.get("cwd") or self.settings.root_dir or os.getcwd()).resolve())
        self.warnings = ()
        if self.secret_env and self.on_kubernetes:
            # The secrets pipe and socket are on the server's host; a pod cannot open them.
            self.warnings = (
                (
                    "This notebook's attached secrets do not reach Kubernetes runtimes yet "
                    "(docs/scale.md): the runtime starts without them."
                ),
            )
        uid, gid = self.settings.kernel_uid, self.settings.kernel_gid
        if not await asyncio.to_thread(_writable_by, cwd, uid, gid):
            # Typical when the server runs as root over a root-owned folder: the kernel (never
            # root) could not save anything next to the notebook. It still runs.
            warning = (
                f"This runtime runs as uid {uid} and cannot write to the notebook's "
                f"folder {os.path.basename(cwd) or cwd!r}, so files the notebook writes there "
                f"fail. Make the folder writable for uid {uid} (chown or chmod), "
                "set NJApp.runtime_kernel_uid, or run the server as a regular user."
            )
            self.log.warning("nj: kernel %s: %s", self.kernel_id, warning)
            self.warnings = (*self.warnings, warning)
        try:
            if self.pooled is not None:
                await asyncio.to_thread(self._claim, cmd, env, cwd)
                self.container_id, self.pooled = self.pooled.container_id, None
            else:
                plan = await asyncio.to_thread(self._plan_mounts, cwd, self.kernel_dir)
                for warning in plan.warnings:
                    self.log.warning("nj: kernel %s: %s", self.kernel_id, warning)
                self.warnings = (*self.warnings, *plan.warnings)
                run = (
                    self._run_pod
                    if self.on_kubernetes
                    else self._run_service
                    if self.on_swarm
                    else self._run_container
                )
                self.container_id = await asyncio.to_thread(run, cmd, cwd, plan.mounts)
                if self.on_cluster:
                    # The server's view (relay ports on loopback, or the kernel's Service) goes
                    # to its own file: the kernel's connection file must stay as the kernel
                    # reads it.
                    assert self.parent is not None
                    self.parent.connection_file = os.path.join(
                        self.kernel_dir, SERVER_CONNECTION_FILE
                    )
        except (NJError, RuntimeStartError) as err:
            # Nothing runs: drop the private folder now (no cleanup() follows a failed launch),
            # unless this was a restart: the kernel's clients keep its socket paths, so the
            # next start of the same kernel must use the same folder.
            await self.cleanup(restart=self.restarting)
            self.release_gpus()
            message = err.message if isinstance(err, NJError) else str(err)
            raise self._failed(message) from None
        if self._poolable(cwd):
            self.service.pool.fill(self._pool_key(), self.settings.pool_size, self._start_pooled)
        if self.on_kubernetes:
            return self.connection_info  # no `docker exec` into a pod: no apt from a cell
        if self.apt_bridge is None:
            self.apt_bridge = AptBridge(
                self.kernel_dir,
                self.settings.kernel_uid,
                self.settings.kernel_gid,
                run_apt_in_container(
                    self._client,
                    lambda: self.container_id,
                    CA_IN_CONTAINER if self.settings.ca_bundle else "",
                ),
            )
        await self.apt_bridge.start()
        return self.connection_info

    def write_env_file(self, env: dict[str, str]) -> dict[str, str]:
        """The kernel's allowed variables as `env.sh` in its private folder (a pod's Secret
        carries the same file), never in the container's config; returns them."""
        assert self.kernel_dir is not None
        allowed = self._allowed_env(env)
        env_file = Path(self.kernel_dir) / "env.sh"
        env_file.write_text(
            "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(allowed.items())),
            encoding="utf-8",
        )
        env_file.chmod(0o600)
        _give_to(str(env_file), self.settings.kernel_uid, self.settings.kernel_gid)
        return allowed

    def _drop_to_kernel_user(self) -> list[str]:
        """The prefix that starts the kernel unprivileged: its UID/GID, no supplementary groups,
        no capabilities (empty bounding and inheritable sets) and no way to gain any."""
        if self.settings.kernel_uid == 0:
            raise RuntimeStartError("Kernels never run as root: set NJApp.runtime_kernel_uid.")
        return [
            "setpriv",
            f"--reuid={self.settings.kernel_uid}",
            f"--regid={self.settings.kernel_gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]

    def _allowed_env(self, env: dict[str, str]) -> dict[str, str]:
        allowed = set(DEFAULT_ENV_ALLOWLIST) | set(self.settings.env_allowlist)
        spec_env = set((self.kernel_spec.env or {}) if self.kernel_spec else {})
        chosen = {k: v for k, v in env.items() if k in allowed or k in spec_env}
        chosen.update(self.ca_environment(CA_IN_CONTAINER))
        if self.kernel_dir:
            chosen[SOCKET_IN_CONTAINER_VARIABLE] = os.path.join(self.kernel_dir, APT_SOCKET)
        chosen[RUNTIME_VARIABLE] = self.runtime_name
        if self.results_folder:
            chosen[RESULTS_VARIABLE] = RESULTS_IN_CONTAINER
        return chosen

    def _link_results(self) -> None:
        """Blocking: point `<kernel folder>/results` at the notebook's results folder.

        Every container makes `/results` a link to that name when it starts (as root, before
        the kernel drops its rights), so a pooled container, started before its notebook was
        known, gets it too. The link is only a name: it resolves inside the container, through
        the container's own mounts (the notebook's folder, mounted at the same path), so a
        runtime that swaps the results folder for a link reaches nothing the server trusts.
        """
        assert self.kernel_dir is not None
        link = os.path.join(self.kernel_dir, RESULTS_LINK)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(link)
        if self.results_folder:
            os.symlink(self.results_folder, link)

    def _with_results_link(self, kernel_dir: str, command: list[str]) -> list[str]:
        """`command`, preceded (as the container's root) by making `/results` the link above."""
        return [
            "/bin/sh",
            "-c",
            f'ln -sfn "$0" {RESULTS_IN_CONTAINER} 2>/dev/null; exec "$@"',
            os.path.join(kernel_dir, RESULTS_LINK),
            *command,
        ]

    def _run_options(self) -> dict[str, Any]:
        """What every container of this runtime gets: user, limits, capabilities, network."""
        options: dict[str, Any] = {
            "detach": True,
            "init": True,
            "user": "0:0",  # only docker-init; the kernel is dropped to kernel_uid (setpriv)
            "network_mode": self.settings.network,
            "cap_drop": ["ALL"],
            # Kept by root in the container so the server can run `apt-get` there on the user's
            # behalf (docker exec -u 0; exec'd processes get no capabilities when the container
            # runs as a non-root user). The kernel never holds any of them.
            "cap_add": ROOT_CAPABILITIES,
            "security_opt": ["no-new-privileges"],
            "pids_limit": self.settings.pids_limit,
        }
        if self.settings.cpu_limit > 0:
            options["nano_cpus"] = int(self.settings.cpu_limit * 1e9)
        if self.settings.memory_limit:
            options["mem_limit"] = self.settings.memory_limit
            # No swap beyond the limit: a kernel over its memory is stopped, not slowed to a crawl.
            options["memswap_limit"] = self.settings.memory_limit
        return options

    def _plan_mounts(self, work: str, kernel_dir: str) -> MountPlan:
        """The kernel's folder, `work` within the server's boundary, CA bundle and secrets."""
        try:
            plan = plan_folder_mounts(work, self.boundary())
        except BoundaryError as err:
            raise RuntimeStartError(str(err)) from None
        if self.on_kubernetes:
            return plan  # a pod gets the kernel's files through its Secret (_pod_request)
        sockets = os.path.join(kernel_dir, SOCKETS_SUBDIR)
        plan.mounts[:0] = [
            bind_mount(kernel_dir, kernel_dir, read_only=True),
            bind_mount(sockets, sockets),
        ]
        if self.settings.ca_bundle:
            plan.mounts.append(bind_mount(self.settings.ca_bundle, CA_IN_CONTAINER, read_only=True))
        if self.secrets_folder:
            # The secrets socket and client; the folder holds no secret (docs/secrets.md).
            plan.mounts.append(
                bind_mount(self.secrets_folder, SECRETS_IN_CONTAINER, read_only=True)
            )
        return plan

    # -- secrets ---------------------------------------------------------------------------

    def _secrets_fifo(self) -> str:
        assert self.kernel_dir is not None
        return os.path.join(self.kernel_dir, SECRETS_FIFO)

    def _source_secrets(self) -> str:
        return f". {self._secrets_fifo()} && " if self.secret_env else ""

    def _offer_secrets_once(self, env: dict[str, str]) -> None:
        """Hand the secret variables to the container's shell through a FIFO.

        The values are never written to a file (unlike env.sh) and never reach the container's
        config (`docker inspect`, `docker commit`): a thread writes them into the pipe once the
        shell opens it, then removes the pipe. If the container never reads, the pipe is removed
        after `SECRETS_FIFO_TIMEOUT` seconds.
        """
        fifo = self._secrets_fifo()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(fifo)
        os.mkfifo(fifo, 0o600)
        _give_to(fifo, self.settings.kernel_uid, self.settings.kernel_gid)
        payload = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(env.items()))
        threading.Thread(
            target=_write_fifo_once,
            args=(fifo, payload.encode()),
            daemon=True,
            name=f"nj-secrets-{self.kernel_id}",
        ).start()

    # The device requests of this runtime's container as the engine recorded them at creation.
    device_requests: tuple[dict[str, Any], ...] = ()

    def gpu_details(self) -> dict[str, Any]:
        return {"device_requests": [dict(r) for r in self.device_requests]}

    def _device_requests(self) -> list[Any]:
        """What the engine must give the container: exactly the allocated devices, by UUID."""
        if not self.gpus:
            return []
        from docker.types import DeviceRequest

        return [DeviceRequest(driver="nvidia", device_ids=list(self.gpus), capabilities=[["gpu"]])]

    def _gpu_labels(self) -> dict[str, str]:
        if not self.gpus:
            return {}
        user = (
            self.service.gpus.allocator.user_of(self.session_name, self.runtime_name)
            if (self.service.gpus is not None)
            else ""
        )
        return {GPUS_LABEL: ",".join(self.gpus), RUNTIME_LABEL: self.runtime_name, USER_LABEL: user}

    def _start_refused(self, err: Any) -> str:
        explanation = str(getattr(err, "explanation", "") or err)
        if self.gpus and NO_GPU_DRIVER in explanation:
            return (
                f"Runtime {self.runtime_name!r} asks for {len(self.gpus)} GPU(s) "
                f"({', '.join(self.gpus)}), but the Docker engine cannot give containers GPUs: "
                f"it has no NVIDIA runtime ({explanation}). {NVIDIA_TOOLKIT_HINT}"
            )
        return f"The Docker engine refused to start the runtime's container: {explanation}"

    def _run_container(self, cmd: list[str], cwd: str, mounts: list[Any]) -> str:
        from docker.errors import APIError, ImageNotFound

        assert self.record is not None and self.kernel_dir is not None
        env_file = os.path.join(self.kernel_dir, "env.sh")
        client = self._client()
        self.device_requests = ()
        try:
            # Checked first: `containers.run` would try to pull a missing image from a registry.
            client.images.get(self.record.version)
            # Created, then started: the engine refuses devices it cannot give at the start,
            # and the container it created must not be left behind.
            container = client.containers.create(
                self.record.version,
                self._kernel_command(env_file, cmd),
                name=f"nj-kernel-{self.kernel_id}",
                working_dir=cwd,
                mounts=mounts,
                labels=self._kernel_labels(),
                device_requests=self._device_requests(),
                **self._run_options(),
            )
            self.device_requests = tuple(container.attrs["HostConfig"].get("DeviceRequests") or ())
            try:
                container.start()
            except APIError as err:
                remove_container_once(client, container.id)
                raise RuntimeStartError(self._start_refused(err)) from None
            return str(container.id)
        except ImageNotFound:
            raise self._image_missing() from None

    def _image_missing(self) -> RuntimeStartError:
        assert self.record is not None
        return RuntimeStartError(
            f"The image of {self.record.name}@{self.record.short} is missing from the Docker "
            f"engine: rebuild it with `jupyter nj env build {self.record.name} --backend "
            "docker` (same definition, same version) or import it "
            "(`jupyter nj env import`)."
        )

    def _kernel_command(self, env_file: str, cmd: list[str]) -> list[str]:
        """The container's command: `/results` made, the kernel user taken, its variables (and
        secrets) read, then the kernel."""
        assert self.kernel_dir is not None
        return self._with_results_link(
            self.kernel_dir,
            [
                *self._drop_to_kernel_user(),
                "/bin/sh",
                "-c",
                f'. {env_file} && {self._source_secrets()}exec "$@"',
                "nj-kernel",
                *cmd,
            ],
        )

    def _kernel_labels(self) -> dict[str, str]:
        assert self.record is not None and self.kernel_dir is not None
        return {
            ROLE_LABEL: KERNEL_ROLE,
            SERVER_LABEL: self.settings.server_data,
            "org.jupyter-nj.kernel-id": str(self.kernel_id),
            "org.jupyter-nj.environment": self.record.name,
            "org.jupyter-nj.version": self.record.version,
            "org.jupyter-nj.notebook": self.session_name,
            KERNEL_DIR_LABEL: self.kernel_dir,
            **self._gpu_labels(),
        }

    # -- Docker Swarm (NJApp.runtime_engine = "swarm") ---------------------------------------

    @property
    def on_swarm(self) -> bool:
        return self.settings.engine == "swarm"

    @property
    def on_kubernetes(self) -> bool:
        return self.settings.engine == "kubernetes"

    @property
    def on_cluster(self) -> bool:
        """Whether a cluster's scheduler places the runtime (engines/base.py)."""
        return self.on_swarm or self.on_kubernetes

    async def allocate_gpus(self) -> None:
        if not self.on_cluster:
            await super().allocate_gpus()
            return
        # The cluster's scheduler picks the node and its devices (swarm's generic resources,
        # a device plugin's extended resource): this server's own inventory has no say, and
        # holds nothing for the runtime.
        raw = await notebook_pin_gpus(self.service.documents, self.session_name, self.runtime_name)
        try:
            self.gpu_request = parse_gpu_request(raw)
            if self.on_kubernetes:
                kube_engine.gpu_limits(self.gpu_request, self.settings.kubernetes_gpu_resource)
            else:
                swarm_engine.gpu_resources(self.gpu_request, self.settings.swarm_gpu_resource)
        except NJError as err:
            raise self._failed(err.message) from None
        self.gpus = ()

    def _use_tcp(self, km: Any) -> None:
        """Have the kernel listen on TCP in its task's own network namespace (a service's task
        may run on another node, where no socket of this host reaches).

        A restart keeps the kernel's ports and the relay, so the server's clients (the
        websockets' channels) stay connected to the same loopback ports; the files are written
        again, since jupyter_client would otherwise keep the server's view as the kernel's."""
        assert self.kernel_dir is not None
        for name in ("connection.json", SERVER_CONNECTION_FILE):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.kernel_dir, name))
        km._connection_file_written = False
        kept = self.cluster.kernel_ports if self.cluster is not None else {}
        for name in swarm_engine.PORT_NAMES:
            setattr(km, name, kept.get(name, 0))
        km.transport = "tcp"
        # Inside the task's (pod's) own network namespace: its overlay address, where the relay
        # is (the pod's address, behind its Service).
        km.ip = "0.0.0.0"
        km.connection_file = os.path.join(self.kernel_dir, "connection.json")

    def _run_service(self, cmd: list[str], cwd: str, mounts: list[Any]) -> str:
        """Blocking: the kernel as a swarm service with its relay; the task's container ID."""
        from docker.errors import APIError

        assert self.record is not None and self.kernel_dir is not None
        settings = self.settings
        with self.service.engine_calls() as client:
            node_id = swarm_engine.require_manager(client)
            internal = settings.network == "none"
            network = settings.swarm_network + ("-internal" if internal else "")
            swarm_engine.ensure_network(client, network, internal=internal)
            image = self._cluster_image(client, settings.swarm_registry)
            kernel_view: dict[str, Any] = dict(self.connection_info)
            kernel_ports = {name: int(kernel_view[name]) for name in swarm_engine.PORT_NAMES}
            request = swarm_engine.ServiceRequest(
                name=f"nj-kernel-{self.kernel_id}",
                image=image,
                args=self._kernel_command(os.path.join(self.kernel_dir, "env.sh"), cmd),
                workdir=cwd,
                mounts=mounts,
                labels={**self._kernel_labels(), ENGINE_LABEL: "swarm"},
                network=network,
                internal=internal,
                kernel_ports=kernel_ports,
                relay_user=f"{settings.kernel_uid}:{settings.kernel_gid}",
                cpu_limit=settings.cpu_limit,
                memory_limit=settings.memory_limit,
                cpu_reservation=settings.swarm_cpu_reservation,
                memory_reservation=settings.swarm_memory_reservation,
                pids_limit=settings.pids_limit,
                # The folders are bind-mounted from this node and, without a registry, only its
                # engine has the image: this node, unless the site says otherwise.
                constraints=settings.swarm_constraints or (f"node.id=={node_id}",),
                generic_resources=swarm_engine.gpu_resources(
                    self.gpu_request, settings.swarm_gpu_resource
                ),
                cap_add=tuple(ROOT_CAPABILITIES),
                start_timeout=settings.swarm_start_timeout,
            )
            runtime = (
                self.cluster
                if isinstance(self.cluster, swarm_engine.SwarmRuntime)
                else swarm_engine.SwarmRuntime(client)
            )
            try:
                runtime.start(request)
            except APIError as err:
                raise NJError(
                    503,
                    "swarm-refused",
                    f"The Docker engine refused the runtime's relay or image: "
                    f"{err.explanation or err}",
                ) from None
        self._connect_through(runtime, kernel_view)
        assert runtime.container_id is not None
        return runtime.container_id

    def _cluster_image(self, client: Any, registry: str) -> str:
        """The version's image as a cluster's nodes run it (pushed, by digest, with a registry:
        engines/swarm.py image_for_swarm)."""
        from docker.errors import ImageNotFound

        assert self.record is not None
        try:
            return swarm_engine.image_for_swarm(
                client, self.record.name, self.record.version, registry
            )
        except ImageNotFound:
            raise self._image_missing() from None

    def _connect_through(self, runtime: ClusterRuntime, kernel_view: dict[str, Any]) -> None:
        """Keep `runtime`, and have the server connect where it says (its relay, its Service)."""
        self.cluster = runtime
        server_view: dict[str, Any] = {
            **kernel_view,
            "ip": runtime.server_address,
            **runtime.host_ports,
        }
        self.connection_info = server_view  # type: ignore[assignment]

    # -- Kubernetes (NJApp.runtime_engine = "kubernetes"; not run against a cluster) --------

    def _run_pod(self, cmd: list[str], cwd: str, mounts: list[Any]) -> str:
        """Blocking: the kernel as a pod behind its Service; the pod's UID."""
        assert self.record is not None and self.kernel_dir is not None and self.parent is not None
        settings = self.settings
        api = self.service.kubernetes()  # first: "no cluster" says what to set, before a push
        if not settings.kubernetes_registry:
            raise NJError(
                409,
                "kubernetes-registry",
                "A Kubernetes runtime's image must come from a registry every node can pull "
                "from: set NJApp.runtime_kubernetes_registry (`host:port`).",
            )
        with self.service.engine_calls() as client:
            image = self._cluster_image(client, settings.kubernetes_registry)
        kernel_view: dict[str, Any] = dict(self.connection_info)
        kernel_ports = {name: int(kernel_view[name]) for name in swarm_engine.PORT_NAMES}
        request = self._pod_request(cmd, cwd, mounts, image, kernel_ports)
        runtime = (
            self.cluster
            if isinstance(self.cluster, kube_engine.KubernetesRuntime)
            else kube_engine.KubernetesRuntime(
                api, kube_engine.namespace_of(settings.kubernetes_namespace)
            )
        )
        runtime.start(request)
        self._connect_through(runtime, kernel_view)
        return runtime.container_id or ""

    def _pod_request(
        self,
        cmd: list[str],
        cwd: str,
        mounts: list[Any],
        image: str,
        kernel_ports: dict[str, int],
    ) -> kube_engine.PodRequest:
        """What the kernel's pod is made of: the folders on the user's volume, the kernel's
        files (connection file, variables) in its Secret, and its command reading them there."""
        assert self.kernel_dir is not None and self.parent is not None
        settings = self.settings
        connection_file = str(self.parent.connection_file)
        files = {
            kube_engine.CONNECTION_KEY: Path(connection_file).read_text(encoding="utf-8"),
            kube_engine.ENV_KEY: Path(self.kernel_dir, "env.sh").read_text(encoding="utf-8"),
        }
        if settings.ca_bundle:
            files[kube_engine.CA_KEY] = Path(settings.ca_bundle).read_text(encoding="utf-8")
        in_pod = f"{kube_engine.FILES_IN_POD}/{kube_engine.CONNECTION_KEY}"
        command = [
            "/bin/sh",
            "-c",
            f'. {kube_engine.FILES_IN_POD}/{kube_engine.ENV_KEY} && exec "$@"',
            "nj-kernel",
            *(in_pod if arg == connection_file else arg for arg in cmd),
        ]
        return kube_engine.PodRequest(
            name=f"nj-kernel-{self.kernel_id}",
            namespace=kube_engine.namespace_of(settings.kubernetes_namespace),
            image=image,
            command=command,
            workdir=cwd,
            labels={**self._kernel_labels(), ENGINE_LABEL: "kubernetes"},
            kernel_ports=kernel_ports,
            files=files,
            uid=settings.kernel_uid,
            gid=settings.kernel_gid,
            volume_claim=settings.kubernetes_volume_claim,
            mounts=kube_engine.folder_mounts(
                mounts, settings.kubernetes_volume_root or settings.root_dir
            ),
            ca_target=CA_IN_CONTAINER if settings.ca_bundle else "",
            cpu_limit=settings.cpu_limit,
            memory_limit=settings.memory_limit,
            cpu_request=settings.kubernetes_cpu_request,
            memory_request=settings.kubernetes_memory_request,
            gpus=self.gpu_request if isinstance(self.gpu_request, int) else 0,
            gpu_resource=settings.kubernetes_gpu_resource,
            node_selector=dict(settings.kubernetes_node_selector),
            tolerations=[dict(t) for t in settings.kubernetes_tolerations],
            image_pull_secrets=settings.kubernetes_image_pull_secrets,
            start_timeout=settings.kubernetes_start_timeout,
        )

    def _service_state(self) -> tuple[str, int]:
        assert self.cluster is not None
        if self.on_kubernetes:
            reason = self.cluster.dead_reason()
            return reason, (self.cluster.exit_code() if reason else 0)
        with self.service.engine_calls():
            reason = self.cluster.dead_reason()
            return reason, (self.cluster.exit_code() if reason else 0)

    # -- warm pool -------------------------------------------------------------------------

    def _pool_key(self) -> tuple[Any, ...]:
        # The settings decide a pooled container's shape (limits, user, mounts, network).
        assert self.record is not None
        return (self.record.version, self.settings)

    def _poolable(self, cwd: str) -> bool:
        if self.on_cluster:
            return False  # a service or pod cannot be handed a claim on another node's disk
        argv = list(self.kernel_spec.argv) if self.kernel_spec else []
        if (
            self.settings.pool_size <= 0
            or not self.settings.root_dir
            or len(argv) < 3
            or argv[1] != "-m"
        ):
            return False
        root = Path(self.settings.root_dir).resolve()
        work = Path(cwd).resolve()
        if not (work == root or root in work.parents):
            return False
        # A pooled container mounts the whole root read-write: never when the root holds the
        # home folder (boundary.py mounts such a folder read-only, which a kernel cannot use as
        # its notebook's folder).
        home = self.boundary().home
        return not (home and (Path(home) == root or root in Path(home).parents))

    def _start_pooled(self) -> PooledRuntime:
        """Blocking: a container of this version waiting for a claim (see pool.py)."""
        assert self.record is not None
        kernel_dir = self._make_kernel_dir()
        root = str(Path(self.settings.root_dir).resolve())
        client = self._client()
        try:
            mounts = self._plan_mounts(root, kernel_dir).mounts
            container = client.containers.run(
                self.record.version,
                self._with_results_link(
                    kernel_dir, [*self._drop_to_kernel_user(), "python", "-c", WAITER, kernel_dir]
                ),
                name=f"nj-pool-{uuid.uuid4().hex[:12]}",
                working_dir=root,
                mounts=mounts,
                labels={
                    ROLE_LABEL: KERNEL_ROLE,
                    SERVER_LABEL: self.settings.server_data,
                    "org.jupyter-nj.pool": "waiting",
                    KERNEL_DIR_LABEL: kernel_dir,
                    "org.jupyter-nj.environment": self.record.name,
                    "org.jupyter-nj.version": self.record.version,
                },
                **self._run_options(),
            )
            return PooledRuntime(str(container.id), kernel_dir)
        except BaseException:
            shutil.rmtree(kernel_dir, ignore_errors=True)
            raise

    def _is_running(self, container_id: str) -> bool:
        from docker.errors import NotFound

        client = self._client()
        try:
            state = client.api.inspect_container(container_id)["State"]
            return bool(state.get("Running"))
        except NotFound:
            return False

    def _claim(self, cmd: list[str], env: dict[str, str], cwd: str) -> None:
        """Hand the kernel's arguments to a pooled container and give it the kernel's name."""
        assert self.pooled is not None and self.kernel_dir is not None
        claim = Path(self.kernel_dir) / CLAIM_FILE
        partial = claim.with_suffix(".tmp")
        partial.write_text(
            json.dumps({"env": env, "cwd": cwd, "module": cmd[2], "args": cmd[3:]}),
            encoding="utf-8",
        )
        partial.chmod(0o600)
        _give_to(str(partial), self.settings.kernel_uid, self.settings.kernel_gid)
        partial.replace(claim)  # the waiter polls for this name: it must appear complete
        self._client().api.rename(self.pooled.container_id, f"nj-kernel-{self.kernel_id}")

    # -- process-like lifecycle ------------------------------------------------------------

    def _state(self) -> dict[str, Any] | None:
        from docker.errors import NotFound

        # Polled every few seconds per kernel: an engine that stops answering is a 503 here (the
        # kernel is not declared dead for it), as it is when the client is first made.
        with self.service.engine_calls() as client:
            try:
                return dict(client.api.inspect_container(self.container_id)["State"])
            except NotFound:
                return None

    async def poll(self) -> int | None:
        if self.container_id is None:
            return 0
        if self.cluster is not None:
            return await self._poll_service()
        try:
            state = await asyncio.to_thread(self._state)
        except NJError:
            return None  # engine briefly unreachable: do not declare the kernel dead for that
        if state is None:
            self.exit_reason = "the container is gone"
            return -1
        if state.get("Status") in {"created", "running", "restarting", "paused"}:
            # Starting counts as alive, or the restarter would kill a slow start; so does paused:
            # `docker commit` (Save environment) pauses the container while it copies the layer.
            return None
        if state.get("OOMKilled"):
            self.exit_reason = "killed for running out of memory (memory limit reached)"
        else:
            self.exit_reason = f"exited with code {state.get('ExitCode')}"
        self.log.warning("nj: kernel %s container %s", self.kernel_id, self.exit_reason)
        return int(state.get("ExitCode") or -1)

    async def _poll_service(self) -> int | None:
        from docker.errors import APIError

        try:
            reason, code = await asyncio.to_thread(self._service_state)
        except (NJError, APIError, OSError):
            return None  # the engine or the swarm briefly did not answer: not a dead kernel
        except Exception as err:
            # The API server's refusals (kubernetes' ApiException, urllib3's errors) are not
            # importable without the optional client: judged by is_api_error.
            if not kube_engine.is_api_error(err):
                raise
            return None  # the API server briefly did not answer: not a dead kernel
        if not reason:
            return None
        self.exit_reason = reason
        self.log.warning("nj: kernel %s: %s", self.kernel_id, reason)
        return code

    async def wait(self) -> int | None:
        while True:
            status = await self.poll()
            if status is not None:
                return status
            await asyncio.sleep(0.1)

    async def send_signal(self, signum: int) -> None:
        if self.container_id is None:
            return
        # docker-init (PID 1) forwards the signal to the kernel.
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.send_signal, signum)
            return
        await asyncio.to_thread(self._kill_container, signum)

    def _kill_container(self, signum: int) -> None:
        from docker.errors import APIError

        client = self._client()
        try:
            client.api.kill(self.container_id, signal=int(signum))
        except APIError:
            pass  # already stopped

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        if self.container_id is not None or self.cluster is not None:
            # A swarm runtime whose restart failed has no task but still its relay.
            await asyncio.to_thread(self._remove_container, restart)
            self.container_id = None
        self.saved_state = frozenset()
        if not restart and self.apt_bridge is not None:
            await self.apt_bridge.stop()
            self.apt_bridge = None
        if not restart and self.kernel_dir:
            shutil.rmtree(self.kernel_dir, ignore_errors=True)
            self.kernel_dir = None
        if not restart:
            self.release_gpus()

    async def installed_state(self) -> frozenset[str]:
        if self.container_id is None or self.on_kubernetes:
            return frozenset()  # a pod's changes are on its node, out of the server's reach
        return await asyncio.to_thread(self._install_changes)

    def _save_version(self, parent: EnvironmentVersion, commands: list[str]) -> EnvironmentVersion:
        if self.on_kubernetes:
            raise NJError(
                409,
                "kubernetes-snapshot",
                "Save environment is not available for Kubernetes runtimes (the pod's "
                "container is on its node, out of the server's Docker engine's reach): add the "
                "packages to the environment's definition and build it instead.",
            )
        if not self.container_id:
            return super()._save_version(parent, commands)
        return self.service.manager.snapshot_docker(parent, self.container_id, commands)

    def _install_changes(self) -> frozenset[str]:
        from docker.errors import APIError

        client = self._client()
        try:
            changes = client.api.diff(self.container_id) or []
        except APIError:
            # Gone, or being removed right now (a dead kernel's restart removes its container
            # while a client asks what it runs; the engine then answers 500, "RWLayer ... nil"):
            # a container on its way out has no installs left to save.
            return frozenset()
        # The venv and dpkg's database change exactly when packages are installed or removed.
        return frozenset(
            c["Path"]
            for c in changes
            if c["Path"].startswith((ENV_PREFIX + "/lib", "/var/lib/dpkg/info"))
        )

    def _remove_container(self, restart: bool = False) -> None:
        if self.cluster is not None:
            self.cluster.remove(keep_relay=restart)
            if not restart:
                self.cluster = None
            return
        remove_container_once(self._client(), self.container_id)

    def get_stable_start_time(self, recommended: float = 10.0) -> float:
        return max(recommended, 30.0)

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info.update({"container_id": self.container_id, "kernel_dir": self.kernel_dir})
        return info

    async def load_provisioner_info(self, provisioner_info: dict[str, Any]) -> None:
        await super().load_provisioner_info(provisioner_info)
        self.container_id = provisioner_info.get("container_id")
        self.kernel_dir = provisioner_info.get("kernel_dir")

    def resolve_path(self, path_str: str) -> str | None:
        # The notebook folder is mounted at its own host path, so container paths are host paths.
        path = Path(path_str)
        return str(path) if path.is_absolute() and path.exists() else None


def remove_container_once(client: Any, container_id: str | None, wait: float = 15.0) -> None:
    """Remove a container, treating "already gone" and "already being removed" as done.

    A kernel that dies (out of memory, killed) is cleaned up from two sides at once: the
    restarter's restart and the client's shutdown. The engine answers the second removal with
    409 "removal ... already in progress"; wait for the first one to finish instead of failing.
    """
    from docker.errors import APIError, NotFound

    if container_id is None:
        return
    try:
        client.api.remove_container(container_id, force=True)
        return
    except NotFound:
        return
    except APIError as err:
        if err.status_code != 409:
            raise
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            client.api.inspect_container(container_id)
        except NotFound:
            return
        time.sleep(0.1)


def remove_orphan_kernels(
    client: Any, server_data: str, created_before: float | None = None
) -> int:
    """Remove kernel containers the server with this data folder started and no longer tracks.

    Jupyter Server does not re-attach kernels across restarts, so on start every kernel container
    left by an earlier run of this server is an orphan holding memory and CPU. The sweep runs
    beside the new server, which may already start kernels: with `created_before` (a Unix time,
    the server's start), only containers created earlier count as orphans.
    """
    orphans = client.containers.list(
        all=True,
        filters={"label": [f"{ROLE_LABEL}={KERNEL_ROLE}", f"{SERVER_LABEL}={server_data}"]},
    )
    if created_before is not None:
        orphans = [c for c in orphans if _created_at(c) < created_before]
    for container in orphans:
        remove_container_once(client, container.id)
        # Its private folder (connection file, variables) goes too; only ours, by its prefix.
        folder = container.labels.get(KERNEL_DIR_LABEL, "")
        if folder.startswith(KERNEL_DIR_PREFIX) and "/.." not in folder:
            shutil.rmtree(folder, ignore_errors=True)
    return len(orphans)


def _created_at(container: Any) -> float:
    """When the engine created a container, as a Unix time (its `Created` is RFC 3339 in UTC
    with nanoseconds, which `datetime` cannot parse as is)."""
    from datetime import datetime, timezone

    created = str(container.attrs.get("Created", ""))
    stamp, _, fraction = created.rstrip("Z").partition(".")
    try:
        when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return 0.0  # unreadable: old enough to be an orphan
    return when.timestamp() + float(f"0.{fraction or 0}")


def _same_recipe(a: EnvironmentVersion, b: EnvironmentVersion) -> bool:
    keys = ("python", "kernel", "apt")
    return all(a.recipe.get(k) == b.recipe.get(k) for k in keys)


def _writable_by(folder: str, uid: int, gid: int) -> bool:
    """Whether a process with this uid and gid (and no other groups) can create files in
    `folder`, judged from its mode bits as the kernel would see them through a bind mount."""
    try:
        st = os.stat(folder)
    except OSError:
        return False
    if uid == 0:
        return True
    if st.st_uid == uid:
        return st.st_mode & 0o300 == 0o300
    if st.st_gid == gid:
        return st.st_mode & 0o030 == 0o030
    return st.st_mode & 0o003 == 0o003


def _give_to(path: str, uid: int, gid: int) -> None:
    """Hand a per-kernel file to the kernel's user when the server may (it runs as root).

    Never through a link: what a link names is not ours to give away."""
    if os.geteuid() == 0:
        os.chown(path, uid, gid, follow_symlinks=False)
