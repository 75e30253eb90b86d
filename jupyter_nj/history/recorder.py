"""HistoryRecorder: turns saves into versions without slowing the save down.

The contents manager's save hooks only capture and enqueue (a reference to the content being
saved, the file id, the time and who saved); one worker thread turns that into versions:

- rapid saves of one file are coalesced: a version is written once the file has been quiet for
  `quiet_period` seconds, or `max_delay` seconds after the first unrecorded save. A content that
  stayed saved for at least `quiet_period` is always written, even when the worker runs late,
  because the decision uses the save times taken in the hook;
- a save whose bytes (and results folder) equal the newest version makes no version;
- the content passes through `redact` before it is written, unless a pre-save hook already
  redacted it (`saves_redacted`; content recorded without a save is always redacted here);
- every `repack_every` versions a background thread repacks the store.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import fnmatch
import json
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import nbjson

from .disk import read_regular_file, read_saved_file, walk_folder
from .split import SplitNotebook
from .store import HistoryStore, ResultsSnapshot, Version, canonical_notebook_bytes, notebook_kind

log = logging.getLogger(__name__)

Redactor = Callable[[Any], Any]


@dataclass
class Captured:
    """The content a save was asked to write, as the pre-save hook saw it."""

    model_type: str
    content: Any
    format: str | None


@dataclass
class SaveEvent:
    path: str
    os_path: str | None
    file_id: str | None
    time: float
    monotonic: float
    # User name -> display name of everyone who took part in the save.
    authors: dict[str, str]
    captured: list[Captured] = field(default_factory=list)
    content: bytes | None = None
    checkpoint: bool = False
    restored_from: str | None = None
    done: concurrent.futures.Future[Version | None] | None = None
    presave_seq: int = 0
    alone: bool = False


@dataclass
class _Pending:
    history_id: str
    path: str
    os_path: str | None
    content: bytes | SplitNotebook
    created: float
    first_monotonic: float
    last_monotonic: float
    deadline: float
    authors: dict[str, str]
    restored_from: str | None = None


@dataclass
class _Control:
    action: str
    args: tuple[Any, ...] = ()
    done: concurrent.futures.Future[Any] | None = None


class ResultsCapture:
    """Snapshots a notebook's results folder into blobs, reusing blob ids of unchanged files."""

    def __init__(
        self,
        store: HistoryStore,
        *,
        folder: str = "{stem}.results",
        max_file_size: int = 50 * 1024 * 1024,
        max_total_size: int = 200 * 1024 * 1024,
        ignore: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.folder = folder
        self.max_file_size = max_file_size
        self.max_total_size = max_total_size
        self.ignore = list(ignore)
        self._known: dict[str, tuple[int, int, int, Any]] = {}

    def folder_for(self, os_path: str) -> Path:
        notebook = Path(os_path)
        stem = notebook.name[: -len(notebook.suffix)] if notebook.suffix else notebook.name
        return notebook.parent / self.folder.format(stem=stem, name=notebook.name)

    def remember(self, full_path: str, oid: Any) -> None:
        """`full_path` was just written with the bytes of blob `oid` (a remix's results folder):
        the next snapshot takes the blob id from this instead of reading the file again."""
        with contextlib.suppress(OSError):
            st = os.stat(full_path, follow_symlinks=False)
            self._known[str(full_path)] = (st.st_size, st.st_mtime_ns, st.st_ino, oid)

    def known_blob(self, full_path: str) -> Any:
        """The blob id of a results file as the last snapshot read it, if the file has not
        changed since (same size, modification time and inode); else None."""
        known = self._known.get(str(full_path))
        if known is None:
            return None
        try:
            st = os.stat(full_path, follow_symlinks=False)
        except OSError:
            return None
        return known[3] if known[:3] == (st.st_size, st.st_mtime_ns, st.st_ino) else None

    def _ignored(self, rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(name, pat) for pat in self.ignore)

    def snapshot(self, os_path: str) -> ResultsSnapshot | None:
        folder = self.folder_for(os_path)
        if not folder.is_dir() or folder.is_symlink():
            return None
        snap = ResultsSnapshot()
        total = 0
        for rel_dir, dirnames, filenames, dir_fd in walk_folder(str(folder)):
            dirnames[:] = sorted(d for d in dirnames if not self._ignored(rel_dir + d))
            for name in sorted(filenames):
                rel = rel_dir + name
                full = os.path.join(folder, rel)
                if self._ignored(rel):
                    continue
                try:
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                if st.st_size > self.max_file_size or total + st.st_size > self.max_total_size:
                    snap.skipped.append(rel)
                    continue
                known = self._known.get(full)
                if known and known[:3] == (st.st_size, st.st_mtime_ns, st.st_ino):
                    oid = known[3]
                else:
                    try:
                        data = read_regular_file(name, self.max_file_size, dir_fd=dir_fd)
                        if len(data) > self.max_file_size:
                            snap.skipped.append(rel)
                            continue
                        oid = self.store.add_result_file(data)
                    except (OSError, ValueError):
                        continue
                    self._known[full] = (st.st_size, st.st_mtime_ns, st.st_ino, oid)
                snap.files[rel] = (oid, st.st_size)
                total += st.st_size
        return snap


class HistoryRecorder:
    """Save hooks plus the worker thread that writes versions into a `HistoryStore`."""

    def __init__(
        self,
        store: HistoryStore,
        *,
        quiet_period: float = 2.0,
        max_delay: float = 30.0,
        max_file_size: int = 100 * 1024 * 1024,
        results: ResultsCapture | None = None,
        redact: Redactor | None = None,
        saves_redacted: bool = False,
        repack_every: int = 500,
        file_id_lookup: Callable[[str], str | None] | None = None,
        authors_lookup: Callable[[str | None, str], dict[str, str]] | None = None,
        ignore_prefixes: Sequence[str] = (),
        root_dir: str = "",
    ) -> None:
        self.store = store
        # Saved files are re-read with no link followed below this folder (the server root;
        # else the file's own folder): a runtime may swap a saved file or a folder for a link.
        self.root_dir = root_dir
        self.quiet_period = max(0.0, quiet_period)
        self.max_delay = max(self.quiet_period, max_delay)
        self.max_file_size = max_file_size
        self.results = results
        self.redact = redact
        # True when a pre-save hook that runs before ours already applied `redact` to what
        # saves write: then only content that never went through a save is redacted here.
        self.saves_redacted = saves_redacted and redact is not None
        self.repack_every = repack_every
        self.file_id_lookup = file_id_lookup
        self.authors_lookup = authors_lookup
        self.ignore_prefixes = tuple(p.strip("/") + "/" for p in ignore_prefixes if p.strip("/"))
        self._queue: queue.Queue[SaveEvent | _Control] = queue.Queue()
        self._captured: dict[str, list[Captured]] = {}
        self._captured_lock = threading.Lock()
        self._taken_early: dict[str, int] = {}
        self._presaves: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}
        self._pending: dict[str, _Pending] = {}
        self._restores: dict[str, str] = {}
        # API path -> the history its next save continues (a remix's new file).
        self._adoptions: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._repack_thread: threading.Thread | None = None
        self._since_repack = 0
        self.versions_written = 0
        self.errors = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="nj-history", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything still pending, then stop the worker."""
        if self._thread is None:
            return
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put(_Control("stop", done=done))
        with contextlib.suppress(concurrent.futures.TimeoutError):
            done.result(timeout)
        self._thread.join(timeout)
        self._thread = None
        if self._repack_thread is not None:
            self._repack_thread.join(timeout)

    def wait_for_maintenance(self, timeout: float = 120.0) -> None:
        """Block until a background repack that is under way has finished."""
        thread = self._repack_thread
        if thread is not None:
            thread.join(timeout)

    # -- hooks (run inside the save: capture and enqueue only) ----------------------------

    def pre_save_hook(self, model: dict[str, Any], path: str, **_: Any) -> None:
        """Keep a reference to the content being saved (no copy, no serialization)."""
        try:
            kind = model.get("type")
            if kind not in ("notebook", "file") or "content" not in model or "chunk" in model:
                return
            captured = Captured(kind, model["content"], model.get("format"))
            key = path.strip("/")
            with self._captured_lock:
                self._captured.setdefault(key, []).append(captured)
                self._presaves[key] = self._presaves.get(key, 0) + 1
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
        except Exception:  # a history problem must never fail a save
            log.exception("history: pre-save capture failed for %s", path)

    def post_save_hook(self, model: dict[str, Any], os_path: str, **_: Any) -> None:
        """Enqueue the save; the worker thread does everything else."""
        try:
            if model.get("type") not in ("notebook", "file"):
                return
            path = str(model.get("path", "")).strip("/")
            with self._captured_lock:
                captured = self._captured.pop(path, [])
                # Saves of this file begun (pre-save) and not finished; a save that failed
                # never finishes, which only costs the faster path below for this file.
                in_flight = self._in_flight.get(path, 0)
                if in_flight:
                    self._in_flight[path] = in_flight - 1
                alone = in_flight <= 1
                if captured:
                    # Concurrent saves of one file: this hook took the content of saves whose
                    # own post-save hooks are still to come; those must not read the disk.
                    self._taken_early[path] = self._taken_early.get(path, 0) + len(captured) - 1
                elif self._taken_early.get(path, 0) > 0:
                    self._taken_early[path] -= 1
                    return
            if self._ignored(path):
                return
            file_id = self.file_id_lookup(path) if self.file_id_lookup else None
            authors = self.authors_lookup(file_id, path) if self.authors_lookup else {}
            self._queue.put(
                SaveEvent(
                    path=path,
                    os_path=os_path,
                    file_id=file_id,
                    time=time.time(),
                    monotonic=time.monotonic(),
                    authors=authors,
                    captured=captured,
                    presave_seq=self._presaves.get(path, 0),
                    alone=alone,
                )
            )
        except Exception:  # a history problem must never fail a save
            log.exception("history: could not enqueue a save of %s", model.get("path"))

    def _ignored(self, path: str) -> bool:
        return any((path + "/").startswith(prefix) for prefix in self.ignore_prefixes)

    # -- requests from other threads ------------------------------------------------------

    def record(
        self,
        path: str,
        os_path: str | None,
        content: bytes,
        *,
        file_id: str | None,
        authors: Sequence[str] | Mapping[str, str] = (),
        checkpoint: bool = False,
        restored_from: str | None = None,
    ) -> concurrent.futures.Future[Version | None]:
        """Record `content` now (bypassing the quiet period); resolves to the newest version."""
        done: concurrent.futures.Future[Version | None] = concurrent.futures.Future()
        self._queue.put(
            SaveEvent(
                path=path.strip("/"),
                os_path=os_path,
                file_id=file_id,
                time=time.time(),
                monotonic=time.monotonic(),
                authors=dict(authors) if isinstance(authors, Mapping) else {a: a for a in authors},
                content=content,
                checkpoint=checkpoint,
                restored_from=restored_from,
                done=done,
            )
        )
        return done

    def flush(self, history_id: str | None = None) -> concurrent.futures.Future[Any]:
        """Write what is pending now (for one history, or all); resolves when written."""
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put(_Control("flush", (history_id,), done))
        return done

    def expect_restore(self, history_id: str, version_id: str) -> None:
        """The next version of this history comes from restoring `version_id`."""
        self._queue.put(_Control("restore", (history_id, version_id)))

    def expect_history(self, path: str, history_id: str) -> None:
        """The next save of `path` (a new file) continues `history_id` (a remix): its file id
        is tied to that history when the save is handled. Sent before the save, so the worker
        sees it first."""
        self._queue.put(_Control("adopt", (path.strip("/"), history_id)))

    def file_moved(self, old_path: str, new_path: str) -> None:
        self._queue.put(_Control("move", (old_path.strip("/"), new_path.strip("/"))))

    def file_deleted(self, path: str) -> None:
        self._queue.put(_Control("delete", (path.strip("/"),)))

    # -- worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            timeout = None
            if self._pending:
                timeout = max(
                    0.0, min(p.deadline for p in self._pending.values()) - time.monotonic()
                )
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            try:
                if isinstance(item, _Control):
                    if self._control(item):
                        return
                elif item is not None:
                    self._handle(item)
            except Exception as err:  # the worker must outlive any one bad save
                self.errors += 1
                log.exception("history: could not record a version")
                if isinstance(item, (SaveEvent, _Control)) and item.done and not item.done.done():
                    item.done.set_exception(err)
            self._write_due()

    def _control(self, item: _Control) -> bool:
        result: Any = None
        if item.action == "stop":
            self._write_due(everything=True)
        elif item.action == "flush":
            (hid,) = item.args
            self._write_due(everything=hid is None, history_id=hid)
        elif item.action == "restore":
            hid, version_id = item.args
            self._restores[hid] = version_id
        elif item.action == "adopt":
            path, hid = item.args
            self._adoptions[path] = hid
        elif item.action == "move":
            self.store.record_move(*item.args)
        elif item.action == "delete":
            self.store.record_delete(*item.args)
        if item.done is not None and not item.done.done():
            item.done.set_result(result)
        return item.action == "stop"

    def _handle(self, event: SaveEvent) -> None:
        adopted = self._adoptions.pop(event.path, None)
        if adopted is not None and event.file_id:
            self.store.adopt(event.file_id, adopted)
        history_id = (
            self.store.history_for(event.file_id, event.path)
            if event.content is not None or event.captured or event.os_path
            else None
        )
        contents = self._event_contents(event, history_id) if history_id else []
        for content in contents:
            assert history_id is not None
            self._stage(history_id, event, content)
        if event.done is not None:
            version: Version | None = None
            if history_id is not None:
                pending = self._pending.pop(history_id, None)
                if pending is not None:
                    version = self._write(pending, checkpoint=event.checkpoint)
                if version is None:
                    latest = self.store.latest(history_id)
                    if latest is not None and event.checkpoint and not latest.checkpoint:
                        latest = self.store.set_checkpoint(history_id, latest.id, True)
                    version = latest
            event.done.set_result(version)

    def _event_contents(self, event: SaveEvent, history_id: str) -> list[bytes | SplitNotebook]:
        """What the event saved, ready for the store: the notebook written as objects from the
        model the save hook captured when that is exactly what reached the disk, else bytes."""
        found: list[bytes | SplitNotebook | None] = []
        if event.content is not None:
            # A live room, a restore or a checkpoint: no pre-save hook redacted this content.
            found = [
                None
                if self._too_big(event.path, event.content)
                else self._redacted(event.path, event.content)
            ]
        elif (
            len(event.captured) == 1
            and event.alone
            and event.os_path
            and self._unchanged_since(event)
        ):
            # The usual case. The model is split into objects (unchanged outputs cost a
            # comparison), and the saved file, read as I/O, confirms the split is exact; a
            # mismatch (a hook that changed the model, nbformat repairing cell ids) falls back
            # to the bytes. The file is trusted only when no other save of it was under way
            # when this one finished and none has begun since; otherwise the captured copy is.
            split = self._split_captured(history_id, event.captured[0])
            data = self.read_saved(event.os_path)
            if data is None or not self._unchanged_since(event):
                captured = event.captured[0]
                found = [
                    split if split is not None else self._captured_content(event.path, captured)
                ]
            elif split is not None and split.matches(data):
                found = [split]
            else:
                found = [self._saved(event.path, data)]
        elif event.captured:
            for captured in event.captured:
                content: bytes | SplitNotebook | None = self._split_captured(history_id, captured)
                if content is None:
                    content = self._captured_content(event.path, captured)
                if content is None and event.os_path:
                    content = self._saved_file(event)
                found.append(content)
        elif event.os_path:
            found = [self._saved_file(event)]
        return [c for c in found if c is not None and not self._too_big(event.path, c)]

    def _too_big(self, path: str, content: bytes | SplitNotebook) -> bool:
        if len(content) <= self.max_file_size:
            return False
        log.warning(
            "history: %s is over the %d-byte limit: no version recorded", path, self.max_file_size
        )
        return True

    def _split_captured(self, history_id: str, captured: Captured) -> SplitNotebook | None:
        """The captured notebook model as store objects, when it needs no redaction here."""
        if captured.model_type != "notebook" or not self.saves_redacted and self.redact:
            return None
        return self.store.split_notebook(history_id, captured.content)

    def _captured_content(self, path: str, captured: Captured) -> bytes | None:
        data = self.captured_bytes(captured)
        return None if data is None else self._saved(path, data)

    def _saved_file(self, event: SaveEvent) -> bytes | None:
        data = self.read_saved(event.os_path) if event.os_path else None
        return None if data is None else self._saved(event.path, data)

    def _saved(self, path: str, data: bytes) -> bytes | None:
        """Bytes a save wrote, redacted here only when no pre-save hook did it already."""
        if self._too_big(path, data):
            return None
        return data if self.saves_redacted else self._redacted(path, data)

    def _unchanged_since(self, event: SaveEvent) -> bool:
        """No other save of this file has started since the event's save finished."""
        with self._captured_lock:
            return self._presaves.get(event.path, 0) == event.presave_seq

    def saves_in_flight(self, path: str) -> int:
        """How many saves of `path` have begun (pre-save) and not finished (post-save)."""
        with self._captured_lock:
            return self._in_flight.get(path.strip("/"), 0)

    def read_saved(self, os_path: str) -> bytes | None:
        """The file's bytes, read when no write is under way, or None if none could be had.

        jupyter_server's atomic writing rewrites the file in place, keeping a `.~<name>` backup
        beside it until the write is done, so a read racing a save can see it truncated (even
        empty, with size and time holding still). Concurrent saves of one file share that backup
        name, so one save's write can run with no backup beside it once the other's is done:
        callers that may race another save of the file also check that none has begun (the
        hooks' counters). A read counts only when no backup exists
        before or after it and size and time did not move. Giving up is safe: the save that was
        under way enqueues its own version when it finishes. A symlink is never followed.
        """
        folder, name = os.path.split(os_path)
        intermediate = os.path.join(folder, ".~" + name)
        for _attempt in range(40):
            try:
                busy = os.path.lexists(intermediate)
                before = os.lstat(os_path)
                data = read_saved_file(self.root_dir or folder, os_path, self.max_file_size)
                after = os.lstat(os_path)
                busy = busy or os.path.lexists(intermediate)
            except OSError as err:
                log.warning("history: cannot read %s: %s", os_path, err)
                return None
            stable = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
            if stable and not busy and len(data) == after.st_size:
                return data
            time.sleep(0.05)
        log.warning("history: %s kept changing while being read; left to the next save", os_path)
        return None

    def captured_bytes(self, captured: Captured) -> bytes | None:
        """The bytes the contents manager writes for this content (None: read the file)."""
        content = captured.content
        if captured.model_type == "notebook":
            if not isinstance(content, dict) or content.get("nbformat") != 4:
                return None
            try:
                # What nbformat.write produces, without its validation (which warns, and has
                # already been done by the save itself).
                text = nbjson.writes(nbformat.from_dict(content))
            except (TypeError, ValueError, AttributeError):
                return None
            return (text if text.endswith("\n") else text + "\n").encode("utf-8")
        if captured.format == "base64" and isinstance(content, str):
            try:
                return base64.b64decode(content.encode("ascii"), validate=False)
            except ValueError:
                return None
        if isinstance(content, str):
            return content.encode("utf-8")
        return None

    def _redacted(self, path: str, data: bytes) -> bytes:
        if self.redact is None:
            return data
        if notebook_kind(path):
            try:
                nb = json.loads(data)
            except ValueError:
                nb = None
            if isinstance(nb, dict):
                return canonical_notebook_bytes(self.redact(nb))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            redacted = self.redact(data)
            return redacted if isinstance(redacted, bytes) else data
        return str(self.redact(text)).encode("utf-8")

    def _stage(self, history_id: str, event: SaveEvent, content: bytes | SplitNotebook) -> None:
        pending = self._pending.get(history_id)
        authors = dict(event.authors)
        first = event.monotonic
        if pending is not None:
            if pending.content != content and event.monotonic - pending.last_monotonic >= (
                self.quiet_period
            ):
                # The earlier content stayed saved for a whole quiet period: it is a version.
                self._pending.pop(history_id)
                self._write(pending)
                pending = None
            else:
                authors = {**pending.authors, **authors}
                first = pending.first_monotonic
        deadline = min(event.monotonic + self.quiet_period, first + self.max_delay)
        self._pending[history_id] = _Pending(
            history_id=history_id,
            path=event.path,
            os_path=event.os_path,
            content=content,
            created=event.time,
            first_monotonic=first,
            last_monotonic=event.monotonic,
            deadline=deadline,
            authors=authors,
            restored_from=event.restored_from or (pending.restored_from if pending else None),
        )

    def _write_due(self, everything: bool = False, history_id: str | None = None) -> None:
        now = time.monotonic()
        for hid, pending in list(self._pending.items()):
            if everything or hid == history_id or pending.deadline <= now:
                self._pending.pop(hid, None)
                try:
                    self._write(pending)
                except Exception:
                    self.errors += 1
                    log.exception("history: could not write a version of %s", pending.path)

    def _write(self, pending: _Pending, checkpoint: bool = False) -> Version | None:
        results = None
        if self.results is not None and pending.os_path and notebook_kind(pending.path):
            try:
                results = self.results.snapshot(pending.os_path)
            except OSError:
                log.warning("history: could not read the results folder of %s", pending.path)
        expected_restore = self._restores.pop(pending.history_id, None)
        restored_from = pending.restored_from or expected_restore
        version = self.store.commit(
            pending.history_id,
            pending.path,
            pending.content,
            created=pending.created,
            authors=pending.authors,
            checkpoint=checkpoint,
            message=f"Restore {pending.path} to {restored_from[:12]}" if restored_from else None,
            restored_from=restored_from,
            results=results,
        )
        if version is not None:
            self.versions_written += 1
            self._since_repack += 1
            if self.repack_every and self._since_repack >= self.repack_every:
                self._start_repack()
        return version

    def _start_repack(self) -> None:
        if self._repack_thread is not None and self._repack_thread.is_alive():
            return
        self._since_repack = 0

        def repack() -> None:
            try:
                self.store.repack()
            except Exception:  # maintenance failing must not stop recording
                log.exception("history: background repack failed")

        self._repack_thread = threading.Thread(target=repack, name="nj-history-repack", daemon=True)
        self._repack_thread.start()
