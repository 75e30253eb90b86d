"""Container runtimes as Kubernetes pods (`NJApp.runtime_engine = "kubernetes"`).

Written for a cluster and run against none: the manifests are checked against the `kubernetes`
client's own models and the failure reasons against pod statuses built with them
(tests/runtimes/test_kubernetes_manifests.py), but no pod was ever scheduled by this code (see
docs/scale.md, "what was run").

Each kernel is one pod (`restartPolicy: Never`: a dead kernel is the kernel manager's to restart,
as with a container or a swarm service), of the environment version's image pushed to a registry
and named by its digest, so every kubelet runs the very same bytes. The pod runs as the kernel
user from its first process (no root step: the server does not `docker exec` into it), with
every capability dropped, no privilege escalation, seccomp `RuntimeDefault` and no service
account token. The kernel listens on TCP in the pod's own network namespace and every message is
signed with the connection file's HMAC key, as Jupyter always does. The server reaches it
through a ClusterIP Service per kernel: a pod IP changes at every restart, the Service's does
not, so the server's clients stay connected across a restart as they do with swarm's relay.

The connection file (with its key) and the kernel's variables reach the pod as a Kubernetes
Secret mounted read-only; the notebook's folder is the user's volume (a PersistentVolumeClaim)
mounted at the path the server sees it at. No hostPath.

Blocking (kubernetes client): call everything here from a thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ...base import NJError

# The kernel's container in its pod, and where its Secret (connection file, variables) is.
CONTAINER = "kernel"
FILES_IN_POD = "/run/nj-kernel"
CONNECTION_KEY = "connection.json"
ENV_KEY = "env.sh"
CA_KEY = "ca.crt"
# An empty key of the same Secret, mounted over a file the boundary hides (runtimes/boundary.py
# covers such a file with /dev/null in a container; a pod has no /dev/null to mount).
EMPTY_KEY = "empty"
USER_VOLUME = "user-volume"
# Service port names (at most 15 characters, DNS-1035), one per kernel channel.
PORT_LABELS = {
    "shell_port": "shell",
    "iopub_port": "iopub",
    "stdin_port": "stdin",
    "control_port": "control",
    "hb_port": "hb",
}
# Label keys: the Docker labels' names under a DNS prefix, as Kubernetes wants them.
DOCKER_PREFIX = "org.jupyter-nj."
LABEL_PREFIX = "jupyter-nj.org/"
KERNEL_ID_KEY = LABEL_PREFIX + "kernel-id"
# Waiting reasons of a container that will not start however long one waits (the others,
# ContainerCreating and PodInitializing, are a start in progress).
FATAL_WAITING = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "CrashLoopBackOff",
    }
)
# Pod status reasons set when the node under a pod went away or threw it out.
NODE_REASONS = {
    "NodeLost": "the node running the runtime was lost",
    "NodeShutdown": "the node running the runtime shut down",
    "Evicted": "the runtime was evicted from its node",
    "Terminated": "the node running the runtime terminated it",
    "UnexpectedAdmissionError": "the node refused the runtime",
}
log = logging.getLogger(__name__)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


# -- the client -----------------------------------------------------------------------------


def load_api(kubeconfig: str = "", context: str = "") -> Any:
    """A `CoreV1Api` of the cluster: the pod's own service account when the server runs in a
    pod, else the kubeconfig (`kubeconfig`, else $KUBECONFIG or ~/.kube/config). A 503 that says
    what to do when the client is not installed or no cluster is configured."""
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise NJError(
            503,
            "kubernetes-missing",
            "NJApp.runtime_engine is 'kubernetes', but the kubernetes client is not installed: "
            "`pip install 'jupyter-nj[kubernetes]'` in the server's environment and restart it, "
            "or set NJApp.runtime_engine = 'docker'.",
        ) from None
    api_client = client.ApiClient(configuration=client.Configuration())
    try:
        if not kubeconfig and _in_cluster():
            config.load_incluster_config(client_configuration=api_client.configuration)
        else:
            config.load_kube_config(
                config_file=kubeconfig or None,
                context=context or None,
                client_configuration=api_client.configuration,
            )
    except (ConfigException, OSError, TypeError, ValueError) as err:
        where = kubeconfig or "$KUBECONFIG or ~/.kube/config"
        raise NJError(
            503,
            "kubernetes-config",
            f"NJApp.runtime_engine is 'kubernetes', but no cluster is configured ({where}: "
            f"{err}). Run the server in a pod with a service account allowed to manage pods "
            "(docs/scale.md, RBAC), or set NJApp.runtime_kubernetes_config to a kubeconfig, or "
            "set NJApp.runtime_engine = 'docker'.",
        ) from None
    return client.CoreV1Api(api_client)


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


# Where a pod's service account tells it its namespace.
NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def namespace_of(setting: str) -> str:
    """The runtimes' namespace: the setting, else the server pod's own, else `default`."""
    if setting:
        return setting
    with contextlib.suppress(OSError):
        return Path(NAMESPACE_FILE).read_text(encoding="utf-8").strip() or "default"
    return "default"


def probe(kubeconfig: str, context: str, namespace: str, timeout: float) -> Any:
    """The status panel's Kubernetes line (NJApp.runtime_engine = "kubernetes" only): whether
    the client is installed, a cluster configured, and the namespace's pods listable (what
    the server's role must allow). Blocking; never raises."""
    from ...status.manager import BackendStatus

    label = "Kubernetes"
    try:
        api = load_api(kubeconfig, context)
    except NJError as err:
        detail = {
            "kubernetes-missing": "the kubernetes client is not installed",
            "kubernetes-config": "no cluster configured",
        }.get(err.reason, err.reason)
        return BackendStatus(
            name="kubernetes", label=label, live=False, detail=detail, hint=err.message
        )
    where = namespace_of(namespace)
    try:
        api.list_namespaced_pod(where, limit=1, _request_timeout=max(timeout, 1))
    except Exception as err:  # noqa: BLE001  a probe reports, it never fails
        api.api_client.close()
        return BackendStatus(
            name="kubernetes",
            label=label,
            live=False,
            detail=f"pods in {where!r} not listable ({_api_error(err)})",
            hint="Give the server's service account the Role of docs/scale.md (pods, "
            "services, secrets, events in that namespace).",
        )
    host = str(getattr(api.api_client.configuration, "host", ""))
    api.api_client.close()  # a probe's own client: its pool goes with it
    return BackendStatus(
        name="kubernetes",
        label=label,
        live=True,
        detail=f"namespace {where} at {host}",
        facts={"namespace": where, "host": host},
    )


