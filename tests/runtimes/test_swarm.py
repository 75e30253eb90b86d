"""Container runtimes as Docker Swarm services (`NJApp.runtime_engine = "swarm"`), on a real
single-node swarm of this machine's engine.

The swarm is made for the session (`docker swarm init --advertise-addr 127.0.0.1`) only when
the engine is in none, and left again at the end, with the services and networks of the tests.
Without a Docker engine these tests fail: they are the only proof that the swarm engine works.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docker.errors import NotFound
from docker.types import RestartPolicy
from tornado.httpclient import HTTPClientError

from jupyter_nj.base import NJError
from jupyter_nj.runtimes.engines.swarm import (
    NETWORK_LABEL,
    RELAY_LABEL,
    gpu_resources,
    remove_orphan_services,
)
from jupyter_nj.runtimes.provisioner import ENGINE_LABEL, KERNEL_ROLE, ROLE_LABEL, SERVER_LABEL

from ..services import docker_client_or_reason
from .conftest import (
    KernelSession,
    make_wheel,
    reply_to,
    start_session_kernel,
    write_notebook,
)

pytestmark = pytest.mark.docker

NETWORK = "nj-test-runtimes"


def docker_cli(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True, timeout=60
    ).stdout


@pytest.fixture(scope="session")
def swarm(nj_session_dir: Path) -> Iterator[Any]:
    """A client of an engine that is a swarm manager; the swarm is this session's when the
    engine was in none, and then always left at the end."""
    client, reason = docker_client_or_reason()
    if client is None:
        pytest.fail(f"the swarm tests need a Docker engine: {reason}", pytrace=False)
    had_gwbridge = bool(client.networks.list(names=["docker_gwbridge"]))
    initialised = client.info()["Swarm"].get("LocalNodeState") != "active"
    if initialised:
        docker_cli("swarm", "init", "--advertise-addr", "127.0.0.1")
    try:
        yield client
    finally:
        try:
            server = str(nj_session_dir / "data")
            if not initialised:  # leaving removes everything; else only what the tests made
                for service in client.services.list(filters={"label": f"{SERVER_LABEL}={server}"}):
                    service.remove()
                for network in client.networks.list(names=[NETWORK, NETWORK + "-internal"]):
                    network.remove()
        finally:
            if initialised:
                docker_cli("swarm", "leave", "--force")
                if not had_gwbridge:
                    # Made by `swarm init` for the tasks' outbound traffic; leaving keeps it.
                    for network in client.networks.list(names=["docker_gwbridge"]):
                        network.remove()
            client.close()


@pytest.fixture
def runtime_backend() -> str:
    return "docker"


@dataclass
class Registry:
    address: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def docker_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Debian's `docker-registry` on 127.0.0.1, storing in a temporary folder."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail(
            "the registry test needs Debian's docker-registry "
            "(`bash scripts/ensure-services.sh registry`)",
            pytrace=False,
        )
    folder = tmp_path_factory.mktemp("registry")
    port = next(p for p in range(8971, 9000) if port_is_free(p))
    address = f"127.0.0.1:{port}"
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"http:\n  addr: {address}\n"
    )
    log = (folder / "registry.log").open("wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(
                        f"docker-registry did not start: {(folder / 'registry.log').read_text()}"
                    )
                time.sleep(0.1)
        yield Registry(address, process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def swarm_registry(request: pytest.FixtureRequest) -> str:
    """NJApp.runtime_swarm_registry: empty, or (parametrized with "registry") a live one."""
    if getattr(request, "param", "") != "registry":
        return ""
    registry: Registry = request.getfixturevalue("docker_registry")
    return registry.address


@pytest.fixture
def swarm_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """More NJApp traits for one test (parametrized indirectly)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def nj_config(
    nj_config: dict[str, Any], swarm_registry: str, swarm_overrides: dict[str, Any]
) -> dict[str, Any]:
    return {
        **nj_config,
        "runtime_swarm_registry": swarm_registry,
        "runtime_engine": "swarm",
        "runtime_swarm_network": NETWORK,
        "runtime_swarm_cpus": 0.25,
        "runtime_swarm_memory": "128m",
        "runtime_swarm_start_timeout": 60.0,
        **swarm_overrides,
    }


