"""RuntimeService: the runtimes pillar of one server, owned by NJApp.

jupyter_client creates kernel provisioners with no reference to the server, so everything they
share lives here and they reach it through `runtime_service_of(provisioner)`: the environment
manager and its catalog (one instance, read at every start), the settings every runtime gets,
one Docker client per engine (pinged once, not at every poll), the warm pool, and what the app
passes between pillars (the boundary, the secrets of a notebook, the notebooks themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..base import NJError, nj_app_of
from .builds.docker import docker_client
from .catalog import EnvironmentCatalog
from .gpus.allocator import GPUS_LABEL
from .gpus.manager import GpuManager
from .manager import EnvironmentManager
from .pool import WarmPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeSettings:
    """What every runtime of this server gets, read by provisioners and the warm pool alike.

    A new option is a field here and its trait in `RuntimesConfig`, tagged
    `runtime_setting="<field>"`; nothing else copies it. Frozen and hashable: the warm pool keys
    its containers by it (with the version), since a pooled container's shape is decided by it.
    """

    # The environment catalog (shared by every server of the user, by default) and this
    # server's own data folder (its kernels' overlays, the label on its containers).
    catalog: str
    server_data: str
    root_dir: str
    docker_host: str = ""
    kernel_uid: int = 1000
    kernel_gid: int = 100
    cpu_limit: float = 0.0
    memory_limit: str = ""
    pids_limit: int = 1024
    network: str = "bridge"
    ca_bundle: str = ""
    env_allowlist: tuple[str, ...] = ()
    uv: str = ""
    wheelhouse: str = ""
    pool_size: int = 0
    pin_on_first_start: bool = True
    # Docker Swarm (engines/swarm.py): what `runtime_engine = "swarm"` needs.
    engine: str = "docker"
    swarm_network: str = "nj-runtimes"
    swarm_cpu_reservation: float = 0.0
    swarm_memory_reservation: str = ""
    swarm_constraints: tuple[str, ...] = ()
    swarm_registry: str = ""
    swarm_gpu_resource: str = "NVIDIA-GPU"
    swarm_start_timeout: float = 60.0
    # Kubernetes (engines/kubernetes.py): what `runtime_engine = "kubernetes"` needs. Mappings
    # are tuples of (key, value) pairs: the settings are frozen.
    kubernetes_namespace: str = ""
    kubernetes_config: str = ""
    kubernetes_context: str = ""
    kubernetes_registry: str = ""
    kubernetes_image_pull_secrets: tuple[str, ...] = ()
    kubernetes_cpu_request: float = 0.5
    kubernetes_memory_request: str = "256m"
    kubernetes_gpu_resource: str = "nvidia.com/gpu"
    kubernetes_node_selector: tuple[tuple[str, str], ...] = ()
    kubernetes_tolerations: tuple[tuple[tuple[str, Any], ...], ...] = ()
    kubernetes_volume_claim: str = ""
    kubernetes_volume_root: str = ""
    kubernetes_start_timeout: float = 120.0


class RuntimeService:
    def __init__(
        self,
        manager: EnvironmentManager,
        settings: RuntimeSettings,
        boundary: Callable[[], Any] | None = None,
        secrets: Callable[[str, str], Awaitable[Any]] | None = None,
        documents: Any = None,
        results_folder: str = "",
        gpus: GpuManager | None = None,
    ) -> None:
        self.manager = manager
        self.settings = settings
        # Callables from the app (app.py): the pillar never imports secrets or history.
        self.boundary = boundary
        self.secrets = secrets
        self.documents = documents
        # The notebook's results folder, as history names it (`{stem}.results`; empty: none).
        self.results_folder = results_folder
        # GPUs per runtime (gpus/): the inventory, who holds which device, the GPU culling.
        self.gpus = gpus
        self.pool = WarmPool()
        self.orphan_sweep: threading.Thread | None = None
        self._docker: Any = None
        self._kubernetes: Any = None
        self._docker_lock = threading.Lock()

    @property
    def catalog(self) -> EnvironmentCatalog:
        return self.manager.catalog

    def overlays_dir(self) -> Path:
        """Where this server's local runtimes keep their private overlay venvs while they run."""
        return Path(self.settings.server_data) / "runtimes"

    # -- the notebook's results folder -----------------------------------------------------------

    def results_folder_of(self, notebook_path: str) -> str:
        """Blocking: the absolute results folder of the notebook at API path `notebook_path`,
        made when missing and writable by the kernel user; "" when there is none (no notebook,
        no results folder configured, or a path through a link, which a runtime could have
        planted: the server never makes or hands out a folder behind one)."""
        root = self.settings.root_dir
        if not (self.results_folder and root and notebook_path.endswith(".ipynb")):
            return ""
        notebook = PurePosixPath(notebook_path)
        name = self.results_folder.format(stem=notebook.stem, name=notebook.name)
        relative = notebook.parent / name
        if ".." in relative.parts or relative.is_absolute():
            return ""
        folder = Path(root).resolve()
        try:
            for part in relative.parts:
                folder = folder / part
                if folder.is_symlink():
                    return ""
            folder.mkdir(exist_ok=True)
            if folder.is_symlink() or not folder.is_dir():
                return ""
            uid, gid = self.settings.kernel_uid, self.settings.kernel_gid
            if os.geteuid() == 0 and folder.lstat().st_uid != uid:
                os.chown(folder, uid, gid, follow_symlinks=False)
        except OSError as err:
            log.warning("jupyter-nj: no results folder for %s: %s", notebook_path, err)
            return ""
        return str(folder)

    # -- Docker ----------------------------------------------------------------------------

    def docker(self) -> Any:
        """The client of this server's engine, made (and pinged) on first use, then kept.

        Blocking. A 503 `NJError` while the engine cannot be reached; the next call tries again.
        """
        with self._docker_lock:
            if self._docker is None:
                self._docker = docker_client(self.settings.docker_host)
            return self._docker

    @contextlib.contextmanager
    def engine_calls(self) -> Iterator[Any]:
        """The client, with "engine unreachable" mid-call turned into the same 503 as at
        connection time (the engine stopped since the client was made). The engine's own
        answers (`APIError`, `NotFound`) pass through for the caller to judge."""
        from docker.errors import APIError, DockerException
        from requests import RequestException

        client = self.docker()
        try:
            yield client
        except APIError:
            raise
        except (DockerException, RequestException, OSError) as err:
            raise NJError(
                503, "docker-unavailable", f"The Docker engine stopped answering ({err})."
            ) from None

    def kubernetes(self) -> Any:
        """The cluster's CoreV1Api for kubernetes runtimes, made on first use, then kept.

        Blocking. A 503 `NJError` that says what to do when the client is not installed or no
        cluster is configured (engines/kubernetes.py); the next call tries again."""
        from .engines.kubernetes import load_api

        with self._docker_lock:
            if self._kubernetes is None:
                self._kubernetes = load_api(
                    self.settings.kubernetes_config, self.settings.kubernetes_context
                )
            return self._kubernetes

    def close(self) -> None:
        with self._docker_lock:
            if self._docker is not None:
                self._docker.close()
                self._docker = None
            if self._kubernetes is not None:
                self._kubernetes.api_client.close()  # its connection pool and worker threads
                self._kubernetes = None

    # -- server start and stop -----------------------------------------------------------------

    def start(self, serverapp: Any = None) -> None:
        """Publish `nj-<name>` kernelspecs and clear what a crashed run of this server left."""
        manager = self.manager
        # Overlays of local kernels a previous run of this server left behind (it was killed);
        # Jupyter Server never re-attaches kernels, so none of them is in use now. They live in
        # the server's own folder: other servers sharing the catalog may have theirs running.
        shutil.rmtree(self.overlays_dir(), ignore_errors=True)
        docker_up = manager.docker_available()
        try:
            manager.write_kernelspecs(docker_up=docker_up)
        except OSError as err:
            log.warning("jupyter-nj: could not write runtime kernelspecs: %s", err)
        if serverapp is not None and getattr(serverapp, "event_logger", None) is not None:
            manager.use_event_logger(serverapp.event_logger)
        if serverapp is not None:
            dirs = serverapp.kernel_spec_manager.kernel_dirs
            if str(manager.kernelspec_dir) not in dirs:
                dirs.append(str(manager.kernelspec_dir))
        if docker_up and self.gpus is not None:
            self._rebuild_gpu_allocations()
        if docker_up:
            # Off the startup path: listing and removing containers can take a while.
            # Only containers created before now: kernels this server starts meanwhile are not
            # orphans. Joined on stop, so no sweep outlives its server.
            self.orphan_sweep = threading.Thread(
                target=self._remove_orphans, args=(time.time(),), name="nj-orphans", daemon=True
            )
            self.orphan_sweep.start()

    def _rebuild_gpu_allocations(self) -> None:
        """Blocking: the GPUs that kernel containers already running hold (an earlier run of
        this server, until the orphan sweep removes them; another server on the same engine)
        count as taken, so no new runtime is given them meanwhile."""
        from .provisioner import KERNEL_ROLE, ROLE_LABEL

        assert self.gpus is not None
        try:
            client = self.docker()
            running = client.containers.list(
                filters={"label": [f"{ROLE_LABEL}={KERNEL_ROLE}", GPUS_LABEL]}
            )
        except Exception as err:  # noqa: BLE001  the server starts anyway
            log.warning("jupyter-nj: could not read the GPUs of running containers: %s", err)
            return
        found = self.gpus.rebuild(running)
        if found:
            log.info("jupyter-nj: %d running kernel container(s) hold GPUs", found)
        self.gpus.container_alive = self._container_running

    def _container_running(self, container_id: str) -> bool:
        from docker.errors import NotFound

        try:
            with self.engine_calls() as client:
                return bool(client.api.inspect_container(container_id)["State"].get("Running"))
        except NotFound:
            return False
        except NJError:
            return True  # the engine is briefly away: the container may well still run

    def _remove_orphans(self, created_before: float) -> None:
        from .provisioner import remove_orphan_kernels

        try:
            client = self.docker()
        except NJError:
            return
        try:
            if self.settings.engine == "swarm":
                from .engines.swarm import remove_orphan_services
                from .provisioner import ROLE_LABEL, SERVER_LABEL

                services = remove_orphan_services(
                    client, ROLE_LABEL, SERVER_LABEL, self.settings.server_data, created_before
                )
                if services:
                    log.info("jupyter-nj: removed %d orphaned kernel service(s)", services)
            if self.settings.engine == "kubernetes":
                self._remove_orphan_pods(created_before)
            removed = remove_orphan_kernels(client, self.settings.server_data, created_before)
            if removed:
                log.info("jupyter-nj: removed %d orphaned kernel container(s)", removed)
        except Exception as err:  # noqa: BLE001  clean-up must never take the server down
            log.warning("jupyter-nj: orphan clean-up failed: %s", err)

    def _remove_orphan_pods(self, created_before: float) -> None:
        """The pods (with their Services and Secrets) a crashed run of this server left."""
        from .engines import kubernetes as kube
        from .provisioner import KERNEL_ROLE, ROLE_LABEL, SERVER_LABEL

        try:
            api = self.kubernetes()
        except NJError as err:
            log.warning("jupyter-nj: %s", err.message)
            return
        selector = kube.label_selector(
            {ROLE_LABEL: KERNEL_ROLE, SERVER_LABEL: self.settings.server_data}
        )
        namespace = kube.namespace_of(self.settings.kubernetes_namespace)
        removed = kube.remove_orphans(api, namespace, selector, created_before)
        if removed:
            log.info("jupyter-nj: removed %d orphaned kernel pod(s)", removed)

    async def stop(self) -> None:
        """Remove the warm pool's waiting containers (running kernels are the kernel manager's)."""
        if self.gpus is not None:
            await self.gpus.stop()
        if self.orphan_sweep is not None:
            await asyncio.to_thread(self.orphan_sweep.join)
        if self.pool.ready:
            await asyncio.to_thread(self._drain_pool)
        if self.settings.engine == "swarm" and self._docker is not None:
            await asyncio.to_thread(self._remove_swarm_network)
        await asyncio.to_thread(self.close)

    def _remove_swarm_network(self) -> None:
        """The overlay network goes with the server when no runtime uses it any more (one of
        another server on the same swarm keeps it)."""
        from .engines.swarm import remove_network

        for name in (self.settings.swarm_network, self.settings.swarm_network + "-internal"):
            remove_network(self._docker, name)

    def _drain_pool(self) -> None:
        try:
            client = self.docker()
        except NJError:
            return
        removed = self.pool.drain(lambda r: client.api.remove_container(r.container_id, force=True))
        log.info("jupyter-nj: removed %d waiting pooled runtime(s)", removed)


def runtime_service_of(configurable: Any) -> RuntimeService | None:
    """The RuntimeService of the server a provisioner runs under, or None outside one.

    A kernel manager used without a server (a script, a benchmark) may carry one itself as
    `nj_runtime_service`.
    """
    node = configurable
    for _ in range(16):
        if node is None:
            break
        service = getattr(node, "nj_runtime_service", None)
        if isinstance(service, RuntimeService):
            return service
        node = getattr(node, "parent", None)
    app = nj_app_of(configurable)
    service = getattr(app, "runtime_service", None)
    return service if isinstance(service, RuntimeService) else None
