"""GET /nj/api/status and `jupyter nj status` report the real state of each backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import hvac
import pytest

from ..services import OpenBaoServer, start_openbao_dev_server


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {backend["name"]: backend for backend in report["backends"]}


async def fetch_status(jp_fetch: Any) -> dict[str, Any]:
    response = await jp_fetch("nj", "api", "status")
    assert response.code == 200
    return json.loads(response.body)


@pytest.fixture
def nj_config() -> dict[str, Any]:
    """Extra NJApp traits for one test; the jp_server_config fixture below merges them in."""
    return {}


@pytest.fixture
def jp_server_config(nj_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True, "jupyter_server_ydoc": True},
            "allow_unauthenticated_access": False,
        },
        "NJApp": nj_config,
    }


async def test_status_reports_version_and_every_backend(jp_fetch: Any, docker_client: Any) -> None:
    from jupyter_nj import __version__

    report = await fetch_status(jp_fetch)
    assert report["version"] == __version__
    backends = by_name(report)
    assert set(backends) == {"docker", "vault", "history", "collaboration", "gpus"}
    for backend in backends.values():
        assert set(backend) >= {"name", "label", "live", "detail", "hint", "facts"}
    # A real engine is running for the test suite: the probe must see the same version.
    assert backends["docker"]["live"] is True
    assert backends["docker"]["facts"]["server_version"] == docker_client.version()["Version"]
    assert backends["history"]["live"] is True
    assert backends["collaboration"]["live"] is True
    # These machines have no NVIDIA driver: said so, with what to do, never an error.
    assert backends["gpus"]["live"] is False
    assert backends["gpus"]["detail"] == "no NVIDIA driver on this host"
    assert "NVIDIA container toolkit" in backends["gpus"]["hint"]


@pytest.mark.parametrize("nj_config", [{"docker_host": "unix:///nonexistent/docker.sock"}])
async def test_unreachable_docker_engine_is_reported_not_an_error(jp_fetch: Any) -> None:
    docker = by_name(await fetch_status(jp_fetch))["docker"]
    assert docker["live"] is False
    assert "not reachable" in docker["detail"]
    assert "local uv environments" in docker["hint"]


@pytest.fixture
def no_vault_environment(monkeypatch: Any) -> None:
    for name in ("VAULT_ADDR", "VAULT_TOKEN", "BAO_ADDR", "BAO_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_vault_environment")
async def test_vault_not_configured_says_so(jp_fetch: Any) -> None:
    vault = by_name(await fetch_status(jp_fetch))["vault"]
    assert vault["live"] is False
    assert vault["facts"]["configured"] is False
    assert "NJApp.vault_url" in vault["hint"]


class TestVaultProbeAgainstOpenBao:
    @pytest.fixture
    def nj_config(self, openbao: OpenBaoServer) -> dict[str, Any]:
        return {"vault_url": openbao.url, "vault_token": openbao.token}

    async def test_live_with_a_valid_token(self, jp_fetch: Any, openbao: OpenBaoServer) -> None:
        vault = by_name(await fetch_status(jp_fetch))["vault"]
        assert vault["live"] is True, vault
        assert vault["facts"]["sealed"] is False
        # The token never appears in what the endpoint returns.
        assert openbao.token not in json.dumps(vault)


class TestVaultProbeWithARevokedToken:
    @pytest.fixture
    def nj_config(self, openbao: OpenBaoServer) -> dict[str, Any]:
        admin = hvac.Client(url=openbao.url, token=openbao.token)
        child = admin.auth.token.create(ttl="1h", policies=["default"])["auth"]["client_token"]
        admin.auth.token.revoke(token=child)
        return {"vault_url": openbao.url, "vault_token": child}

    async def test_not_live_and_says_the_token_was_refused(
        self, jp_fetch: Any, nj_config: dict[str, Any]
    ) -> None:
        vault = by_name(await fetch_status(jp_fetch))["vault"]
        assert vault["live"] is False
        assert "refused the configured token" in vault["detail"]
        assert nj_config["vault_token"] not in json.dumps(vault)


@pytest.fixture(scope="module")
def sealed_openbao() -> Any:
    # A server of its own: sealing the shared one would break every other Vault test.
    server = start_openbao_dev_server()
    hvac.Client(url=server.url, token=server.token).sys.seal()
    yield server
    server.stop()


class TestVaultProbeSealed:
    @pytest.fixture
    def nj_config(self, sealed_openbao: OpenBaoServer) -> dict[str, Any]:
        return {"vault_url": sealed_openbao.url, "vault_token": sealed_openbao.token}

    async def test_sealed_server_is_reported_with_what_to_do(self, jp_fetch: Any) -> None:
        vault = by_name(await fetch_status(jp_fetch))["vault"]
        assert vault["live"] is False
        assert "sealed" in vault["detail"]
        assert "unseal" in vault["hint"]


class TestVaultProbeUnreachable:
    @pytest.fixture
    def nj_config(self) -> dict[str, Any]:
        from ..services import free_loopback_port

        return {"vault_url": f"http://127.0.0.1:{free_loopback_port()}", "vault_token": "x"}

    async def test_unreachable_server_is_reported(self, jp_fetch: Any) -> None:
        vault = by_name(await fetch_status(jp_fetch))["vault"]
        assert vault["live"] is False
        assert "not reachable" in vault["detail"]


class TestHistoryStoreNotWritable:
    @pytest.fixture
    def nj_config(self, tmp_path: Path) -> dict[str, Any]:
        # A regular file where the store's folder should be: no user, root included, can create
        # a folder below it, so this fails the same way for every test runner.
        blocker = tmp_path / "blocker"
        blocker.write_text("not a folder")
        return {"nj_dir": str(blocker / "nj")}

    async def test_reported_with_advice(self, jp_fetch: Any) -> None:
        history = by_name(await fetch_status(jp_fetch))["history"]
        assert history["live"] is False
        assert "not writable" in history["detail"]
        assert "NJApp.nj_dir" in history["hint"]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_nj.cli", *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_status_json_matches_the_backends(tmp_path: Path, openbao: OpenBaoServer) -> None:
    import os

    data = tmp_path / "jupyter-data"
    env = {
        **os.environ,
        "VAULT_ADDR": openbao.url,
        "VAULT_TOKEN": openbao.token,
        "JUPYTER_DATA_DIR": str(data),
    }
    root = tmp_path / "root"
    root.mkdir()
    result = run_cli("status", "--json", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    backends = by_name(json.loads(result.stdout))
    assert backends["vault"]["live"] is True
    # jupyter-nj's data is its own folder under the Jupyter data dir, never in the root.
    history_path = Path(backends["history"]["facts"]["path"])
    assert data in history_path.parents and root.name in history_path.name
    assert openbao.token not in result.stdout


def test_cli_status_human_output_gives_advice_for_what_is_down(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    result = run_cli("status", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "[down] Vault / OpenBao: not configured" in result.stdout
    assert "-> To keep secrets in Vault or OpenBao" in result.stdout


def test_cli_without_a_command_explains_usage(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: jupyter nj" in result.stderr


class TestVaultProbeWithAppRole:
    @pytest.fixture
    def nj_config(self, openbao: OpenBaoServer) -> dict[str, Any]:
        # No token configured: the server would log in with AppRole itself.
        return {"vault_url": openbao.url, "vault_token": "", "vault_auth_method": "approle"}

    @pytest.mark.usefixtures("no_vault_environment")
    async def test_reported_live_with_the_login_method(self, jp_fetch: Any) -> None:
        vault = by_name(await fetch_status(jp_fetch))["vault"]
        assert vault["live"] is True, vault
        assert "logs in with approle" in vault["detail"]
