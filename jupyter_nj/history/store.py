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
- a remix is a new history whose first commit's parent is the original's version (trailer
  `Nj-Remix-Of: <history id> <version>`): its chain runs on into the original's earlier commits,
  which git shares, so nothing is copied; the index keeps the original's commits under the
  original's history and records the remix's origin;
- when, who, which path and how big go into commit trailers (`Nj-Path:`, `Nj-Author:`, ...);
  each `Nj-Author:` (the user name, the stable key) is followed by its `Nj-Author-Name:` (the
  display name the identity had at that save);
  labels and checkpoint marks added later are git notes under `refs/notes/nj/<history id>`.

`index.sqlite3` next to the repository is the version index (`index.VersionIndex`: listing 50 of
10,000 versions costs a query, not a walk). The store writes git first and the index second, and
reconciles the index with the refs and notes whenever it is opened, so a crash between the two
writes loses nothing.
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
from pathlib import Path
from typing import Any

import pygit2

# Version, HistoryError and UnknownVersion are imported from here by the rest of the package.
from .index import SAFE_HISTORY_ID, HistoryError, UnknownVersion, Version, VersionIndex
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
        self.index = VersionIndex(self.path / "index.sqlite3")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not (self.path / "HEAD").exists():
            pygit2.init_repository(str(self.path), bare=True)
            repo = pygit2.Repository(str(self.path))
            # Maintenance is ours (repack in the background); a stray `git gc` elsewhere must not
            # prune objects a writer is about to reference.
            repo.config["gc.auto"] = 0
            repo.config["core.logAllRefUpdates"] = False
            repo.config["gc.pruneExpire"] = "never"
        self.objects.make_fan_out()
        self._lock_fd = os.open(self.path / "nj.lock", os.O_RDWR | os.O_CREAT, 0o600)
        with self._writing():
            self.index.create()
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
        """The calling thread's index connection."""
        return self.index.db

    def close(self) -> None:
        self.index.close()
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
        known = self.index.tips()
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
        """Index the commits of a history's chain that the index lacks, up to `tip`.

        The walk stops at a commit of another history (a remix's first parent is the original's
        version): that one is indexed under its own history, and this one records its origin.
        """
        repo = self.repo
        pending: list[pygit2.Commit] = []
        base_seq = 0
        origin: tuple[str, str] | None = None
        oid: pygit2.Oid | None = pygit2.Oid(hex=tip)
        while oid is not None:
            walked = repo[oid]
            assert isinstance(walked, pygit2.Commit)
            owner = _parse_trailers(walked.message).get("Nj-History", [hid])[0]
            if owner != hid:
                origin = (owner, str(oid))
                ref = repo.references.get(REF_PREFIX + owner)
                if self.index.seq(str(oid)) is None and ref is not None:
                    self._index_chain(owner, str(ref.target))
                base_seq = self.index.seq(str(oid)) or 0
                break
            seq = self.index.seq(str(oid))
            if seq is not None:
                base_seq = seq
                break
            pending.append(walked)
            oid = walked.parent_ids[0] if walked.parent_ids else None
        versions = [
            _committed_version(hid, base_seq + offset, commit)
            for offset, commit in enumerate(reversed(pending), start=1)
        ]
        # The path of the newest commit walked; None (the history keeps its path) if none was.
        path = versions[-1][0].path if versions else None
        self.index.add_chain(hid, tip, versions, path)
        if origin is not None:
            self.index.set_origin(hid, origin[0], origin[1], base_seq)

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
        self.index.set_notes(hid, notes, self._notes_tip(hid))

    # -- which history a file belongs to ---------------------------------------------------

    def history_for(self, file_id: str | None, path: str) -> str:
        """The history id a save of `path` (with this file id) continues, creating one if new.

        A file id that has no history yet continues the history of a deleted file last recorded
        at the same path (a file deleted and saved again, or restored, keeps its history).
        """
        with self._writing():
            return self.index.history_for(file_id, path)

    def find_history(self, file_id: str | None, path: str) -> str | None:
        """The history of a file id, else the most recent history last seen at `path`."""
        return self.index.find_history(file_id, path)

    def record_move(self, old_path: str, new_path: str) -> None:
        """A file or folder was renamed: histories follow it (their next version says so too)."""
        with self._writing():
            self.index.record_move(old_path, new_path)

    def record_delete(self, path: str) -> None:
        """A file or folder was deleted: its histories stay, marked deleted, findable by path."""
        with self._writing():
            self.index.record_delete(path)

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
        if not SAFE_HISTORY_ID.match(history_id):
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
                self.index.content_and_checkpoint(str(parent.id)) if parent is not None else None
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
            first_line = message or f"Save {path}"
            commit_oid = self._write_commit(
                history_id,
                path,
                kind,
                len(content),
                tree_oid,
                [parent.id] if parent else [],
                created,
                display,
                first_line,
                content_oid,
                [
                    *(["Nj-Checkpoint: true"] if checkpoint else []),
                    *([f"Nj-Restored-From: {restored_from}"] if restored_from else []),
                ],
            )
            parent_seq = tip_row[2] if tip_row is not None else None
            version = _new_version(
                str(commit_oid),
                history_id,
                created,
                display,
                first_line,
                len(content),
                path,
                kind,
                (parent_seq or 0) + 1,
                checkpoint=checkpoint,
                restored_from=restored_from,
            )
            if parent is not None and parent_seq is None:
                # The index missed earlier versions (a crash): rebuild this chain from git.
                self._index_chain(history_id, str(commit_oid))
            else:
                self.index.add_version(version, content_oid)
            return version

    def _write_commit(
        self,
        history_id: str,
        path: str,
        kind: str,
        size: int,
        tree_oid: pygit2.Oid,
        parents: list[pygit2.Oid],
        created: float,
        display: Mapping[str, str],
        first_line: str,
        content_oid: str | None,
        extra_trailers: Sequence[str] = (),
    ) -> pygit2.Oid:
        """Write a version's commit (what it is in its trailers) and move its history's ref;
        called with the store lock held."""
        trailers = [
            f"Nj-History: {history_id}",
            f"Nj-Path: {_one_line(path)}",
            f"Nj-Kind: {kind}",
            f"Nj-Size: {size}",
            f"Nj-Time: {created:.6f}",
            *([f"Nj-Content: {content_oid}"] if content_oid else []),
            *(
                line
                for name in display
                for line in (
                    f"Nj-Author: {_one_line(name)}",
                    f"Nj-Author-Name: {_one_line(display[name])}",
                )
            ),
            *extra_trailers,
        ]
        commit_oid = self.objects.commit(
            tree_oid,
            parents,
            (_sig_name(next(iter(display))), int(created)),
            (_sig_name(self.committer), int(created)),
            SIGNATURE_EMAIL,
            _one_line(first_line) + "\n\n" + "\n".join(trailers) + "\n",
        )
        # The ref moves only after every object it needs exists: a crash before this line
        # leaves unreferenced objects, never a ref to something missing.
        self.objects.set_ref(REF_PREFIX + history_id, commit_oid)
        return commit_oid

    def split_notebook(self, history_id: str, notebook: Any) -> SplitNotebook | None:
        """Write a contents-API notebook's objects for `commit`; None: commit its bytes instead."""
        with self._writing():
            return self._splitter.split(history_id, notebook)

    def remix(
        self,
        source_history: str,
        version_id: str,
        path: str,
        content: bytes,
        *,
        authors: Sequence[str] | Mapping[str, str] = (),
        created: float | None = None,
        message: str | None = None,
    ) -> Version:
        """Begin a new history at `path` as a remix of `version_id` of `source_history`.

        Its first version holds `content` (the notebook as the remix saves it) and the source
        version's results tree as it is (the same tree id: no blob is read or written); its
        parent is the source version, so the chain runs on into the original's commits. The new
        history has a random id (a history begun without a file id); `adopt` ties the new
        file's id to it. Costs a few objects whatever the size of the original's history.
        """
        source = self.version(source_history, version_id)
        created = time.time() if created is None else created
        history_id = uuid.uuid4().hex
        with self._writing():
            parent = self._commit(source.id)
            kind, entries = self._content_entries(history_id, path, content)
            if RESULTS_TREE in parent.tree:
                entries.append((RESULTS_TREE, TREE_MODE, parent.tree[RESULTS_TREE].id))
            tree_oid = self.objects.tree(entries)
            display = _author_names(authors)
            first_line = message or f"Remix of {source.path} at {source.id[:12]}"
            content_oid = git_blob_id(content)
            commit_oid = self._write_commit(
                history_id,
                path,
                kind,
                len(content),
                tree_oid,
                [parent.id],
                created,
                display,
                first_line,
                content_oid,
                [f"Nj-Remix-Of: {source.history_id} {source.id}"],
            )
            version = _new_version(
                str(commit_oid),
                history_id,
                created,
                display,
                first_line,
                len(content),
                path,
                kind,
                source.seq + 1,
            )
            self.index.add_version(version, content_oid)
            self.index.set_origin(history_id, source.history_id, source.id, source.seq)
            return version

    def adopt(self, file_id: str, history_id: str) -> None:
        """Saves of the file with this id continue `history_id` (a remix's new file)."""
        with self._writing():
            self.index.adopt(file_id, history_id)

    def origin(self, history_id: str) -> tuple[str, str, int] | None:
        """(source history, source version, its seq) when this history is a remix."""
        return self.index.origin(history_id)

    def authors_until(self, history_id: str, version_id: str) -> dict[str, str]:
        """Who wrote this notebook up to that version (user name -> display name)."""
        return self.index.authors_until(history_id, version_id)

    def results_tree(self, version_id: str) -> pygit2.Tree | None:
        """A version's captured results folder as a git tree (None when none was captured)."""
        commit = self._commit(version_id)
        if RESULTS_TREE not in commit.tree:
            return None
        tree = self.repo[commit.tree[RESULTS_TREE].id]
        assert isinstance(tree, pygit2.Tree)
        return tree

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

    def versions(
        self, history_id: str, limit: int = 50, before: str | None = None
    ) -> tuple[list[Version], str | None]:
        """Newest first; `before` is the cursor (a version id) from the previous page."""
        return self.index.versions(history_id, limit, before)

    def checkpoints(self, history_id: str, limit: int = 50) -> list[Version]:
        return self.index.checkpoints(history_id, limit)

    def latest(self, history_id: str) -> Version | None:
        return self.index.latest(history_id)

    def version(self, history_id: str, version_id: str) -> Version:
        """A version by its id or an unambiguous prefix of at least 4 hex digits."""
        return self.index.version(history_id, version_id)

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
        odb = self.repo.odb

        def walk(tree: pygit2.Tree, prefix: str) -> None:
            for entry in tree:
                if entry.filemode == TREE_MODE:
                    sub = self.repo[entry.id]
                    assert isinstance(sub, pygit2.Tree)
                    walk(sub, f"{prefix}{entry.name}/")
                else:
                    # The object's header only: a results file can be a gigabyte.
                    _kind, size = odb.read_header(entry.id)
                    found.append(ResultFile(f"{prefix}{entry.name}", size, str(entry.id)))

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
        return self.index.histories()

    def count(self, history_id: str) -> int:
        return self.index.count(history_id)

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
        # The repack's prune removed the fan-out folders it emptied: make them again here, in the
        # background, rather than one by one in the next versions' writes.
        self.objects.make_fan_out()
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