def writable_folder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(folder, 1000, 100)  # the kernel runs as 1000:100 when the server is root
    return folder


def kernel_services(kernel_id: str) -> list[str]:
    """The services `docker service ls` shows for this kernel, found by the project's label."""
    out = docker_cli(
        "service", "ls", "--filter", f"label=org.jupyter-nj.kernel-id={kernel_id}", "-q"
    )
    return out.split()


async def died(session: KernelSession, timeout: float = 30) -> int | None:
    deadline = time.monotonic() + timeout
    status = None
    while status is None and time.monotonic() < deadline:
        status = await session.km.provisioner.poll()
        if status is None:
            await asyncio.sleep(0.2)
    return status


async def swarm_kernel(jp_fetch: Any, jp_serverapp: Any, root: Path, folder: str) -> Any:
    """A kernel of `mini` for the notebook `<folder>/nb.ipynb`, in a folder runtimes may write."""
    writable_folder(root, folder)
    write_notebook(root, f"{folder}/nb.ipynb")
    return await start_session_kernel(jp_fetch, jp_serverapp, f"{folder}/nb.ipynb", "nj-mini")


async def test_a_start_on_an_engine_that_is_no_swarm_manager_says_to_run_swarm_init(
    docker_mini: dict[str, Any],
    docker_client: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    # First in the module: the `swarm` fixture has not joined the engine to a swarm yet.
    if docker_client.info()["Swarm"].get("LocalNodeState") == "active":
        pytest.skip("the engine is in a swarm made outside these tests")
    writable_folder(jp_root_dir, "noswarm")
    write_notebook(jp_root_dir, "noswarm/nb.ipynb")
    with pytest.raises(HTTPClientError) as err:
        await start_session_kernel(jp_fetch, jp_serverapp, "noswarm/nb.ipynb", "nj-mini")
    body = err.value.response.body.decode() if err.value.response else ""
    assert "not a swarm manager" in body and "docker swarm init" in body, body
    assert err.value.code == 500  # how jupyter_server answers any failed kernel start


async def test_swarm_kernel_is_a_confined_service_with_limits_that_writes_the_notebook_folder(
    swarm: Any,
    docker_mini: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    work = writable_folder(jp_root_dir, "swarm")
    write_notebook(jp_root_dir, "swarm/nb.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "swarm/nb.ipynb", "nj-mini")
    kernel_id = session.kernel_id
    try:
        services = kernel_services(kernel_id)
        assert len(services) == 1, "the kernel runs as exactly one swarm service"
        spec = swarm.api.inspect_service(services[0])["Spec"]
        labels = spec["Labels"]
        assert labels[ENGINE_LABEL] == "swarm"
        assert labels["org.jupyter-nj.environment"] == "mini"
        assert labels["org.jupyter-nj.notebook"] == "swarm/nb.ipynb"

        status, out, _ = await session.run(
            "import os, json\n"
            "open('from_swarm.txt', 'w').write('hi')\n"
            "open('/results/r.txt', 'w').write('in results')\n"
            "caps = [l for l in open('/proc/self/status') if l.startswith('CapEff')]\n"
            "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'cwd': os.getcwd(),"
            " 'caps': caps[0].split()[1], 'sock': os.path.exists('/var/run/docker.sock')}))"
        )
        assert status == "ok", out
        seen = json.loads(out)
        assert (seen["uid"], seen["gid"]) == (1000, 100)
        assert seen["caps"] == "0000000000000000"
        assert seen["sock"] is False
        assert seen["cwd"] == str(work.resolve())
        assert (work / "from_swarm.txt").read_text() == "hi"  # the host sees the kernel's file
        assert (work / "nb.results" / "r.txt").read_text() == "in results"

        task = spec["TaskTemplate"]
        resources = task["Resources"]
        assert resources["Limits"]["NanoCPUs"] == 10**9  # runtime_cpu_limit
        assert resources["Limits"]["MemoryBytes"] == 1024**3  # runtime_memory_limit
        assert resources["Limits"]["Pids"] == 1024  # runtime_pids_limit
        assert resources["Reservations"] == {"NanoCPUs": 25 * 10**7, "MemoryBytes": 128 * 2**20}
        assert task["RestartPolicy"]["Condition"] == "none"
        node_id = swarm.info()["Swarm"]["NodeID"]
        assert task["Placement"]["Constraints"] == [f"node.id=={node_id}"]
        container = task["ContainerSpec"]
        assert container["User"] == "0:0" and container["Init"] is True  # only docker-init
        assert container["CapabilityDrop"] == ["ALL"]
        assert "SYS_ADMIN" not in container["CapabilityAdd"]
        assert container["Args"][container["Args"].index("setpriv") + 1] == "--reuid=1000"
        assert all("docker.sock" not in (m.get("Source") or "") for m in container["Mounts"])
        assert {m["Type"] for m in container["Mounts"]} <= {"bind", "tmpfs"}
        # No port on any node's interface: no virtual IP, nothing published by the service.
        assert spec["EndpointSpec"] == {"Mode": "dnsrr"}
        assert not swarm.api.inspect_service(services[0])["Endpoint"].get("Ports")

        network = swarm.networks.get(NETWORK).attrs
        assert network["Driver"] == "overlay" and network["Attachable"] is True
        assert network["Options"].get("encrypted") == "true"
        assert network["Labels"].get(NETWORK_LABEL)

        # The server reaches the kernel through its relay, on loopback only, signed with the key.
        relay = swarm.containers.list(filters={"label": f"{RELAY_LABEL}=nj-kernel-{kernel_id}"})
        assert len(relay) == 1
        bindings = [b for v in relay[0].attrs["NetworkSettings"]["Ports"].values() for b in v]
        assert len(bindings) == 5 and {b["HostIp"] for b in bindings} == {"127.0.0.1"}
        assert relay[0].attrs["Config"]["User"] == "1000:100"
        assert relay[0].attrs["HostConfig"]["ReadonlyRootfs"] is True
        connection = session.km.get_connection_info()
        assert connection["transport"] == "tcp" and connection["ip"] == "127.0.0.1"
        assert connection["signature_scheme"] == "hmac-sha256" and len(connection["key"]) >= 32
        assert {int(b["HostPort"]) for b in bindings} == {
            connection[p]
            for p in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
        }
        await refused_without_the_key(session, work)

        info = json.loads((await jp_fetch("nj", "api", "runtimes", kernel_id)).body)
        assert info["exit_reason"] == "" and info["backend"] == "docker"
    finally:
        await session.shutdown()
    assert kernel_services(kernel_id) == []
    relays = swarm.containers.list(
        all=True, filters={"label": f"{RELAY_LABEL}=nj-kernel-{kernel_id}"}
    )
    assert relays == [], "the relay outlived the shutdown"
    left = swarm.containers.list(
        all=True, filters={"label": f"org.jupyter-nj.kernel-id={kernel_id}"}
    )
    assert left == [], "the task's container outlived the shutdown"


async def refused_without_the_key(session: KernelSession, work: Path) -> None:
    """A client that reaches the kernel's ports but signs with another key gets nothing done."""
    from jupyter_client.asynchronous import AsyncKernelClient

    intruder = AsyncKernelClient()
    intruder.load_connection_info({**session.km.get_connection_info(), "key": b"not-the-key"})
    intruder.start_channels()
    try:
        intruder.execute("open('intruder.txt', 'w').write('x')")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(intruder.get_shell_msg(), timeout=3)
    finally:
        intruder.stop_channels()
    assert not (work / "intruder.txt").exists()


async def test_interrupt_and_restart_keep_the_clients_connection(
    swarm: Any,
    docker_mini: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    session = await swarm_kernel(jp_fetch, jp_serverapp, jp_root_dir, "restart")
    try:
        msg_id = session.client.execute("import time; print('asleep', flush=True); time.sleep(60)")
        while True:  # the cell runs: now interrupt it
            msg = await session.client.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                break
        await jp_serverapp.kernel_manager.interrupt_kernel(session.kernel_id)
        assert (await reply_to(session, msg_id))["content"]["ename"] == "KeyboardInterrupt"

        (before,) = kernel_services(session.kernel_id)
        ports = session.km.get_connection_info()
        await jp_serverapp.kernel_manager.restart_kernel(session.kernel_id)
        (after,) = kernel_services(session.kernel_id)
        assert after != before  # a new service of the same name
        # The same loopback ports: the client connected before the restart carries on.
        assert session.km.get_connection_info() == ports
        await session.ready()
        status, out, _ = await session.run("print('after restart')")
        assert (status, out.strip()) == ("ok", "after restart")
    finally:
        await session.shutdown()
    assert kernel_services(session.kernel_id) == []
    relays = swarm.containers.list(
        all=True, filters={"label": f"{RELAY_LABEL}=nj-kernel-{session.kernel_id}"}
    )
    assert relays == []


@pytest.mark.parametrize("swarm_overrides", [{"runtime_network": "none"}], indirect=True)
async def test_with_runtime_network_none_the_overlay_is_internal_and_the_kernel_reachable(
    swarm: Any,
    docker_mini: dict[str, Any],
    swarm_overrides: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    session = await swarm_kernel(jp_fetch, jp_serverapp, jp_root_dir, "cut")
    try:
        status, out, _ = await session.run("print('reached')")
        assert (status, out.strip()) == ("ok", "reached")
        (service,) = kernel_services(session.kernel_id)
        spec = swarm.api.inspect_service(service)["Spec"]
        [attached] = spec["TaskTemplate"]["Networks"]
        network = swarm.networks.get(attached["Target"]).attrs
        assert network["Name"] == NETWORK + "-internal" and network["Internal"] is True
    finally:
        await session.shutdown()


async def test_a_killed_task_marks_the_runtime_dead_with_the_task_error(
    swarm: Any,
    docker_mini: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    session = await swarm_kernel(jp_fetch, jp_serverapp, jp_root_dir, "killed")
    try:
        task = swarm.containers.list(
            filters={"label": f"org.jupyter-nj.kernel-id={session.kernel_id}"}
        )
        assert len(task) == 1
        task[0].kill()
        assert await died(session) is not None
        reason = session.km.provisioner.exit_reason
        assert "task failed" in reason and "137" in reason, reason
    finally:
        await session.shutdown()
    assert kernel_services(session.kernel_id) == []


@pytest.mark.parametrize("swarm_overrides", [{"runtime_swarm_start_timeout": 5.0}], indirect=True)
async def test_a_drained_node_marks_its_runtime_dead_with_the_reason(
    swarm: Any,
    docker_mini: dict[str, Any],
    swarm_overrides: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    # A node going away, as far as one machine can show it: its manager drains it.
    node_id = swarm.info()["Swarm"]["NodeID"]
    if len(swarm.nodes.list()) != 1:
        pytest.skip("draining a node of a real swarm is not this test's to do")
    session = await swarm_kernel(jp_fetch, jp_serverapp, jp_root_dir, "drained")
    node = swarm.nodes.get(node_id)
    try:
        node.update({**node.attrs["Spec"], "Availability": "drain"})
        assert await died(session) is not None
        reason = session.km.provisioner.exit_reason
        assert "task shutdown" in reason and "was drained" in reason, reason
    finally:
        node.reload()
        node.update({**node.attrs["Spec"], "Availability": "active"})
        await session.shutdown()
    assert kernel_services(session.kernel_id) == []


async def test_a_service_removed_from_outside_marks_the_runtime_dead(
    swarm: Any,
    docker_mini: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    session = await swarm_kernel(jp_fetch, jp_serverapp, jp_root_dir, "removed")
    try:
        (service,) = kernel_services(session.kernel_id)
        docker_cli("service", "rm", service)
        assert await died(session) is not None
        assert "swarm service was removed" in session.km.provisioner.exit_reason
    finally:
        await session.shutdown()
    assert kernel_services(session.kernel_id) == []
    left = swarm.containers.list(all=True, filters={"label": f"{RELAY_LABEL}"})
    assert [c.name for c in left if session.kernel_id in c.name] == []


@pytest.mark.parametrize(
    "swarm_overrides",
    [{"runtime_swarm_cpus": 64.0, "runtime_swarm_start_timeout": 3.0}],
    indirect=True,
)
async def test_a_runtime_no_node_can_take_fails_its_start_with_the_schedulers_reason(
    swarm: Any,
    docker_mini: dict[str, Any],
    swarm_overrides: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    writable_folder(jp_root_dir, "big")
    write_notebook(jp_root_dir, "big/nb.ipynb")
    with pytest.raises(HTTPClientError) as err:
        await start_session_kernel(jp_fetch, jp_serverapp, "big/nb.ipynb", "nj-mini")
    body = err.value.response.body.decode() if err.value.response else ""
    assert "did not start within 3 s" in body and "task pending" in body, body
    assert "insufficient resources" in body, body
    server = jp_serverapp.web_app.settings["nj_app"].runtime_service.settings.server_data
    assert not swarm.services.list(filters={"label": f"{SERVER_LABEL}={server}"})


@pytest.mark.parametrize("swarm_registry", ["registry"], indirect=True)
async def test_with_a_registry_the_image_is_pushed_and_the_service_runs_it_by_digest(
    swarm: Any,
    docker_mini: dict[str, Any],
    swarm_registry: str,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    writable_folder(jp_root_dir, "pushed")
    write_notebook(jp_root_dir, "pushed/nb.ipynb")
    repository = f"{swarm_registry}/nj-env/mini"
    try:
        # The first start of a version pushes its image (hundreds of MB here).
        session = await start_session_kernel(
            jp_fetch, jp_serverapp, "pushed/nb.ipynb", "nj-mini", request_timeout=240
        )
        try:
            (service,) = kernel_services(session.kernel_id)
            spec = swarm.api.inspect_service(service)["Spec"]
            image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
            assert image.startswith(f"{repository}@sha256:"), image
            status, out, _ = await session.run("print(1 + 1)")
            assert (status, out.strip()) == ("ok", "2")
        finally:
            await session.shutdown()
        catalog, manifest = await asyncio.to_thread(registry_has, swarm_registry, image)
        assert "nj-env/mini" in catalog
        assert manifest == 200  # the digest the service runs is the registry's own
    finally:
        for tag in swarm.images.get(docker_mini["version"]).tags:
            if tag.startswith(repository + ":"):
                swarm.images.remove(tag)  # only the registry's tag: the image stays


def registry_has(address: str, image: str) -> tuple[list[str], int]:
    """The registry's repositories, and its answer for the manifest `image` names by digest."""
    with urllib.request.urlopen(f"http://{address}/v2/_catalog", timeout=5) as reply:
        catalog = list(json.load(reply)["repositories"])
    digest = image.split("@", 1)[1]
    request = urllib.request.Request(
        f"http://{address}/v2/nj-env/mini/manifests/{digest}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        return catalog, int(reply.status)


class TestSecretsAndSaveEnvironment:
    @pytest.fixture
    def nj_config(self, nj_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
        return {**nj_config, "secrets_backend": "local", "secrets_local_dir": str(tmp_path / "s")}

    async def test_a_swarm_runtime_gets_its_secrets_and_saves_its_installs(
        self,
        swarm: Any,
        docker_mini: dict[str, Any],
        jp_fetch: Any,
        jp_serverapp: Any,
        jp_root_dir: Path,
    ) -> None:
        from .test_secrets_reach_runtimes import (
            CHECK,
            SECRET_VALUE,
            attach_secret,
            start_like_jupyterlab,
        )

        work = writable_folder(jp_root_dir, "saved")
        make_wheel(work / "wheels", "nj_probe_pkg")
        write_notebook(jp_root_dir, "saved/nb.ipynb")
        await attach_secret(jp_fetch, "saved/nb.ipynb")
        session = await start_like_jupyterlab(jp_fetch, jp_serverapp, "saved/nb.ipynb", "nj-mini")
        saved: dict[str, Any] = {}
        try:
            status, out, _ = await session.run(CHECK)
            assert (status, out.strip()) == ("ok", "True True"), out
            (service,) = kernel_services(session.kernel_id)
            assert SECRET_VALUE not in json.dumps(swarm.api.inspect_service(service))

            status, out, _ = await session.run(
                "!pip install --no-index --find-links wheels nj_probe_pkg"
            )
            assert status == "ok", out
            response = await jp_fetch(
                "nj", "api", "runtimes", session.kernel_id, "snapshot", method="POST", body="{}"
            )
            saved = json.loads(response.body)["version"]
            assert "+ nj-probe-pkg==1.0" in saved["changes"]
            await jp_serverapp.kernel_manager.restart_kernel(session.kernel_id)
            await session.ready()
            status, out, _ = await session.run("import nj_probe_pkg; print(nj_probe_pkg.VALUE)")
            assert (status, out.strip()) == ("ok", "1"), out
            (service,) = kernel_services(session.kernel_id)
            image = swarm.api.inspect_service(service)["Spec"]["TaskTemplate"]["ContainerSpec"]
            assert image["Image"] == f"nj-env/mini:id-{saved['version'].split(':')[1][:16]}"
        finally:
            await session.shutdown()
            if saved:
                swarm.images.remove(saved["version"], force=True)  # a new one each run


def test_services_an_earlier_run_of_the_server_left_are_removed(
    swarm: Any, docker_mini: dict[str, Any], nj_session_dir: Path
) -> None:
    server = str(nj_session_dir / "data")
    labels = {ROLE_LABEL: KERNEL_ROLE}
    started = time.time() - 1  # the engine's clock and ours are the same machine's
    ours = swarm.services.create(
        "nj-runtime-base:bookworm",
        ["sleep", "300"],
        name="nj-test-orphan",
        labels={**labels, SERVER_LABEL: server},
        restart_policy=RestartPolicy(condition="none"),
    )
    theirs = swarm.services.create(
        "nj-runtime-base:bookworm",
        ["sleep", "300"],
        name="nj-test-other-server",
        labels={**labels, SERVER_LABEL: server + "-other"},
        restart_policy=RestartPolicy(condition="none"),
    )
    try:
        # Services made after the server started are its own, never orphans.
        assert remove_orphan_services(swarm, ROLE_LABEL, SERVER_LABEL, server, started) == 0
        assert remove_orphan_services(swarm, ROLE_LABEL, SERVER_LABEL, server, time.time()) == 1
        assert [s.id for s in swarm.services.list(filters={"name": "nj-test-"})] == [theirs.id]
    finally:
        for service in (ours, theirs):
            with contextlib.suppress(NotFound):
                service.remove()


def test_gpus_are_asked_of_swarm_as_generic_resources_by_count() -> None:
    assert gpu_resources(0, "NVIDIA-GPU") == {}
    assert gpu_resources(2, "NVIDIA-GPU") == {"NVIDIA-GPU": 2}
    for request in (("GPU-1234",), "all"):
        with pytest.raises(NJError) as refused:
            gpu_resources(request, "NVIDIA-GPU")
        assert refused.value.status_code == 422 and "a count" in refused.value.message
