"""A real JupyterHub for the tests: the hub, configurable-http-proxy and one local server per
user, started from deploy/jupyterhub/jupyterhub_config.py (tests/hub/jupyterhub_test_config.py
adds the test's authenticator, spawner and ports).

Missing JupyterHub or configurable-http-proxy fails the tests rather than skipping them: `make
test` installs both (the `test` extra and deploy/jupyterhub/package.json).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

REPO = Path(__file__).resolve().parents[2]
TEST_CONFIG = Path(__file__).with_name("jupyterhub_test_config.py")
PROXY = REPO / "deploy" / "jupyterhub" / "node_modules" / ".bin" / "configurable-http-proxy"
# Loopback ports this suite may use: hub, proxy, proxy API, then the users' servers.
# NJ_HUB_TEST_PORTS=9000-9030 moves them, so that two checkouts can run this suite side by side.
_first, _stop = os.environ.get("NJ_HUB_TEST_PORTS", "8940-8970").split("-")
PORTS = range(int(_first), int(_stop))
AUTH_CACHE_SECONDS = 1


def free_ports(count: int, ports: range) -> list[int]:
    found = []
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"fewer than {count} free loopback ports in {ports}")


def processes_with(**wanted: str) -> list[psutil.Process]:
    """Live processes whose environment has every `variable=value` of `wanted` (readable ones:
    this machine's user's). Name the run (NJ_HUB_TEST_RUN) as well as the user: hub suites of
    other checkouts have users of the same names."""
    found = []
    for process in psutil.process_iter():
        try:
            env = process.environ()
            if all(env.get(k) == v for k, v in wanted.items()) and process.status() != "zombie":
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def processes_of(hub: Hub, user: str) -> list[psutil.Process]:
    """`user`'s server and kernels in this hub's run (other checkouts run hubs with the same
    user names at the same time)."""
    return processes_with(NJ_HUB_TEST_USER=user, NJ_HUB_TEST_RUN=hub.run_id)


def kill_all(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=10)


@dataclass
class Hub:
    url: str  # the proxy's public address: what browsers and scripts use
    admin_token: str
    homes: Path
    run_id: str
    process: subprocess.Popen[bytes]
    log_path: Path
    password: str  # every test user's (the shared-password authenticator)
    tokens: dict[str, str] = field(default_factory=dict)
    # The jupyter-nj hub service straight (not through the proxy), as users' servers reach it.
    service_url: str = ""
    hub_port: int = 0  # the hub's own port (its API without the proxy, as services reach it)

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        """A hub REST call (`/hub/api/<path>`), as the test's admin service by default."""
        headers = {"Authorization": f"token {token or self.admin_token}"}
        return requests.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=30, **kwargs
        )

    def server(
        self,
        user: str,
        path: str,
        as_user: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """A request to `user`'s server (`/user/<user>/<path>`) with `as_user`'s token (or
        `token`)."""
        token = token or self.tokens[as_user or user]
        method = kwargs.pop("method", "GET")
        timeout = kwargs.pop("timeout", 60)
        return requests.request(
            method,
            f"{self.url}/user/{user}/{path}",
            headers={"Authorization": f"token {token}"},
            allow_redirects=False,
            timeout=timeout,
            **kwargs,
        )

    def server_once_cache_expired(
        self, user: str, path: str, as_user: str, status: int, timeout: float = 15
    ) -> Any:
        """Ask until the answer has `status`: a server answers from its cache of the hub's
        answers about a token for AUTH_CACHE_SECONDS, so a share or a revocation lands later."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.server(user, path, as_user=as_user)
            if reply.status_code == status or time.monotonic() > deadline:
                return reply
            time.sleep(0.25)

    def browser_login(self, user: str) -> requests.Session:
        """A browser session logged in at the hub as `user` (the hub's login form), as
        JupyterLab's users have before any server's OAuth handshake."""
        browser = requests.Session()
        browser.get(f"{self.url}/hub/login", timeout=30)
        login = browser.post(
            f"{self.url}/hub/login",
            data={"username": user, "password": self.password, "_xsrf": browser.cookies["_xsrf"]},
            timeout=30,
        )
        assert login.status_code == 200, login.status_code
        return browser

    def add_to_group(self, group: str, users: list[str]) -> None:
        reply = self.api("POST", f"groups/{group}", json={"users": users})
        if reply.status_code == 409:  # exists: add the members
            reply = self.api("POST", f"groups/{group}/users", json={"users": users})
        assert reply.status_code in (200, 201), reply.text

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def start_server(self, user: str, timeout: float = 120) -> None:
        reply = self.api("POST", f"users/{user}/server")
        assert reply.status_code in (201, 202, 400), reply.text  # 400: already running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{user}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return
            if not model.get("pending") and not server:
                raise AssertionError(f"{user}'s server did not start:\n{self.log_tail()}")
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server not ready in {timeout:g} s:\n{self.log_tail()}")

    def stop_server(self, user: str, timeout: float = 60) -> None:
        reply = self.api("DELETE", f"users/{user}/server")
        assert reply.status_code in (202, 204), reply.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{user}").json()
            if not model.get("servers") and not model.get("pending"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server did not stop in {timeout:g} s")


async def kernel_websocket(hub: Hub, user: str, kernel_id: str) -> WebSocketClientConnection:
    """The kernel's websocket in `user`'s server, opened as JupyterLab opens it."""
    url = hub.url.replace("http://", "ws://") + f"/user/{user}/api/kernels/{kernel_id}/channels"
    return await websocket_connect(
        HTTPRequest(url, headers={"Authorization": f"token {hub.tokens[user]}"})
    )


def execute_request(user: str, code: str) -> tuple[str, str]:
    """An execute_request for a kernel websocket: its message id and the frame to send."""
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "username": user,
        "session": uuid.uuid4().hex,
        "version": "5.3",
        "date": datetime.now(timezone.utc).isoformat(),
    }
    content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
    message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
    return msg_id, json.dumps({**message, "channel": "shell", "buffers": []})


def require_hub_tools() -> str:
    """The jupyterhub command beside this Python, and the proxy; fail (never skip) without."""
    jupyterhub = Path(sys.executable).with_name("jupyterhub")
    missing = []
    if not jupyterhub.exists():
        missing.append(f"jupyterhub ({jupyterhub}; the `test` extra installs it)")
    try:
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError:
        missing.append("jupyterhub-idle-culler (the `test` extra installs it)")
    if not PROXY.exists() and shutil.which("configurable-http-proxy") is None:
        missing.append("configurable-http-proxy (`npm ci` in deploy/jupyterhub, as make does)")
    if missing:
        pytest.fail("JupyterHub tests need " + ", ".join(missing), pytrace=False)
    return str(jupyterhub)


@contextmanager
def running_hub(base: Path, openbao: Any = None, **settings: str) -> Iterator[Hub]:
    """A running hub with users alice, bob and carol, each with an API token; no server yet.
    With `openbao`, the hub service gets its address and token (secrets across users), under a
    KV folder of this run's own. `settings` are more environment variables for the hub
    (NJ_HUB_* of the deploy config, NJ_HUB_TEST_* of the test config)."""
    jupyterhub = require_hub_tools()
    homes = base / "home"
    homes.mkdir()
    hub_port, proxy_port, proxy_api_port, pages_port = free_ports(4, PORTS)
    run_id = secrets.token_hex(8)
    admin_token = secrets.token_hex(32)
    password = secrets.token_hex(16)
    env = {
        **os.environ,
        "NJ_HUB_STATE_DIR": str(base / "state"),
        # Servers trust the hub's answer about a token this long: shares and group changes
        # reach them within it (the deploy default is 60 s).
        "NJ_HUB_AUTH_CACHE_SECONDS": str(AUTH_CACHE_SECONDS),
        "NJ_HUB_TEST_PASSWORD": password,
        "NJ_HUB_TEST_ADMIN_TOKEN": admin_token,
        "NJ_HUB_TEST_HUB_PORT": str(hub_port),
        "NJ_HUB_TEST_PROXY_PORT": str(proxy_port),
        "NJ_HUB_TEST_PROXY_API_PORT": str(proxy_api_port),
        "NJ_HUB_TEST_SERVER_PORTS": f"{proxy_api_port + 1}-{PORTS.stop}",
        "NJ_HUB_PAGES_PORT": str(pages_port),
        "NJ_HUB_TEST_HOMES": str(homes),
        "NJ_HUB_TEST_RUN": run_id,
        "PYTHONPATH": str(REPO),
        **settings,
    }
    if openbao is not None:
        env["NJ_HUB_VAULT_ADDR"] = openbao.url
        env["NJ_HUB_VAULT_TOKEN"] = openbao.token
        env["NJ_HUB_VAULT_PATH_PREFIX"] = f"jupyter-nj-{run_id}"
    log_path = base / "jupyterhub.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [jupyterhub, "-f", str(TEST_CONFIG)],
            cwd=base,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(
        url=f"http://127.0.0.1:{proxy_port}",
        admin_token=admin_token,
        homes=homes,
        run_id=run_id,
        process=process,
        log_path=log_path,
        password=password,
        service_url=f"http://127.0.0.1:{pages_port}/services/nj-pages/",
        hub_port=hub_port,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyterhub exited with {process.returncode}:\n{hub.log_tail()}")
            try:
                # Through the proxy: this answers once the hub, the proxy and its routes are up.
                if hub.api("GET", "").status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the hub did not answer within 60 s:\n{hub.log_tail()}")
            time.sleep(0.3)
        # The authenticator's allowed users exist from the hub's start; create them otherwise.
        reply = hub.api("POST", "users", json={"usernames": ["alice", "bob", "carol"]})
        assert reply.status_code in (201, 409), reply.text
        for user in ("alice", "bob", "carol"):
            reply = hub.api("POST", f"users/{user}/tokens", json={"note": "jupyter-nj hub tests"})
            assert reply.status_code == 201, reply.text
            hub.tokens[user] = reply.json()["token"]
        yield hub
    finally:
        stop_hub(hub)


def start_hub_service(
    hub: Hub, openbao: Any, folder: Path, *options: str
) -> tuple[str, subprocess.Popen[bytes]]:
    """A second jupyter-nj hub service beside the hub's, started by hand with `options`, on
    the hub's OpenBao folder and API (a user's token is good for it: same service name).
    Returns its base URL and process; the caller stops it."""
    (port,) = free_ports(1, PORTS)  # users' servers skip a port taken
    folder.mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "VAULT_ADDR": openbao.url,
        "VAULT_TOKEN": openbao.token,
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.hub_port}/hub/api",
        "JUPYTERHUB_SERVICE_NAME": "nj-pages",
        "NJ_HUB_TEST_RUN": hub.run_id,  # so that the hub's teardown kills it if a test does not
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "jupyter_nj.cli", "hub-service"),
            *("--publish-dir", str(folder), "--port", str(port)),
            *("--prefix", "/services/nj-pages/", "--vault-path-prefix", f"jupyter-nj-{hub.run_id}"),
            *options,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/services/nj-pages/"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "health", timeout=2).ok:
                return url, process
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError("the second hub service did not start")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, openbao: Any) -> Iterator[Hub]:
    """A hub of the module's own, as the deploy config sets it up, its service holding the
    (session's) OpenBao's token."""
    with running_hub(tmp_path_factory.mktemp("hub"), openbao) as running:
        yield running


def stop_hub(hub: Hub) -> None:
    """Stop the hub (which stops the servers, the services and the proxy), then kill whatever
    this run started and is still alive, so a failed test never leaves processes behind."""
    if hub.process.poll() is None:
        hub.process.send_signal(signal.SIGTERM)
        try:
            hub.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.process.pid, signal.SIGKILL)
            hub.process.wait(timeout=10)
    kill_all(processes_with(NJ_HUB_TEST_RUN=hub.run_id))


async def execute(hub: Hub, user: str, kernel_id: str, code: str, until: str = "idle") -> str:
    """Send `code` to the kernel over its websocket through the hub's proxy, as JupyterLab does,
    and hang up once the kernel reports `until` for it: "busy" leaves the computation running
    with no client, "idle" waits for its end. Returns what it printed by then."""
    ws = await kernel_websocket(hub, user, kernel_id)
    msg_id, frame = execute_request(user, code)
    await ws.write_message(frame)
    printed = []
    try:
        while True:
            raw = await asyncio.wait_for(ws.read_message(), 60)
            assert raw is not None, "the kernel's websocket closed"
            reply = json.loads(raw)
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = reply.get("msg_type")
            if kind == "stream":
                printed.append(reply["content"]["text"])
            elif kind == "error":
                raise AssertionError("\n".join(reply["content"]["traceback"]))
            elif kind == "status" and reply["content"]["execution_state"] == until:
                return "".join(printed)
    finally:
        ws.close()