def _committed_version(hid: str, seq: int, commit: pygit2.Commit) -> tuple[Version, str | None]:
    """A version as its commit's trailers record it (unlabelled: labels are notes), with its
    content hash (None for a split notebook)."""
    meta = _parse_trailers(commit.message)
    version = Version(
        id=str(commit.id),
        history_id=hid,
        seq=seq,
        created=float(meta.get("Nj-Time", [commit.author.time])[0]),
        authors=meta.get("Nj-Author", []),
        message=commit.message.split("\n", 1)[0],
        label=None,
        checkpoint=meta.get("Nj-Checkpoint", ["false"])[0] == "true",
        size=int(meta.get("Nj-Size", ["0"])[0]),
        path=meta.get("Nj-Path", [""])[0],
        kind=meta.get("Nj-Kind", ["file"])[0],
        restored_from=meta.get("Nj-Restored-From", [None])[0],
        author_names=meta.get("Nj-Author-Name", []),
    )
    return version, meta.get("Nj-Content", [None])[0]


def _parse_trailers(message: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in message.splitlines():
        match = _TRAILER.match(line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


def _new_version(
    commit_id: str,
    history_id: str,
    created: float,
    display: Mapping[str, str],
    first_line: str,
    size: int,
    path: str,
    kind: str,
    seq: int,
    *,
    checkpoint: bool = False,
    restored_from: str | None = None,
) -> Version:
    """The index row of a commit just written (a save's or a remix's first version)."""
    names = list(display)
    return Version(
        id=commit_id,
        history_id=history_id,
        created=created,
        authors=names,
        author_names=[_one_line(display[name]) for name in names],
        message=_one_line(first_line),
        label=None,
        checkpoint=checkpoint,
        size=size,
        path=path,
        kind=kind,
        restored_from=restored_from,
        seq=seq,
    )
