"""Kubernetes runtimes (`NJApp.runtime_engine = "kubernetes"`) without a cluster.

No cluster is reachable from this machine, so **no pod is ever scheduled here**: these tests
prove what the server would ask a cluster for, and how it reads a cluster's answers.

- The pod, its Secret and its Service are built by the real `nj-docker` provisioner, under a real
  server, from a real environment version (the `mini` image on the Docker engine) and a real
  notebook pin asking for GPUs. Each manifest is read by the kubernetes client's own models and
  must come back field for field (a misspelt field is dropped by the models, and then differs),
  and is validated against the Kubernetes 1.37 OpenAPI schemas (kubernetes-validate, strict).
- The failure reasons are read from pod statuses as the API server writes them (JSON read by the
  client's deserializer, the way `read_namespaced_pod` reads a response).
- With no kubeconfig, a kernel start says what to set, and /nj/api/status says the same (200).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_nj.runtimes.engines import kubernetes as kube
from jupyter_nj.runtimes.provisioner import KERNEL_ROLE, ROLE_LABEL, SERVER_LABEL

from ..services import service_missing
from .conftest import start_session_kernel, write_notebook
from .test_docker_runtime import writable_folder

pytestmark = pytest.mark.docker

REGISTRY = "registry.example:5000"
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@pytest.fixture(scope="module")
def kube_models() -> Any:
    """The client and the schema validator (both in the `test` extra)."""
    try:
        import kubernetes
        import kubernetes_validate
    except ImportError as err:
        service_missing("the kubernetes client", f"{err} (pip install -e '.[test]')")
    return kubernetes, kubernetes_validate


@pytest.fixture
def runtime_backend() -> str:
    return "docker"


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig path with nothing there, the only one the client may find."""
    missing = tmp_path / "no-such-kubeconfig"
    monkeypatch.setenv("KUBECONFIG", str(missing))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return missing


@pytest.fixture
def nj_config(nj_config: dict[str, Any], jp_root_dir: Path, kubeconfig: Path) -> dict[str, Any]:
    return {
        **nj_config,
        "runtime_engine": "kubernetes",
        "runtime_kubernetes_config": str(kubeconfig),
        "runtime_kubernetes_namespace": "jupyter-alice",
        "runtime_kubernetes_registry": REGISTRY,
        "runtime_kubernetes_volume_claim": "claim-alice",
        "runtime_kubernetes_volume_root": str(jp_root_dir),
        "runtime_kubernetes_cpus": 0.25,
        "runtime_kubernetes_memory": "128m",
        "runtime_cpu_limit": 2.0,
        "runtime_memory_limit": "1g",
        "runtime_kubernetes_node_selector": {"nvidia.com/gpu.present": "true"},
        "runtime_kubernetes_tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ],
    }


def spec_selector(pod: Any) -> dict[str, str]:
    return dict(pod.spec.node_selector or {})


def assert_read_back_and_valid(manifest: dict[str, Any], kube_models: Any) -> Any:
    """The client's model of `manifest`, which must serialize back to it; and the schema's OK."""
    kubernetes, kubernetes_validate = kube_models
    model = kube.as_model(manifest)
    assert type(model).__name__ == f"V1{manifest['kind']}"
    assert kubernetes.client.ApiClient().sanitize_for_serialization(model) == manifest
    kubernetes_validate.validate(manifest, "1.37", strict=True)
    return model


