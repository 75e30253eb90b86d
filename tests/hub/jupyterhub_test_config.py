"""The operator's deploy/jupyterhub/jupyterhub_config.py, as it is, plus what a test site changes:
the authenticator, the spawner, the ports, and one service token for the test's admin calls.
The spawner is a local process per user, or with NJ_HUB_TEST_SPAWNER=docker DockerSpawner and
the image NJ_HUB_TEST_IMAGE (a site file for containers, as docs/jupyterhub.md shows).

Read by the hub the tests start (tests/hub/conftest.py sets the NJ_HUB_TEST_* variables).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

c = get_config()  # noqa: F821  (defined by the config loader)
repo = Path(__file__).resolve().parents[2]
load_subconfig(str(repo / "deploy" / "jupyterhub" / "jupyterhub_config.py"))  # noqa: F821

# --- authenticator: one shared password, only the test's users --------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["NJ_HUB_TEST_PASSWORD"]
c.Authenticator.allowed_users = {"alice", "bob", "carol"}

# --- ports: loopback only, but for the hub's own port under DockerSpawner ---------------------
docker_spawner = os.environ.get("NJ_HUB_TEST_SPAWNER") == "docker"
# Containers reach the hub at the Docker bridge's gateway, an address of this host; loopback is
# not one of theirs.
hub_ip = os.environ["NJ_HUB_TEST_HUB_IP"] if docker_spawner else "127.0.0.1"
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['NJ_HUB_TEST_PROXY_PORT']}"
c.JupyterHub.hub_bind_url = f"http://{hub_ip}:{os.environ['NJ_HUB_TEST_HUB_PORT']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['NJ_HUB_TEST_PROXY_API_PORT']}"
server_ports = range(*(int(p) for p in os.environ["NJ_HUB_TEST_SERVER_PORTS"].split("-")))


def share_alices_server(spawner: Any) -> None:
    """alice's server lets users she shares it with reach all of it (`guest_access`), as a site
    that shares whole servers for live co-editing sets; everyone else's narrows them to what
    edit links grant, the default under a hub. (NJ_HUB_TEST_OPEN_SERVERS names such users,
    comma-separated; a suite that sets it empty narrows everyone's.)"""
    open_servers = os.environ.get("NJ_HUB_TEST_OPEN_SERVERS", "alice").split(",")
    if spawner.user.name in open_servers:
        spawner.args = [*spawner.args, "--NJApp.guest_access=everything"]


# Port -> user it was handed to. Servers started together all run this hook before any of them
# binds, so a port that is free now may be another start's already: each user keeps its own.
handed_out: dict[int, str] = {}


def free_server_port(spawner: Any) -> None:
    """Each start gets a free port of the test's range (the spawner's own pick is any port)."""
    share_alices_server(spawner)
    user = spawner.user.name
    for port in server_ports:
        if handed_out.get(port, user) != user:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        handed_out[port] = user
        spawner.port = port
        return
    raise RuntimeError(f"no free port in {server_ports} for {user}")


if docker_spawner:
    # --- spawner: a container per user, of the image deploy/jupyterhub/singleuser builds -------
    c.JupyterHub.spawner_class = "docker"
    c.DockerSpawner.image = os.environ["NJ_HUB_TEST_IMAGE"]
    c.DockerSpawner.pull_policy = "never"  # built on this machine, there is no registry
    # The proxy reaches each container at its address on the bridge: no port of the host is
    # published.
    c.DockerSpawner.network_name = "bridge"
    c.DockerSpawner.use_internal_ip = True
    c.DockerSpawner.remove = True
    c.DockerSpawner.name_template = "nj-hub-test-{prefix}-{username}"
    c.DockerSpawner.prefix = os.environ["NJ_HUB_TEST_RUN"]
    # How the tests find every container of the run, to remove what a failure left behind.
    c.DockerSpawner.extra_create_kwargs = {
        "labels": {"org.jupyter-nj.hub-test-run": os.environ["NJ_HUB_TEST_RUN"]}
    }
    c.Spawner.pre_spawn_hook = share_alices_server
else:
    # --- spawner: a local process per user, from this Python environment -----------------------
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = os.environ["NJ_HUB_TEST_HOMES"] + "/{username}"
    c.Spawner.ip = "127.0.0.1"
    c.Spawner.pre_spawn_hook = free_server_port
    c.Spawner.environment.update(
        {
            # jupyter-nj from this checkout (harmless where it is installed editable from it).
            "PYTHONPATH": str(repo),
            # How the tests find every process a server left behind, kernels included.
            "NJ_HUB_TEST_RUN": os.environ["NJ_HUB_TEST_RUN"],
            "NJ_HUB_TEST_USER": lambda spawner: spawner.user.name,
        }
    )
    if os.getuid() == 0:  # CI runs as root; the simple spawner does not change users
        c.Spawner.args.append("--allow-root")
# The lab extension under test, where the run names one (scripts/hub-ui-tests.py: this
# checkout's build, ahead of the one the environment has installed).
if os.environ.get("JUPYTER_PATH"):
    c.Spawner.environment["JUPYTER_PATH"] = os.environ["JUPYTER_PATH"]
# How often a server tells the hub its last activity (the hub's default is 300 s) and looks for
# busy kernels (jupyter-nj's default is 60 s): the culling tests wait seconds, not minutes.
if os.environ.get("NJ_HUB_TEST_ACTIVITY_INTERVAL"):
    c.Spawner.environment["JUPYTERHUB_ACTIVITY_INTERVAL"] = os.environ[
        "NJ_HUB_TEST_ACTIVITY_INTERVAL"
    ]
if os.environ.get("NJ_HUB_TEST_BUSY_INTERVAL"):
    c.Spawner.args.append(
        f"--NJApp.runtime_busy_activity_interval={os.environ['NJ_HUB_TEST_BUSY_INTERVAL']}"
    )
# The secrets tests freeze the hub service: servers give up on it after 3 s, not 10.
c.Spawner.args.append("--NJApp.secrets_hub_timeout=3")
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90

# --- the test's own admin calls ---------------------------------------------------------------
c.JupyterHub.services.append(
    {"name": "nj-hub-tests", "api_token": os.environ["NJ_HUB_TEST_ADMIN_TOKEN"]}
)
c.JupyterHub.load_roles.append(
    {
        "name": "nj-hub-tests",
        "scopes": ["admin:users", "admin:servers", "admin:groups", "tokens", "read:roles"],
        "services": ["nj-hub-tests"],
    }
)
