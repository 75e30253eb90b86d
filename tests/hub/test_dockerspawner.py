"""jupyter-nj under a real JupyterHub with DockerSpawner: each user's server is a container of
the image deploy/jupyterhub/singleuser builds (from the runtime base image and a wheel of this
checkout), started by the deploy config with the test's site file switched to DockerSpawner.

Needs a Docker engine (fails in CI without one, skips elsewhere, as every Docker test does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import pytest
from docker.errors import NotFound

from .conftest import REPO, Hub, execute, running_hub
from .test_hub import save_notebook, versions

# The first test pays for the image's first build on a machine (and the runtime base image's,
# when missing): JupyterLab, jupyterhub and the default environment's packages are downloaded,
# 2-3 minutes here; a cached build takes seconds.
pytestmark = [pytest.mark.hub, pytest.mark.docker, pytest.mark.timeout(1500)]

IMAGE = "nj-singleuser:test"
RUN_LABEL = "org.jupyter-nj.hub-test-run"


@pytest.fixture(scope="module")
def singleuser_image(runtime_base_image: str) -> str:
    """The users' image, built as an operator builds it (cached by the engine: a rebuild after
    a change to jupyter-nj redoes the wheel's layers only)."""
    subprocess.run(
        [sys.executable, str(REPO / "deploy" / "jupyterhub" / "singleuser" / "build_image.py")]
        + ["--tag", IMAGE, "--base", runtime_base_image],
        check=True,
        timeout=1800,
    )
    return IMAGE


def run_containers(docker_client: Any, run_id: str) -> list[str]:
    """IDs of the run's containers. Listed without inspecting each, as `containers.list` does,
    which fails on a container removed between the two calls."""
    found = docker_client.api.containers(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    return [container["Id"] for container in found]


@pytest.fixture(scope="module")
def docker_hub(
    tmp_path_factory: pytest.TempPathFactory, docker_client: Any, singleuser_image: str
) -> Iterator[Hub]:
    gateway = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]
    hub = None
    try:
        with running_hub(
            tmp_path_factory.mktemp("docker-hub"),
            NJ_HUB_TEST_SPAWNER="docker",
            NJ_HUB_TEST_IMAGE=singleuser_image,
            NJ_HUB_TEST_HUB_IP=gateway,
        ) as hub:
            yield hub
    finally:
        # The hub stops and removes the containers it started; whatever a failure left behind
        # goes here, found by the run's label.
        if hub is not None:
            for container_id in run_containers(docker_client, hub.run_id):
                with contextlib.suppress(NotFound):
                    docker_client.api.remove_container(container_id, force=True)


def test_a_users_server_is_a_container_running_jupyter_nj(
    docker_hub: Hub, docker_client: Any
) -> None:
    hub = docker_hub
    # A container's server starts slower than a local process (a fresh container, a cold
    # import), more so on a loaded machine.
    hub.start_server("alice", timeout=180)
    (container_id,) = run_containers(docker_client, hub.run_id)
    container = docker_client.containers.get(container_id)
    assert container.status == "running"
    assert container.attrs["Config"]["User"] in ("jovyan", "1000")
    # Nothing of the host is mounted, the Docker socket least of all.
    assert container.attrs["Mounts"] == [], container.attrs["Mounts"]

    status = hub.server("alice", "nj/api/status")
    assert status.status_code == 200, status.text
    backends = {backend["name"]: backend for backend in status.json()["backends"]}
    assert not backends["docker"]["live"], backends["docker"]

    # A save through the hub's proxy is a version authored by the hub user.
    save_notebook(hub, "alice", "analysis.ipynb", "saved-in-a-container")
    (version,) = versions(hub, "alice", "analysis.ipynb")
    assert version["authors"] == ["alice"], version

    # The default environment's kernel runs in the container, on the local backend (the image
    # built its venv), as the image's unprivileged user.
    reply = hub.server("alice", "api/kernels", method="POST", json={"name": "nj-python"})
    assert reply.status_code == 201, reply.text
    kernel_id = reply.json()["id"]
    code = (
        "import json, os, socket, sys; print(json.dumps({'host': socket.gethostname(), "
        "'uid': os.getuid(), 'python': sys.executable, "
        "'socket': os.path.exists('/var/run/docker.sock')}))"
    )
    seen = json.loads(asyncio.run(execute(hub, "alice", kernel_id, code)))
    assert seen["host"] == container.attrs["Config"]["Hostname"], seen
    assert seen["uid"] == 1000, seen
    assert "/.local/share/jupyter/nj/" in seen["python"], seen
    assert seen["socket"] is False, seen

    # Stopping the server through the hub removes its container.
    hub.stop_server("alice", timeout=90)
    deadline = time.monotonic() + 60
    while run_containers(docker_client, hub.run_id):
        assert time.monotonic() < deadline, "alice's container outlived her server"
        time.sleep(0.5)


def test_the_image_runs_the_hubs_singleuser_server_unprivileged(
    docker_client: Any, singleuser_image: str
) -> None:
    image = docker_client.images.get(singleuser_image)
    assert image.attrs["Config"]["User"] == "jovyan"
    assert image.attrs["Config"]["Cmd"] == ["jupyterhub-singleuser"]
    hub_version = docker_client.containers.run(
        singleuser_image, ["jupyterhub", "--version"], remove=True, network_mode="none"
    )
    assert hub_version.decode().strip() == version("jupyterhub")