# -- what a kernel's pod is made of ------------------------------------------------------------


@dataclass(frozen=True)
class FolderMount:
    """A folder of the runtime: `target` in the pod; `sub_path` on the user's volume, or
    `empty` for a folder (or file, `is_file`) the boundary hides."""

    target: str
    sub_path: str = ""
    read_only: bool = False
    empty: bool = False
    is_file: bool = False


@dataclass
class PodRequest:
    """What one kernel's pod, Secret and Service are made of (the provisioner decides it)."""

    name: str
    namespace: str
    image: str
    command: list[str]
    workdir: str
    labels: dict[str, str]
    kernel_ports: dict[str, int]
    files: dict[str, str]
    uid: int
    gid: int
    volume_claim: str = ""
    mounts: list[FolderMount] = field(default_factory=list)
    ca_target: str = ""  # where the CA bundle (files[CA_KEY]) is seen, when there is one
    cpu_limit: float = 0.0
    memory_limit: str = ""
    cpu_request: float = 0.0
    memory_request: str = ""
    gpus: int = 0
    gpu_resource: str = "nvidia.com/gpu"
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    image_pull_secrets: tuple[str, ...] = ()
    start_timeout: float = 120.0


def kube_metadata(labels: dict[str, str], hashed: tuple[str, ...] = ()) -> dict[str, Any]:
    """Docker-style labels as Kubernetes labels and annotations.

    A label value is at most 63 characters of `[A-Za-z0-9-_.]`: paths, image IDs and notebook
    names are not, so those become annotations. The labels in `hashed` (the server's data
    folder) are also labels as a hash of their value, so a selector finds them."""
    out_labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for key, value in labels.items():
        name = LABEL_PREFIX + key.removeprefix(DOCKER_PREFIX).replace("/", "-")
        if key in hashed:
            out_labels[name] = label_hash(value)
            annotations[name] = value
        elif len(value) <= 63 and _LABEL_VALUE.match(value):
            out_labels[name] = value
        else:
            annotations[name] = value
    return {"labels": out_labels, "annotations": annotations}


