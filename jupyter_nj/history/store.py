"""HistoryStore: every version of every file, in a private bare git repository.

Layout (git itself can read all of it: `git log`, `git show`, `git fsck`):

- one ref per history, `refs/nj/files/<history id>`, a linear chain of commits (the history id is
  the jupyter_server_fileid file id of the file's first version);
- a notebook version's tree holds `notebook.json` (the notebook with every code cell's outputs
  removed, cell ids kept) and `outputs/<cell key>/<n>` (one blob per output), written by
  `split.NotebookSplitter`. Blobs are content-addressed, so outputs that did not change cost
  nothing and an edit to one cell's source adds only a new `notebook.json`, a root tree and a
  commit;
- a notebook whose bytes are not nbformat's canonical form is kept whole as `notebook.ipynb`, so
  reassembly is always exact; any other file is kept as `file`;
- the results folder captured with a version is the subtree `results/`;
- when, who, which path and how big go into commit trailers (`Nj-Path:`, `Nj-Author:`, ...);
  each `Nj-Author:` (the user name, the stable key) is followed by its `Nj-Author-Name:` (the
  display name the identity had at that save);
  labels and checkpoint marks added later are git notes under `refs/notes/nj/<history id>`.

`index.sqlite3` next to the repository is a derived index (listing 50 of 10,000 versions costs a
query, not a walk). It is reconciled with the refs and notes whenever the store is opened, so a
crash between the git write and the index write loses nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pygit2

from .objects import BLOB_MODE, TREE_MODE, ObjectWriter, valid_entry_name
from .split import NotebookSplitter, SplitNotebook, canonical_notebook_bytes, cell_keys

REF_PREFIX = "refs/nj/files/"
NOTES_PREFIX = "refs/notes/nj/"
COMMITTER_NAME = "jupyter-nj"
# git needs an email in every signature; user names are in `Nj-Author:` trailers.
SIGNATURE_EMAIL = "history@jupyter-nj.invalid"
NOTEBOOK_INPUTS = "notebook.json"
NOTEBOOK_RAW = "notebook.ipynb"
FILE_BLOB = "file"
OUTPUTS_TREE = "outputs"
RESULTS_TREE = "results"
_TRAILER = re.compile(r"^(Nj-[A-Za-z-]+): ?(.*)$")
# The versions table's columns, in the order the index writes them.
_INDEX_COLUMNS = (
    "id, hid, seq, created, authors, message, label, checkpoint, committed_checkpoint, size, "
    "path, kind, restored_from, content_oid, author_names"
)
_SAFE_HISTORY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class HistoryError(Exception):
    """Something the caller asked for does not exist or cannot be done (unknown version, ...)."""


class UnknownVersion(HistoryError):
    pass


@dataclass
class Version:
    """One recorded version of a file."""

    id: str
    history_id: str
    created: float
    authors: list[str]
    message: str
    label: str | None
    checkpoint: bool
    size: int
    path: str
    kind: str
    restored_from: str | None = None
    seq: int = 0
    # Display names, one per entry of `authors` (older versions may have none).
    author_names: list[str] = field(default_factory=list)

    @property
    def author_display_names(self) -> list[str]:
        """One display name per author, the user name where none was recorded."""
        names = self.author_names if len(self.author_names) == len(self.authors) else []
        return [
            (names[i] if names and names[i] else author) for i, author in enumerate(self.authors)
        ]

    def to_json(self) -> dict[str, Any]:
        """The REST representation (`V` in the history API)."""
        created = datetime.fromtimestamp(self.created, tz=timezone.utc)
        return {
            "id": self.id,
            "created": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "authors": list(self.authors),
            "author_display_names": self.author_display_names,
            "message": self.message,
            "label": self.label,
            "checkpoint": self.checkpoint,
            "size": self.size,
            "path": self.path,
            "kind": self.kind,
            "restored_from": self.restored_from,
        }


@dataclass
class ResultFile:
    """One file of a captured results folder."""

    path: str
    size: int
    oid: str


@dataclass
class ResultsSnapshot:
    """A results folder as blobs: relative posix path -> (blob id, size)."""

    files: dict[str, tuple[pygit2.Oid, int]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def notebook_kind(path: str) -> bool:
    return path.lower().endswith(".ipynb")


def git_blob_id(content: bytes) -> str:
    """The id git gives a blob of these bytes (plain SHA-1 is several times faster than the
    collision-detecting one libgit2 uses, and equal for anything but a crafted collision)."""
    digest = hashlib.sha1(b"blob %d\x00" % len(content), usedforsecurity=False)
    digest.update(content)
    return digest.hexdigest()


class HistoryStore:
    """Versions of files in a bare git repository at `path` (created if missing).

    Safe to use from several threads and several processes at once: writes take a thread lock
    and an exclusive `flock` on `<path>/nj.lock`; reads use one repository handle and one index
    connection per thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, committer: str = COMMITTER_NAME) -> None:
        self.path = Path(path)
        self.committer = committer
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self.objects = ObjectWriter(self.path)
        self._splitter = NotebookSplitter(self.objects)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not (self.path / "HEAD").exists():
            pygit2.init_repository(str(self.path), bare=True)
            repo = pygit2.Repository(str(self.path))
            # Maintenance is ours (repack in the background); a stray `git gc` elsewhere must not
            # prune objects a writer is about to reference.
            repo.config["gc.auto"] = 0
            repo.config["core.logAllRefUpdates"] = False
            repo.config["gc.pruneExpire"] = "never"
        self._lock_fd = os.open(self.path / "nj.lock", os.O_RDWR | os.O_CREAT, 0o600)
        with self._writing():
            self._init_index()
            self._remove_stale_ref_locks()
            self.reconcile_index()

    # -- plumbing --------------------------------------------------------------------------

    @property
    def repo(self) -> pygit2.Repository:
        repo = getattr(self._local, "repo", None)
        if repo is None:
            repo = pygit2.Repository(str(self.path))
            self._local.repo = repo
        return repo

    @property
    def db(self) -> sqlite3.Connection:
        con = getattr(self._local, "db", None)
        if con is None:
            con = sqlite3.connect(str(self.path / "index.sqlite3"), timeout=30)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            # Keep the write-ahead log small on disk: the index is tiny and derivable.
            con.execute("PRAGMA journal_size_limit=1048576")
            self._local.db = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "db", None)
        if con is not None:
            con.close()
            self._local.db = None
        self._local.repo = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        with self._write_lock:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _init_index(self) -> None:
        with self.db as con:
            con.executescript(
                """
                CREATE TABLE IF NOT EXISTS histories(
                    hid TEXT PRIMARY KEY, path TEXT, tip TEXT, notes_tip TEXT,
                    deleted INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX IF NOT EXISTS histories_by_path ON histories(path);
                CREATE TABLE IF NOT EXISTS aliases(file_id TEXT PRIMARY KEY, hid TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS versions(
                    id TEXT PRIMARY KEY, hid TEXT NOT NULL, seq INTEGER NOT NULL,
                    created REAL NOT NULL, authors TEXT NOT NULL, message TEXT NOT NULL,
                    label TEXT, checkpoint INTEGER NOT NULL, committed_checkpoint INTEGER NOT NULL,
                    size INTEGER NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL,
                    restored_from TEXT, content_oid TEXT, author_names TEXT);
                CREATE INDEX IF NOT EXISTS versions_by_hid ON versions(hid, seq);
                CREATE INDEX IF NOT EXISTS versions_checkpoints ON versions(hid, checkpoint, seq);
                """
            )
            # Stores written before display names were recorded lack the column.
            columns = {row[1] for row in con.execute("PRAGMA table_info(versions)")}
            if "author_names" not in columns:
                con.execute("ALTER TABLE versions ADD COLUMN author_names TEXT")

    def _remove_stale_ref_locks(self) -> None:
        """Remove `*.lock` files a killed writer left behind; called with the store lock held.

        Every writer of this store holds `nj.lock` while it updates a ref, so a lock file seen
        while we hold it belongs to a process that died mid-update.
        """
        for lock in [self.path / "packed-refs.lock", *(self.path / "refs").rglob("*.lock")]:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()

    # -- index reconciliation --------------------------------------------------------------

    def reconcile_index(self) -> None:
        """Bring the index in line with the refs and notes (after a crash, or a new store)."""
        repo = self.repo
        known = {
            row[0]: (row[1], row[2])
            for row in self.db.execute("SELECT hid, tip, notes_tip FROM histories")
        }
        for name in repo.references:
            if name.startswith(REF_PREFIX):
                hid = name[len(REF_PREFIX) :]
                tip = str(repo.references[name].target)
                if known.get(hid, (None, None))[0] != tip:
                    self._index_chain(hid, tip)
                notes_tip = self._notes_tip(hid)
                if known.get(hid, (None, None))[1] != notes_tip:
                    self._index_notes(hid)

    def _index_chain(self, hid: str, tip: str) -> None:
        repo = self.repo
        pending: list[pygit2.Commit] = []
        base_seq = 0
        oid: pygit2.Oid | None = pygit2.Oid(hex=tip)
        while oid is not None:
            row = self.db.execute("SELECT seq FROM versions WHERE id = ?", (str(oid),)).fetchone()
            if row is not None:
                base_seq = row[0]
                break
            walked = repo[oid]
            assert isinstance(walked, pygit2.Commit)
            pending.append(walked)
            oid = walked.parent_ids[0] if walked.parent_ids else None
        with self.db as con:
            for offset, commit in enumerate(reversed(pending), start=1):
                meta = _parse_trailers(commit.message)
                con.execute(
                    f"INSERT OR REPLACE INTO versions({_INDEX_COLUMNS}) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        str(commit.id),
                        hid,
                        base_seq + offset,
                        float(meta.get("Nj-Time", [commit.author.time])[0]),
                        json.dumps(meta.get("Nj-Author", [])),
                        commit.message.split("\n", 1)[0],
                        None,
                        int(meta.get("Nj-Checkpoint", ["false"])[0] == "true"),
                        int(meta.get("Nj-Checkpoint", ["false"])[0] == "true"),
                        int(meta.get("Nj-Size", ["0"])[0]),
                        meta.get("Nj-Path", [""])[0],
                        meta.get("Nj-Kind", ["file"])[0],
                        meta.get("Nj-Restored-From", [None])[0],
                        meta.get("Nj-Content", [None])[0],
                        json.dumps(meta.get("Nj-Author-Name", [])),
                    ),
                )
            last = pending[0] if pending else None
            path = _parse_trailers(last.message).get("Nj-Path", [""])[0] if last else None
            con.execute(
                "INSERT INTO histories(hid, path, tip) VALUES (?,?,?) ON CONFLICT(hid) DO UPDATE "
                "SET tip = excluded.tip, path = COALESCE(excluded.path, histories.path)",
                (hid, path, tip),
            )

    def _notes_tip(self, hid: str) -> str | None:
        ref = self.repo.references.get(NOTES_PREFIX + hid)
        return str(ref.target) if ref is not None else None

    def _index_notes(self, hid: str) -> None:
        notes: dict[str, dict[str, Any]] = {}
        ref = NOTES_PREFIX + hid
        if self.repo.references.get(ref) is not None:
            for found in self.repo.notes(ref):  # type: ignore[call-arg]
                try:
                    notes[str(found.annotated_id)] = json.loads(found.message)
                except ValueError:
                    continue
        with self.db as con:
            con.execute(
                "UPDATE versions SET label = NULL, checkpoint = committed_checkpoint WHERE hid = ?",
                (hid,),
            )
            for commit_id, note in notes.items():
                checkpoint = note.get("checkpoint")
                con.execute(
                    "UPDATE versions SET label = ?, checkpoint = COALESCE(?, checkpoint) "
                    "WHERE id = ? AND hid = ?",
                    (
                        note.get("label") or None,
                        None if checkpoint is None else int(bool(checkpoint)),
                        commit_id,
                        hid,
                    ),
                )
            con.execute(
                "UPDATE histories SET notes_tip = ? WHERE hid = ?", (self._notes_tip(hid), hid)
            )

    # -- which history a file belongs to ---------------------------------------------------

    def history_for(self, file_id: str | None, path: str) -> str:
        """The history id a save of `path` (with this file id) continues, creating one if new.

        A file id that has no history yet continues the history of a deleted file last recorded
        at the same path (a file deleted and saved again, or restored, keeps its history).
        """
        with self._writing():
            return self._history_for(file_id, path)

    def _history_for(self, file_id: str | None, path: str) -> str:
        con = self.db
        known = self._history_of_file_id(file_id)
        if known:
            return known
        deleted = con.execute(
            "SELECT hid FROM histories WHERE path = ? AND deleted = 1 ORDER BY rowid DESC LIMIT 1",
            (path,),
        ).fetchone()
        if file_id is None:
            live = con.execute(
                "SELECT hid FROM histories WHERE path = ? AND deleted = 0 LIMIT 1", (path,)
            ).fetchone()
            if live:
                return str(live[0])
        hid = str(deleted[0]) if deleted else (file_id or uuid.uuid4().hex)
        if not _SAFE_HISTORY_ID.match(hid):
            hid = uuid.uuid4().hex
        with con:
            if deleted:
                con.execute("UPDATE histories SET deleted = 0 WHERE hid = ?", (hid,))
            else:
                con.execute("INSERT OR IGNORE INTO histories(hid, path) VALUES (?, ?)", (hid, path))
            if file_id and file_id != hid:
                con.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?)", (file_id, hid))
        return hid

    def _history_of_file_id(self, file_id: str | None) -> str | None:
        """The history a file id already has: through an alias, or as its own history id."""
        if not file_id:
            return None
        con = self.db
        row = con.execute("SELECT hid FROM aliases WHERE file_id = ?", (file_id,)).fetchone()
        if row:
            return str(row[0])
        if con.execute("SELECT 1 FROM histories WHERE hid = ?", (file_id,)).fetchone():
            return file_id
        return None

    def find_history(self, file_id: str | None, path: str) -> str | None:
        """The history of a file id, else the most recent history last seen at `path`."""
        con = self.db
        known = self._history_of_file_id(file_id)
        if known:
            return known
        row = con.execute(
            "SELECT hid FROM histories WHERE path = ? ORDER BY deleted ASC, rowid DESC LIMIT 1",
            (path,),
        ).fetchone()
        return str(row[0]) if row else None

    def record_move(self, old_path: str, new_path: str) -> None:
        """A file or folder was renamed: histories follow it (their next version says so too)."""
        with self._writing(), self.db as con:
            con.execute("UPDATE histories SET path = ? WHERE path = ?", (new_path, old_path))
            prefix = old_path.rstrip("/") + "/"
            for hid, path in con.execute(
                "SELECT hid, path FROM histories WHERE substr(path, 1, ?) = ?",
                (len(prefix), prefix),
            ).fetchall():
                con.execute(
                    "UPDATE histories SET path = ? WHERE hid = ?",
                    (new_path.rstrip("/") + "/" + path[len(prefix) :], hid),
                )

    def record_delete(self, path: str) -> None:
        """A file or folder was deleted: its histories stay, marked deleted, findable by path."""
        with self._writing(), self.db as con:
            prefix = path.rstrip("/") + "/"
            con.execute(
                "UPDATE histories SET deleted = 1 WHERE path = ? OR substr(path, 1, ?) = ?",
                (path, len(prefix), prefix),
            )

    # -- writing ---------------------------------------------------------------------------

    def commit(
        self,
        history_id: str,
        path: str,
        content: bytes | SplitNotebook,
        *,
        created: float | None = None,
        authors: Sequence[str] | Mapping[str, str] = (),
        checkpoint: bool = False,
        message: str | None = None,
        restored_from: str | None = None,
        results: ResultsSnapshot | None = None,
    ) -> Version | None:
        """Record `content` as the newest version of a history; None if nothing changed.

        `content` is the saved bytes, or a notebook already written as objects by
        `split_notebook` (what a save hands over: no bytes to parse, hash or encode again).
        "Nothing changed" means the same content and the same results folder as the newest
        version. A checkpoint request for unchanged content marks the newest version as a
        checkpoint.
        """
        if not _SAFE_HISTORY_ID.match(history_id):
            raise HistoryError(f"Invalid history id {history_id!r}.")
        created = time.time() if created is None else created
        # A split notebook is identified by its tree, which says the same as a hash of its bytes.
        content_oid = None if isinstance(content, SplitNotebook) else git_blob_id(content)
        with self._writing():
            repo = self.repo
            ref_name = REF_PREFIX + history_id
            ref = repo.references.get(ref_name)
            parent = repo[ref.target] if ref is not None else None
            tip_row = (
                self.db.execute(
                    "SELECT content_oid, checkpoint FROM versions WHERE id = ?", (str(parent.id),)
                ).fetchone()
                if parent is not None
                else None
            )
            results_tree = self._results_tree(results) if results is not None else None
            if (
                parent is not None
                and tip_row is not None
                and content_oid is not None
                and tip_row[0] == content_oid
            ):
                assert isinstance(parent, pygit2.Commit)
                parent_results = (
                    parent.tree[RESULTS_TREE].id if RESULTS_TREE in parent.tree else None
                )
                if results is None or results_tree == parent_results:
                    if checkpoint and not tip_row[1]:
                        self._annotate(history_id, str(parent.id), checkpoint=True)
                    return None
            kind, entries = self._content_entries(history_id, path, content)
            if results_tree is not None:
                entries.append((RESULTS_TREE, TREE_MODE, results_tree))
            tree_oid = self.objects.tree(entries)
            if parent is not None:
                assert isinstance(parent, pygit2.Commit)
                if parent.tree_id == tree_oid:
                    if checkpoint and not (tip_row and tip_row[1]):
                        self._annotate(history_id, str(parent.id), checkpoint=True)
                    return None
            display = _author_names(authors)
            names = list(display)
            first_line = message or f"Save {path}"
            trailers = [
                f"Nj-History: {history_id}",
                f"Nj-Path: {_one_line(path)}",
                f"Nj-Kind: {kind}",
                f"Nj-Size: {len(content)}",
                f"Nj-Time: {created:.6f}",
                *([f"Nj-Content: {content_oid}"] if content_oid else []),
                *(
                    line
                    for name in names
                    for line in (
                        f"Nj-Author: {_one_line(name)}",
                        f"Nj-Author-Name: {_one_line(display[name])}",
                    )
                ),
            ]
            if checkpoint:
                trailers.append("Nj-Checkpoint: true")
            if restored_from:
                trailers.append(f"Nj-Restored-From: {restored_from}")
            full_message = _one_line(first_line) + "\n\n" + "\n".join(trailers) + "\n"
            commit_oid = self.objects.commit(
                tree_oid,
                [parent.id] if parent else [],
                (_sig_name(names[0]), int(created)),
                (_sig_name(self.committer), int(created)),
                SIGNATURE_EMAIL,
                full_message,
            )
            # The ref moves only after every object it needs exists: a crash before this line
            # leaves unreferenced objects, never a ref to something missing.
            self.objects.set_ref(ref_name, commit_oid)
            seq_row = (
                self.db.execute(
                    "SELECT seq FROM versions WHERE id = ?", (str(parent.id),)
                ).fetchone()
                if parent is not None
                else None
            )
            version = Version(
                id=str(commit_oid),
                history_id=history_id,
                created=created,
                authors=names,
                author_names=[_one_line(display[name]) for name in names],
                message=_one_line(first_line),
                label=None,
                checkpoint=checkpoint,
                size=len(content),
                path=path,
                kind=kind,
                restored_from=restored_from,
                seq=(seq_row[0] if seq_row else 0) + 1,
            )
            if parent is not None and seq_row is None:
                # The index missed earlier versions (a crash): rebuild this chain from git.
                self._index_chain(history_id, str(commit_oid))
            else:
                self._index_version(version, content_oid)
            return version

    def _index_version(self, v: Version, content_oid: str | None) -> None:
        with self.db as con:
            con.execute(
                f"INSERT OR REPLACE INTO versions({_INDEX_COLUMNS}) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    v.id,
                    v.history_id,
                    v.seq,
                    v.created,
                    json.dumps(v.authors),
                    v.message,
                    None,
                    int(v.checkpoint),
                    int(v.checkpoint),
                    v.size,
                    v.path,
                    v.kind,
                    v.restored_from,
                    content_oid,
                    json.dumps(v.author_names),
                ),
            )
            con.execute(
                "INSERT INTO histories(hid, path, tip) VALUES (?,?,?) ON CONFLICT(hid) DO UPDATE "
                "SET tip = excluded.tip, path = excluded.path, deleted = 0",
                (v.history_id, v.path, v.id),
            )

    def split_notebook(self, history_id: str, notebook: Any) -> SplitNotebook | None:
        """Write a contents-API notebook's objects for `commit`; None: commit its bytes instead."""
        with self._writing():
            return self._splitter.split(history_id, notebook)

    def _content_entries(
        self, history_id: str, path: str, content: bytes | SplitNotebook
    ) -> tuple[str, list[tuple[str, int, pygit2.Oid]]]:
        """The kind of a version and the root tree entries that hold its content."""
        if isinstance(content, bytes) and notebook_kind(path):
            split = self._split_bytes(history_id, content)
            if split is None:
                return "notebook-raw", [(NOTEBOOK_RAW, BLOB_MODE, self.objects.blob(content))]
            content = split
        if isinstance(content, SplitNotebook):
            entries = [(NOTEBOOK_INPUTS, BLOB_MODE, content.inputs_blob)]
            if content.outputs_tree is not None:
                entries.append((OUTPUTS_TREE, TREE_MODE, content.outputs_tree))
            return "notebook", entries
        return "file", [(FILE_BLOB, BLOB_MODE, self.objects.blob(content))]

    def _split_bytes(self, history_id: str, content: bytes) -> SplitNotebook | None:
        """The split of saved notebook bytes, used only when joining it again gives `content`
        byte for byte (anything else, such as a hand-edited file, is kept whole)."""
        try:
            notebook = notebook_model(content)
        except (HistoryError, UnicodeDecodeError, ValueError, TypeError, AttributeError):
            return None
        split = self._splitter.split(history_id, notebook)
        if split is None or not split.matches(content):
            return None
        return split

    def _results_tree(self, results: ResultsSnapshot) -> pygit2.Oid | None:
        if not results.files:
            return None
        nested: dict[str, Any] = {}
        for rel, (oid, _size) in results.files.items():
            parts = rel.split("/")
            if not all(valid_entry_name(part) for part in parts):
                continue
            node = nested
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = oid

        def write(node: dict[str, Any]) -> pygit2.Oid:
            return self.objects.tree(
                (name, TREE_MODE, write(child))
                if isinstance(child, dict)
                else (name, BLOB_MODE, child)
                for name, child in node.items()
            )

        return write(nested)

    def add_result_file(self, data: bytes) -> pygit2.Oid:
        """Store one results-folder file's bytes as a blob (deduplicated by content)."""
        return self.objects.blob(data)

    # -- annotations: labels and checkpoint marks ------------------------------------------

    def set_label(self, history_id: str, version_id: str, label: str | None) -> Version:
        """Label a version (an empty label removes it)."""
        self.version(history_id, version_id)
        with self._writing():
            self._annotate(history_id, version_id, label=(label or "").strip() or None)
        return self.version(history_id, version_id)

    def set_checkpoint(self, history_id: str, version_id: str, checkpoint: bool) -> Version:
        self.version(history_id, version_id)
        with self._writing():
            self._annotate(history_id, version_id, checkpoint=checkpoint)
        return self.version(history_id, version_id)

    _UNSET: Any = object()

    def _annotate(
        self, history_id: str, version_id: str, label: Any = _UNSET, checkpoint: Any = _UNSET
    ) -> None:
        repo = self.repo
        ref = NOTES_PREFIX + history_id
        note: dict[str, Any] = {}
        with contextlib.suppress(KeyError, pygit2.GitError):
            if repo.references.get(ref) is not None:
                existing = repo.lookup_note(version_id, ref)
                note = json.loads(existing.message)
        if label is not self._UNSET:
            note["label"] = label
        if checkpoint is not self._UNSET:
            note["checkpoint"] = bool(checkpoint)
        sig = pygit2.Signature(self.committer, SIGNATURE_EMAIL, int(time.time()), 0)
        for attempt in range(2):
            try:
                repo.create_note(json.dumps(note, sort_keys=True), sig, sig, version_id, ref, True)
                break
            except (pygit2.GitError, OSError):
                if attempt:
                    raise
                self._remove_stale_ref_locks()
        self._index_notes(history_id)

    # -- reading ---------------------------------------------------------------------------

    _COLUMNS = (
        "id, hid, seq, created, authors, message, label, checkpoint, size, path, kind, "
        "restored_from, author_names"
    )

    def _row_to_version(self, row: Sequence[Any]) -> Version:
        return Version(
            id=row[0],
            history_id=row[1],
            seq=row[2],
            created=row[3],
            authors=json.loads(row[4]),
            message=row[5],
            label=row[6],
            checkpoint=bool(row[7]),
            size=row[8],
            path=row[9],
            kind=row[10],
            restored_from=row[11],
            author_names=json.loads(row[12]) if row[12] else [],
        )

    def versions(
        self, history_id: str, limit: int = 50, before: str | None = None
    ) -> tuple[list[Version], str | None]:
        """Newest first; `before` is the cursor (a version id) from the previous page."""
        limit = max(1, min(int(limit), 1000))
        if before:
            row = self.db.execute(
                "SELECT seq FROM versions WHERE id = ? AND hid = ?", (before, history_id)
            ).fetchone()
            if row is None:
                raise UnknownVersion(f"No version {before!r} in this file's history.")
            rows = self.db.execute(
                f"SELECT {self._COLUMNS} FROM versions WHERE hid = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT ?",
                (history_id, row[0], limit + 1),
            ).fetchall()
        else:
            rows = self.db.execute(
                f"SELECT {self._COLUMNS} FROM versions WHERE hid = ? ORDER BY seq DESC LIMIT ?",
                (history_id, limit + 1),
            ).fetchall()
        versions = [self._row_to_version(r) for r in rows[:limit]]
        cursor = versions[-1].id if len(rows) > limit and versions else None
        return versions, cursor

    def checkpoints(self, history_id: str, limit: int = 50) -> list[Version]:
        rows = self.db.execute(
            f"SELECT {self._COLUMNS} FROM versions WHERE hid = ? AND checkpoint = 1 "
            "ORDER BY seq DESC LIMIT ?",
            (history_id, limit),
        ).fetchall()
        return [self._row_to_version(r) for r in rows]

    def latest(self, history_id: str) -> Version | None:
        versions, _ = self.versions(history_id, limit=1)
        return versions[0] if versions else None

    def version(self, history_id: str, version_id: str) -> Version:
        row = None
        if isinstance(version_id, str) and re.fullmatch(r"[0-9a-f]{4,40}", version_id):
            if len(version_id) == 40:
                row = self.db.execute(
                    f"SELECT {self._COLUMNS} FROM versions WHERE id = ? AND hid = ?",
                    (version_id, history_id),
                ).fetchone()
            else:
                rows = self.db.execute(
                    f"SELECT {self._COLUMNS} FROM versions WHERE hid = ? AND substr(id, 1, ?) = ?",
                    (history_id, len(version_id), version_id),
                ).fetchall()
                if len(rows) > 1:
                    raise UnknownVersion(f"Version {version_id!r} is ambiguous: use more digits.")
                row = rows[0] if rows else None
        if row is None:
            raise UnknownVersion(f"No version {version_id!r} in this file's history.")
        return self._row_to_version(row)

    def content(self, version_id: str) -> bytes:
        """The exact bytes of the file as it was saved in that version."""
        return version_content(self.repo, version_id)

    def notebook(self, version_id: str) -> dict[str, Any]:
        """A notebook version as a dict, with multi-line strings joined (as the contents API)."""
        return version_notebook(self.repo, version_id)

    def _commit(self, version_id: str) -> pygit2.Commit:
        return _version_commit(self.repo, version_id)

    def results(self, version_id: str) -> list[ResultFile]:
        """The results-folder files captured with a version."""
        commit = self._commit(version_id)
        if RESULTS_TREE not in commit.tree:
            return []
        found: list[ResultFile] = []

        def walk(tree: pygit2.Tree, prefix: str) -> None:
            for entry in tree:
                obj = self.repo[entry.id]
                if isinstance(obj, pygit2.Tree):
                    walk(obj, f"{prefix}{entry.name}/")
                else:
                    found.append(ResultFile(f"{prefix}{entry.name}", obj.size, str(entry.id)))  # type: ignore[attr-defined]

        results_tree = self.repo[commit.tree[RESULTS_TREE].id]
        assert isinstance(results_tree, pygit2.Tree)
        walk(results_tree, "")
        return found

    def result_bytes(self, version_id: str, rel_path: str) -> bytes:
        commit = self._commit(version_id)
        try:
            entry = commit.tree[f"{RESULTS_TREE}/{rel_path}"]
        except KeyError:
            raise HistoryError(f"No result file {rel_path!r} in version {version_id}.") from None
        return bytes(self.repo[entry.id].data)  # type: ignore[attr-defined]

    def histories(self) -> list[tuple[str, str, bool]]:
        """(history id, last path, deleted) for every history."""
        return [
            (r[0], r[1] or "", bool(r[2]))
            for r in self.db.execute(
                "SELECT hid, path, deleted FROM histories WHERE tip IS NOT NULL"
            )
        ]

    def count(self, history_id: str) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM versions WHERE hid = ?", (history_id,)
        ).fetchone()
        return int(row[0])

    # -- maintenance -----------------------------------------------------------------------

    def loose_object_count(self) -> int:
        objects = self.path / "objects"
        total = 0
        for sub in objects.iterdir():
            if len(sub.name) == 2:
                with contextlib.suppress(OSError):
                    total += len(os.listdir(sub))
        return total

    def repack(self, timeout: float = 600) -> None:
        """Pack loose objects (geometric repack) and refresh the commit-graph, with the git CLI.

        Safe while writers run: a repack only packs reachable objects and removes loose copies of
        what it packed, so an object written for a commit in progress stays until it is used.
        """
        env = {**os.environ, "GIT_DIR": str(self.path)}
        subprocess.run(
            ["git", "repack", "-d", "-q", "--geometric=2"],
            check=True,
            env=env,
            timeout=timeout,
            capture_output=True,
        )
        subprocess.run(
            ["git", "commit-graph", "write", "--reachable"],
            check=False,
            env=env,
            timeout=timeout,
            capture_output=True,
        )


