"""The local backend end to end: a real uv venv, a real kernel started through the server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import make_wheel, reply_to, start_session_kernel, write_notebook


async def build(jp_fetch: Any, name: str, backend: str = "local") -> dict[str, Any]:
    response = await jp_fetch(
        "nj",
        "api",
        "environments",
        name,
        "build",
        method="POST",
        body=json.dumps({"backend": backend}),
    )
    assert response.code == 201
    return dict(json.loads(response.body))


async def test_build_then_kernelspec_shows_short_version(
    jp_fetch: Any, nj_app: Any, jp_serverapp: Any
) -> None:
    from jupyter_nj.runtimes.manager import EVENT_SCHEMA_ID

    events: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        events.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=EVENT_SCHEMA_ID, listener=listener)
    record = await build(jp_fetch, "mini")
    await asyncio.sleep(0.1)  # listeners run as tasks on the loop
    actions = [e["action"] for e in events if e["action"] != "build-log"]
    assert actions == ["build-started", "build-finished"]
    assert events[-1]["version"] == record["version"] and events[-1]["backend"] == "local"
    assert record["backend"] == "local" and record["version"].startswith("sha256:")
    again = await build(jp_fetch, "mini")
    assert again["version"] == record["version"]  # same inputs, same version

    specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
    spec = specs["nj-mini"]["spec"]
    assert spec["display_name"] == f"Mini @ {record['short']}"
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "nj-local"

    listing = json.loads((await jp_fetch("nj", "api", "environments")).body)["environments"]
    mini = next(e for e in listing if e["name"] == "mini")
    assert record["version"] in [v["version"] for v in mini["versions"]]
    assert {"python", "bash"} <= {e["name"] for e in listing}


async def test_build_log_lines_stream_as_events_while_the_build_runs(
    jp_fetch: Any, nj_app: Any, jp_serverapp: Any, tmp_path: Path
) -> None:
    from jupyter_nj.runtimes.manager import EVENT_SCHEMA_ID

    # A catalog of its own, so the venv is really built (the uv cache keeps it quick).
    nj_app.environment_manager.catalog.root = tmp_path / "catalog"
    events: list[tuple[float, dict[str, Any]]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        events.append((asyncio.get_running_loop().time(), data))

    jp_serverapp.event_logger.add_listener(schema_id=EVENT_SCHEMA_ID, listener=listener)
    await build(jp_fetch, "mini")
    await asyncio.sleep(0.1)

    actions = [data["action"] for _, data in events]
    assert actions[0] == "build-started" and actions[-1] == "build-finished"
    logs = [(at, data) for at, data in events if data["action"] == "build-log"]
    assert logs, actions
    lines = [line for _, data in logs for line in data["lines"]]
    # uv's own report of the venv it made and the packages it put in.
    assert any("ipykernel" in line for line in lines), lines
    # The lines came in several events while the build ran, not in one at its end.
    assert len(logs) >= 2 and logs[0][0] < logs[-1][0], [data["lines"] for _, data in logs]
    assert all(data["environment"] == "mini" and data["backend"] == "local" for _, data in logs)


async def test_local_kernel_runs_interrupts_restarts_and_shuts_down(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    record = await build(jp_fetch, "mini")
    write_notebook(jp_root_dir, "work/nb.ipynb")
    (jp_root_dir / "work" / "data.txt").write_text("from the host")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "work/nb.ipynb", "nj-mini")
    try:
        status, out, _ = await session.run(
            "import ipykernel; print(ipykernel.__file__); print(open('data.txt').read()); x = 41"
        )
        assert status == "ok", out
        ipykernel_file, data = out.splitlines()[:2]
        assert f"/venvs/{record['version'][7:23]}/" in ipykernel_file  # the version's venv
        assert data == "from the host"  # started in the notebook's folder

        # Interrupt a long-running cell.
        msg_id = session.client.execute(
            "import time; print('sleeping', flush=True); time.sleep(60)"
        )
        # Interrupt only once the cell is really sleeping: a signal that lands earlier, on a slow
        # machine, hits ipykernel between requests and the test would measure that instead.
        while True:
            msg = await session.client.get_iopub_msg(timeout=60)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "stream"
                and "sleeping" in msg["content"]["text"]
            ):
                break
        await asyncio.sleep(0.2)
        await jp_serverapp.kernel_manager.interrupt_kernel(session.kernel_id)
        reply = await reply_to(session, msg_id)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"

        # ipykernel aborts requests that reach it while it is still stopping on the interrupt's
        # error; a user would run the cell again, and so does the test, a few times at most.
        for _ in range(10):
            status, out, ename = await session.run("print(x + 1)")
            if status != "aborted":
                break
            await asyncio.sleep(0.5)
        assert (status, ename, out.strip()) == ("ok", "", "42")

        await jp_serverapp.kernel_manager.restart_kernel(session.kernel_id)
        await session.ready()
        status, _, ename = await session.run("x")
        assert (status, ename) == ("error", "NameError")  # a fresh process
    finally:
        await session.shutdown()
    assert session.kernel_id not in jp_serverapp.kernel_manager


async def test_pin_starts_exactly_that_version_after_a_newer_one_exists(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, definitions_dir: Path, nj_app: Any
) -> None:
    first = await build(jp_fetch, "mini")
    # A newer version of the same environment: a different lock, so a different content ID.
    lock = definitions_dir / "mini" / "requirements.lock"
    original = lock.read_text()
    try:
        lock.write_text(original + "# newer\n")
        newer = await build(jp_fetch, "mini")
    finally:
        lock.write_text(original)
    assert newer["version"] != first["version"]
    await asyncio.to_thread(nj_app.environment_manager.write_kernelspecs)

    pin = {"environment": "mini", "version": first["version"], "backend": "local"}
    write_notebook(jp_root_dir, "pinned.ipynb", pin)
    write_notebook(jp_root_dir, "unpinned.ipynb")
    for path, expected in (("pinned.ipynb", first), ("unpinned.ipynb", newer)):
        session = await start_session_kernel(jp_fetch, jp_serverapp, path, "nj-mini")
        try:
            _, out, _ = await session.run("import ipykernel; print(ipykernel.__file__)")
            assert f"/venvs/{expected['version'][7:23]}/" in out, path
            info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
            assert info["version"]["version"] == expected["version"]
        finally:
            await session.shutdown()


async def test_a_notebook_is_pinned_on_its_first_start_and_new_notebooks_start_on_the_default(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any
) -> None:
    record = await build(jp_fetch, "mini")
    await asyncio.to_thread(nj_app.environment_manager.write_kernelspecs)
    write_notebook(jp_root_dir, "fresh.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "fresh.ipynb", "nj-mini")
    try:
        for _ in range(100):
            saved = json.loads((jp_root_dir / "fresh.ipynb").read_text())
            if saved["metadata"].get("nj"):
                break
            await asyncio.sleep(0.1)
        assert saved["metadata"]["nj"]["runtimes"]["main"] == {
            "environment": "mini",
            "version": record["version"],
            "backend": "local",
        }
        # A restart runs the pinned version and writes nothing more.
        before = (jp_root_dir / "fresh.ipynb").read_bytes()
        await jp_serverapp.kernel_manager.restart_kernel(session.kernel_id)
        await session.ready()
        assert (jp_root_dir / "fresh.ipynb").read_bytes() == before
    finally:
        await session.shutdown()

    # The default environment's kernelspec is the server's default kernel once it is built.
    kernel_manager = jp_serverapp.kernel_manager
    original = kernel_manager.default_kernel_name
    try:
        nj_app.default_environment = "nosuch"
        nj_app.use_default_environment()
        assert kernel_manager.default_kernel_name == original
        nj_app.default_environment = "mini"
        nj_app.use_default_environment()
        specs = json.loads((await jp_fetch("api", "kernelspecs")).body)
        assert specs["default"] == "nj-mini"
    finally:
        kernel_manager.default_kernel_name = original


async def test_pin_endpoint_writes_notebook_metadata(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    record = await build(jp_fetch, "mini")
    write_notebook(jp_root_dir, "nb.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "nb.ipynb", "nj-mini")
    try:
        response = await jp_fetch(
            "nj",
            "api",
            "runtimes",
            session.kernel_id,
            "pin",
            method="POST",
            body=json.dumps({"path": "nb.ipynb"}),
        )
        assert json.loads(response.body)["pin"]["version"] == record["version"]
    finally:
        await session.shutdown()
    saved = json.loads((jp_root_dir / "nb.ipynb").read_text())
    assert saved["metadata"]["nj"]["runtimes"]["main"] == {
        "environment": "mini",
        "version": record["version"],
        "backend": "local",
    }


async def test_missing_pinned_version_fails_with_a_clear_message(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    await build(jp_fetch, "mini")
    pin = {"environment": "mini", "version": "sha256:" + "0" * 64, "backend": "local"}
    write_notebook(jp_root_dir, "lost.ipynb", pin)
    with pytest.raises(HTTPClientError) as err:
        await start_session_kernel(jp_fetch, jp_serverapp, "lost.ipynb", "nj-mini")
    body = err.value.response.body.decode() if err.value.response else ""
    assert "is not on this server" in body and "jupyter nj env build mini" in body


async def test_install_in_a_cell_lands_in_the_runtime(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_session_dir: Path
) -> None:
    await build(jp_fetch, "mini")
    # A wheel built here, so the test needs no package index: installs go to the runtime's venv.
    wheel_dir = nj_session_dir / "wheels"
    if not wheel_dir.exists():
        make_wheel(wheel_dir, "nj_probe_pkg")
    write_notebook(jp_root_dir, "inst.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "inst.ipynb", "nj-mini")
    try:
        for command in (
            f"pip install --no-index --find-links {wheel_dir} nj_probe_pkg",
            f"%pip install --no-index --find-links {wheel_dir} --force-reinstall nj_probe_pkg",
            f"!pip install --no-index --find-links {wheel_dir} --force-reinstall nj_probe_pkg",
            f"!uv pip install --no-index --find-links {wheel_dir} --reinstall nj_probe_pkg",
        ):
            status, out, _ = await session.run(command)
            assert status == "ok", out
        status, out, _ = await session.run(
            "import nj_probe_pkg, sys; print(nj_probe_pkg.__file__.startswith(sys.prefix))"
        )
        assert (status, out.strip()) == ("ok", "True"), out
        # The version itself is immutable: a restart starts from it, without the install.
        await jp_serverapp.kernel_manager.restart_kernel(session.kernel_id)
        await session.ready()
        status, _, ename = await session.run("import nj_probe_pkg")
        assert (status, ename) == ("error", "ModuleNotFoundError")
    finally:
        await session.shutdown()


@pytest.mark.parametrize(
    ("name", "body", "status", "reason"),
    [
        ("nope", {}, 404, "unknown-environment"),
        ("Bad..Name", {}, 400, "bad-name"),
        ("mini", {"backend": "cloud"}, 400, "bad-backend"),
    ],
)
async def test_bad_build_requests_get_clear_4xx(
    jp_fetch: Any, name: str, body: dict[str, Any], status: int, reason: str
) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "nj", "api", "environments", name, "build", method="POST", body=json.dumps(body)
        )
    assert err.value.code == status
    assert err.value.response is not None
    assert json.loads(err.value.response.body)["reason"] == reason


async def test_unknown_kernel_is_a_404(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("nj", "api", "runtimes", "no-such-kernel")
    assert err.value.code == 404


async def test_save_environment_makes_a_new_pinned_version(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_session_dir: Path
) -> None:
    parent = await build(jp_fetch, "mini")
    wheel_dir = nj_session_dir / "wheels-snap"
    if not wheel_dir.exists():
        make_wheel(wheel_dir, "nj_probe_pkg")
    write_notebook(jp_root_dir, "snap.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "snap.ipynb", "nj-mini")
    try:
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert info["changed"] is False
        status, out, _ = await session.run(
            f"pip install --no-index --find-links {wheel_dir} nj_probe_pkg"
        )
        assert status == "ok", out
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert info["changed"] is True  # a UI warns before closing: not saved yet
        response = await jp_fetch(
            "nj", "api", "runtimes", session.kernel_id, "snapshot", method="POST", body="{}"
        )
        saved = json.loads(response.body)
        version = saved["version"]
        assert version["parent"] == parent["version"] and version["backend"] == "local"
        assert "+ nj-probe-pkg==1.0" in version["changes"]
        assert any("pip install" in c for c in version["changes"])
        assert saved["pin"]["version"] == version["version"]
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert info["changed"] is False  # saved
        on_disk = json.loads((jp_root_dir / "snap.ipynb").read_text())
        assert on_disk["metadata"]["nj"]["runtimes"]["main"]["version"] == version["version"]

        await jp_serverapp.kernel_manager.restart_kernel(session.kernel_id)
        await session.ready()
        status, out, _ = await session.run("import nj_probe_pkg; print(nj_probe_pkg.VALUE)")
        assert (status, out.strip()) == ("ok", "1"), out
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert info["version"]["version"] == version["version"]
    finally:
        await session.shutdown()