def label_selector(labels: dict[str, str]) -> str:
    """The selector (`k=v,...`) of what carries these Docker-style labels, as kube_metadata
    writes them (the server's data folder hashed)."""
    written = kube_metadata(labels, hashed=_server_keys(labels))
    return ",".join(f"{k}={v}" for k, v in sorted(written["labels"].items()))


def label_hash(value: str) -> str:
    """A label value standing for `value` (40 hex characters of its SHA-256)."""
    return hashlib.sha256(value.encode()).hexdigest()[:40]


def quantity_bytes(docker_notation: str) -> str:
    """Docker's memory notation (`256m` is 256 MiB) as a Kubernetes quantity in bytes: in
    Kubernetes' own notation `256m` would be 0.256 bytes."""
    from docker.utils import parse_bytes

    return str(parse_bytes(docker_notation))


def quantity_cpus(cpus: float) -> str:
    return f"{round(cpus * 1000)}m"


def gpu_limits(request: Any, resource: str) -> dict[str, str]:
    """A runtime's GPU request as an extended-resource limit (what the device plugin gives).

    Kubernetes schedules GPUs by count: the device plugin picks the devices and isolates them.
    It cannot be asked for given devices, nor for every device of a node."""
    if not request:
        return {}
    if isinstance(request, bool) or not isinstance(request, int):
        raise NJError(
            422,
            "kubernetes-gpus",
            "On Kubernetes a runtime asks for a number of GPUs (scheduled as the extended "
            f"resource {resource!r}), not for given devices or 'all': set the runtime's GPUs to "
            "a count.",
        )
    return {resource: str(request)}


def secret_manifest(request: PodRequest) -> dict[str, Any]:
    """The kernel's files: its connection file (the HMAC key), its variables, the CA bundle."""
    meta = kube_metadata(request.labels, hashed=_hashed(request))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": request.name, "namespace": request.namespace, **meta},
        "type": "Opaque",
        "stringData": {**request.files, EMPTY_KEY: ""},
    }


def service_manifest(request: PodRequest) -> dict[str, Any]:
    """A ClusterIP Service in front of the kernel's ports: an address that outlives a restart."""
    meta = kube_metadata(request.labels, hashed=_hashed(request))
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": request.name, "namespace": request.namespace, **meta},
        "spec": {
            "type": "ClusterIP",
            "selector": {KERNEL_ID_KEY: meta["labels"][KERNEL_ID_KEY]},
            # The kernel has no readiness probe; its ports are reachable once it runs.
            "publishNotReadyAddresses": True,
            "ports": [
                {
                    "name": PORT_LABELS[channel],
                    "protocol": "TCP",
                    "port": port,
                    "targetPort": port,
                }
                for channel, port in request.kernel_ports.items()
            ],
        },
    }


