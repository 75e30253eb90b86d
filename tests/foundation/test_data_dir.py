"""jupyter-nj's data lives outside the server root, and an old `<root>/.nj` moves there whole."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_nj.cli import load_nj_app
from jupyter_nj.data_dir import (
    default_data_dir,
    merge_catalog,
    migrate_legacy_data,
    user_catalog_dir,
)
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


def write_catalog(catalog: Path, records: dict[str, str], pointer: str, lock: str) -> None:
    """A catalog as the runtimes pillar writes it (records/<name>/<hex>.json, locks/, venvs/)."""
    for hex_id, text in records.items():
        path = catalog / "records" / "mini" / f"{hex_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (catalog / "records" / "mini" / "current-local").write_text(pointer)
    (catalog / "locks").mkdir(parents=True, exist_ok=True)
    (catalog / "locks" / f"{lock}.lock").write_text(f"lock {lock}\n")
    (catalog / "venvs" / "abc" / "bin").mkdir(parents=True)


def test_a_per_server_catalog_of_an_earlier_release_merges_into_the_users(
    tmp_path: Path, data_home: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    old = default_data_dir(root) / "environments"
    write_catalog(old, {"aa": "old aa", "bb": "old bb"}, pointer="sha256:bb", lock="l1")
    users = user_catalog_dir()
    # The user's catalog already has `aa` (the same immutable record) and chose `aa` since.
    write_catalog(users, {"aa": "users aa"}, pointer="sha256:aa", lock="l2")

    app = load_nj_app(str(root))  # what the server and `jupyter nj` do first
    assert Path(app.environment_catalog_path) == users == data_home / "nj" / "environments"
    assert not old.exists()
    mini = users / "records" / "mini"
    assert (mini / "aa.json").read_text() == "users aa"  # an existing record is kept
    assert (mini / "bb.json").read_text() == "old bb"
    assert (mini / "current-local").read_text() == "sha256:aa"  # the user's later choice wins
    assert sorted(p.name for p in (users / "locks").iterdir()) == ["l1.lock", "l2.lock"]
    assert not list(users.rglob(".tmp-*"))
    # Nothing to do the second time.
    assert merge_catalog(old, users, LOG) == 0


def test_a_planted_catalog_link_is_not_followed_and_an_operator_catalog_is_used_as_given(
    tmp_path: Path, data_home: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    write_catalog(elsewhere, {"cc": "planted"}, pointer="sha256:cc", lock="l3")
    default_data_dir(root).mkdir(parents=True)
    os.symlink(elsewhere, default_data_dir(root) / "environments")
    load_nj_app(str(root))
    assert not (user_catalog_dir() / "records").exists() and (elsewhere / "records").is_dir()

    config = tmp_path / "jupyter-config"
    config.mkdir(exist_ok=True)
    (config / "jupyter_server_config.json").write_text(
        '{"NJApp": {"environment_catalog_dir": "%s"}}' % (tmp_path / "project-catalog")
    )
    other = tmp_path / "other"
    other.mkdir()
    write_catalog(default_data_dir(other) / "environments", {"dd": "x"}, "sha256:dd", "l4")
    app = load_nj_app(str(other))
    assert Path(app.environment_catalog_path) == tmp_path / "project-catalog"
    # An operator's catalog is theirs: nothing is merged into it behind their back.
    assert (default_data_dir(other) / "environments" / "records").is_dir()