def _version_commit(repo: pygit2.Repository, version_id: str) -> pygit2.Commit:
    try:
        obj = repo[version_id]
    except (KeyError, ValueError):
        raise UnknownVersion(f"No version {version_id!r}.") from None
    if not isinstance(obj, pygit2.Commit):
        raise UnknownVersion(f"No version {version_id!r}.")
    return obj


def version_content(repo: pygit2.Repository, version_id: str) -> bytes:
    """The exact bytes of a version (reassembled from inputs and outputs for notebooks)."""
    tree = _version_commit(repo, version_id).tree
    if NOTEBOOK_INPUTS in tree:
        return canonical_notebook_bytes(_assemble_notebook(repo, tree))
    for name in (NOTEBOOK_RAW, FILE_BLOB):
        if name in tree:
            return bytes(repo[tree[name].id].data)  # type: ignore[attr-defined]
    raise HistoryError(f"Version {version_id} has no content.")


def _assemble_notebook(repo: pygit2.Repository, tree: pygit2.Tree) -> dict[str, Any]:
    nb = json.loads(repo[tree[NOTEBOOK_INPUTS].id].data)  # type: ignore[attr-defined]
    if OUTPUTS_TREE not in tree:
        return nb
    outputs_tree = repo[tree[OUTPUTS_TREE].id]
    assert isinstance(outputs_tree, pygit2.Tree)
    cells = nb.get("cells", [])
    for key, cell in zip(cell_keys(cells), cells, strict=True):
        if key in outputs_tree:
            cell_tree = repo[outputs_tree[key].id]
            assert isinstance(cell_tree, pygit2.Tree)
            entries = sorted(cell_tree, key=lambda e: int(e.name or "0"))
            cell["outputs"] = [json.loads(repo[e.id].data) for e in entries]  # type: ignore[attr-defined]
    return nb


