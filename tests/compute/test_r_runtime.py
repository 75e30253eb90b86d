"""The built-in `r` environment (R through IRkernel) as one runtime of a Python notebook, on the
local backend: a Python cell writes a file to the results folder, a Bash cell counts its lines and
an R cell reads it, through the kernel websocket, `jupyter nj run` and `papermill --engine nj`.
These need R and IRkernel on this machine (`make services` installs them); without them they
fail, they are not skipped. An environment the local backend cannot run here is not offered,
and every way of reaching it says why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_nj.runtimes.builds.local import local_problem

from ..runtimes.conftest import BUILTIN, start_session_kernel
from .conftest import open_notebook
from .test_routing import built, write_notebook
from .test_runs import command, command_env, texts

RUNTIMES = {
    "main": {"environment": "mini"},
    "sh": {"environment": "bash"},
    "stats": {"environment": "r"},
}
WRITE = (
    "import os\n"
    "open(os.path.join(os.environ['NJ_RESULTS'], 'x.csv'), 'w').write('a,b\\n1,2\\n3,4\\n5,6\\n')\n"
    "print('rows written:', 3)"
)
COUNT = 'echo "lines: $(wc -l < "$NJ_RESULTS/x.csv")"'
READ = (
    'x <- read.csv(file.path(Sys.getenv("NJ_RESULTS"), "x.csv"))\n'
    'cat("R read", nrow(x), "rows; sum of b:", sum(x$b), "\\n")\n'
    'cat("on", Sys.getenv("NJ_RUNTIME"), R.version$language, "\\n")'
)


def test_this_machine_can_run_the_r_environment_locally() -> None:
    """The precondition of the tests below, stated on its own so its failure reads clearly."""
    recipe = {"local": {"requires": ["R", "--slave", "-e", "library(IRkernel)"]}}
    assert local_problem("r", recipe) == "", "install R and IRkernel: `make services`"
    spec = (BUILTIN / "r" / "environment.toml").read_text()
    assert "r-base-core" in spec and "r-cran-irkernel" in spec


async def test_python_bash_and_r_cells_share_one_results_file(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any
) -> None:
    records = await built(nj_app, "mini", "bash", "r")
    write_notebook(jp_root_dir, "work/nb.ipynb", RUNTIMES)
    session = await start_session_kernel(jp_fetch, jp_serverapp, "work/nb.ipynb", "nj-mini")
    session.client.stop_channels()
    browser = await open_notebook(jp_ws_fetch, session.kernel_id)
    try:
        # Run all: the three requests at once; they run in order, each on its runtime.
        ids = [
            await browser.submit(WRITE),
            await browser.submit(COUNT, "sh"),
            await browser.submit(READ, "stats"),
        ]
        wrote, counted, read = [await browser.result(i) for i in ids]
        assert [r["status"] for r in (wrote, counted, read)] == ["ok"] * 3, read
        assert "rows written: 3" in wrote["out"]
        assert "lines: 4" in counted["out"]
        assert "R read 3 rows; sum of b: 12" in read["out"]
        assert "on stats R" in read["out"]
        # An R error is the cell's error, and R keeps its state for the next cell.
        failed = await browser.run('stop("no such table")', "stats")
        assert failed["status"] == "error" and "no such table" in failed["out"]
        again = await browser.run("cat(nrow(x), '\\n')", "stats")
        assert again["status"] == "ok" and again["out"].strip() == "3"
        # The R runtime was pinned to the version it started on.
        saved = json.loads((jp_root_dir / "work" / "nb.ipynb").read_text())
        pin = saved["metadata"]["nj"]["runtimes"]["stats"]
        assert pin["version"] == records["r"]["version"]
    finally:
        await browser.close()
        await session.shutdown()
    assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []


def three_runtime_notebook(root: Path, path: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["nj"] = {"runtimes": RUNTIMES}
    nb.metadata["kernelspec"] = {"name": "nj-mini", "language": "python", "display_name": "Mini"}
    cells = [nbformat.v4.new_code_cell(WRITE)]
    for source, runtime in ((COUNT, "sh"), (READ, "stats")):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nj"] = {"runtime": runtime}
        cells.append(cell)
    nb.cells = cells
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(root / path))


def test_the_command_line_and_papermill_run_python_bash_and_r_alike(
    tmp_path: Path, nj_config: dict[str, Any], definitions_dir: Path
) -> None:
    from jupyter_nj.runtimes.config import RuntimesConfig

    manager = RuntimesConfig(environment_paths=[str(definitions_dir)]).build_environment_manager(
        str(tmp_path), Path(nj_config["nj_dir"]), ""
    )
    for name in ("mini", "bash", "r"):
        manager.build(name, "local")
    manager.write_kernelspecs()
    root = tmp_path / "project"
    three_runtime_notebook(root, "three.ipynb")
    env = command_env(tmp_path, nj_config)

    ran = command(root, env, "jupyter", "nj", "run", "three.ipynb", "-o", "cli.ipynb")
    assert ran.returncode == 0, ran.stderr
    assert "[3/3] cell 3 on stats" in ran.stderr
    paper = command(root, env, "papermill", "--engine", "nj", "three.ipynb", "paper.ipynb")
    assert paper.returncode == 0, paper.stderr
    cli = nbformat.read(str(root / "cli.ipynb"), as_version=4)
    pm = nbformat.read(str(root / "paper.ipynb"), as_version=4)
    assert texts(cli) == texts(pm)
    assert texts(cli) == [
        "rows written: 3\n",
        "lines: 4\n",
        "R read 3 rows; sum of b: 12 \non stats R \n",
    ]
    # The cells keep their runtimes through papermill (SoS loses them).
    assert [c.metadata.get("nj", {}).get("runtime") for c in pm.cells] == [None, "sh", "stats"]


@pytest.fixture
def unrunnable(definitions_dir: Path) -> Any:
    """`needs-tool`: an environment whose local kernel is a program no machine has."""
    folder = definitions_dir / "needs-tool"
    shutil.copytree(BUILTIN / "r", folder)
    spec = (folder / "environment.toml").read_text()
    spec = spec.replace('name = "r"', 'name = "needs-tool"')
    spec = spec.replace(
        'requires = ["R", "--slave", "-e", "library(IRkernel)"]',
        'requires = ["nj-no-such-tool", "--version"]',
    )
    spec = spec.replace('install = "install R', 'install = "install nj-no-such-tool')
    (folder / "environment.toml").write_text(spec)
    yield "needs-tool"
    shutil.rmtree(folder)


async def test_an_environment_this_server_cannot_run_locally_says_why_everywhere(
    unrunnable: str,
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    nj_app: Any,
) -> None:
    manager = nj_app.environment_manager
    await built(nj_app, "mini")
    # Not offered: no kernelspec, and the environment list says why.
    specs = jp_serverapp.kernel_spec_manager.find_kernel_specs()
    assert "nj-needs-tool" not in specs and "nj-mini" in specs
    listing = json.loads((await jp_fetch("nj", "api", "environments")).body)
    entry = next(e for e in listing["environments"] if e["name"] == unrunnable)
    assert "nj-no-such-tool is not installed" in entry["local_problem"]
    assert "install nj-no-such-tool" in entry["local_problem"]
    assert next(e for e in listing["environments"] if e["name"] == "mini")["local_problem"] == ""
    # A build is refused with the reason, not a 500 and not a half-made venv.
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(
            "nj",
            "api",
            "environments",
            unrunnable,
            "build",
            method="POST",
            body=json.dumps({"backend": "local"}),
        )
    assert caught.value.code == 409
    assert "nj-no-such-tool is not installed" in json.loads(caught.value.response.body)["message"]
    assert manager.catalog.versions(unrunnable) == []
    # A cell on a runtime of it gets the reason as its error; the main runtime keeps its state.
    write_notebook(
        jp_root_dir,
        "work/nb.ipynb",
        {"main": {"environment": "mini"}, "tool": {"environment": unrunnable}},
    )
    session = await start_session_kernel(jp_fetch, jp_serverapp, "work/nb.ipynb", "nj-mini")
    session.client.stop_channels()
    browser = await open_notebook(jp_ws_fetch, session.kernel_id)
    try:
        assert (await browser.run("kept = 41"))["status"] == "ok"
        refused = await browser.run("1", "tool")
        assert refused["status"] == "error"
        assert "Runtime 'tool' cannot start" in refused["out"]
        assert "install nj-no-such-tool" in refused["out"]
        kept = await browser.run("print(kept + 1)")
        assert kept["status"] == "ok" and kept["out"].strip() == "42"
    finally:
        await browser.close()
        await session.shutdown()
