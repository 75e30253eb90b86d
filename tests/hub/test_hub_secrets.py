"""Secrets across users under a real JupyterHub: the jupyter-nj hub service (`nj-pages`, one
process managed by the hub) holds the only Vault token, a real OpenBao; each user's server asks
it with its own hub token, and the hub's groups decide who reads what.

Tests of the module share one hub and run in the order written (the last two kill and freeze
the service).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import psutil
import pytest
import requests

from ..services import OpenBaoServer
from .conftest import Hub, execute_request, kernel_websocket, processes_of, start_hub_service

pytestmark = [pytest.mark.hub, pytest.mark.openbao]

REPO = Path(__file__).resolve().parents[2]
VALUE = "lab-db-" + uuid.uuid4().hex[:12]
BOB_VALUE = "bob-only-" + uuid.uuid4().hex[:12]
SERVICE = "nj-pages"


def write_mini_environment(home: Path) -> None:
    """`~/environments/mini`: ipykernel and nothing heavy, so a kernel starts in seconds."""
    mini = home / "environments" / "mini"
    mini.mkdir(parents=True, exist_ok=True)
    (mini / "environment.toml").write_text(
        'name = "mini"\ndisplay_name = "Mini"\nlanguage = "python"\npython = "3.11"\n'
        'kernel = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]\n'
    )
    shutil.copyfile(
        REPO / "environments" / "bash" / "requirements.lock", mini / "requirements.lock"
    )


@pytest.fixture(scope="module")
def servers(hub: Hub) -> Iterator[Hub]:
    hub.add_to_group("lab", ["bob"])
    for user in ("alice", "bob", "carol"):
        write_mini_environment(hub.homes / user)
        hub.start_server(user)
    yield hub


def put_secret(hub: Hub, user: str, name: str, body: dict[str, Any]) -> Any:
    return hub.server(user, f"nj/api/secrets/{name}", method="PUT", json=body)


def service(hub: Hub, path: str, token: str | None, method: str = "GET") -> Any:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(
        method, f"{hub.url}/services/{SERVICE}/nj/api/{path}", headers=headers, timeout=30
    )


def save_notebook(hub: Hub, user: str, path: str) -> None:
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    reply = hub.server(
        user,
        f"api/contents/{path}",
        method="PUT",
        json={"type": "notebook", "format": "json", "content": notebook},
    )
    assert reply.status_code in (200, 201), reply.text


def start_kernel(hub: Hub, user: str, notebook: str) -> str:
    """A runtime of `notebook` in `user`'s server, started as JupyterLab does (a session)."""
    built = hub.server(
        user,
        "nj/api/environments/mini/build",
        method="POST",
        json={"backend": "local"},
        timeout=600,
    )
    assert built.status_code in (200, 201), built.text
    reply = hub.server(
        user,
        "api/sessions",
        method="POST",
        json={"path": notebook, "type": "notebook", "kernel": {"name": "nj-mini"}},
        timeout=300,
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["kernel"]["id"])


def run_code(hub: Hub, user: str, kernel_id: str, code: str, timeout: float = 60) -> str:
    """Execute `code` over the kernel's websocket, as JupyterLab does; what it printed."""

    async def run() -> str:
        ws = await kernel_websocket(hub, user, kernel_id)
        msg_id, frame = execute_request(user, code)
        await ws.write_message(frame)
        out: list[str] = []
        try:
            while True:
                raw = await asyncio.wait_for(ws.read_message(), timeout)
                assert raw is not None, "the kernel's websocket closed"
                message = json.loads(raw)
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                content = message["content"]
                if message["msg_type"] == "stream":
                    out.append(content["text"])
                elif message["msg_type"] == "error":
                    out.append(f"{content['ename']}: {content['evalue']}")
                elif message["msg_type"] == "status" and content["execution_state"] == "idle":
                    # Idle, not execute_reply: iopub (the output) and shell (the reply) are
                    # two channels, and the reply may come first.
                    return "".join(out)
        finally:
            ws.close()

    return asyncio.run(run())


READ = (
    "from jupyter_nj import secrets\n"
    "try:\n"
    "    print('value:', secrets.get('LAB_DB_PASSWORD'))\n"
    "except secrets.SecretError as e:\n"
    "    print('refused:', e.reason)\n"
)