def version_notebook(repo: pygit2.Repository, version_id: str) -> dict[str, Any]:
    """A notebook version as the contents API shows it, without re-serializing split versions."""
    tree = _version_commit(repo, version_id).tree
    if NOTEBOOK_INPUTS in tree:
        return _contents_form(_assemble_notebook(repo, tree))
    return notebook_model(version_content(repo, version_id))


def _contents_form(nb: dict[str, Any]) -> dict[str, Any]:
    from nbformat.v4.rwbase import rejoin_lines, strip_transient

    if nb.get("nbformat") != 4:
        return notebook_model(canonical_notebook_bytes(nb))
    import nbformat

    node = nbformat.from_dict(nb)
    rejoin_lines(node)
    strip_transient(node)
    return node


def notebook_model(data: bytes) -> dict[str, Any]:
    """Notebook bytes as the contents API returns them: nbformat 4, multi-line strings joined."""
    from nbformat.v4.rwbase import rejoin_lines, strip_transient

    try:
        nb = json.loads(data)
    except ValueError as err:
        raise HistoryError(f"This version is not valid notebook JSON ({err}).") from None
    if not isinstance(nb, dict):
        raise HistoryError("This version is not a notebook.")
    if nb.get("nbformat") != 4:
        import nbformat

        return dict(nbformat.reads(data.decode("utf-8"), as_version=4))
    import nbformat

    node = nbformat.from_dict(nb)
    rejoin_lines(node)
    strip_transient(node)
    return node


def _sig_name(name: str) -> str:
    return _one_line(name.replace("<", "").replace(">", "")) or "unknown"


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "-"


def _author_names(authors: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """User name -> display name, in order, blanks dropped; "unknown" when nobody is known."""
    pairs = authors.items() if isinstance(authors, Mapping) else ((a, a) for a in authors)
    names: dict[str, str] = {}
    for user, display in pairs:
        user = str(user).strip()
        if user and user not in names:
            names[user] = str(display or "").strip() or user
    return names or {"unknown": "unknown"}


def _parse_trailers(message: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in message.splitlines():
        match = _TRAILER.match(line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found