async def test_a_gpu_pin_becomes_a_confined_pod_with_limits_on_the_users_volume(
    docker_mini: dict[str, Any],
    kube_models: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    nj_app: Any,
) -> None:
    folder = writable_folder(jp_root_dir, "gpu/work")
    (folder / "nb.results").mkdir()
    pin = {"environment": "mini", "version": docker_mini["version"], "backend": "docker"}
    write_notebook(jp_root_dir, "gpu/work/nb.ipynb", pin={**pin, "gpus": 2})
    # The server's own kernel manager, as far as the start goes before it asks the cluster:
    # the pin is read (version, GPUs), the private folder made, the connection file written.
    km, _, kernel_id = jp_serverapp.kernel_manager.pre_start_kernel("nj-mini", {})
    env = {"JPY_SESSION_NAME": "gpu/work/nb.ipynb", "NJ_TEST_SERVER_SECRET": "never-in-a-pod"}
    cmd, _ = await km._async_pre_start_kernel(cwd=str(folder), env=env, kernel_id=kernel_id)
    provisioner = km.provisioner
    try:
        assert provisioner.gpu_request == 2 and provisioner.gpus == ()
        provisioner.write_env_file(env)
        plan = provisioner._plan_mounts(str(folder), provisioner.kernel_dir)
        # The image as the registry push names it (that push is the swarm engine's, run against
        # a live registry in test_swarm.py); here its digest is the image ID's.
        digest = docker_mini["version"].split(":", 1)[1]
        image = f"{REGISTRY}/nj-env/mini@sha256:{digest}"
        ports = {name: int(provisioner.connection_info[name]) for name in kube.PORT_LABELS}
        request = provisioner._pod_request(cmd, str(folder), plan.mounts, image, ports)

        pod = kube.pod_manifest(request)
        model = assert_read_back_and_valid(pod, kube_models)
        secret = assert_read_back_and_valid(kube.secret_manifest(request), kube_models)
        service = assert_read_back_and_valid(kube.service_manifest(request), kube_models)
    finally:
        await provisioner.cleanup(restart=False)

    # The settings hold the node selector and tolerations frozen: the warm pool hashes them.
    settings = nj_app.runtime_service.settings
    assert hash(settings) and dict(settings.kubernetes_node_selector) == spec_selector(model)
    assert model.metadata.namespace == "jupyter-alice"
    assert model.metadata.name == f"nj-kernel-{kernel_id}"
    spec, container = model.spec, model.spec.containers[0]
    assert container.image == image and container.image_pull_policy == "IfNotPresent"
    # Limits from NJApp.runtime_cpu_limit/memory_limit, requests from the kubernetes traits, in
    # bytes (Docker's `1g`; Kubernetes' `1g` does not exist and its `128m` is 0.128 bytes).
    assert container.resources.limits == {
        "cpu": "2000m",
        "memory": str(1024**3),
        "nvidia.com/gpu": "2",
    }
    assert container.resources.requests == {"cpu": "250m", "memory": str(128 * 1024**2)}
    assert container.env is None  # a GPU runtime keeps the devices the plugin gives it
    # Confined: never root, no capability, no escalation, the runtime's seccomp, no API token.
    for context in (spec.security_context, container.security_context):
        assert context.run_as_non_root is True and context.run_as_user != 0
    assert spec.security_context.seccomp_profile.type == "RuntimeDefault"
    assert container.security_context.capabilities.drop == ["ALL"]
    assert container.security_context.capabilities.add is None
    assert container.security_context.allow_privilege_escalation is False
    assert container.security_context.privileged is False
    assert spec.automount_service_account_token is False
    assert spec.restart_policy == "Never"
    assert spec.node_selector == {"nvidia.com/gpu.present": "true"}
    assert [(t.key, t.operator, t.effect) for t in spec.tolerations] == [
        ("nvidia.com/gpu", "Exists", "NoSchedule")
    ]
    # No host path anywhere; the notebook's folder is the user's claim, at the server's path.
    assert all(v.host_path is None for v in spec.volumes)
    claims = {v.name: v.persistent_volume_claim for v in spec.volumes if v.persistent_volume_claim}
    assert [c.claim_name for c in claims.values()] == ["claim-alice"]
    work = next(m for m in container.volume_mounts if m.mount_path == str(folder.resolve()))
    assert work.name in claims and work.sub_path == "gpu/work" and not work.read_only
    assert container.working_dir == str(folder.resolve())
    # The kernel reads its connection file from its Secret; nothing of the server's host.
    assert kube.FILES_IN_POD + "/connection.json" in container.command
    assert not any(kube_dir in arg for arg in container.command for kube_dir in ["/tmp/njk-"])
    connection = json.loads(secret.string_data["connection.json"])
    assert connection["key"] and connection["transport"] == "tcp"
    assert connection["ip"] == "0.0.0.0"
    assert {p.container_port for p in container.ports} == {connection[n] for n in ports}
    variables = secret.string_data["env.sh"]
    assert "NJ_RESULTS=" in variables and "never-in-a-pod" not in variables
    # Labels a selector can use (the server's data folder hashed), the rest as annotations; the
    # Service selects exactly this kernel's pod and forwards its five ports.
    for value in model.metadata.labels.values():
        assert len(value) <= 63 and LABEL_VALUE.match(value), value
    server_key = kube.LABEL_PREFIX + SERVER_LABEL.removeprefix(kube.DOCKER_PREFIX)
    assert model.metadata.labels[server_key] == kube.label_hash(nj_app.nj_data_path.as_posix())
    assert model.metadata.annotations["jupyter-nj.org/notebook"] == "gpu/work/nb.ipynb"
    # What a later start of this server deletes as orphans selects this pod.
    orphans = kube.label_selector(
        {ROLE_LABEL: KERNEL_ROLE, SERVER_LABEL: nj_app.runtime_service.settings.server_data}
    )
    assert dict(pair.split("=") for pair in orphans.split(",")).items() <= (
        model.metadata.labels.items()
    )
    assert service.spec.selector == {kube.KERNEL_ID_KEY: kernel_id}
    assert model.metadata.labels[kube.KERNEL_ID_KEY] == kernel_id
    assert sorted(p.target_port for p in service.spec.ports) == sorted(ports.values())