def test_no_users_server_holds_a_vault_token(servers: Hub, openbao: OpenBaoServer) -> None:
    for user in ("alice", "bob", "carol"):
        found = processes_of(servers, user)
        assert found, f"{user}'s server is not running"
        for process in found:
            env = process.environ()
            for variable in ("VAULT_TOKEN", "BAO_TOKEN", "VAULT_ADDR", "BAO_ADDR"):
                assert variable not in env, (user, variable)
            assert openbao.token not in json.dumps(env)
            assert env.get("NJ_SECRETS_HUB_URL", "").endswith(f"/services/{SERVICE}/")
    listing = servers.server("bob", "nj/api/secrets")
    assert listing.status_code == 200, listing.text
    assert listing.json()["backend"] == "hub"
    status = servers.server("bob", "nj/api/status").json()
    backends = {b["name"]: b for b in status["backends"]}
    assert "vault" not in backends and backends["secrets-hub"]["live"], backends


def test_alice_shares_with_lab_bob_reads_in_his_own_kernel_carol_is_refused(
    servers: Hub, openbao: OpenBaoServer
) -> None:
    made = put_secret(
        servers,
        "alice",
        "LAB_DB_PASSWORD",
        {"value": VALUE, "description": "lab db", "shared_with": {"groups": ["lab"]}},
    )
    assert made.status_code == 201, made.text
    assert made.json()["owner"] == "alice"
    # Kept in OpenBao, by the service: the record is there, owned by alice.
    vault = hvac.Client(url=openbao.url, token=openbao.token)
    stored = vault.secrets.kv.v2.read_secret_version(
        path=f"jupyter-nj-{servers.run_id}/LAB_DB_PASSWORD",
        mount_point="secret",
        raise_on_deleted_version=True,
    )
    assert stored["data"]["data"]["value"] == VALUE

    listing = servers.server("bob", "nj/api/secrets")
    assert listing.status_code == 200, listing.text
    assert (listing.json()["user"], listing.json()["groups"]) == ("bob", ["lab"])
    names = [s["name"] for s in listing.json()["secrets"]]
    assert names == ["LAB_DB_PASSWORD"], names
    assert VALUE not in listing.text

    save_notebook(servers, "bob", "lab.ipynb")
    attached = servers.server(
        "bob",
        "nj/api/secret-attachments/lab.ipynb",
        method="PUT",
        json={"secrets": ["LAB_DB_PASSWORD"]},
    )
    assert attached.status_code == 200, attached.text
    assert attached.json()["secrets"] == [{"name": "LAB_DB_PASSWORD", "status": "ok"}]
    kernel = start_kernel(servers, "bob", "lab.ipynb")
    printed = run_code(
        servers,
        "bob",
        kernel,
        READ + "import os\nprint(len(os.environ.get('LAB_DB_PASSWORD', '')))\n",
    )
    # The browser sees the value redacted: it reached the kernel, and not the page.
    assert "value: " in printed and VALUE not in printed, printed
    assert f"\n{len(VALUE)}\n" in printed, printed
    # The kernel has the value it was given, not the server's hub token (which would reach
    # every secret bob may read through the service).
    tokens = run_code(
        servers,
        "bob",
        kernel,
        "import os\nprint(sorted(k for k in os.environ if k in "
        "{'JUPYTERHUB_API_TOKEN', 'JPY_API_TOKEN', 'VAULT_TOKEN', 'BAO_TOKEN'}))",
    )
    assert tokens.strip() == "[]", tokens
    checked = run_code(
        servers, "bob", kernel, f"print(secrets.get('LAB_DB_PASSWORD') == {VALUE!r})"
    )
    assert checked.strip() == "True", checked

    # carol: not in `lab`, so nothing to list, 404 for the name, and her kernel gets nothing.
    carol = servers.server("carol", "nj/api/secrets")
    assert carol.status_code == 200 and carol.json()["secrets"] == [], carol.text
    hidden = servers.server("carol", "nj/api/secrets/LAB_DB_PASSWORD")
    assert hidden.status_code == 404, hidden.text
    save_notebook(servers, "carol", "mine.ipynb")
    refused = servers.server(
        "carol",
        "nj/api/secret-attachments/mine.ipynb",
        method="PUT",
        json={"secrets": ["LAB_DB_PASSWORD"]},
    )
    assert refused.status_code == 404, refused.text
    # Straight at the service with her own token: the same 404 as a name that does not exist.
    for name in ("LAB_DB_PASSWORD", "NO_SUCH_SECRET"):
        direct = service(servers, f"secrets/{name}/value", servers.tokens["carol"])
        assert direct.status_code == 404, direct.text
        assert direct.json()["reason"] == "secret-not-found"
        assert VALUE not in direct.text

    # The owner alone changes or deletes it.
    changed = put_secret(servers, "bob", "LAB_DB_PASSWORD", {"value": "bob-was-here"})
    assert changed.status_code == 403 and changed.json()["reason"] == "not-owner", changed.text
    gone = servers.server("bob", "nj/api/secrets/LAB_DB_PASSWORD", method="DELETE")
    assert gone.status_code == 403 and gone.json()["reason"] == "not-owner", gone.text
    for method in ("PUT", "DELETE"):
        direct = requests.request(
            method,
            f"{servers.url}/services/{SERVICE}/nj/api/secrets/LAB_DB_PASSWORD",
            headers={"Authorization": f"token {servers.tokens['bob']}"},
            json={"value": "x-x-x-x"} if method == "PUT" else None,
            timeout=30,
        )
        assert direct.status_code == 403, (method, direct.text)

    # bob leaves `lab`: his very next read is refused, with no restart of anything.
    reply = servers.api("DELETE", "groups/lab/users", json={"users": ["bob"]})
    assert reply.status_code == 200, reply.text
    try:
        after = run_code(servers, "bob", kernel, READ)
        assert "refused: not-shared" in after, after
        direct = service(servers, "secrets/LAB_DB_PASSWORD/value", servers.tokens["bob"])
        assert direct.status_code == 404, direct.text
    finally:
        servers.add_to_group("lab", ["bob"])
    back = service(servers, "secrets/LAB_DB_PASSWORD/value", servers.tokens["bob"])
    assert back.status_code == 200 and back.json()["value"] == VALUE, back.text


