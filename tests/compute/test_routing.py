"""Several runtimes in one notebook, end to end: real local kernels (the `mini` Python and the
built-in `bash` environments), started by the server, driven through the real kernel websocket
the way JupyterLab drives it (cell metadata in each execute request, Run all sending every cell
before the first answer)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
from functools import partial
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..runtimes.conftest import start_session_kernel
from .conftest import V1, open_notebook


async def built(nj_app: Any, *names: str) -> dict[str, dict[str, Any]]:
    records = {}
    for name in names:
        record = await nj_app.environment_manager.abuild(name, "local")
        records[name] = record.to_json()
    await asyncio.to_thread(nj_app.environment_manager.write_kernelspecs)
    return records


def write_notebook(root: Path, path: str, runtimes: dict[str, dict[str, str]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["nj"] = {"runtimes": runtimes}
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


async def describe(jp_fetch: Any, kernel_id: str) -> dict[str, Any]:
    response = await jp_fetch("nj", "api", "compute", kernel_id, "runtimes")
    return dict(json.loads(response.body))


@pytest.fixture
def protocol() -> str:
    return V1


@pytest.fixture
def notebook(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    nj_app: Any,
    protocol: str,
) -> Any:
    """Opens `work/nb.ipynb` (runtimes main and py2 on mini, sh on bash): its kernel started as
    JupyterLab starts it, its websocket open."""
    return partial(
        open_work_notebook, jp_fetch, jp_ws_fetch, jp_serverapp, jp_root_dir, nj_app, protocol
    )


@contextlib.asynccontextmanager
async def open_work_notebook(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    nj_app: Any,
    protocol: str,
    secrets: list[str] | None = None,
) -> Any:
    await built(nj_app, "mini", "bash")
    write_notebook(
        jp_root_dir,
        "work/nb.ipynb",
        {
            "main": {"environment": "mini"},
            "sh": {"environment": "bash"},
            "py2": {"environment": "mini"},
        },
    )
    if secrets:
        await jp_fetch(
            "nj",
            "api",
            "secret-attachments",
            "work/nb.ipynb",
            method="PUT",
            body=json.dumps({"secrets": secrets}),
        )
    session = await start_session_kernel(jp_fetch, jp_serverapp, "work/nb.ipynb", "nj-mini")
    session.client.stop_channels()
    browser = await open_notebook(jp_ws_fetch, session.kernel_id, protocol)
    browser.kernel_id = session.kernel_id  # type: ignore[attr-defined]
    try:
        yield browser
    finally:
        await browser.close()
        await session.shutdown()


@pytest.mark.parametrize("protocol", [V1, "legacy"])
async def test_run_all_alternates_runtimes_in_order_and_passes_files_through_results(
    notebook: Any, jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    async with notebook() as nb:
        results = jp_root_dir / "work" / "nb.results"
        # Run all: every cell sent at once. The Python cell takes its time before it writes, so a
        # Bash cell that ran early would find no file.
        cells = [
            await nb.submit(
                "import os, time\ntime.sleep(1.5)\n"
                "open(os.path.join(os.environ['NJ_RESULTS'], 'x.csv'), 'w').write('a\\nb\\nc\\n')\n"
                "print(os.environ['NJ_RESULTS'], os.environ['NJ_RUNTIME'])"
            ),
            await nb.submit('wc -l < "$NJ_RESULTS/x.csv"; echo "$NJ_RUNTIME"', "sh"),
            await nb.submit("print(open(os.environ['NJ_RESULTS'] + '/x.csv').read().count('\\n'))"),
            await nb.submit('echo "$((6 * 7))"', "sh"),
        ]
        answers = [await nb.result(cell) for cell in cells]
        assert [a["status"] for a in answers] == ["ok"] * 4, answers
        assert answers[0]["out"].split() == [str(results), "main"]
        assert answers[1]["out"].split() == ["3", "sh"]
        assert answers[2]["out"].strip() == "3"
        assert answers[3]["out"].strip() == "42"
        assert (results / "x.csv").read_text() == "a\nb\nc\n"

        # In notebook order: no cell's first message before the previous cell's reply.
        position = {}
        for index, (parent, kind) in enumerate(nb.order):
            position.setdefault(parent, {}).setdefault(kind, index)
        for earlier, later in itertools.pairwise(cells):
            first_of_later = min(position[later].values())
            assert position[earlier]["execute_reply"] < first_of_later

        # Two kernels: the notebook's own and its `sh` runtime, which was pinned on first start.
        state = await describe(jp_fetch, nb.kernel_id)  # type: ignore[attr-defined]
        by_name = {r["name"]: r for r in state["runtimes"]}
        assert state["notebook"] == "work/nb.ipynb"
        assert by_name["main"]["kernel_id"] == nb.kernel_id  # type: ignore[attr-defined]
        assert by_name["sh"]["kernel_id"] in jp_serverapp.kernel_manager
        assert by_name["sh"]["language"] == "bash" and by_name["sh"]["state"] in {"idle", "busy"}
        assert by_name["py2"]["state"] == "not started"
        saved = json.loads((jp_root_dir / "work" / "nb.ipynb").read_text())
        assert saved["metadata"]["nj"]["runtimes"]["sh"]["version"] == by_name["sh"]["version"]
        assert saved["metadata"]["nj"]["runtimes"]["sh"]["version"].startswith("sha256:")


async def test_each_runtime_keeps_its_own_state_and_input_reaches_the_one_that_asked(
    notebook: Any,
) -> None:
    async with notebook() as nb:
        assert (await nb.run("x = 'main'"))["status"] == "ok"
        assert (await nb.run("x = 'py2'", "py2"))["status"] == "ok"

        def answer(parent: str, message: dict[str, Any]) -> None:
            asyncio.ensure_future(nb.send("stdin", "input_reply", {"value": "ada"}, {}))

        nb.on_input = answer  # type: ignore[method-assign]
        asked = await nb.run("print('hello', input('name? '), x)", "py2", allow_stdin=True)
        assert asked["status"] == "ok" and asked["out"].strip() == "hello ada py2", asked
        assert (await nb.run("print(x)"))["out"].strip() == "main"


async def test_a_runtime_the_notebook_does_not_declare_is_a_clear_error_and_stops_the_rest(
    notebook: Any,
) -> None:
    async with notebook() as nb:
        # Run all: the cells behind the bad one are sent while an earlier cell runs.
        first = await nb.submit("import time; y = 5; time.sleep(2)")
        bad = await nb.submit("echo never", "nope")
        behind = await nb.submit("y = 6")
        assert (await nb.result(first))["status"] == "ok"
        answer = await nb.result(bad)
        assert answer["status"] == "error" and answer["ename"] == "RuntimeUnavailable"
        assert "'nope'" in answer["out"] and "does not declare" in answer["out"]
        assert (await nb.result(behind))["status"] == "aborted"
        # The notebook's kernel kept its state, and runs the next cell.
        assert (await nb.run("print(y)"))["out"].strip() == "5"


async def test_an_error_in_one_runtime_stops_the_cells_queued_on_another(
    notebook: Any, jp_root_dir: Path
) -> None:
    async with notebook() as nb:
        failing = await nb.submit("raise ValueError('stop here')")
        behind = await nb.submit('touch "$NJ_RESULTS/ran"', "sh")
        assert (await nb.result(failing))["ename"] == "ValueError"
        assert (await nb.result(behind))["status"] == "aborted"
        assert not (jp_root_dir / "work" / "nb.results" / "ran").exists()
        # Without stop_on_error the next cell runs whatever came before.
        failing = await nb.submit("raise ValueError('again')", stop_on_error=False)
        runs = await nb.submit("echo ran", "sh", stop_on_error=False)
        assert (await nb.result(failing))["status"] == "error"
        assert (await nb.result(runs))["out"].strip() == "ran"


async def test_interrupt_reaches_the_runtime_running_the_cell(notebook: Any, jp_fetch: Any) -> None:
    async with notebook() as nb:
        kernel_id = nb.kernel_id  # type: ignore[attr-defined]
        assert (await nb.run("echo ready", "sh"))["out"].strip() == "ready"
        sleeping = await nb.submit("echo sleeping; sleep 120; echo woke", "sh")
        while not any(
            m["header"]["msg_type"] == "stream" and "sleeping" in m["content"]["text"]
            for m in nb.messages[sleeping]
        ):
            await asyncio.sleep(0.1)
        await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
        answer = await nb.result(sleeping, timeout=30)
        assert "woke" not in answer["out"], answer
        assert (await nb.run("print('main still runs')"))["out"].strip() == "main still runs"


async def test_restart_restarts_every_runtime_and_shutdown_stops_them(
    notebook: Any, jp_fetch: Any, jp_serverapp: Any
) -> None:
    async with notebook() as nb:
        kernel_id = nb.kernel_id  # type: ignore[attr-defined]
        assert (await nb.run("export A=kept; echo $A", "sh"))["out"].strip() == "kept"
        sh = {r["name"]: r for r in (await describe(jp_fetch, kernel_id))["runtimes"]}["sh"]
        await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
        # Restart and run all: the cells after the restart see fresh runtimes.
        answer = await nb.run('echo "${A:-gone}"', "sh")
        assert answer["out"].strip() == "gone", answer
        assert sh["kernel_id"] in jp_serverapp.kernel_manager  # restarted, not replaced

        # Stopping one runtime leaves the notebook's kernel; its next cell starts it again.
        await jp_fetch(
            "nj", "api", "compute", kernel_id, "runtimes", "sh", "stop", method="POST", body=""
        )
        assert sh["kernel_id"] not in jp_serverapp.kernel_manager
        assert (await nb.run("echo back", "sh"))["out"].strip() == "back"
        again = {r["name"]: r for r in (await describe(jp_fetch, kernel_id))["runtimes"]}["sh"]
        assert again["kernel_id"] != sh["kernel_id"]

        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
        assert again["kernel_id"] not in jp_serverapp.kernel_manager
        assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []


async def test_one_runtime_restarted_from_the_toolbar_runs_the_next_cell_afresh(
    notebook: Any, jp_fetch: Any, jp_serverapp: Any
) -> None:
    """The toolbar's Restart of one runtime (not the notebook's kernel): the websocket that
    routed to it before reaches the restarted kernel, and the other runtimes keep their state."""
    async with notebook() as nb:
        kernel_id = nb.kernel_id  # type: ignore[attr-defined]
        assert (await nb.run("export A=kept; echo $A", "sh"))["out"].strip() == "kept"
        assert (await nb.run("x = 'main kept'"))["status"] == "ok"
        restart = partial(
            jp_fetch,
            "nj",
            "api",
            "compute",
            kernel_id,
            "runtimes",
            "sh",
            "restart",
            method="POST",
            body="",
        )
        await restart()
        answer = await nb.result(await nb.submit('echo "${A:-gone}"', "sh"), timeout=120)
        assert answer["status"] == "ok" and answer["out"].strip() == "gone", answer
        # A cell run while the runtime restarts waits for it, instead of being lost with it.
        assert (await nb.run("export A=again; echo $A", "sh"))["out"].strip() == "again"
        sh = {r["name"]: r for r in (await describe(jp_fetch, kernel_id))["runtimes"]}["sh"]
        lifecycle = jp_serverapp.kernel_manager.get_kernel(sh["kernel_id"])._lifecycle_lock()
        restarting = asyncio.ensure_future(restart())
        while not lifecycle.locked():  # the restart holds it from its first step
            assert not restarting.done()
            await asyncio.sleep(0.001)
        sent = await nb.submit('echo "${A:-gone}"', "sh")
        await restarting
        answer = await nb.result(sent, timeout=120)
        assert answer["status"] == "ok" and answer["out"].strip() == "gone", answer
        assert (await nb.run("print(x)"))["out"].strip() == "main kept"


async def test_runtime_endpoints_refuse_bad_requests(notebook: Any, jp_fetch: Any) -> None:
    async with notebook() as nb:
        from tornado.httpclient import HTTPClientError

        kernel_id = nb.kernel_id  # type: ignore[attr-defined]
        cases = [
            (("compute", "no-such-kernel", "runtimes"), "GET", 404),
            (("compute", kernel_id, "runtimes", "Bad Name", "start"), "POST", 400),
            (("compute", kernel_id, "runtimes", "sh", "explode"), "POST", 400),
            (("compute", kernel_id, "runtimes", "sh", "restart"), "POST", 409),
            (("compute", kernel_id, "runtimes", "nope", "start"), "POST", 409),
            (("compute", kernel_id, "runtimes", "main", "stop"), "POST", 400),
        ]
        for parts, method, code in cases:
            with pytest.raises(HTTPClientError) as caught:
                await jp_fetch(
                    "nj", "api", *parts, method=method, body="" if method == "POST" else None
                )
            assert caught.value.code == code, parts
            assert "message" in json.loads(caught.value.response.body)


async def test_a_runtime_that_dies_mid_cell_answers_the_cell_and_starts_again(
    notebook: Any, jp_fetch: Any, jp_serverapp: Any
) -> None:
    import signal

    async with notebook() as nb:
        kernel_id = nb.kernel_id
        assert (await nb.run("echo ready", "sh"))["out"].strip() == "ready"
        sh = {r["name"]: r for r in (await describe(jp_fetch, kernel_id))["runtimes"]}["sh"]
        dying = await nb.submit("echo started; sleep 120", "sh")
        while not any(
            m["header"]["msg_type"] == "stream" and "started" in m["content"]["text"]
            for m in nb.messages[dying]
        ):
            await asyncio.sleep(0.1)
        # Killed as the kernel's out-of-memory killer would: the server's restarter restarts it.
        km = jp_serverapp.kernel_manager.get_kernel(sh["kernel_id"])
        os.kill(km.provisioner.pid, signal.SIGKILL)
        answer = await nb.result(dying, timeout=60)
        assert answer["status"] == "error" and answer["ename"] == "RuntimeUnavailable"
        assert "'sh' stopped while it ran this cell" in answer["out"], answer
        # The notebook goes on: the restarted runtime runs the next cell, main kept its state.
        assert (await nb.run("echo again", "sh"))["out"].strip() == "again"
        assert (await nb.run("print('main')"))["out"].strip() == "main"


async def test_completion_asks_the_runtime_of_the_cell_being_edited(
    notebook: Any, jp_root_dir: Path
) -> None:
    async with notebook() as nb:
        assert (await nb.run("echo ready", "sh"))["out"].strip() == "ready"
        # The cell as the notebook holds it (JupyterLab's completion request carries only its
        # source and the cursor).
        path = jp_root_dir / "work" / "nb.ipynb"
        saved = nbformat.read(str(path), as_version=4)
        bash_cell = nbformat.v4.new_code_cell("echo $HO")
        bash_cell.metadata["nj"] = {"runtime": "sh"}
        saved.cells = [nbformat.v4.new_code_cell("import o"), bash_cell]
        nbformat.write(saved, str(path))

        async def complete(code: str) -> list[str]:
            msg_id = await nb.send(
                "shell", "complete_request", {"code": code, "cursor_pos": len(code)}, {}
            )
            await asyncio.wait_for(asyncio.shield(nb.done[msg_id]), 60)
            reply = next(
                m for m in nb.messages[msg_id] if m["header"]["msg_type"] == "complete_reply"
            )
            return list(reply["content"]["matches"])

        assert "$HOME" in await complete("echo $HO")  # bash's answer, from the sh runtime
        assert "os" in await complete("import o")  # Python's, from main