def test_a_cpu_runtime_hides_gpus_and_folders_off_the_volume_are_refused(
    kube_models: Any, tmp_path: Path
) -> None:
    root = tmp_path / "home"
    request = kube.PodRequest(
        name="nj-kernel-x",
        namespace="default",
        image="r/nj-env/mini@sha256:" + "0" * 64,
        command=["python"],
        workdir=str(root),
        labels={"org.jupyter-nj.kernel-id": "x"},
        kernel_ports=dict.fromkeys(kube.PORT_LABELS, 5000),
        files={kube.CONNECTION_KEY: "{}", kube.ENV_KEY: ""},
        uid=1000,
        gid=100,
        volume_claim="claim",
        mounts=kube.folder_mounts(
            [
                {"Target": str(root), "Source": str(root), "Type": "bind"},
                {"Target": str(root / ".nj"), "Type": "tmpfs", "ReadOnly": True},
                {"Target": str(root / ".env"), "Source": "/dev/null", "Type": "bind"},
            ],
            str(root),
        ),
    )
    pod = kube.pod_manifest(request)
    model = assert_read_back_and_valid(pod, kube_models)
    container = model.spec.containers[0]
    assert [(e.name, e.value) for e in container.env] == [("NVIDIA_VISIBLE_DEVICES", "void")]
    assert "nvidia.com/gpu" not in (container.resources.limits or {})
    hidden = {m.mount_path: m for m in container.volume_mounts}
    assert hidden[str(root / ".nj")].read_only and hidden[str(root / ".env")].sub_path == "empty"
    with pytest.raises(Exception, match="not on the user's volume") as err:
        kube.folder_mounts([{"Target": "/srv", "Source": "/srv", "Type": "bind"}], str(root))
    assert getattr(err.value, "status_code", 0) == 409
    with pytest.raises(Exception, match="number of GPUs") as err:
        kube.gpu_limits(("GPU-1234",), "nvidia.com/gpu")
    assert getattr(err.value, "status_code", 0) == 422


def pod_from_api(status: dict[str, Any], **metadata: Any) -> Any:
    """A pod as the API server answers `GET .../pods/<name>`, read by the client's models."""
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nj-kernel-x", "namespace": "default", "uid": "u-1", **metadata},
        "spec": {"nodeName": "gpu-node-3", "containers": [{"name": "kernel", "image": "i"}]},
        "status": status,
    }
    return kube.as_model(body)


def kernel_state(state: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "kernel",
        "image": "i",
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "state": state,
        **extra,
    }