def test_carol_cannot_read_bobs_unshared_secret(servers: Hub) -> None:
    made = put_secret(servers, "bob", "BOB_ONLY", {"value": BOB_VALUE})
    assert made.status_code == 201, made.text
    assert made.json()["owner"] == "bob"
    assert servers.server("carol", "nj/api/secrets/BOB_ONLY").status_code == 404
    direct = service(servers, "secrets/BOB_ONLY/value", servers.tokens["carol"])
    assert direct.status_code == 404 and BOB_VALUE not in direct.text, direct.text
    # carol cannot take the name over either.
    taken = put_secret(servers, "carol", "BOB_ONLY", {"value": "carol-value"})
    assert taken.status_code == 409 and taken.json()["reason"] == "secret-exists", taken.text
    # Bad input from a user's server gets the server API's own 4xx, through the service.
    bad = put_secret(servers, "carol", "1BAD", {"value": "v"})
    assert bad.status_code == 400 and bad.json()["reason"] == "bad-name", bad.text
    large = put_secret(servers, "carol", "LARGE", {"value": "x" * 70000})
    assert large.status_code == 413, large.text


def test_the_service_asks_for_a_hub_token_with_access_to_it(servers: Hub) -> None:
    for path in ("secrets", "secrets/LAB_DB_PASSWORD", "secrets/LAB_DB_PASSWORD/value"):
        none = service(servers, path, None)
        assert none.status_code == 401 and none.json()["reason"] == "token-required", none.text
        bad = service(servers, path, "not-a-token")
        assert bad.status_code == 401 and bad.json()["reason"] == "token-rejected", bad.text
    # Authentication comes before anything about the request, a bad name included.
    bad_name = service(servers, "secrets/1BAD/value", "not-a-token")
    assert bad_name.status_code == 401, bad_name.text
    assert VALUE not in bad_name.text
    reply = servers.api(
        "POST",
        "users/bob/tokens",
        json={"note": "no service access", "scopes": ["access:servers!server=bob/"]},
    )
    assert reply.status_code == 201, reply.text
    narrow = service(servers, "secrets", reply.json()["token"])
    assert narrow.status_code == 403 and narrow.json()["reason"] == "scope-missing", narrow.text
    assert f"access:services!service={SERVICE}" in narrow.json()["message"]
    # The least a script needs: access to the service (the hub adds name and groups).
    reply = servers.api(
        "POST",
        "users/bob/tokens",
        json={"note": "service only", "scopes": [f"access:services!service={SERVICE}"]},
    )
    assert reply.status_code == 201, reply.text
    least = service(servers, "secrets", reply.json()["token"])
    assert least.status_code == 200, least.text
    assert least.json()["groups"] == ["lab"]
    assert "LAB_DB_PASSWORD" in [s["name"] for s in least.json()["secrets"]]


