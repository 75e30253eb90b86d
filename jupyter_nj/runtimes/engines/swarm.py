"""Container runtimes as Docker Swarm services (`NJApp.runtime_engine = "swarm"`).

Each kernel is one service (one replica, never restarted by Swarm: a dead kernel is the kernel
manager's to restart, as with a plain container) on an attachable, encrypted overlay network.

How the server reaches the kernel. A service task cannot share unix sockets with a server on
another node, so a swarm kernel listens on TCP inside its own network namespace, and every
message is signed with the connection file's HMAC key, as Jupyter always does. The server does
not sit on the overlay (it runs on a host), and Swarm can publish a service port only on every
interface of a node (ingress or host mode; binding to 127.0.0.1 is not supported), which would
put the kernel's ports, and its unencrypted output stream, on the node's network. So each kernel
gets a *relay*: a plain container on the same overlay that publishes the kernel's five ports on
127.0.0.1 of the server's host only and forwards each to the task's overlay address. From the
host to the relay the traffic stays on loopback; from the relay to the task it crosses the
overlay, which Swarm encrypts (IPsec) between nodes. Any process of the host can connect to the
loopback ports, as with any local kernel started by jupyter_client; without the key it can
neither execute code nor forge replies, but it can subscribe to the output stream (ZeroMQ frames
are signed, not encrypted). See docs/scale.md.

Blocking (docker SDK): call everything here from a thread.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from ...base import NJError

# Task states in which a kernel is starting or running (Swarm's task life cycle); anything later
# (complete, failed, shutdown, rejected, orphaned, remove) means it is gone.
ALIVE_STATES = frozenset(
    {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
    | {"running"}
)
# A kernel's five ZeroMQ channels, in the connection file's names.
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
# Label on the overlay network jupyter-nj creates, so an operator can tell it from their own.
NETWORK_LABEL = "org.jupyter-nj.network"
RELAY_LABEL = "org.jupyter-nj.relay-for"
RELAY_PUBLISH_NETWORK = "bridge"
RELAY_ATTEMPTS = 5
# The relay: a TCP forwarder in the standard library of the image's own Python (every runtime
# image has python3), so no extra image is needed. argv: task address, then the ports.
RELAY_SOURCE = """
import asyncio, sys

