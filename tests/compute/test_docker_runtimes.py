"""Two container runtimes of one notebook share its results folder at `/results`: a file one
writes is the other's file (same inode, nothing copied), and the host sees it in
`<stem>.results/`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..runtimes.conftest import docker_mini, start_session_kernel  # noqa: F401  fixture
from .conftest import open_notebook

pytestmark = pytest.mark.docker


@pytest.fixture
def runtime_backend() -> str:
    return "docker"


async def open_work_notebook(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, work: Path, runtimes: dict[str, Any]
) -> tuple[Any, Any]:
    """`work/nb.ipynb` declaring `runtimes`, in a folder the container kernels' uid owns: its
    kernel started as JupyterLab starts it, and its websocket (session, browser)."""
    work.mkdir()
    if os.geteuid() == 0:
        os.chown(work, 1000, 100)  # kernels run as 1000:100
    nb = nbformat.v4.new_notebook()
    nb.metadata["nj"] = {"runtimes": runtimes}
    nbformat.write(nb, str(work / "nb.ipynb"))
    session = await start_session_kernel(jp_fetch, jp_serverapp, "work/nb.ipynb", "nj-mini")
    session.client.stop_channels()
    return session, await open_notebook(jp_ws_fetch, session.kernel_id)


async def test_container_runtimes_share_the_results_folder_by_mount(
    docker_mini: dict[str, Any],  # noqa: F811
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    work = jp_root_dir / "work"
    runtimes = {"main": {"environment": "mini"}, "py2": {"environment": "mini"}}
    session, browser = await open_work_notebook(jp_fetch, jp_ws_fetch, jp_serverapp, work, runtimes)
    try:
        report = (
            "import os, json\n"
            "st = os.stat('/results/x.csv')\n"
            "print(json.dumps([os.environ['NJ_RESULTS'], os.environ['NJ_RUNTIME'],"
            " open('/results/x.csv').read(), st.st_ino, st.st_dev]))"
        )
        wrote = await browser.run("open('/results/x.csv', 'w').write('a,b\\n1,2\\n')")
        assert wrote["status"] == "ok", wrote
        main = await browser.run(report)
        other = await browser.run(report, "py2")
        assert main["status"] == other["status"] == "ok", (main, other)
        seen_main, seen_other = json.loads(main["out"]), json.loads(other["out"])
        assert seen_main[:3] == ["/results", "main", "a,b\n1,2\n"]
        assert seen_other[:3] == ["/results", "py2", "a,b\n1,2\n"]
        assert seen_main[3:] == seen_other[3:]  # one file, no copy
        assert (work / "nb.results" / "x.csv").read_text() == "a,b\n1,2\n"
        assert (work / "nb.results" / "x.csv").stat().st_ino == seen_main[3]
    finally:
        await browser.close()
        await session.shutdown()
    assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []


async def test_an_r_container_runtime_reads_what_python_wrote_to_results(
    docker_mini: dict[str, Any],  # noqa: F811
    nj_app: Any,
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    """The built-in `r` environment as an image (Debian's r-base-core and r-cran-irkernel on the
    runtime base image): its container runtime sees the same `/results` file, unprivileged."""
    r_image = await nj_app.environment_manager.abuild("r", "docker")
    assert r_image.backend == "docker" and r_image.image
    runtimes = {"main": {"environment": "mini"}, "stats": {"environment": "r"}}
    session, browser = await open_work_notebook(
        jp_fetch, jp_ws_fetch, jp_serverapp, jp_root_dir / "work", runtimes
    )
    try:
        wrote = await browser.run(
            "import os\nopen('/results/x.csv', 'w').write('a,b\\n1,2\\n3,4\\n')\n"
            "print(os.stat('/results/x.csv').st_ino)"
        )
        assert wrote["status"] == "ok", wrote
        read = await browser.run(
            'x <- read.csv("/results/x.csv")\n'
            'cat(nrow(x), sum(x$b), Sys.getenv("NJ_RESULTS"), Sys.getenv("NJ_RUNTIME"), "\\n")\n'
            'cat(system("stat -c %i /results/x.csv; id -u", intern = TRUE), "\\n")',
            "stats",
        )
        assert read["status"] == "ok", read
        lines = read["out"].split("\n")
        assert lines[0].split() == ["2", "6", "/results", "stats"]
        inode, uid = lines[1].split()
        assert inode == wrote["out"].strip()  # one file, no copy
        assert uid != "0"
        listed = json.loads(
            (await jp_fetch("nj", "api", "compute", session.kernel_id, "runtimes")).body
        )["runtimes"]
        stats = next(r for r in listed if r["name"] == "stats")
        info = json.loads((await jp_fetch("nj", "api", "runtimes", stats["kernel_id"])).body)
        assert info["backend"] == "docker" and info["version"]["version"] == r_image.version
    finally:
        await browser.close()
        await session.shutdown()
    assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []


async def test_a_runtime_declared_with_a_backend_runs_on_it(
    docker_mini: dict[str, Any],  # noqa: F811
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    """`nj-mini` runs in containers on this server; a runtime declared `"backend": "local"`
    runs the same content in a venv on the host, and keeps that backend across a restart."""
    runtimes = {
        "main": {"environment": "mini"},
        "host": {"environment": "mini", "backend": "local"},
    }
    session, browser = await open_work_notebook(
        jp_fetch, jp_ws_fetch, jp_serverapp, jp_root_dir / "work", runtimes
    )
    # Containers see the results folder at /results; local runtimes at its host path.
    where = "import os; print(os.environ['NJ_RESULTS'])"
    try:
        main = await browser.run(where)
        host = await browser.run(where, "host")
        results = str(jp_root_dir / "work" / "nb.results")
        assert (main["out"].strip(), host["out"].strip()) == ("/results", results), (main, host)
        listed = json.loads(
            (await jp_fetch("nj", "api", "compute", session.kernel_id, "runtimes")).body
        )["runtimes"]
        entry = next(r for r in listed if r["name"] == "host")
        info = json.loads((await jp_fetch("nj", "api", "runtimes", entry["kernel_id"])).body)
        assert info["backend"] == "local"
        # Same content as the image: the local twin of the docker version's lock.
        assert info["version"]["lock_sha256"] == docker_mini["lock_sha256"]
        await jp_serverapp.kernel_manager.restart_kernel(entry["kernel_id"])
        again = await browser.run(where, "host")
        assert again["out"].strip() == results, again
    finally:
        await browser.close()
        await session.shutdown()
    assert list(jp_serverapp.kernel_manager.list_kernel_ids()) == []