def test_a_service_that_keeps_the_hubs_answer_trades_that_many_seconds(
    servers: Hub, openbao: OpenBaoServer, tmp_path: Path
) -> None:
    """`--identity-cache-seconds`: the hub's answer about a token is kept; a group change
    reaches a caller it knows only after that time (the deploy config keeps none)."""
    url, process = start_hub_service(
        servers, openbao, tmp_path / "cached", "--identity-cache-seconds", "60"
    )
    headers = {"Authorization": f"token {servers.tokens['bob']}"}
    value_url = url + "nj/api/secrets/LAB_DB_PASSWORD/value"
    try:
        assert requests.get(value_url, headers=headers, timeout=30).status_code == 200
        reply = servers.api("DELETE", "groups/lab/users", json={"users": ["bob"]})
        assert reply.status_code == 200, reply.text
        try:
            # The hub's service (no cache) refuses at once; the caching one still knows bob
            # as a member of `lab`; a token it has not seen is asked of the hub.
            assert (
                service(servers, "secrets/LAB_DB_PASSWORD/value", servers.tokens["bob"]).status_code
                == 404
            )
            assert requests.get(value_url, headers=headers, timeout=30).status_code == 200
            fresh = servers.api("POST", "users/bob/tokens", json={"note": "fresh"}).json()["token"]
            refused = requests.get(
                value_url, headers={"Authorization": f"token {fresh}"}, timeout=30
            )
            assert refused.status_code == 404, refused.text
        finally:
            servers.add_to_group("lab", ["bob"])
    finally:
        process.terminate()
        process.wait(timeout=30)


def hub_service_process(hub: Hub) -> psutil.Process:
    """The hub's own jupyter-nj service (the hub passes a service only what its config names,
    so it is found by its store, not by the run's marker)."""
    store = str(hub.homes.parent / "state" / "publications")
    found = []
    for process in psutil.process_iter():
        try:
            command = process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if "hub-service" in command and store in command:
            found.append(process)
    assert len(found) == 1, found
    return found[0]


def assert_secrets_unavailable(hub: Hub) -> None:
    listing = hub.server("bob", "nj/api/secrets")
    assert listing.status_code == 503, listing.text
    assert listing.json()["reason"] == "hub-service-unavailable"
    assert "hub" in listing.json()["message"] and "operator" in listing.json()["message"]
    one = hub.server("bob", "nj/api/secrets/LAB_DB_PASSWORD")
    assert one.status_code == 503, one.text
    status = hub.server("bob", "nj/api/status").json()
    hub_service = next(b for b in status["backends"] if b["name"] == "secrets-hub")
    assert not hub_service["live"] and "operator" in hub_service["hint"], hub_service


def test_a_dead_service_is_a_clear_503_until_the_hub_starts_it_again(servers: Hub) -> None:
    """JupyterHub starts a managed service again when it exits (at its next poll of the
    process, 30 s by default): secrets come back with nothing else restarted."""
    killed = hub_service_process(servers)
    killed.kill()
    killed.wait(timeout=30)
    assert_secrets_unavailable(servers)
    deadline = time.monotonic() + 90
    while servers.server("bob", "nj/api/secrets").status_code != 200:
        assert time.monotonic() < deadline, "the hub did not start its service again"
        time.sleep(1)
    assert hub_service_process(servers).pid != killed.pid


def test_a_hung_service_gives_clear_errors_and_local_work_goes_on(servers: Hub) -> None:
    """A service that takes connections and never answers (frozen, so the hub does not replace
    it): the servers give up after NJApp.secrets_hub_timeout (3 s in the test config)."""
    frozen = hub_service_process(servers)
    frozen.suspend()
    try:
        assert_secrets_unavailable(servers)
        # Saving, history and a kernel without secrets go on.
        save_notebook(servers, "bob", "offline.ipynb")
        deadline = time.monotonic() + 30
        while not servers.server("bob", "nj/api/history/offline.ipynb").json()["versions"]:
            assert time.monotonic() < deadline, "no history version while the service is down"
            time.sleep(0.3)
        kernel = start_kernel(servers, "bob", "offline.ipynb")
        assert run_code(servers, "bob", kernel, "print(6 * 7)").strip() == "42"
        # A kernel whose notebook attaches a secret starts, and says why it has none.
        session = servers.server(
            "bob",
            "api/sessions",
            method="POST",
            json={"path": "lab.ipynb", "type": "notebook", "kernel": {"name": "nj-mini"}},
            timeout=300,
        )
        assert session.status_code == 201, session.text
        refused = run_code(servers, "bob", session.json()["kernel"]["id"], READ)
        assert "refused: hub-service-unavailable" in refused, refused
    finally:
        frozen.resume()
    back = servers.server("bob", "nj/api/secrets")
    assert back.status_code == 200, back.text
