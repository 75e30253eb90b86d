"""HistoryStore on a real bare git repository (pygit2 writes, the git CLI reads)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from jupyter_nj.history.recorder import ResultsCapture
from jupyter_nj.history.store import (
    HistoryStore,
    UnknownVersion,
    canonical_notebook_bytes,
)

from .conftest import fsck_is_clean, git_fsck, make_notebook


def nb_bytes(nb: dict) -> bytes:
    return (nbformat.writes(nbformat.from_dict(nb)) + "\n").encode()


def objects_size(store: HistoryStore) -> int:
    total = 0
    for root, _dirs, files in os.walk(store.path / "objects"):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "history.git")


def test_unchanged_outputs_cost_nothing_and_a_source_edit_adds_under_10_kb(
    store: HistoryStore,
) -> None:
    nb = make_notebook("base", cells=40, image=True)
    for cell in nb["cells"][:-1]:
        cell["outputs"][0]["text"] = "".join(f"line {j}\n" for j in range(200))
    hid = store.history_for("file-1", "big.ipynb")
    store.commit(hid, "big.ipynb", nb_bytes(nb))
    growth = []
    for i in range(5):
        nb["cells"][5]["source"] = f"edited {i}"
        before = objects_size(store)
        assert store.commit(hid, "big.ipynb", nb_bytes(nb)) is not None
        growth.append(objects_size(store) - before)
    assert max(growth) <= 10 * 1024, growth
    assert len(nb_bytes(nb)) > 100 * 1024


def test_every_version_reassembles_to_its_exact_bytes(store: HistoryStore) -> None:
    hid = store.history_for("f", "a.ipynb")
    saved = []
    for i in range(4):
        data = nb_bytes(make_notebook(f"v{i}", image=i % 2 == 0))
        saved.append((store.commit(hid, "a.ipynb", data), data))
    for version, data in saved:
        assert version is not None
        assert store.content(version.id) == data


def test_non_canonical_notebooks_and_other_files_are_kept_byte_for_byte(
    store: HistoryStore,
) -> None:
    nb = make_notebook("odd")
    indented = json.dumps(nb, indent=4).encode()  # not what nbformat writes
    assert indented != canonical_notebook_bytes(nb)
    hid = store.history_for("g", "odd.ipynb")
    version = store.commit(hid, "odd.ipynb", indented)
    assert version is not None and version.kind == "notebook-raw"
    assert store.content(version.id) == indented
    binary = bytes(range(256))
    bid = store.history_for("h", "blob.bin")
    bversion = store.commit(bid, "blob.bin", binary)
    assert bversion is not None and store.content(bversion.id) == binary


def test_identical_content_makes_no_version_but_can_mark_a_checkpoint(
    store: HistoryStore,
) -> None:
    hid = store.history_for("f", "t.txt")
    first = store.commit(hid, "t.txt", b"same\n")
    assert first is not None and not first.checkpoint
    assert store.commit(hid, "t.txt", b"same\n") is None
    assert store.commit(hid, "t.txt", b"same\n", checkpoint=True) is None
    assert store.latest(hid).checkpoint  # type: ignore[union-attr]
    assert [v.id for v in store.checkpoints(hid)] == [first.id]


def test_listing_pages_are_newest_first_and_cursors_chain(store: HistoryStore) -> None:
    hid = store.history_for("f", "t.txt")
    ids = [store.commit(hid, "t.txt", f"{i}\n".encode()).id for i in range(120)]  # type: ignore[union-attr]
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = store.versions(hid, 50, cursor)
        seen += [v.id for v in page]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    with pytest.raises(UnknownVersion):
        store.versions(hid, 10, "f" * 40)
    with pytest.raises(UnknownVersion):
        store.version(hid, "0" * 40)
    assert store.version(hid, ids[3][:10]).id == ids[3]


def test_the_index_is_rebuilt_from_git_after_it_is_lost(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.git")
    hid = store.history_for("f", "t.txt")
    versions = [store.commit(hid, "t.txt", f"{i}\n".encode(), authors=["ann"]) for i in range(5)]
    store.set_label(hid, versions[1].id, "keep")  # type: ignore[union-attr]
    store.close()
    for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
        (tmp_path / "h.git" / name).unlink(missing_ok=True)
    reopened = HistoryStore(tmp_path / "h.git")
    listed, _ = reopened.versions(hid)
    assert [v.id for v in listed] == [v.id for v in reversed(versions)]  # type: ignore[union-attr]
    assert listed[3].label == "keep" and listed[0].authors == ["ann"]
    assert reopened.find_history(None, "t.txt") == hid


def test_a_lock_file_left_by_a_killed_writer_does_not_block_the_next_version(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "h.git")
    hid = store.history_for("f", "t.txt")
    store.commit(hid, "t.txt", b"1\n")
    (tmp_path / "h.git" / "refs" / "nj" / "files" / f"{hid}.lock").write_text("stale")
    assert store.commit(hid, "t.txt", b"2\n") is not None
    assert store.content(store.latest(hid).id) == b"2\n"  # type: ignore[union-attr]


def test_git_reads_the_store_and_fsck_is_clean_after_a_repack(store: HistoryStore) -> None:
    hid = store.history_for("f", "nb.ipynb")
    for i in range(30):
        store.commit(hid, "nb.ipynb", nb_bytes(make_notebook(f"m{i}", image=True)))
    loose = store.loose_object_count()
    store.repack()
    assert store.loose_object_count() < loose
    log = subprocess.run(
        ["git", "--git-dir", str(store.path), "log", "--format=%s", f"refs/nj/files/{hid}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(log) == 30 and log[0] == "Save nb.ipynb"
    assert fsck_is_clean(git_fsck(store.path))
    # pygit2 still reads everything after the repack.
    assert b"m29" in store.content(store.latest(hid).id)  # type: ignore[union-attr]


def test_a_version_after_a_repack_writes_only_its_new_objects_and_makes_no_folder(
    store: HistoryStore,
) -> None:
    hid = store.history_for("f", "nb.ipynb")
    nb = make_notebook("m", cells=5, image=True)
    for i in range(5):
        nb["cells"][0]["source"] = f"print(0)  # {i}"
        store.commit(hid, "nb.ipynb", nb_bytes(nb))
    store.repack()
    objects = store.path / "objects"
    fan_out = sorted(p.name for p in objects.iterdir() if len(p.name) == 2)
    # The repack's prune emptied the fan-out folders; the store made them all again.
    assert store.loose_object_count() == 0 and len(fan_out) == 256
    nb["cells"][0]["source"] = "print(0)  # after the repack"
    assert store.commit(hid, "nb.ipynb", nb_bytes(nb)) is not None
    # notebook.json, the root tree and the commit: the unchanged outputs tree, now packed, is
    # not written loose again.
    assert store.loose_object_count() == 3
    assert fsck_is_clean(git_fsck(store.path))
    assert b"after the repack" in store.content(store.latest(hid).id)  # type: ignore[union-attr]


def test_results_folder_is_captured_deduplicated_limited_and_filtered(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.git")
    root = tmp_path / "work"
    results = root / "analysis.results"
    (results / "plots").mkdir(parents=True)
    (results / "plots" / "fig.png").write_bytes(b"\x89PNG" + os.urandom(5000))
    (results / "table.csv").write_text("a,b\n1,2\n")
    (results / "huge.bin").write_bytes(b"0" * 20_000)
    (results / "scratch.tmp").write_text("ignored")
    notebook = root / "analysis.ipynb"
    notebook.write_bytes(nb_bytes(make_notebook("r")))
    capture = ResultsCapture(store, max_file_size=10_000, ignore=["*.tmp"])
    hid = store.history_for("f", "analysis.ipynb")
    first = store.commit(
        hid, "analysis.ipynb", notebook.read_bytes(), results=capture.snapshot(str(notebook))
    )
    assert first is not None
    captured = {r.path: r.size for r in store.results(first.id)}
    assert captured == {"plots/fig.png": 5004, "table.csv": 8}
    # The same notebook with a changed result is a new version; the unchanged figure is reused.
    (results / "table.csv").write_text("a,b\n1,3\n")
    second = store.commit(
        hid, "analysis.ipynb", notebook.read_bytes(), results=capture.snapshot(str(notebook))
    )
    assert second is not None
    fig = {r.path: r.oid for r in store.results(second.id)}["plots/fig.png"]
    assert fig == {r.path: r.oid for r in store.results(first.id)}["plots/fig.png"]
    assert store.result_bytes(first.id, "table.csv") == b"a,b\n1,2\n"
    # Nothing changed at all: no version.
    assert (
        store.commit(
            hid, "analysis.ipynb", notebook.read_bytes(), results=capture.snapshot(str(notebook))
        )
        is None
    )


def test_a_history_begun_without_a_file_id_is_continued_by_the_first_one(tmp_path: Path) -> None:
    # Saves made while the file id service failed, then saves with the file's id: one history.
    store = HistoryStore(tmp_path / "h.git")
    try:
        unnamed = store.history_for(None, "nb.ipynb")
        store.commit(unnamed, "nb.ipynb", b"one\n")
        file_id = "0b8e5f7a-2a3c-4d0e-9f61-5a1c2b3d4e5f"
        assert store.history_for(file_id, "nb.ipynb") == unnamed
        store.commit(unnamed, "nb.ipynb", b"two\n")
        assert store.find_history(file_id, "nb.ipynb") == unnamed
        assert store.find_history(None, "nb.ipynb") == unnamed
        assert store.count(unnamed) == 2
        # A history a file id began is that file's: another file id at the path is another file.
        named = store.history_for("a1b2c3d4-0000-4000-8000-000000000001", "other.ipynb")
        other = store.history_for("a1b2c3d4-0000-4000-8000-000000000002", "other.ipynb")
        assert other != named
    finally:
        store.close()
