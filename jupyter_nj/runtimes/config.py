"""The runtimes pillar's configurable traits, mixed into NJApp (so they read `c.NJApp.<name>`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode
from traitlets.config import Configurable

from ..base import NJError
from .builds.docker import BuildSettings
from .builds.local import BuildTools, find_uv
from .manager import EnvironmentManager
from .service import RuntimeService, RuntimeSettings

SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def builtin_definitions_dir() -> Path:
    """Where the built-in definitions are: the source tree, else the installed shared data."""
    source = Path(__file__).resolve().parents[2] / "environments"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "jupyter" / "nj" / "environments"


class RuntimesConfig(Configurable):
    runtime_busy_activity_interval = Float(
        60.0,
        config=True,
        help="""Seconds between two checks for busy kernels. While a kernel is busy, the
        server counts as active, so a long computation that prints nothing is
        not taken for idleness by JupyterHub's idle culler or the server's own
        shutdown_no_activity_timeout. Keep it well below the idle timeout; 0 turns it off.""",
    )
    build_ca_bundle = Unicode(
        SYSTEM_CA_BUNDLE,
        config=True,
        help="""CA bundle (PEM file) that environment builds hand to apt, pip and uv, and that is
        mounted read-only into every runtime (named in SSL_CERT_FILE, PIP_CERT,
        REQUESTS_CA_BUNDLE), so installs work behind TLS-inspecting proxies. Empty: none.""",
    )
    build_wheelhouse = Unicode(
        "",
        config=True,
        help="""Folder of wheels that builds may install from besides the package index (for
        example a CPU build of torch on sites that cannot reach its index). Empty: none.""",
    ).tag(runtime_setting="wheelhouse")
    environment_paths = List(
        Unicode(),
        config=True,
        help="""Folders holding environment definitions (one sub-folder each), searched in order.
        Empty means `<server root>/environments`, then the built-in definitions.""",
    )
    environment_catalog_dir = Unicode(
        "",
        config=True,
        help="""Folder of the environment catalog (built versions, their locks and local venvs).
        Empty means the user's catalog, `<jupyter data dir>/nj/environments`, shared by every
        server and command line of this user, so a notebook finds its pinned versions whichever
        folder it is opened from; or `<NJApp.nj_dir>/environments` when nj_dir is set. Point it
        at a project's own folder to keep that project's versions apart. Keep it outside the
        server root (runtimes can write the root); if it is inside anyway, container runtimes
        get an empty, read-only folder in its place.""",
    )
    default_environment = Unicode(
        "python",
        config=True,
        help="""The environment a new notebook starts on: its `nj-<name>` kernelspec is the
        server's default kernel (unless MappingKernelManager.default_kernel_name is set), when it
        is offered. Empty: Jupyter's own default.""",
    )
    pin_on_first_start = Bool(
        True,
        config=True,
        help="""Pin a notebook that has no pin yet to the version its kernel first starts on
        (`metadata.nj.runtimes.main`), so it runs that version from then on.""",
    ).tag(runtime_setting="pin_on_first_start")
    runtime_backend = Enum(
        ["auto", "docker", "local"],
        default_value="auto",
        config=True,
        help="""Where `nj-<name>` kernels run: `docker` (containers), `local` (uv venvs on this
        host), or `auto`: Docker when the engine answers and the environment has an image,
        else local.""",
    )
    runtime_kernel_uid = Int(
        1000,
        config=True,
        help="""UID that container kernels run as (and that owns the image's venv) when the server
        runs as root. A server running as another user uses its own UID. Never 0.""",
    )
    runtime_kernel_gid = Int(
        100, config=True, help="GID that container kernels run as when the server runs as root."
    )
    runtime_cpu_limit = Float(
        2.0, config=True, help="CPUs each container kernel may use (fractions allowed); 0: none."
    ).tag(runtime_setting="cpu_limit")
    runtime_memory_limit = Unicode(
        "4g",
        config=True,
        help="""Memory each container kernel may use, in Docker's notation (`512m`, `4g`);
        empty: no limit.""",
    ).tag(runtime_setting="memory_limit")
    runtime_pids_limit = Int(
        1024, config=True, help="Most processes (and threads) one container kernel may run."
    ).tag(runtime_setting="pids_limit")
    runtime_network = Unicode(
        "bridge",
        config=True,
        help="""Docker network mode of container kernels. Kernels never listen on the network
        (they use IPC sockets), so this only decides outbound access: `bridge` lets `pip install`
        work in a cell, `none` cuts the kernel off.""",
    ).tag(runtime_setting="network")
    runtime_pool_size = Int(
        0,
        config=True,
        help="""Container runtimes kept started and waiting per environment version, so that a
        kernel start only hands over its arguments (much faster). 0 turns the pool off. Pooled
        containers mount the whole server root (the working directory is still the notebook's
        folder), because they start before anyone knows the notebook; what the server trusts is
        covered there too (docs/runtimes.md), and a root holding the home folder is never
        pooled.""",
    ).tag(runtime_setting="pool_size")
    runtime_env_allowlist = List(
        Unicode(),
        config=True,
        help="""Names of server environment variables that kernels may receive, besides a small
        fixed list (locale, time zone, session name). The server's other variables never reach a
        container kernel.""",
    ).tag(runtime_setting="env_allowlist")
    runtime_engine = Enum(
        ["docker", "swarm", "kubernetes"],
        default_value="docker",
        config=True,
        help="""What a container runtime is: `docker`, a container on the engine; `swarm`, a
        Docker Swarm service (one replica, never restarted by Swarm) on an encrypted overlay
        network, reached over TCP through a relay published on 127.0.0.1 only (docs/scale.md).
        `swarm` needs the engine to be a swarm manager (`docker swarm init`). `kubernetes`, a
        pod in NJApp.runtime_kubernetes_namespace, reached over TCP through a ClusterIP Service;
        it needs `pip install 'jupyter-nj[kubernetes]'`, a cluster (the server's pod service
        account, or a kubeconfig) and a registry. Written and checked against the client's
        models, not run against a cluster (docs/scale.md).""",
    ).tag(runtime_setting="engine")
    runtime_swarm_network = Unicode(
        "nj-runtimes",
        config=True,
        help="""Overlay network of swarm runtimes (made attachable and encrypted when missing;
        internal, without outbound access, when NJApp.runtime_network is `none`).""",
    ).tag(runtime_setting="swarm_network")
    runtime_swarm_cpus = Float(
        0.5,
        config=True,
        help="""CPUs the swarm scheduler reserves for each swarm runtime (it places a runtime
        only on a node with that much unreserved); the limit is NJApp.runtime_cpu_limit.
        0: no reservation.""",
    ).tag(runtime_setting="swarm_cpu_reservation")
    runtime_swarm_memory = Unicode(
        "256m",
        config=True,
        help="""Memory the swarm scheduler reserves for each swarm runtime, in Docker's
        notation (`256m`, `1g`); the limit is NJApp.runtime_memory_limit. Empty: none.""",
    ).tag(runtime_setting="swarm_memory_reservation")
    runtime_swarm_constraints = List(
        Unicode(),
        config=True,
        help="""Placement constraints of swarm runtimes (`node.labels.gpu==true`,
        `node.role==worker`). Empty: this server's own node, because the notebook folders are
        bind-mounted from it and, without NJApp.runtime_swarm_registry, only its engine has the
        images. Set constraints only when every eligible node has the server's folders at the
        same paths (NFS, docs/scale.md) and a registry is set.""",
    ).tag(runtime_setting="swarm_constraints")
    runtime_swarm_registry = Unicode(
        "",
        config=True,
        help="""Image registry (`host:port`) that swarm runtimes' images are pushed to before
        they start, tagged `<registry>/nj-env/<name>:id-<image id>` and run by digest, so other
        nodes can pull them. Empty: the local image (single-node swarms).""",
    ).tag(runtime_setting="swarm_registry")
    runtime_swarm_gpu_resource = Unicode(
        "NVIDIA-GPU",
        config=True,
        help="""Swarm generic resource that GPUs are advertised as on the nodes
        (`node-generic-resources` in daemon.json); a runtime asking for N GPUs reserves N.""",
    ).tag(runtime_setting="swarm_gpu_resource")
    runtime_swarm_start_timeout = Float(
        60.0,
        config=True,
        help="""Seconds a swarm runtime's task may take to run (scheduling, image pull, start)
        before the start fails with the task's state.""",
    ).tag(runtime_setting="swarm_start_timeout")

    runtime_kubernetes_namespace = Unicode(
        "",
        config=True,
        help="""Namespace of kubernetes runtimes' pods, Services and Secrets. Empty: the
        server pod's own namespace (its service account's), else `default`.""",
    ).tag(runtime_setting="kubernetes_namespace")
    runtime_kubernetes_config = Unicode(
        "",
        config=True,
        help="""Kubeconfig file for kubernetes runtimes. Empty: the service account of the
        server's pod when it runs in one, else $KUBECONFIG or ~/.kube/config.""",
    ).tag(runtime_setting="kubernetes_config")
    runtime_kubernetes_context = Unicode(
        "",
        config=True,
        help="""Context of the kubeconfig to use (empty: its current context).""",
    ).tag(runtime_setting="kubernetes_context")
    runtime_kubernetes_registry = Unicode(
        "",
        config=True,
        help="""Image registry (`host:port`) that kubernetes runtimes' images are pushed to by
        the server's Docker engine (as for NJApp.runtime_swarm_registry) and pulled from by the
        kubelets, by digest. Required with runtime_engine `kubernetes`.""",
    ).tag(runtime_setting="kubernetes_registry")
    runtime_kubernetes_image_pull_secrets = List(
        Unicode(),
        config=True,
        help="""Names of Secrets (type kubernetes.io/dockerconfigjson) in the namespace that
        the kubelet pulls runtime images with; empty for a registry that needs none.""",
    ).tag(runtime_setting="kubernetes_image_pull_secrets")
    runtime_kubernetes_cpus = Float(
        0.5,
        config=True,
        help="""CPUs each kubernetes runtime requests (what the scheduler places it by); the
        limit is NJApp.runtime_cpu_limit. 0: no request.""",
    ).tag(runtime_setting="kubernetes_cpu_request")
    runtime_kubernetes_memory = Unicode(
        "256m",
        config=True,
        help="""Memory each kubernetes runtime requests, in Docker's notation (`256m` is
        256 MiB, `1g`); the limit is NJApp.runtime_memory_limit. Empty: no request.""",
    ).tag(runtime_setting="kubernetes_memory_request")
    runtime_kubernetes_gpu_resource = Unicode(
        "nvidia.com/gpu",
        config=True,
        help="""Extended resource that a runtime asking for N GPUs gets as its limit (the
        NVIDIA device plugin's `nvidia.com/gpu`).""",
    ).tag(runtime_setting="kubernetes_gpu_resource")
    runtime_kubernetes_node_selector = Dict(
        value_trait=Unicode(),
        config=True,
        help="""Node labels every kubernetes runtime's node must have
        (`{"nvidia.com/gpu.present": "true"}`).""",
    ).tag(runtime_setting="kubernetes_node_selector")
    runtime_kubernetes_tolerations = List(
        Dict(),
        config=True,
        help="""Tolerations of kubernetes runtimes' pods, as in a pod spec
        (`[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]`).""",
    ).tag(runtime_setting="kubernetes_tolerations")
    runtime_kubernetes_volume_claim = Unicode(
        "",
        config=True,
        help="""PersistentVolumeClaim holding the server's root (KubeSpawner's per-user
        claim): a runtime mounts its notebook's folder from it, at the same path.""",
    ).tag(runtime_setting="kubernetes_volume_claim")
    runtime_kubernetes_volume_root = Unicode(
        "",
        config=True,
        help="""Where the server's pod mounts that claim (for example `/home/jovyan`); a
        folder's sub-path on the claim is its path below this. Empty: the server's root.""",
    ).tag(runtime_setting="kubernetes_volume_root")
    runtime_kubernetes_start_timeout = Float(
        120.0,
        config=True,
        help="""Seconds a kubernetes runtime's pod may take to run (scheduling, image pull,
        start) before the start fails with the scheduler's or the kubelet's reason.""",
    ).tag(runtime_setting="kubernetes_start_timeout")

    def runtime_settings(
        self, root_dir: str, data_path: Path, docker_host: str, catalog: Path | None = None
    ) -> RuntimeSettings:
        """The settings every runtime of this server gets: each trait tagged `runtime_setting`
        as the field it names (lists as tuples: the settings are frozen), plus what is derived.

        `data_path` is the server's own data folder; `catalog` the environment catalog (the
        app passes the user's, see NJApp.environment_catalog_path), else one in `data_path`."""
        uid, gid = _kernel_identity(self.runtime_kernel_uid, self.runtime_kernel_gid)
        tagged = {
            trait.metadata["runtime_setting"]: _frozen(getattr(self, name))
            for name, trait in self.traits(runtime_setting=lambda field: field is not None).items()
        }
        return RuntimeSettings(
            catalog=str(catalog or data_path / "environments"),
            server_data=str(data_path),
            root_dir=str(root_dir),
            docker_host=docker_host,
            kernel_uid=uid,
            kernel_gid=gid,
            ca_bundle=self.build_ca_bundle if Path(self.build_ca_bundle or "/-").is_file() else "",
            uv=_uv(),
            **tagged,
        )

    def build_environment_manager(
        self, root_dir: str, data_path: Path, docker_host: str, catalog: Path | None = None
    ) -> EnvironmentManager:
        return self._environment_manager(
            self.runtime_settings(root_dir, data_path, docker_host, catalog), data_path
        )

    def build_runtime_service(
        self,
        root_dir: str,
        data_path: Path,
        docker_host: str,
        catalog: Path | None = None,
        **links: Any,
    ) -> RuntimeService:
        """The pillar's service; `links` are what the app passes in (see RuntimeService)."""
        settings = self.runtime_settings(root_dir, data_path, docker_host, catalog)
        return RuntimeService(self._environment_manager(settings, data_path), settings, **links)

    def _environment_manager(
        self, settings: RuntimeSettings, data_path: Path
    ) -> EnvironmentManager:
        definition_dirs = [Path(p) for p in self.environment_paths] or [
            Path(settings.root_dir) / "environments",
            builtin_definitions_dir(),
        ]
        return EnvironmentManager(
            data_dir=Path(settings.catalog),
            definition_dirs=definition_dirs,
            tools=BuildTools(
                uv=settings.uv, ca_bundle=settings.ca_bundle, wheelhouse=settings.wheelhouse
            ),
            build_settings=BuildSettings(
                uv=settings.uv,
                ca_bundle=settings.ca_bundle or SYSTEM_CA_BUNDLE,
                wheelhouse=settings.wheelhouse,
                kernel_uid=settings.kernel_uid,
                kernel_gid=settings.kernel_gid,
            ),
            kernelspec_dir=data_path / "kernels",
            backend_preference=self.runtime_backend,
            docker_host=settings.docker_host,
        )


def _frozen(value: Any) -> Any:
    # Hashable all the way down: the warm pool keys its containers by the settings.
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _uv() -> str:
    try:
        return find_uv()
    except NJError:
        return "uv"  # builds then fail with a clear "not installed", not the server start


def _kernel_identity(uid: int, gid: int) -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    if uid == 0:
        raise ValueError("NJApp.runtime_kernel_uid must not be 0: kernels never run as root.")
    return uid, gid