def pod_manifest(request: PodRequest) -> dict[str, Any]:
    """The kernel's pod, as the API's JSON (camelCase)."""
    meta = kube_metadata(request.labels, hashed=_hashed(request))
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if request.cpu_request > 0:
        requests["cpu"] = quantity_cpus(request.cpu_request)
    if request.memory_request:
        requests["memory"] = quantity_bytes(request.memory_request)
    if request.cpu_limit > 0:
        limits["cpu"] = quantity_cpus(request.cpu_limit)
    if request.memory_limit:
        limits["memory"] = quantity_bytes(request.memory_limit)
    # Extended resources are given by their limit (a request, if any, must equal it).
    limits.update(gpu_limits(request.gpus, request.gpu_resource))
    volumes: list[dict[str, Any]] = [
        # Files mode 0444: owned by root in the pod, read by the kernel user, the pod's only
        # user (an fsGroup would have the kubelet chown the whole user volume instead).
        {"name": "kernel-files", "secret": {"secretName": request.name, "defaultMode": 0o444}}
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "kernel-files", "mountPath": FILES_IN_POD, "readOnly": True}
    ]
    if request.ca_target and CA_KEY in request.files:
        mounts.append(
            {
                "name": "kernel-files",
                "mountPath": request.ca_target,
                "subPath": CA_KEY,
                "readOnly": True,
            }
        )
    if any(not m.empty for m in request.mounts):
        if not request.volume_claim:
            raise NJError(
                409,
                "kubernetes-volume",
                "A Kubernetes runtime mounts the notebook's folder from the user's volume: set "
                "NJApp.runtime_kubernetes_volume_claim to the PersistentVolumeClaim holding the "
                "server's root (KubeSpawner's per-user claim, docs/scale.md).",
            )
        volumes.append(
            {"name": USER_VOLUME, "persistentVolumeClaim": {"claimName": request.volume_claim}}
        )
    for index, mount in enumerate(request.mounts):
        if mount.empty and mount.is_file:
            mounts.append(
                {
                    "name": "kernel-files",
                    "mountPath": mount.target,
                    "subPath": EMPTY_KEY,
                    "readOnly": True,
                }
            )
        elif mount.empty:
            volume = f"hidden-{index}"
            volumes.append({"name": volume, "emptyDir": {"sizeLimit": "1Mi"}})
            mounts.append({"name": volume, "mountPath": mount.target, "readOnly": True})
        else:
            entry: dict[str, Any] = {
                "name": USER_VOLUME,
                "mountPath": mount.target,
                "readOnly": mount.read_only,
            }
            if mount.sub_path:
                entry["subPath"] = mount.sub_path
            mounts.append(entry)
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": request.image,
        # Named by digest: what is on the node is what was asked for.
        "imagePullPolicy": "IfNotPresent",
        "command": list(request.command),
        "workingDir": request.workdir,
        "ports": [
            {"name": PORT_LABELS[channel], "containerPort": port, "protocol": "TCP"}
            for channel, port in request.kernel_ports.items()
        ],
        "resources": {"requests": requests, "limits": limits},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": request.uid,
            "runAsGroup": request.gid,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            # Writable as a container's is: `pip install` in a cell writes the image's venv.
            "readOnlyRootFilesystem": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    if not request.gpus:
        # CUDA images set NVIDIA_VISIBLE_DEVICES=all: a CPU runtime on a GPU node sees none.
        container["env"] = [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"}]
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        # No variables naming every Service of the namespace.
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": request.uid,
            "runAsGroup": request.gid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 5,
        "containers": [container],
        "volumes": volumes,
    }
    if request.node_selector:
        spec["nodeSelector"] = dict(request.node_selector)
    if request.tolerations:
        spec["tolerations"] = [dict(t) for t in request.tolerations]
    if request.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in request.image_pull_secrets]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": request.name, "namespace": request.namespace, **meta},
        "spec": spec,
    }


def _hashed(request: PodRequest) -> tuple[str, ...]:
    return _server_keys(request.labels)


def _server_keys(labels: dict[str, str]) -> tuple[str, ...]:
    """The label naming the server's data folder (a path), which selectors find by hash."""
    return tuple(k for k in labels if k.endswith(".server"))


def folder_mounts(docker_mounts: list[Any], volume_root: str) -> list[FolderMount]:
    """The boundary's mounts of a folder (runtimes/boundary.py: docker `Mount`s of host paths)
    as mounts of the user's volume, which the server sees at `volume_root`. A folder outside it
    cannot reach a pod: refused, with what to set."""
    root = PurePosixPath(volume_root)
    out: list[FolderMount] = []
    for mount in docker_mounts:
        target, source = str(mount["Target"]), mount.get("Source")
        read_only = bool(mount.get("ReadOnly"))
        if mount.get("Type") == "tmpfs":
            out.append(FolderMount(target, read_only=True, empty=True))
            continue
        if source == "/dev/null":
            out.append(FolderMount(target, read_only=True, empty=True, is_file=True))
            continue
        path = PurePosixPath(str(source))
        if path != root and root not in path.parents:
            raise NJError(
                409,
                "kubernetes-volume",
                f"The folder {source} is not on the user's volume (mounted at {volume_root} in "
                "the server's pod), so a Kubernetes runtime cannot see it: keep notebooks under "
                "NJApp.runtime_kubernetes_volume_root.",
            )
        sub_path = str(path.relative_to(root)) if path != root else ""
        out.append(FolderMount(target, sub_path=sub_path, read_only=read_only))
    return out


