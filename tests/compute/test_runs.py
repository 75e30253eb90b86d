"""Headless runs end to end: REST (`POST /nj/api/runs`), `jupyter nj run` and papermill's `nj`
engine, on real local kernels of two environments, with history recording the run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from .test_routing import built

NOTEBOOK_RUNTIMES = {"main": {"environment": "mini"}, "sh": {"environment": "bash"}}


def pipeline_notebook(root: Path, path: str, fail: bool = False) -> Path:
    """Python writes a file to the results folder, Bash counts its lines, Python reads the
    count back; `n` is a parameter."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["nj"] = {"runtimes": NOTEBOOK_RUNTIMES}
    nb.metadata["kernelspec"] = {"name": "nj-mini", "language": "python", "display_name": "Mini"}
    params = nbformat.v4.new_code_cell("n = 2")
    params.metadata["tags"] = ["parameters"]
    write = nbformat.v4.new_code_cell(
        "import os\nopen(os.path.join(os.environ['NJ_RESULTS'], 'rows.txt'), 'w')"
        ".write('row\\n' * n)\nprint('wrote', n)"
    )
    count = nbformat.v4.new_code_cell('wc -l < "$NJ_RESULTS/rows.txt" > "$NJ_RESULTS/count.txt"')
    count.metadata["nj"] = {"runtime": "sh"}
    cells = [params, write, count]
    if fail:
        broken = nbformat.v4.new_code_cell("ls /no/such/folder")
        broken.metadata["nj"] = {"runtime": "sh"}
        cells.append(broken)
    cells.append(
        nbformat.v4.new_code_cell(
            "print('count', open(os.environ['NJ_RESULTS'] + '/count.txt').read().strip())"
        )
    )
    nb.cells = cells
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target


def texts(nb: Any) -> list[str]:
    """Each code cell's stream output, joined."""
    return [
        "".join(o.get("text", "") for o in cell.get("outputs", []) if o["output_type"] == "stream")
        for cell in nb.cells
        if cell.cell_type == "code"
    ]


async def finished(jp_fetch: Any, run_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = json.loads((await jp_fetch("nj", "api", "runs", run_id)).body)
        if run["state"] in {"succeeded", "failed"}:
            return dict(run)
        assert asyncio.get_running_loop().time() < deadline, run
        await asyncio.sleep(0.2)


async def test_rest_run_executes_every_cell_on_its_runtime_and_records_a_labelled_version(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any
) -> None:
    from jupyter_nj.compute.runner import RUN_EVENT_SCHEMA_ID

    await built(nj_app, "mini", "bash")
    pipeline_notebook(jp_root_dir, "work/pipe.ipynb")
    events: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        events.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=RUN_EVENT_SCHEMA_ID, listener=listener)
    response = await jp_fetch(
        "nj",
        "api",
        "runs",
        method="POST",
        body=json.dumps(
            {"path": "work/pipe.ipynb", "parameters": {"n": 5}, "output": "work/out.ipynb"}
        ),
    )
    assert response.code == 202
    started = json.loads(response.body)
    assert response.headers["Location"].endswith(f"/nj/api/runs/{started['id']}")
    run = await finished(jp_fetch, started["id"])
    assert run["state"] == "succeeded", run
    assert (run["cells"], run["done"]) == (5, 5)

    out = nbformat.read(str(jp_root_dir / "work" / "out.ipynb"), as_version=4)
    assert texts(out) == ["", "", "wrote 5\n", "", "count 5\n"]
    assert out.cells[1].metadata["tags"] == ["injected-parameters"]
    assert out.metadata["papermill"]["parameters"] == {"n": 5}
    assert out.metadata["nj"]["run"]["state"] == "succeeded"
    # The input notebook is unchanged; the run's output is a version of its own, labelled.
    assert texts(nbformat.read(str(jp_root_dir / "work" / "pipe.ipynb"), as_version=4)) == [""] * 4
    history = json.loads((await jp_fetch("nj", "api", "history", "work/out.ipynb")).body)
    newest = history["versions"][0]
    assert newest["id"] == run["version"] and newest["label"].startswith("run ")
    assert newest["label"].endswith("(ok)")

    await asyncio.sleep(0.2)  # listeners run as tasks
    mine = [e for e in events if e["run"] == started["id"]]
    assert mine[0]["action"] == "run-started"
    assert [e["action"] for e in mine][-1] == "run-finished"
    assert [e.get("runtime") for e in mine if e["action"] == "cell-started"] == [
        "main",
        "main",
        "main",
        "sh",
        "main",
    ]
    listing = json.loads(
        (await jp_fetch("nj", "api", "runs", params={"path": "work/pipe.ipynb"})).body
    )
    assert [r["id"] for r in listing["runs"]] == [started["id"]]
    # Every runtime of the run was shut down with it.
    assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []


