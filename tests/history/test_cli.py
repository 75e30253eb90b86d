"""`jupyter nj history ...` works on the store directly, with no server running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_nj.cli import main
from jupyter_nj.history.store import HistoryStore

from .conftest import first_source, make_notebook


def nb_bytes(marker: str) -> bytes:
    return (nbformat.writes(nbformat.from_dict(make_notebook(marker))) + "\n").encode()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: Any) -> tuple[Path, list[str]]:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    # Where earlier releases kept it: the first command moves it to its own folder.
    store = HistoryStore(root / ".nj" / "history.git")
    hid = store.history_for("file-id", "nb.ipynb")
    ids = []
    for marker in ("one", "two", "three"):
        (root / "nb.ipynb").write_bytes(nb_bytes(marker))
        version = store.commit(
            hid, "nb.ipynb", nb_bytes(marker), authors={"ann-7f3a": "Ann Example"}
        )
        assert version is not None
        ids.append(version.id)
    store.close()
    return root, ids


def run(root: Path, *args: str) -> int:
    return main(["--root-dir", str(root), "history", *args])


def test_log_lists_versions_newest_first(project: Any, capsys: Any) -> None:
    root, ids = project
    assert run(root, "log", "nb.ipynb", "--json") == 0
    listing = json.loads(capsys.readouterr().out)
    assert [v["id"] for v in listing["versions"]] == list(reversed(ids))
    assert run(root, "log", "nb.ipynb") == 0
    lines = capsys.readouterr().out.splitlines()
    # People are named by their display names; the user name stays in the JSON.
    assert lines[0].startswith(ids[2][:12]) and "Ann Example" in lines[0]
    assert "ann-7f3a" not in lines[0]
    assert listing["versions"][0]["authors"] == ["ann-7f3a"]
    assert listing["versions"][0]["author_display_names"] == ["Ann Example"]


def test_show_label_diff_and_restore(project: Any, capsys: Any, tmp_path: Path) -> None:
    root, ids = project
    assert run(root, "show", "nb.ipynb", ids[0][:8], "-o", str(tmp_path / "old.ipynb")) == 0
    assert (tmp_path / "old.ipynb").read_bytes() == nb_bytes("one")
    assert run(root, "label", "nb.ipynb", ids[0], "first draft") == 0
    assert "first draft" in capsys.readouterr().out
    assert run(root, "diff", "nb.ipynb", ids[0], ids[2], "--json") == 0
    assert "source" in capsys.readouterr().out
    assert run(root, "diff", "nb.ipynb", ids[0]) == 0  # against the file on disk
    assert "one" in capsys.readouterr().out
    assert run(root, "restore", "nb.ipynb", ids[0]) == 0
    assert "restored nb.ipynb" in capsys.readouterr().out
    assert first_source(json.loads((root / "nb.ipynb").read_text())).endswith("one")
    assert run(root, "log", "nb.ipynb", "--json") == 0
    listing = json.loads(capsys.readouterr().out)
    assert len(listing["versions"]) == 4
    assert listing["versions"][0]["restored_from"] == ids[0]
    assert listing["versions"][-1]["label"] == "first draft"


def test_unknown_paths_and_versions_are_reported_not_raised(project: Any, capsys: Any) -> None:
    root, _ = project
    assert run(root, "log", "missing.ipynb") == 2
    assert "missing.ipynb" in capsys.readouterr().err
    assert run(root, "show", "nb.ipynb", "0" * 40) == 2
    assert run(root, "log", "../outside.ipynb") == 2


def test_the_jupyter_nj_command_runs_history(project: Any) -> None:
    root, ids = project
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root.parent / "config")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_nj.cli",
            "--root-dir",
            str(root),
            "history",
            "log",
            "nb.ipynb",
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert ids[2][:12] in result.stdout