def as_model(manifest: dict[str, Any]) -> Any:
    """The client's model of `manifest` (V1Pod, V1Secret, V1Service), read as the API's JSON
    would be: what a field or type mistake in a manifest fails on."""
    from kubernetes import client

    kind = f"V1{manifest['kind']}"
    return client.ApiClient().deserialize(json.dumps(manifest), kind, "application/json")


# -- why a pod is not running ------------------------------------------------------------------


def start_failure(pod: Any) -> str:
    """Why a starting pod will never run ("" while its start is in progress or it runs)."""
    status = pod.status
    if status is None:
        return ""
    if status.phase in ("Failed", "Succeeded") or status.reason in NODE_REASONS:
        return pod_failure(pod)
    for container in status.container_statuses or []:
        waiting = container.state.waiting if container.state else None
        if waiting is not None and waiting.reason in FATAL_WAITING:
            detail = f": {waiting.message}" if waiting.message else ""
            what = "image" if "Image" in waiting.reason else "container"
            return f"the runtime's {what} cannot start ({waiting.reason}{detail})"
    return ""


def pending_reason(pod: Any, events: list[Any] = ()) -> str:  # type: ignore[assignment]
    """Why a pod is still pending, for the start's time-out: the scheduler's word
    (`0/3 nodes are available: 3 Insufficient nvidia.com/gpu.`), else the newest warning."""
    status = pod.status if pod is not None else None
    for condition in (status.conditions if status else None) or []:
        if condition.type == "PodScheduled" and condition.status == "False":
            return f"pod not scheduled ({condition.reason}: {condition.message})"
    for container in (status.container_statuses if status else None) or []:
        waiting = container.state.waiting if container.state else None
        if waiting is not None and waiting.reason:
            detail = f": {waiting.message}" if waiting.message else ""
            return f"container waiting ({waiting.reason}{detail})"
    warning = newest_warning(events)
    if warning:
        return warning
    return f"pod {status.phase.lower() if status and status.phase else 'unknown'}"


def newest_warning(events: list[Any]) -> str:
    """The newest Warning event of a pod (`FailedScheduling: ...`), or ""."""
    warnings = [e for e in events if e.type == "Warning"]
    if not warnings:
        return ""

    def when(event: Any) -> float:
        stamp = event.last_timestamp or event.event_time or event.first_timestamp
        return stamp.timestamp() if stamp is not None else 0.0

    event = max(warnings, key=when)
    return f"{event.reason}: {event.message}"


def pod_failure(pod: Any) -> str:
    """Why the kernel's pod is gone ("" while it starts or runs), in the cluster's words: the
    container's end (OOMKilled, an exit code), an eviction, a node lost."""
    if pod is None:
        return "the runtime's pod was removed"
    status = pod.status
    node = f" ({pod.spec.node_name})" if pod.spec is not None and pod.spec.node_name else ""
    if status is not None and status.reason in NODE_REASONS:
        detail = f": {status.message}" if status.message else ""
        return f"{NODE_REASONS[status.reason]}{node}{detail}"
    for condition in (status.conditions if status else None) or []:
        # Set when the pod is about to be deleted for a node's taint, preemption, eviction.
        if condition.type == "DisruptionTarget" and condition.status == "True":
            return (
                f"the runtime's pod was disrupted{node} ({condition.reason}: {condition.message})"
            )
    terminated = _terminated(pod)
    if terminated is not None:
        return f"the runtime's {describe_terminated(terminated)}"
    if status is not None and status.phase in ("Failed", "Succeeded"):
        detail = f": {status.message}" if status.message else ""
        return f"the runtime's pod {status.phase.lower()}{node}{detail}"
    if pod.metadata is not None and pod.metadata.deletion_timestamp is not None:
        return "the runtime's pod is being deleted"
    return ""