async def test_publishing_with_rerun_marks_what_reproduced_on_the_pinned_runtimes(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any, http_server_client: Any
) -> None:
    """`"rerun": true`: the version runs again headless on the environment versions it is
    pinned to; a cell whose output is the same is marked reproduced, a random one differed."""
    records = await built(nj_app, "mini")
    nb = nbformat.v4.new_notebook()
    nb.metadata["nj"] = {
        "runtimes": {"main": {"environment": "mini", "version": records["mini"]["version"]}}
    }
    nb.metadata["kernelspec"] = {"name": "nj-mini", "language": "python", "display_name": "Mini"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Reproducible"),
        nbformat.v4.new_code_cell("print(6 * 7)"),
        nbformat.v4.new_code_cell("import random\nprint(random.random())"),
    ]
    nbformat.write(nb, str(jp_root_dir / "repro.ipynb"))
    # Run once to have outputs to publish (the run saves them as a version).
    started = json.loads(
        (
            await jp_fetch(
                "nj", "api", "runs", method="POST", body=json.dumps({"path": "repro.ipynb"})
            )
        ).body
    )
    assert (await finished(jp_fetch, started["id"]))["state"] == "succeeded"

    response = await jp_fetch(
        "nj", "api", "publish", "repro.ipynb", method="POST", body=json.dumps({"rerun": True})
    )
    edition = json.loads(response.body)
    assert edition["rerun"] == {"cells": 2, "reproduced": 1, "differed": 1, "error": None}
    assert edition["environments"][0]["version"] == records["mini"]["version"]
    # The environment's lock file is one of the edition's downloads.
    lock_name = edition["environments"][0]["lock_file"]
    lock = await http_server_client.fetch(f"{edition['url']}/{lock_name}")
    assert lock.body and b"\n" in lock.body
    page = await http_server_client.fetch(edition["url"], follow_redirects=False)
    text = page.body.decode()
    assert "<strong>1 of 2</strong> code cells reproduced" in text
    assert "celltag_nj-reproduced" in text and "celltag_nj-differed" in text
    # The published outputs are the version's, not the re-run's; the notebook is unchanged.
    saved = nbformat.read(str(jp_root_dir / "repro.ipynb"), as_version=4)
    published = json.loads(
        (await http_server_client.fetch(edition["url"] + "/notebook.ipynb")).body
    )
    assert texts(saved)[1] == texts(nbformat.from_dict(published))[1]
    assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []


async def test_a_failing_cell_fails_the_run_naming_the_cell_and_the_runtime(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any
) -> None:
    await built(nj_app, "mini", "bash")
    pipeline_notebook(jp_root_dir, "pipe.ipynb", fail=True)
    response = await jp_fetch(
        "nj", "api", "runs", method="POST", body=json.dumps({"path": "pipe.ipynb"})
    )
    run = await finished(jp_fetch, json.loads(response.body)["id"])
    assert run["state"] == "failed"
    assert run["error"]["cell"] == 3 and run["error"]["runtime"] == "sh", run
    assert "cell 4 on runtime 'sh'" in run["error"]["message"]
    saved = nbformat.read(str(jp_root_dir / "pipe.ipynb"), as_version=4)
    assert texts(saved)[1] == "wrote 2\n"  # what ran before the failure is kept
    assert saved.metadata["nj"]["run"]["state"] == "failed"
    history = json.loads((await jp_fetch("nj", "api", "history", "pipe.ipynb")).body)
    assert history["versions"][0]["label"].endswith("(failed)")
    assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []


