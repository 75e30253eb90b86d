"""`jupyter nj import|export` with no server: the file contents manager and the history store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_nj.base import NJError
from jupyter_nj.cli import main

from .conftest import MARKDOWN, PERCENT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: Any) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    return root


def run(project: Path, *argv: str) -> int:
    return main(["--root-dir", str(project), *argv])


def test_import_writes_a_notebook_and_records_it_in_history(project: Path, capsys: Any) -> None:
    (project / "analysis.py").write_text(PERCENT)
    assert run(project, "import", "analysis.py") == 0
    out = capsys.readouterr().out
    assert "as analysis.ipynb" in out and "version" in out
    nb = json.loads((project / "analysis.ipynb").read_text())
    assert any("sum(range(10))" in "".join(c["source"]) for c in nb["cells"])
    assert run(project, "history", "log", "analysis.ipynb", "--json") == 0
    versions = json.loads(capsys.readouterr().out)["versions"]
    assert len(versions) == 1

    # The second import of the same file is refused, unless asked to overwrite.
    assert run(project, "import", "analysis.py") == 2
    assert "already exists" in capsys.readouterr().err
    assert run(project, "import", "analysis.py", "--overwrite") == 0


def test_export_writes_the_current_file_or_a_version(project: Path, capsys: Any) -> None:
    (project / "doc.md").write_text(MARKDOWN)
    assert run(project, "import", "doc.md", "--to", "doc.ipynb") == 0
    capsys.readouterr()
    assert run(project, "history", "log", "doc.ipynb", "--json") == 0
    first = json.loads(capsys.readouterr().out)["versions"][0]["id"]
    (project / "doc.md").write_text(MARKDOWN.replace("1 + 1", "40 + 2"))
    assert run(project, "import", "doc.md", "--overwrite") == 0
    capsys.readouterr()

    assert run(project, "export", "doc.ipynb", "--format", "py") == 0
    assert "x = 40 + 2" in capsys.readouterr().out
    out_file = project.parent / "old.md"
    assert run(project, "export", "doc.ipynb", "--version", first, "-o", str(out_file)) == 0
    assert "x = 1 + 1" in out_file.read_text()

    assert run(project, "export", "doc.ipynb", "--version", "0badc0de") == 2
    assert "version" in capsys.readouterr().err
    assert run(project, "export", "missing.ipynb") == 2
    assert run(project, "import", "../outside.md") == 2


def test_links_are_created_listed_and_revoked_from_the_command_line(
    project: Path, capsys: Any
) -> None:
    (project / "doc.md").write_text(MARKDOWN)
    assert run(project, "import", "doc.md", "--to", "doc.ipynb") == 0
    capsys.readouterr()
    assert run(project, "links", "create", "doc.ipynb", "--days", "2", "--json") == 0
    link = json.loads(capsys.readouterr().out)
    assert link["url"].startswith("/nj/l/") and link["expires"] and link["state"] == "active"
    assert run(project, "links", "list") == 0
    listing = capsys.readouterr().out
    assert link["id"] in listing and "doc.ipynb" in listing and "read-only page" in listing
    assert link["url"].rsplit("/", 1)[1] not in listing  # the token is shown only once

    # What a running server reads: the same store, which knows the token by its digest only.
    from jupyter_nj.cli import load_nj_app
    from jupyter_nj.sharing.links import DraftLinks

    store = DraftLinks(Path(load_nj_app(str(project)).nj_data_path) / "links.json")
    assert store.resolve(link["url"].rsplit("/", 1)[1]).id == link["id"]

    # Each line says what its link gives: an edit link, and a share by name (made by a
    # server under a hub, which writes the same store).
    assert run(project, "links", "create", "doc.ipynb", "--edit", "--run", "--json") == 0
    edit = json.loads(capsys.readouterr().out)
    named, _ = store.create("doc.ipynb", "alice", kind="edit", shared_with={"user": "bob"})
    assert run(project, "links", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "co-edit and run" in next(x for x in lines if x.startswith(edit["id"]))
    named_line = next(x for x in lines if x.startswith(named.id))
    assert "co-edit with user bob" in named_line and "and run" not in named_line
    for extra in (edit["id"], named.id):
        assert run(project, "links", "revoke", extra) == 0
    capsys.readouterr()

    assert run(project, "links", "revoke", link["id"]) == 0
    assert "410" in capsys.readouterr().out
    assert run(project, "links", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(project, "links", "revoke", "0123456789ab") == 2
    assert "no link" in capsys.readouterr().err
    assert run(project, "links", "create", "missing.ipynb") == 2
    assert run(project, "links", "create", "doc.ipynb", "--expires", "yesterday") == 2
    assert "ISO 8601" in capsys.readouterr().err


def test_a_link_made_on_the_command_line_is_snapshotted_and_revoked_there(
    project: Path, tmp_path: Path, capsys: Any
) -> None:
    """With NJApp.drafts_dir in the server's config (as under JupyterHub), the command line
    writes the snapshot the pages service serves, names the service's URL, and tombstones it."""
    from jupyter_nj.sharing.drafts import DraftSnapshots

    drafts = tmp_path / "drafts"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"NJApp": {"drafts_dir": str(drafts), "drafts_base_url": "/services/nj-pages/"}})
    )
    (project / "doc.md").write_text(MARKDOWN)
    assert run(project, "import", "doc.md", "--to", "doc.ipynb") == 0
    capsys.readouterr()
    assert run(project, "links", "create", "doc.ipynb", "--json") == 0
    link = json.loads(capsys.readouterr().out)
    assert link["url"].startswith("/services/nj-pages/nj/l/")
    token = link["url"].rsplit("/", 1)[1]
    page, _etag = DraftSnapshots(drafts).read(token)
    assert b"A title" in page
    assert run(project, "links", "revoke", link["id"]) == 0
    with pytest.raises(NJError) as info:
        DraftSnapshots(drafts).read(token)
    assert info.value.status_code == 410