TARGET = sys.argv[1]


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def serve(port):
    async def forward(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(TARGET, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(forward, "0.0.0.0", port)
    await server.serve_forever()


async def main():
    await asyncio.gather(*(serve(int(port)) for port in sys.argv[2:]))


asyncio.run(main())
"""
_network_lock = threading.Lock()
log = logging.getLogger(__name__)


def require_manager(client: Any) -> str:
    """The engine's swarm node ID; a 503 that says what to run when it is no swarm manager."""
    swarm = (client.info() or {}).get("Swarm") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    if state != "active" or not swarm.get("ControlAvailable"):
        raise NJError(
            503,
            "swarm-unavailable",
            "NJApp.runtime_engine is 'swarm', but the Docker engine is not a swarm manager "
            f"(swarm state: {state}). Run `docker swarm init` on this host (or point "
            "NJApp.docker_host at a manager of the swarm), or set "
            "NJApp.runtime_engine = 'docker'.",
        )
    return str(swarm["NodeID"])


def ensure_network(client: Any, name: str, internal: bool) -> str:
    """The overlay network the kernels and their relays share, made when missing: attachable
    (the relay is a plain container) and encrypted (IPsec between nodes)."""
    from docker.errors import APIError

    with _network_lock:
        for network in client.networks.list(names=[name]):
            if network.name == name:
                if network.attrs.get("Driver") != "overlay":
                    raise NJError(
                        409,
                        "swarm-network",
                        f"The network {name!r} exists but is not an overlay network: remove it "
                        "or set NJApp.runtime_swarm_network to another name.",
                    )
                return str(network.id)
        try:
            network = client.networks.create(
                name,
                driver="overlay",
                attachable=True,
                internal=internal,
                options={"encrypted": "true"},
                labels={NETWORK_LABEL: "runtimes"},
                check_duplicate=True,
            )
        except APIError as err:
            raise NJError(
                503,
                "swarm-network",
                f"The Docker engine could not create the overlay network {name!r}: "
                f"{err.explanation or err}",
            ) from None
        return str(network.id)


def remove_network(client: Any, name: str) -> None:
    """Remove our overlay network when no kernel uses it any more (another server's may)."""
    from docker.errors import APIError, NotFound

    with contextlib.suppress(NotFound, APIError):
        for network in client.networks.list(names=[name]):
            if network.name == name and network.attrs.get("Labels", {}).get(NETWORK_LABEL):
                network.remove()


def gpu_resources(request: Any, kind: str) -> dict[str, int]:
    """A runtime's GPU request as Swarm generic resources (what the scheduler counts).

    Swarm schedules GPUs by count only: a node advertises `node-generic-resources` (for
    example `NVIDIA-GPU=GPU-<uuid>` in daemon.json) and the scheduler hands a task that many of
    them. It cannot be asked for given devices, nor for every device of a node."""
    if not request:
        return {}
    if isinstance(request, bool) or not isinstance(request, int):
        raise NJError(
            422,
            "swarm-gpus",
            "On Docker Swarm a runtime asks for a number of GPUs (Swarm schedules them as "
            f"generic resources, {kind!r}), not for given devices or 'all': set the runtime's "
            "GPUs to a count.",
        )
    return {kind: request}


def image_for_swarm(client: Any, record_name: str, image_id: str, registry: str) -> str:
    """The image reference a service can run: a tag of the version's image ID on this engine,
    or, with a registry, that tag pushed there and named by its digest (so every node runs the
    very same image)."""
    from docker.errors import APIError

    hex_id = image_id.split(":", 1)[-1]
    tag = f"id-{hex_id[:16]}"
    image = client.images.get(image_id)
    if not registry:
        repository = f"nj-env/{record_name}"
        image.tag(repository, tag)
        return f"{repository}:{tag}"
    repository = f"{registry.rstrip('/')}/nj-env/{record_name}"
    image.tag(repository, tag)
    try:
        for line in client.images.push(repository, tag=tag, stream=True, decode=True):
            if isinstance(line, dict) and line.get("error"):
                raise NJError(503, "swarm-registry", f"Pushing to {registry}: {line['error']}")
    except APIError as err:
        raise NJError(
            503, "swarm-registry", f"Pushing to {registry}: {err.explanation or err}"
        ) from None
    pushed = client.images.get(image_id)
    for digest in pushed.attrs.get("RepoDigests") or []:
        if digest.startswith(repository + "@"):
            return str(digest)
    raise NJError(503, "swarm-registry", f"{registry} gave no digest for {repository}:{tag}.")


@dataclass
class ServiceRequest:
    """What one kernel's service is made of (the provisioner decides all of it)."""

    name: str
    image: str
    args: list[str]
    workdir: str
    mounts: list[Any]
    labels: dict[str, str]
    network: str
    kernel_ports: dict[str, int]
    relay_user: str
    cpu_limit: float = 0.0
    memory_limit: str = ""
    cpu_reservation: float = 0.0
    memory_reservation: str = ""
    pids_limit: int = 0
    constraints: tuple[str, ...] = ()
    generic_resources: dict[str, int] | None = None
    cap_add: tuple[str, ...] = ()
    start_timeout: float = 60.0
    internal: bool = False  # the overlay has no outbound access (and publishes no port)


class SwarmRuntime:
    """One kernel's service, its task and its relay (follows engines/base.py ClusterRuntime)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.service_id: str | None = None
        self.relay_id: str | None = None
        self.container_id: str | None = None  # the task's container (on its node's engine)
        self.task_address: str = ""
        # The relay's loopback ports (the server's view), and the kernel's own, which a
        # restart keeps: the relay forwards to them.
        self.host_ports: dict[str, int] = {}
        self.kernel_ports: dict[str, int] = {}

    @property
    def server_address(self) -> str:
        return "127.0.0.1"  # the relay publishes the kernel's ports on loopback only

    # -- start -------------------------------------------------------------------------------

    def start(self, request: ServiceRequest) -> None:
        """Create the service, start the relay while Swarm schedules the task, wait for the
        task to run. A restart keeps the relay (and so the ports the server's clients are
        connected to) and makes a new service of the same name, which the relay finds again.
        On failure nothing new is left behind and the error says what Swarm answered."""
        had_relay = self.relay_id is not None
        try:
            self._create_service(request)
            if not had_relay:
                self._start_relay(request)
            self._wait_running(request)
        except BaseException:
            self.remove(keep_relay=had_relay)
            raise

    def _create_service(self, request: ServiceRequest) -> None:
        from docker.errors import APIError
        from docker.types import (
            ContainerSpec,
            EndpointSpec,
            NetworkAttachmentConfig,
            Placement,
            Resources,
            RestartPolicy,
            TaskTemplate,
        )
        from docker.utils import parse_bytes

        container = ContainerSpec(
            request.image,
            args=request.args,
            workdir=request.workdir,
            # Root only for docker-init, which the command drops to the kernel user at once.
            user="0:0",
            labels=request.labels,
            mounts=request.mounts,
            init=True,
            cap_drop=["ALL"],
            cap_add=list(request.cap_add),
            stop_grace_period=5 * 10**9,
        )
        resources = Resources(
            cpu_limit=int(request.cpu_limit * 1e9) if request.cpu_limit > 0 else None,
            mem_limit=parse_bytes(request.memory_limit) if request.memory_limit else None,
            cpu_reservation=int(request.cpu_reservation * 1e9)
            if request.cpu_reservation > 0
            else None,
            mem_reservation=parse_bytes(request.memory_reservation)
            if request.memory_reservation
            else None,
            generic_resources=request.generic_resources or None,
        )
        if request.pids_limit > 0:
            # Swarm's process limit (API 1.41, Docker 20.10); the SDK has no argument for it.
            resources.setdefault("Limits", {})["Pids"] = request.pids_limit
        template = TaskTemplate(
            container,
            resources=resources,
            restart_policy=RestartPolicy(condition="none"),
            placement=Placement(constraints=list(request.constraints)),
            networks=[NetworkAttachmentConfig(request.network)],
        )
        for attempt in range(RELAY_ATTEMPTS):
            try:
                created = self.client.api.create_service(
                    template,
                    name=request.name,
                    labels=request.labels,
                    # No virtual IP: the relay reaches the task's own address, and no port is
                    # published on any node.
                    endpoint_spec=EndpointSpec(mode="dnsrr"),
                )
                break
            except APIError as err:
                refused = str(err.explanation or err)
                # The overlay went between its check and this call (the last runtime on it was
                # just removed, or someone removed it): made again, the service is asked again.
                if (
                    "network" in refused
                    and "not found" in refused
                    and (attempt < RELAY_ATTEMPTS - 1)
                ):
                    log.info("jupyter-nj: %s (%s); making the network again", request.name, refused)
                    ensure_network(self.client, request.network, request.internal)
                    time.sleep(0.2 * (attempt + 1))
                    continue
                raise NJError(
                    503,
                    "swarm-refused",
                    f"Docker Swarm refused the runtime's service: {refused}",
                ) from None
        self.service_id = str(created["ID"])

    def latest_task(self) -> dict[str, Any] | None:
        tasks: list[dict[str, Any]] = self.client.api.tasks(filters={"service": self.service_id})
        if not tasks:
            return None
        # One replica that is never restarted: the newest task is the kernel's.
        return max(tasks, key=lambda t: (str(t.get("CreatedAt", "")), t["Version"]["Index"]))

    def _wait_running(self, request: ServiceRequest) -> None:
        deadline = time.monotonic() + request.start_timeout
        task: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            task = self.latest_task()
            state = task_state(task)
            if state == "running":
                status = task["Status"] if task else {}
                self.container_id = str(status["ContainerStatus"]["ContainerID"])
                self.task_address = _address_on(task, request.network)
                if not self.task_address:
                    raise NJError(
                        503,
                        "swarm-network",
                        f"The runtime's task has no address on {request.network!r}.",
                    )
                return
            if state and state not in ALIVE_STATES:
                raise NJError(503, "swarm-task-failed", f"The runtime's {describe_task(task)}.")
            time.sleep(0.1)
        raise NJError(
            503,
            "swarm-start-timeout",
            f"The runtime's service did not start within {request.start_timeout:g} s: its "
            f"{describe_task(task)} (NJApp.runtime_swarm_start_timeout; a task that stays "
            "pending found no node with the resources, constraints or image it needs).",
        )

    def _run_relay(self, request: ServiceRequest, name: str, ports: list[int]) -> Any:
        return self.client.containers.run(
            request.image,
            # The service's name: with `dnsrr`, the overlay's DNS answers it with the task's
            # own address (resolved at each connection, so before the task runs is fine).
            ["python3", "-c", RELAY_SOURCE, request.name, *map(str, ports)],
            detach=True,
            name=name,
            user=request.relay_user,
            network=request.network,
            # Loopback of the server's host only: never another interface.
            ports={f"{port}/tcp": ("127.0.0.1", None) for port in ports},
            init=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=True,
            pids_limit=64,
            mem_limit="128m",
            labels={
                **{k: v for k, v in request.labels.items() if k != "org.jupyter-nj.kernel-id"},
                RELAY_LABEL: request.name,
            },
        )

    def _start_relay(self, request: ServiceRequest) -> None:
        from docker.errors import APIError, NotFound

        ports = list(request.kernel_ports.values())
        name = f"{request.name}-relay"
        for attempt in range(RELAY_ATTEMPTS):
            try:
                relay = self._run_relay(request, name, ports)
                break
            except APIError as err:
                # A relay the engine created and then could not start stays behind: it goes.
                with contextlib.suppress(NotFound):
                    self.client.api.remove_container(name, force=True)
                # The engine sets an attachable overlay up on this node when a container joins
                # it and tears it down when the last one leaves: a relay started just as the
                # previous kernel's last container went is refused with "network ... not
                # found". A new one tries again.
                refused = str(err.explanation)
                if not ("network" in refused and "not found" in refused):
                    raise
                if attempt == RELAY_ATTEMPTS - 1:
                    raise
                log.info("jupyter-nj: relay %s refused (%s); starting it again", name, refused)
                time.sleep(0.2 * (attempt + 1))
        self.relay_id = str(relay.id)
        if request.internal:
            # An internal overlay (runtime_network `none`) publishes no port: the engine's
            # default bridge does. (Attached after the start; the overlay is attached at
            # creation, since attaching a swarm network to a running container can race the
            # network's set-up on this node.)
            self.client.api.connect_container_to_network(relay.id, RELAY_PUBLISH_NETWORK)
        relay.reload()
        published = relay.attrs["NetworkSettings"]["Ports"] or {}
        for channel, port in request.kernel_ports.items():
            bindings = published.get(f"{port}/tcp") or []
            host = [b for b in bindings if b.get("HostIp") == "127.0.0.1"]
            if not host:
                raise NJError(503, "swarm-relay", "The kernel's relay published no port.")
            self.host_ports[channel] = int(host[0]["HostPort"])
        self.kernel_ports = dict(request.kernel_ports)

    # -- life cycle ----------------------------------------------------------------------------

    def dead_reason(self) -> str:
        """Why the kernel is gone ("" while its task runs): the task's state and error as Swarm
        reports them, a node that went down, a service or relay removed from outside."""
        from docker.errors import NotFound

        if self.service_id is None:
            return "the runtime was stopped"
        removed = "the runtime's swarm service was removed"
        try:
            # A removed service lingers, `PendingDelete`, while its task stops, and its tasks
            # are no longer listed.
            if self.client.api.inspect_service(self.service_id).get("PendingDelete"):
                return removed
            task = self.latest_task()
        except NotFound:
            return removed
        state = task_state(task)
        node = self._node_problem(task)
        if state not in ALIVE_STATES:
            return f"the runtime's {describe_task(task)}" + (f" ({node})" if node else "")
        if node and "drained" not in node:  # a drained node's tasks are stopped by Swarm next
            return node
        if self.relay_id is not None:
            try:
                relay = self.client.api.inspect_container(self.relay_id)
            except NotFound:
                return "the relay between the server and the runtime was removed"
            if not relay["State"].get("Running"):
                return "the relay between the server and the runtime stopped"
        return ""

    def _node_problem(self, task: dict[str, Any] | None) -> str:
        """What is wrong with the node of `task`, if anything: gone, down, or drained."""
        from docker.errors import NotFound

        node_id = (task or {}).get("NodeID")
        if not node_id:
            return ""
        try:
            node = self.client.api.inspect_node(node_id)
        except NotFound:
            return f"the node {node_id} running the runtime left the swarm"
        host = (node.get("Description") or {}).get("Hostname", node_id)
        status = node.get("Status") or {}
        if status.get("State") == "down":
            why = status.get("Message") or "no heartbeat"
            return f"the node {host} running the runtime is down ({why})"
        if (node.get("Spec") or {}).get("Availability") == "drain":
            return f"the node {host} running the runtime was drained"
        return ""

    def exit_code(self) -> int:
        from docker.errors import NotFound

        try:
            task = self.latest_task() if self.service_id else None
        except NotFound:
            return -1  # the service is gone, and its tasks with it
        status = (task or {}).get("Status") or {}
        code = (status.get("ContainerStatus") or {}).get("ExitCode")
        return int(code) if code else -1

    def send_signal(self, signum: int) -> None:
        """Signal the task's container (docker-init forwards it to the kernel); a task on a node
        this engine cannot reach is stopped by removing its service instead."""
        from docker.errors import APIError, NotFound

        if self.container_id is None:
            return
        try:
            self.client.api.kill(self.container_id, signal=int(signum))
        except NotFound:
            if signum in (signal.SIGKILL, signal.SIGTERM):
                self.remove()
        except APIError:
            pass  # already stopped

    def remove(self, keep_relay: bool = False, wait: float = 20.0) -> None:
        """Remove the service (and the relay, unless a restart keeps it), and wait until the
        service and the task's container are gone on this engine, so nothing of the runtime
        outlives its shutdown and a restart can take the service's name again."""
        from docker.errors import APIError, NotFound

        if self.relay_id is not None and not keep_relay:
            with contextlib.suppress(NotFound):
                self.client.api.remove_container(self.relay_id, force=True)
            self.relay_id = None
            self.host_ports, self.kernel_ports = {}, {}
        deadline = time.monotonic() + wait
        if self.service_id is not None:
            with contextlib.suppress(NotFound):
                self.client.api.remove_service(self.service_id)
                while time.monotonic() < deadline:
                    self.client.api.inspect_service(self.service_id)  # NotFound once it is gone
                    time.sleep(0.1)
            self.service_id = None
        if self.container_id is not None:
            # On this engine the task's container is removed at once, rather than when the
            # swarm agent gets to it (seconds later).
            with contextlib.suppress(APIError):
                self.client.api.remove_container(self.container_id, force=True)
            while time.monotonic() < deadline:
                try:
                    self.client.api.inspect_container(self.container_id)
                except NotFound:
                    break
                except APIError:
                    pass  # being removed right now
                time.sleep(0.1)
            self.container_id = None


def task_state(task: dict[str, Any] | None) -> str:
    return str(((task or {}).get("Status") or {}).get("State") or "")


def describe_task(task: dict[str, Any] | None) -> str:
    """`task failed: task: non-zero exit (137)`, as Swarm reports a task's state."""
    if task is None:
        return "service has no task yet"
    status = task.get("Status") or {}
    state = status.get("State") or "unknown"
    detail = status.get("Err") or status.get("Message") or ""
    code = (status.get("ContainerStatus") or {}).get("ExitCode")
    text = f"task {state}"
    if detail:
        text += f": {detail}"
    if code and f"({code})" not in detail:
        text += f" (exit code {code})"
    return text


def _address_on(task: dict[str, Any] | None, network: str) -> str:
    for attachment in (task or {}).get("NetworksAttachments") or []:
        if (attachment.get("Network") or {}).get("Spec", {}).get("Name") == network:
            for address in attachment.get("Addresses") or []:
                return str(address).split("/", 1)[0]
    return ""


def remove_orphan_services(
    client: Any,
    role_label: str,
    server_label: str,
    server: str,
    created_before: float | None = None,
) -> int:
    """Remove the kernel services a crashed run of this server left (their relays are kernel
    containers, which the container sweep removes). The sweep runs beside the new server: with
    `created_before` (a Unix time, the server's start), only services made earlier count."""
    from docker.errors import APIError, NotFound

    try:
        services = client.api.services(
            filters={"label": [f"{role_label}=kernel", f"{server_label}={server}"]}
        )
    except APIError:
        return 0  # not a swarm manager (any more): no services to sweep
    if created_before is not None:
        services = [s for s in services if _unix_time(s.get("CreatedAt", "")) < created_before]
    for service in services:
        with contextlib.suppress(NotFound):
            client.api.remove_service(service["ID"])
    return len(services)


def _unix_time(stamp: str) -> float:
    """An engine's RFC 3339 time in UTC with nanoseconds (`2026-12-03T13:45:17.123456789Z`)."""
    from datetime import datetime, timezone

    whole, _, fraction = stamp.rstrip("Z").partition(".")
    try:
        when = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return 0.0  # unreadable: old enough to be an orphan
    return when.timestamp() + float(f"0.{fraction or 0}")