async def test_missing_environments_are_named_before_any_cell_runs(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any
) -> None:
    await built(nj_app, "mini")
    nb = nbformat.v4.new_notebook()
    nb.metadata["nj"] = {
        "runtimes": {"main": {"environment": "mini"}, "r": {"environment": "nosuch"}}
    }
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata["nj"] = {"runtime": "r"}
    nb.cells = [nbformat.v4.new_code_cell("print('never')"), cell]
    nbformat.write(nb, str(jp_root_dir / "missing.ipynb"))
    before = (jp_root_dir / "missing.ipynb").read_bytes()
    response = await jp_fetch(
        "nj", "api", "runs", method="POST", body=json.dumps({"path": "missing.ipynb"})
    )
    run = await finished(jp_fetch, json.loads(response.body)["id"])
    assert run["state"] == "failed" and run["done"] == 0
    assert "'r'" in run["error"]["message"] and "nosuch" in run["error"]["message"]
    assert "jupyter nj env build nosuch" in run["error"]["message"]
    assert (jp_root_dir / "missing.ipynb").read_bytes() == before  # nothing ran, nothing saved
    assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []


async def test_run_requests_with_bad_input_get_clear_errors(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    (jp_root_dir / "notes.txt").write_text("x")
    cases = [
        ({"path": "notes.txt"}, 400),
        ({"path": "../outside.ipynb"}, 404),  # outside the root: as if absent
        ({"path": "nb.ipynb", "parameters": [1, 2]}, 400),
        ({"path": "nb.ipynb", "timeout": -1}, 400),
        ({"path": "nb.ipynb", "output": "/etc/x.ipynb"}, 404),
    ]
    for body, code in cases:
        with pytest.raises(HTTPClientError) as caught:
            await jp_fetch("nj", "api", "runs", method="POST", body=json.dumps(body))
        assert caught.value.code == code, body
        assert json.loads(caught.value.response.body)["message"]
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("nj", "api", "runs", "f" * 32)
    assert caught.value.code == 404
    # A notebook that does not exist is the run's error, not a 500.
    response = await jp_fetch(
        "nj", "api", "runs", method="POST", body=json.dumps({"path": "gone.ipynb"})
    )
    run = await finished(jp_fetch, json.loads(response.body)["id"])
    assert run["state"] == "failed" and "gone.ipynb" in run["error"]["message"]


def command_env(tmp_path: Path, nj_config: dict[str, Any]) -> dict[str, str]:
    """The environment a user's shell has: a Jupyter config folder naming the same data and
    environment definitions as the test server."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "jupyter_server_config.json").write_text(json.dumps({"NJApp": nj_config}))
    return {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "PYTHONUNBUFFERED": "1"}


def command(root: Path, env: dict[str, str], program: str, *args: str) -> Any:
    """A command of this environment (`jupyter`, `papermill`) run in `root`, as a user would."""
    return subprocess.run(
        [str(Path(sys.executable).parent / program), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_command_line_and_papermill_run_it_with_the_same_outputs(
    tmp_path: Path, nj_config: dict[str, Any], nj_session_dir: Path, definitions_dir: Path
) -> None:
    from jupyter_nj.runtimes.config import RuntimesConfig

    manager = RuntimesConfig(environment_paths=[str(definitions_dir)]).build_environment_manager(
        str(tmp_path), Path(nj_config["nj_dir"]), ""
    )
    for name in ("mini", "bash"):
        manager.build(name, "local")
    manager.write_kernelspecs()
    root = tmp_path / "project"
    pipeline_notebook(root, "pipe.ipynb")
    env = command_env(tmp_path, nj_config)

    ran = command(
        root, env, "jupyter", "nj", "run", "pipe.ipynb", "-o", "cli.ipynb", "-p", "n", "4"
    )
    assert ran.returncode == 0, ran.stderr
    assert "[4/5] cell 4 on sh" in ran.stderr  # plain progress lines off a terminal
    assert "cli.ipynb: ran 5 cells" in ran.stdout
    paper = command(
        root, env, "papermill", "--engine", "nj", "pipe.ipynb", "paper.ipynb", "-p", "n", "4"
    )
    assert paper.returncode == 0, paper.stderr
    cli = nbformat.read(str(root / "cli.ipynb"), as_version=4)
    pm = nbformat.read(str(root / "paper.ipynb"), as_version=4)
    assert texts(cli) == texts(pm) == ["", "", "wrote 4\n", "", "count 4\n"]

    pipeline_notebook(root, "broken.ipynb", fail=True)
    failed = command(root, env, "jupyter", "nj", "run", "broken.ipynb")
    assert failed.returncode == 1
    assert "cell 4 on runtime 'sh' failed" in failed.stderr, failed.stderr
