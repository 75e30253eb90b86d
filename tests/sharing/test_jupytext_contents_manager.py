"""With jupytext's server extension enabled (it is, once jupytext is installed), saves still
become history versions: jupytext's loader must not replace the contents manager jupyter-nj
hooked, and a contents manager replaced after start-up anyway is hooked again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from ..history.conftest import first_source, flush, history, make_notebook, nj_app, save_notebook
from ..history.test_reliability import start_server, wait_until_up
from ..services import free_loopback_port
from .conftest import MARKDOWN, PERCENT, export_file, import_file, sources


def test_a_server_with_jupytext_enabled_records_every_save(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    env = {**os.environ}
    for name in ("config", "data", "runtime"):
        (tmp_path / name).mkdir()
        env[f"JUPYTER_{name.upper()}_DIR"] = str(tmp_path / name)
    # Enabled here explicitly, as jupytext's installed config file also does.
    (tmp_path / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyterlab_jupytext": True}}})
    )
    (root / "script.py").write_text(PERCENT)
    token = "jupytext-contents-test"
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(root, env, port, token)
    try:
        wait_until_up(url, token, server)
        session = requests.Session()
        session.params = {"token": token}  # type: ignore[assignment]
        # jupytext's contents manager is the live one: it opens a percent script as a notebook.
        opened = session.get(f"{url}/api/contents/script.py", timeout=10).json()
        assert opened["type"] == "notebook", opened
        for marker in ("first", "second"):
            body = {"type": "notebook", "content": make_notebook(marker)}
            answer = session.put(f"{url}/api/contents/nb.ipynb", json=body, timeout=30)
            assert answer.ok, answer.text
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                listing = session.get(f"{url}/nj/api/history/nb.ipynb", timeout=10).json()
                newest = listing["versions"][0] if listing.get("versions") else None
                if newest:
                    version = session.get(
                        f"{url}/nj/api/history/nb.ipynb",
                        params={"version": newest["id"]},
                        timeout=10,
                    ).json()
                    if first_source(version["content"]).endswith(marker):
                        break
                time.sleep(0.2)
            else:
                raise AssertionError(f"the save of {marker!r} became no version")
        assert len(listing["versions"]) == 2
        # An explicit save's checkpoint lives in history too (history's checkpoints are on the
        # live contents manager).
        created = session.post(f"{url}/api/contents/nb.ipynb/checkpoints", timeout=10)
        assert created.status_code == 201, created.text
        assert created.json()["id"] == listing["versions"][0]["id"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    log = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    assert "using jupytext's contents manager" in log
    assert "Deriving" not in log  # jupytext's loader kept the contents manager in place


async def test_a_contents_manager_replaced_after_start_up_is_hooked_again(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    app = nj_app(jp_serverapp)
    old = jp_serverapp.contents_manager
    assert not app.rehook_contents_manager()  # nothing replaced yet
    # What an extension that swaps the contents manager does (jupytext's loader does this).
    new = type(old)(parent=jp_serverapp, log=jp_serverapp.log, root_dir=str(jp_root_dir))
    jp_serverapp.contents_manager = new
    jp_serverapp.web_app.settings["contents_manager"] = new
    assert app.rehook_contents_manager()
    await save_notebook(jp_fetch, "nb.ipynb", make_notebook("after the swap"))
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "nb.ipynb"))["versions"]
    assert len(versions) == 1
    # The link guard is on the new one too.
    assert new.get is not type(new).get


JUPYTEXT_SERVER = {
    "ServerApp": {
        "jpserver_extensions": {
            "jupyter_nj": True,
            "jupyter_server_fileid": True,
            "jupyterlab_jupytext": True,
        },
        "allow_unauthenticated_access": False,
    },
    "NJApp": {"history_quiet_period": 0.0, "history_diff_executor": "thread"},
}


@pytest.mark.parametrize("jp_server_config", [JUPYTEXT_SERVER])
async def test_a_text_file_saved_as_a_notebook_through_jupytext_is_versioned_as_text(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    assert hasattr(jp_serverapp.contents_manager, "formats")  # jupytext's is the live one
    (jp_root_dir / "script.py").write_text(PERCENT)
    opened = json.loads((await jp_fetch("api", "contents", "script.py")).body)
    assert opened["type"] == "notebook"
    notebook = opened["content"]
    notebook["cells"][-1]["source"] = "total = 42"
    await save_notebook(jp_fetch, "script.py", notebook)
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "script.py"))["versions"]
    assert versions
    newest = json.loads(
        (
            await jp_fetch(
                "nj", "api", "history", "script.py", params={"version": versions[0]["id"]}
            )
        ).body
    )
    # The version is the file as saved on disk: the percent script, not notebook JSON.
    assert newest["format"] == "text"
    assert newest["content"] == (jp_root_dir / "script.py").read_text()
    assert "total = 42" in newest["content"]


@pytest.mark.parametrize("jp_server_config", [JUPYTEXT_SERVER])
async def test_import_and_export_work_through_jupytext_s_contents_manager(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # jupytext's contents manager opens .md as notebooks; the import still reads the text itself.
    (jp_root_dir / "doc.md").write_text(MARKDOWN)
    answer = await import_file(jp_fetch, "doc.md")
    assert answer["path"] == "doc.ipynb" and answer["format"] == "md"
    nb = json.loads((jp_root_dir / "doc.ipynb").read_text())
    assert ("code", "x = 1 + 1\nprint(x)") in sources(nb)
    await flush(jp_serverapp)
    assert len((await history(jp_fetch, "doc.ipynb"))["versions"]) == 1
    exported = await export_file(jp_fetch, "doc.ipynb", format="py")
    assert "# %%\nx = 1 + 1" in exported.body.decode()
    # The text file itself is unchanged (no pairing was set up by the import).
    assert (jp_root_dir / "doc.md").read_text() == MARKDOWN