def test_failure_reasons_read_from_pod_statuses(kube_models: Any) -> None:
    oom = pod_from_api(
        {
            "phase": "Failed",
            "containerStatuses": [
                kernel_state(
                    {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": None}}
                )
            ],
        }
    )
    assert kube.pod_failure(oom) == (
        "the runtime's container ended: OOMKilled (out of memory: memory limit reached) "
        "(exit code 137)"
    )
    pull = pod_from_api(
        {
            "phase": "Pending",
            "containerStatuses": [
                kernel_state(
                    {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": 'Back-off pulling image "r/nj-env/mini@sha256:00"',
                        }
                    }
                )
            ],
        }
    )
    assert kube.pod_failure(pull) == ""  # not gone: never started
    assert kube.start_failure(pull) == (
        "the runtime's image cannot start (ImagePullBackOff: Back-off pulling image "
        '"r/nj-env/mini@sha256:00")'
    )
    unschedulable = pod_from_api(
        {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
                }
            ],
        }
    )
    # Pending for want of a GPU may end (an autoscaler adds a node): the start waits, then says.
    assert kube.start_failure(unschedulable) == ""
    assert kube.pending_reason(unschedulable) == (
        "pod not scheduled (Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.)"
    )
    lost = pod_from_api(
        {
            "phase": "Unknown",
            "reason": "NodeLost",
            "message": "Node gpu-node-3 which was running pod nj-kernel-x is unresponsive",
        }
    )
    assert kube.pod_failure(lost) == (
        "the node running the runtime was lost (gpu-node-3): Node gpu-node-3 which was running "
        "pod nj-kernel-x is unresponsive"
    )
    tainted = pod_from_api(
        {
            "phase": "Running",
            "conditions": [
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "DeletionByTaintManager",
                    "message": "Taint manager: deleting due to NoExecute taint",
                }
            ],
            "containerStatuses": [kernel_state({"running": {"startedAt": None}})],
        }
    )
    assert "disrupted (gpu-node-3) (DeletionByTaintManager" in kube.pod_failure(tainted)
    evicted = pod_from_api(
        {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}
    )
    assert kube.pod_failure(evicted) == (
        "the runtime was evicted from its node (gpu-node-3): The node was low on resource: memory."
    )
    running = pod_from_api(
        {"phase": "Running", "containerStatuses": [kernel_state({"running": {}})]}
    )
    assert kube.pod_failure(running) == "" and kube.pod_running(running)
    assert kube.pod_failure(None) == "the runtime's pod was removed"


def test_the_newest_warning_event_explains_a_pending_pod(kube_models: Any) -> None:
    client = kube_models[0].client.ApiClient()
    listed = client.deserialize(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "EventList",
                "metadata": {},
                "items": [
                    {
                        "metadata": {"name": f"e{i}", "namespace": "default"},
                        "involvedObject": {"kind": "Pod", "name": "nj-kernel-x"},
                        "type": kind,
                        "reason": reason,
                        "message": message,
                        "lastTimestamp": f"2026-12-03T16:0{i}:00Z",
                    }
                    for i, (kind, reason, message) in enumerate(
                        [
                            ("Warning", "FailedScheduling", "0/1 nodes are available"),
                            ("Normal", "Scheduled", "assigned"),
                            ("Warning", "Failed", "Failed to pull image: not found"),
                        ]
                    )
                ],
            }
        ),
        "CoreV1EventList",
        "application/json",
    )
    pending = pod_from_api({"phase": "Pending"})
    assert kube.pending_reason(pending, listed.items) == "Failed: Failed to pull image: not found"


async def test_without_a_kubeconfig_a_start_and_the_status_say_what_to_set(
    docker_mini: dict[str, Any],
    kube_models: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    writable_folder(jp_root_dir, "nocluster")
    write_notebook(jp_root_dir, "nocluster/nb.ipynb")
    with pytest.raises(HTTPClientError) as err:
        await start_session_kernel(jp_fetch, jp_serverapp, "nocluster/nb.ipynb", "nj-mini")
    body = err.value.response.body.decode() if err.value.response else ""
    assert "no cluster is configured" in body and "runtime_kubernetes_config" in body, body
    assert "Traceback" not in body and 'File "' not in body, body
    assert err.value.code == 500  # how jupyter_server answers any failed kernel start
    response = await jp_fetch("nj", "api", "status")
    assert response.code == 200
    backends = {b["name"]: b for b in json.loads(response.body)["backends"]}
    line = backends["kubernetes"]
    assert line["live"] is False and line["detail"] == "no cluster configured"
    assert "NJApp.runtime_kubernetes_config" in line["hint"]


def test_without_the_client_the_engine_says_what_to_install(tmp_path: Path) -> None:
    # A fresh interpreter where `kubernetes` cannot be imported (as without the extra).
    script = (
        "import sys; sys.modules['kubernetes'] = None\n"
        "from jupyter_nj.base import NJError\n"
        "from jupyter_nj.runtimes.engines.kubernetes import load_api, probe\n"
        "try:\n"
        "    load_api()\n"
        "except NJError as err:\n"
        "    print(err.status_code, err.reason, err.message)\n"
        "print(probe('', '', '', 1.0).to_json())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ).stdout
    assert out.startswith("503 kubernetes-missing "), out
    assert "pip install 'jupyter-nj[kubernetes]'" in out
    assert "'live': False" in out and "the kubernetes client is not installed" in out