def describe_terminated(terminated: Any) -> str:
    """`container ended: OOMKilled (out of memory: memory limit reached) (exit code 137)`."""
    reason = terminated.reason or "ended"
    text = f"container ended: {reason}"
    if reason == "OOMKilled":
        text += " (out of memory: memory limit reached)"
    if terminated.message:
        text += f": {terminated.message}"
    if terminated.exit_code is not None:
        text += f" (exit code {terminated.exit_code})"
    return text


def _terminated(pod: Any) -> Any:
    for container in (pod.status.container_statuses if pod.status else None) or []:
        if container.name == CONTAINER and container.state and container.state.terminated:
            return container.state.terminated
    return None


def pod_running(pod: Any) -> bool:
    for container in (pod.status.container_statuses if pod.status else None) or []:
        if container.name == CONTAINER and container.state and container.state.running:
            return True
    return False


# -- one kernel ---------------------------------------------------------------------------------


class KubernetesRuntime:
    """One kernel's pod, its Secret and its Service (follows engines/base.py ClusterRuntime)."""

    def __init__(self, api: Any, namespace: str) -> None:
        self.api = api
        self.namespace = namespace
        self.name: str | None = None
        self.container_id: str | None = None
        self.service_ip = ""
        self.host_ports: dict[str, int] = {}
        self.kernel_ports: dict[str, int] = {}

    @property
    def server_address(self) -> str:
        return self.service_ip

    def start(self, request: PodRequest) -> None:
        """Create the Secret, the Service (unless a restart kept it) and the pod, and wait for
        the kernel's container to run. On failure nothing new is left behind and the error
        says what the cluster answered."""
        had_service = bool(self.kernel_ports)
        self.name = request.name
        try:
            self._create(request, had_service)
            self._wait_running(request)
        except BaseException as err:
            self.remove(keep_relay=had_service)
            if is_api_error(err):
                raise NJError(503, "kubernetes-refused", refusal(err)) from None
            raise

    def _create(self, request: PodRequest, had_service: bool) -> None:
        self.api.create_namespaced_secret(self.namespace, secret_manifest(request))
        if not had_service:
            service = self.api.create_namespaced_service(self.namespace, service_manifest(request))
            self.service_ip = str(service.spec.cluster_ip)
            self.kernel_ports = dict(request.kernel_ports)
            self.host_ports = dict(request.kernel_ports)
        pod = self.api.create_namespaced_pod(self.namespace, pod_manifest(request))
        self.container_id = str(pod.metadata.uid)

    def _wait_running(self, request: PodRequest) -> None:
        deadline = time.monotonic() + request.start_timeout
        pod = None
        while time.monotonic() < deadline:
            pod = self._read_pod()
            if pod is None:
                raise NJError(503, "kubernetes-pod-failed", "The runtime's pod was removed.")
            if pod_running(pod):
                return
            failure = start_failure(pod)
            if failure:
                raise NJError(503, "kubernetes-pod-failed", f"{failure[0].upper()}{failure[1:]}.")
            time.sleep(0.5)
        raise NJError(
            503,
            "kubernetes-start-timeout",
            f"The runtime's pod did not start within {request.start_timeout:g} s: "
            f"{pending_reason(pod, self._events())} (NJApp.runtime_kubernetes_start_timeout; a "
            "pod that stays pending found no node with the resources, selectors or image it "
            "needs).",
        )

    def _read_pod(self) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return self.api.read_namespaced_pod(self.name, self.namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def _events(self) -> list[Any]:
        from kubernetes.client.exceptions import ApiException

        try:
            listed = self.api.list_namespaced_event(
                self.namespace,
                field_selector=f"involvedObject.kind=Pod,involvedObject.name={self.name}",
            )
        except ApiException:
            return []  # events are a detail of the message: never a reason to fail
        return list(listed.items or [])

    def dead_reason(self) -> str:
        if self.name is None or self.container_id is None:
            return "the runtime was stopped"
        pod = self._read_pod()
        if pod is not None and pod.metadata is not None and pod.metadata.uid != self.container_id:
            return "the runtime's pod was replaced from outside"
        return pod_failure(pod)

    def exit_code(self) -> int:
        pod = self._read_pod() if self.name else None
        terminated = _terminated(pod) if pod is not None else None
        code = terminated.exit_code if terminated is not None else None
        return int(code) if code else -1

    def send_signal(self, signum: int) -> None:
        """A pod cannot be signalled through the API (only `exec`, which the server's role is
        not given): the kill and terminate that shut a kernel down delete its pod. Interrupts
        need no signal: container kernelspecs interrupt by message (`interrupt_mode`)."""
        if signum in (signal.SIGKILL, signal.SIGTERM) and self.name:
            self._delete("pod", grace=0 if signum == signal.SIGKILL else 5)

    def _delete(self, kind: str, grace: int = 0) -> None:
        from kubernetes.client.exceptions import ApiException

        delete = getattr(self.api, f"delete_namespaced_{kind}")
        try:
            delete(self.name, self.namespace, grace_period_seconds=grace)
        except ApiException as err:
            if err.status != 404:
                raise

    def remove(self, keep_relay: bool = False, wait: float = 20.0) -> None:
        """Delete the pod and the Secret (and the Service, unless a restart keeps it), and
        wait until the pod is gone, so a restart can take its name again."""
        if self.name is None:
            return
        self._quietly(lambda: self._delete_pod(wait))
        self._quietly(lambda: self._delete("secret"))
        self.container_id = None
        if not keep_relay:
            self._quietly(lambda: self._delete("service"))
            self.kernel_ports, self.host_ports, self.service_ip = {}, {}, ""

    def _delete_pod(self, wait: float) -> None:
        self._delete("pod")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and self._read_pod() is not None:
            time.sleep(0.2)

    def _quietly(self, step: Callable[[], None]) -> None:
        """One clean-up step: the API server's refusal or silence is logged, not raised, so
        the other steps still run (the next server start's sweep deletes what is left)."""
        try:
            step()
        except Exception as err:
            if not is_api_error(err):
                raise
            log.warning("jupyter-nj: clean-up of %s: %s", self.name, refusal(err))


def is_api_error(err: BaseException) -> bool:
    """Whether `err` is the API server's answer (or no answer) rather than our own bug."""
    try:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError
    except ImportError:
        return False
    return isinstance(err, (ApiException, HTTPError))


def refusal(err: BaseException) -> str:
    """What to tell the user of the API server's refusal, or of no answer from it."""
    if getattr(err, "status", None):
        return f"Kubernetes refused the runtime: {_api_error(err)}"
    return (
        f"The Kubernetes API server did not answer ({err}): check the cluster, or "
        "NJApp.runtime_kubernetes_config."
    )


def _api_error(err: Any) -> str:
    """The API server's own message of a refusal (its Status object), else the HTTP reason."""
    try:
        return str(json.loads(err.body).get("message") or err.reason)
    except (TypeError, ValueError, AttributeError):
        return str(err.reason or err)


def remove_orphans(
    api: Any, namespace: str, selector: str, created_before: float | None = None
) -> int:
    """Delete the pods, Services and Secrets of kernels a crashed run of this server left
    (`selector`: its role and server labels); with `created_before`, only older ones."""
    removed = 0
    for kind in ("pod", "service", "secret"):
        listed = getattr(api, f"list_namespaced_{kind}")(namespace, label_selector=selector)
        for item in listed.items or []:
            created = item.metadata.creation_timestamp
            if created_before is not None and created and created.timestamp() >= created_before:
                continue
            try:
                getattr(api, f"delete_namespaced_{kind}")(item.metadata.name, namespace)
            except Exception as err:
                if not is_api_error(err):
                    raise
                continue  # gone meanwhile, or refused: the next start tries again
            removed += kind == "pod"
    return removed
