"""HistoryRecorder: coalescing, skipping, redaction and size limits, with a real store."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import nbformat

from jupyter_nj.history.recorder import HistoryRecorder, ResultsCapture
from jupyter_nj.history.store import HistoryStore

from .conftest import make_notebook


def save(recorder: HistoryRecorder, path: Path, text: str) -> None:
    """What the contents manager does: write the file, then run both hooks."""
    model = {"type": "file", "format": "text", "content": text, "path": path.name}
    recorder.pre_save_hook(model=model, path=path.name)
    path.write_text(text)
    recorder.post_save_hook(model={"type": "file", "path": path.name}, os_path=str(path))


def texts(store: HistoryStore, name: str) -> list[str]:
    hid = store.find_history(None, name)
    if hid is None:
        return []
    versions, _ = store.versions(hid, 1000)
    return [store.content(v.id).decode() for v in reversed(versions)]


def test_rapid_saves_coalesce_but_content_that_stayed_a_quiet_period_is_kept(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "h.git")
    recorder = HistoryRecorder(store, quiet_period=0.4, max_delay=30)
    recorder.start()
    try:
        target = tmp_path / "a.txt"
        for i in range(5):
            save(recorder, target, f"burst {i}\n")
        time.sleep(0.6)  # "burst 4" stays saved for longer than the quiet period
        save(recorder, target, "later\n")
        save(recorder, target, "later\n")  # unchanged: no version
        recorder.flush().result(10)
    finally:
        recorder.stop()
    assert texts(store, "a.txt") == ["burst 4\n", "later\n"]


def test_a_late_worker_still_keeps_content_that_stayed_a_quiet_period(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.git")
    recorder = HistoryRecorder(store, quiet_period=0.3, max_delay=30)
    target = tmp_path / "b.txt"
    # The worker is not running: saves pile up in the queue, as behind a slow repack.
    save(recorder, target, "first\n")
    time.sleep(0.4)
    save(recorder, target, "second\n")
    recorder.start()
    recorder.flush().result(10)
    recorder.stop()
    assert texts(store, "b.txt") == ["first\n", "second\n"]


def test_the_save_hooks_only_queue_the_work_for_the_recorders_thread(tmp_path: Path) -> None:
    # The hooks run on the server's event loop: they must leave reading, hashing and writing to
    # the recorder's worker. With the worker not started, nothing may be written by them.
    store = HistoryStore(tmp_path / "h.git")
    recorder = HistoryRecorder(store, quiet_period=0)
    target = tmp_path / "c.txt"
    target.write_text("x" * 1_000_000)
    model = {"type": "file", "format": "text", "content": "x" * 1_000_000, "path": "c.txt"}
    for _ in range(3):
        recorder.pre_save_hook(model=model, path="c.txt")
        recorder.post_save_hook(model={"type": "file", "path": "c.txt"}, os_path=str(target))
    assert texts(store, "c.txt") == []
    recorder.start()
    recorder.flush().result(10)
    recorder.stop()
    assert texts(store, "c.txt") == ["x" * 1_000_000]  # the worker wrote what was queued


def test_redaction_runs_before_a_version_is_written_and_big_files_are_skipped(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "h.git")
    seen: list[Any] = []

    def redact(content: Any) -> Any:
        seen.append(type(content).__name__)
        return content.replace("hunter2", "[secret]") if isinstance(content, str) else content

    recorder = HistoryRecorder(store, quiet_period=0, redact=redact, max_file_size=1000)
    recorder.start()
    save(recorder, tmp_path / "env.txt", "password=hunter2\n")
    save(recorder, tmp_path / "big.txt", "y" * 5000)
    recorder.flush().result(10)
    recorder.stop()
    assert texts(store, "env.txt") == ["password=[secret]\n"]
    every_object = subprocess.run(
        ["git", "--git-dir", str(store.path), "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=True,
    ).stdout
    assert b"hunter2" not in every_object and b"[secret]" in every_object
    assert seen == ["str"]
    assert texts(store, "big.txt") == []


def test_symlinks_planted_in_the_notebook_folder_are_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("outside the root\n")
    root = tmp_path / "root"
    (root / "nb.results" / "linked").parent.mkdir(parents=True)
    (root / "nb.results" / "kept.txt").write_text("kept\n")
    (root / "nb.results" / "leak.txt").symlink_to(secret)
    (root / "nb.results" / "linked").symlink_to(secret.parent, target_is_directory=True)
    (root / "notes.txt").symlink_to(secret)
    store = HistoryStore(tmp_path / "h.git")
    recorder = HistoryRecorder(store, quiet_period=0, results=ResultsCapture(store, ignore=[]))
    recorder.start()
    # A save with no captured content makes the recorder read the file: a symlink is refused.
    recorder.post_save_hook(
        model={"type": "file", "path": "notes.txt"}, os_path=str(root / "notes.txt")
    )
    nb = make_notebook("x", cells=2)
    data = (nbformat.writes(nbformat.from_dict(nb)) + "\n").encode()
    (root / "nb.ipynb").write_bytes(data)
    recorder.post_save_hook(
        model={"type": "notebook", "path": "nb.ipynb"}, os_path=str(root / "nb.ipynb")
    )
    recorder.flush().result(10)
    recorder.stop()
    assert texts(store, "notes.txt") == []
    hid = store.find_history(None, "nb.ipynb")
    assert hid is not None
    latest = store.latest(hid)
    assert latest is not None and store.content(latest.id) == data
    assert [r.path for r in store.results(latest.id)] == ["kept.txt"]


def test_a_saved_notebook_is_stored_from_its_model_and_the_file_decides_when_they_differ(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "h.git")
    recorder = HistoryRecorder(store, quiet_period=0)
    recorder.start()
    path = tmp_path / "nb.ipynb"
    written = []
    for n, hand_edited in enumerate([False, False, True]):
        nb = make_notebook(f"v{n}", cells=4)
        model = {"type": "notebook", "format": "json", "content": nb, "path": path.name}
        recorder.pre_save_hook(model=model, path=path.name)
        data = (nbformat.writes(nbformat.from_dict(nb)) + "\n").encode()
        if hand_edited:  # the file is not what the model gives (another writer, a repair)
            data = data.replace(b'"nbformat": 4', b'"nbformat":   4')
        path.write_bytes(data)
        written.append(data)
        recorder.post_save_hook(model={"type": "notebook", "path": path.name}, os_path=str(path))
        recorder.flush().result(10)
    recorder.stop()
    hid = store.find_history(None, "nb.ipynb")
    assert hid is not None
    versions, _ = store.versions(hid, 10)
    assert [store.content(v.id) for v in reversed(versions)] == written
    assert [v.kind for v in reversed(versions)] == ["notebook", "notebook", "notebook-raw"]
