"""jupyter-nj's data lives outside the server root, and an old `<root>/.nj` moves there whole."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_nj.cli import load_nj_app
from jupyter_nj.data_dir import default_data_dir, migrate_legacy_data
from jupyter_nj.history.store import HistoryStore

from ..services import fsck_is_clean, git_fsck

LOG = logging.getLogger("test")


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    return tmp_path / "jupyter-data"


def legacy_store(root: Path, versions: int = 3) -> list[str]:
    """A history store where earlier releases put it, with a few versions of one notebook."""
    store = HistoryStore(root / ".nj" / "history.git")
    history = store.history_for("file-id", "nb.ipynb")
    ids = []
    for n in range(versions):
        data = f'{{"cells": [], "metadata": {{"n": {n}}}, "nbformat": 4, "nbformat_minor": 5}}\n'
        version = store.commit(history, "nb.ipynb", data.encode(), authors=["ann"])
        assert version is not None
        ids.append(version.id)
    (root / ".nj" / "environments" / "venvs" / "abc").mkdir(parents=True)
    store.close()
    return ids


def fsck(git_dir: Path) -> None:
    result = git_fsck(git_dir)
    assert fsck_is_clean(result), result.stdout + result.stderr


def test_the_data_folder_is_outside_the_root_and_one_per_root(
    tmp_path: Path, data_home: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    assert default_data_dir(one) != default_data_dir(two)
    assert default_data_dir(one) == default_data_dir(str(one) + "/")
    assert data_home in default_data_dir(one).parents
    assert one not in default_data_dir(one).parents


def test_legacy_data_moves_out_of_the_root_without_losing_a_version(
    tmp_path: Path, data_home: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    ids = legacy_store(root)
    app = load_nj_app(str(root))  # what the server and `jupyter nj` do first
    target = Path(app.nj_data_path)
    assert not (root / ".nj").exists()
    assert root not in target.parents
    fsck(target / "history.git")
    store = HistoryStore(target / "history.git")
    try:
        history = store.history_for("file-id", "nb.ipynb")
        assert [v.id for v in store.versions(history)[0]] == list(reversed(ids))
    finally:
        store.close()
    # The venvs' absolute paths cannot move: they are made again from their locks.
    assert not (target / "environments" / "venvs").exists()


def test_a_data_folder_that_exists_wins_and_a_planted_one_is_never_followed(
    tmp_path: Path, data_home: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    target = default_data_dir(root)
    target.mkdir(parents=True)
    (target / "mine").write_text("kept")
    legacy_store(root)
    assert migrate_legacy_data(root, target, LOG) is False
    assert (target / "mine").read_text() == "kept" and (root / ".nj").is_dir()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other_root = tmp_path / "other"
    other_root.mkdir()
    os.symlink(elsewhere, other_root / ".nj")
    assert migrate_legacy_data(other_root, default_data_dir(other_root), LOG) is False
    assert not default_data_dir(other_root).exists()


def test_an_operator_folder_is_used_as_given(tmp_path: Path, data_home: Path, capsys: Any) -> None:
    root = tmp_path / "project"
    root.mkdir()
    legacy_store(root)
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        '{"NJApp": {"nj_dir": "%s"}}' % (tmp_path / "chosen")
    )
    app = load_nj_app(str(root))
    assert Path(app.nj_data_path) == tmp_path / "chosen"
    assert (root / ".nj").is_dir()  # nothing moves when the operator chose a folder
