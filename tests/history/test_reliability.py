"""Reliability: concurrent clients lose nothing, and a SIGKILL mid-write leaves a sound store."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests

from ..services import free_loopback_port
from .conftest import first_source, flush, fsck_is_clean, git_fsck, history_manager, make_notebook

CLIENTS = 4
SAVES_PER_CLIENT = 250


async def test_four_clients_saving_concurrently_lose_no_content(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    async def client(n: int) -> set[tuple[str, str]]:
        saved = set()
        for i in range(SAVES_PER_CLIENT):
            # Every client alternates between a notebook all share and one of its own.
            path = "shared.ipynb" if i % 2 == 0 else f"own-{n}.ipynb"
            marker = f"client {n} save {i}"
            body = json.dumps({"type": "notebook", "content": make_notebook(marker, cells=2)})
            await jp_fetch("api", "contents", path, method="PUT", body=body)
            saved.add((path, marker))
        return saved

    results = await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    expected = set().union(*results)
    await flush(jp_serverapp)
    manager = history_manager(jp_serverapp)
    store = manager.store

    def recorded() -> set[tuple[str, str]]:
        found = set()
        for path in ["shared.ipynb", *(f"own-{n}.ipynb" for n in range(CLIENTS))]:
            hid = store.find_history(None, path)
            cursor = None
            while True:
                versions, cursor = store.versions(hid, 500, cursor)
                for v in versions:
                    found.add((path, first_source(store.notebook(v.id)).split("# ", 1)[1]))
                if cursor is None:
                    break
        return found

    found = await asyncio.to_thread(recorded)
    # On failure, say where the missing saves might be: every history at each file's path.
    histories = [h for h in store.histories() if h[1] in {p for p, _ in expected - found}]
    assert expected <= found, (sorted(expected - found)[:5], histories, manager.recorder.errors)
    assert manager.recorder.errors == 0
    # 1,000 versions started background repacks; fsck reads the store once they are done.
    await asyncio.to_thread(manager.recorder.wait_for_maintenance)
    assert fsck_is_clean(await asyncio.to_thread(git_fsck, store.path))


def start_server(root: Path, env: dict[str, str], port: int, token: str) -> subprocess.Popen[bytes]:
    log = open(root.parent / f"server-{port}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            "--NJApp.history_quiet_period=0",
            "--NJApp.history_repack_every=40",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_until_up(url: str, token: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during start-up"
        try:
            if requests.get(f"{url}/api/status", params={"token": token}, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not start")


def wait_for_git_processes(store: Path, timeout: float = 60) -> None:
    """Wait until no git process works on `store` (found through /proc, by its GIT_DIR)."""
    needle = f"GIT_DIR={store}".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                environ = (proc / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                busy = True
                break
        if not busy:
            return
        time.sleep(0.2)
    raise AssertionError("a git process kept working on the store")


def big_notebook(marker: str) -> dict[str, Any]:
    nb = make_notebook(marker, cells=30)
    for i, cell in enumerate(nb["cells"][:-1]):
        cell["outputs"][0]["text"] = f"{marker} {i} " + "x" * 20_000
    return nb


@pytest.mark.timeout(400)
def test_sigkill_while_writing_versions_leaves_a_consistent_store(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    env = {**os.environ}
    for name in ("config", "data", "runtime"):
        (tmp_path / name).mkdir()
        env[f"JUPYTER_{name.upper()}_DIR"] = str(tmp_path / name)
    token = "history-crash-test"
    # The server's data folder, as `jupyter nj` finds it: out of the root, under the data dir.
    from jupyter_nj.data_dir import default_data_dir

    saved = os.environ.get("JUPYTER_DATA_DIR")
    os.environ["JUPYTER_DATA_DIR"] = env["JUPYTER_DATA_DIR"]
    try:
        store_path = default_data_dir(root) / "history.git"
    finally:
        if saved is None:
            del os.environ["JUPYTER_DATA_DIR"]
        else:
            os.environ["JUPYTER_DATA_DIR"] = saved
    last_saved: dict[str, str] = {}
    for round_ in range(3):
        port = free_loopback_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(root, env, port, token)
        try:
            wait_until_up(url, token, server)
            session = requests.Session()
            session.params = {"token": token}  # type: ignore[assignment]
            # Save rapidly, then kill the server a few milliseconds after a save returned, while
            # the worker is writing that save's version (a commit takes ~10-50 ms here).
            for i in range(8 + 4 * round_):
                path = f"nb-{i % 2}.ipynb"
                marker = f"round {round_} save {i}"
                body = {"type": "notebook", "content": big_notebook(marker)}
                answer = session.put(f"{url}/api/contents/{path}", json=body, timeout=30)
                assert answer.ok, answer.text
                last_saved[path] = marker
            time.sleep(0.002 * (round_ + 1))
        finally:
            server.send_signal(signal.SIGKILL)
            server.wait(30)
        # A background `git repack` the server started outlives it; let it finish first.
        wait_for_git_processes(store_path)
        # The store is sound and the notebooks are intact after every kill.
        result = git_fsck(store_path)
        assert fsck_is_clean(result), result.stdout + result.stderr
        for path, marker in last_saved.items():
            nb = nbformat.read(root / path, as_version=4)
            assert first_source(nb).endswith(marker)

    # After a restart the next save makes a version, and history lists it.
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(root, env, port, token)
    try:
        wait_until_up(url, token, server)
        session = requests.Session()
        session.params = {"token": token}  # type: ignore[assignment]
        body = {"type": "notebook", "content": big_notebook("after the crashes")}
        assert session.put(f"{url}/api/contents/nb-0.ipynb", json=body, timeout=30).ok
        deadline = time.monotonic() + 30
        newest = None
        while time.monotonic() < deadline:
            listing = session.get(f"{url}/nj/api/history/nb-0.ipynb", timeout=10).json()
            newest = listing["versions"][0] if listing["versions"] else None
            if newest:
                content = session.get(
                    f"{url}/nj/api/history/nb-0.ipynb", params={"version": newest["id"]}, timeout=10
                ).json()
                if first_source(content["content"]).endswith("after the crashes"):
                    break
            time.sleep(0.2)
        else:
            raise AssertionError(f"no version after restart: {newest}")
        assert len(listing["versions"]) > 3
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert fsck_is_clean(git_fsck(store_path))
