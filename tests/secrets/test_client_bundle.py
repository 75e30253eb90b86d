"""The kernel-side client where nothing of jupyter-nj is installed: a bare interpreter without
site-packages, and a Docker container with no network, running as an unprivileged user."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import multi_user_server_config
from .test_runtime import VALUE, api, make_notebook

pytestmark = pytest.mark.openbao

PROBE = """
import hashlib, os, socket, stat, sys
from jupyter_nj import secrets
path = os.environ["NJ_SECRETS_SOCKET"]
print("socket", path, stat.S_ISSOCK(os.stat(path).st_mode))
try:
    socket.create_connection(("192.0.2.1", 80), timeout=5).close()
    print("network reachable")
except OSError:
    print("no network")
print("client from", secrets.__file__.split("jupyter_nj")[0])
value = secrets.get("API_TOKEN")
print("sha256", hashlib.sha256(value.encode()).hexdigest())
print("names", secrets.names())
try:
    secrets.get("NOT_ATTACHED")
except secrets.SecretAccessError as err:
    print("refused", err.reason)
print("uid", os.getuid())
"""


@pytest.fixture
def jp_server_config(backend_kind: str, request: Any, tmp_path: Path) -> dict[str, Any]:
    return multi_user_server_config(backend_kind, request, tmp_path)


async def prepared_runtime(jp_fetch: Any, jp_serverapp: Any) -> Any:
    await api(jp_fetch, "alice", "PUT", "nj", "api", "secrets", "API_TOKEN", body={"value": VALUE})
    await api(
        jp_fetch, "alice", "PUT", "nj", "api", "secrets", "NOT_ATTACHED", body={"value": "x" * 8}
    )
    await make_notebook(jp_fetch, "alice", "nb.ipynb", ["API_TOKEN"])
    manager = jp_serverapp.web_app.settings["nj_app"].secrets_manager
    return await manager.runtime_environment("nb.ipynb", "alice")


def check_probe_output(output: str, client_root: str) -> None:
    assert f"sha256 {hashlib.sha256(VALUE.encode()).hexdigest()}" in output, output
    assert "names ['API_TOKEN']" in output
    assert "refused not-attached" in output
    assert f"client from {client_root}" in output


async def test_client_needs_nothing_installed(
    jp_fetch: Any, jp_serverapp: Any, tmp_path: Path
) -> None:
    runtime = await prepared_runtime(jp_fetch, jp_serverapp)
    env = runtime.apply_to({"PATH": "/usr/bin:/bin"})
    # -S: no site-packages at all, so only the copied, dependency-free client can answer.
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-S", "-c", PROBE],
        env=env,
        cwd=tmp_path,  # not the source tree, whose jupyter_nj would be found first
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    check_probe_output(result.stdout, runtime.python_path + "/")
    assert f"socket {runtime.host_folder}/secrets.sock True" in result.stdout


@pytest.mark.docker
@pytest.mark.parametrize("backend_kind", ["local"])  # the path does not depend on the backend
async def test_client_in_a_container_without_network_as_another_user(
    jp_fetch: Any,
    jp_serverapp: Any,
    docker_client: Any,
    runtime_base_image: str,
    backend_kind: str,
) -> None:
    image = runtime_base_image
    runtime = await prepared_runtime(jp_fetch, jp_serverapp)
    container = docker_client.containers.run(
        image,
        ["python3", "-c", PROBE],
        environment=runtime.container_env("/run/nj-secrets"),
        volumes={runtime.host_folder: {"bind": "/run/nj-secrets", "mode": "ro"}},
        network_mode="none",
        user="1000:100",
        detach=True,
    )
    try:
        # The server answers the container on this event loop: wait in a thread.
        status = await asyncio.to_thread(container.wait, timeout=120)
        output = container.logs().decode()
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, output
    check_probe_output(output, "/run/nj-secrets/python/")
    assert "uid 1000" in output
    # The server's container variables led the client to the socket in the mount, the only way in.
    assert "socket /run/nj-secrets/secrets.sock True" in output
    assert "no network" in output
