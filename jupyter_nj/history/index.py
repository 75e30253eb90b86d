"""VersionIndex: the history store's version index, `index.sqlite3` next to the repository.

It exists so that listing 50 of 10,000 versions costs a query, not a walk. The versions with their
labels and checkpoint marks are derived from the git refs and notes (the store reconciles the
index with them whenever it is opened, so a crash between the git write and the index write loses
nothing). Only the index records which files are deleted, where a moved file's history is before
its next version, and which file ids continue another file's history.

- `versions`: one row per version (a commit), with what its trailers say, its position `seq` in
  its history's chain, and its label and checkpoint mark as its git note has them
  (`committed_checkpoint` is the mark the commit itself carries, what a version shows when no
  note sets one); an index written before display names were kept gains the `author_names` column
  when opened;
- `histories`: one row per history, with the path it was last seen at, whether that file is
  deleted, and the commit and notes tips the index last saw (what reconciliation compares);
- `aliases`: file ids that continue another file's history (a file deleted and saved again);
- `origins`: histories that began as a remix of another history's version: their first commit's
  parent is that version (derived from git too: the parent commit belongs to another history).

The index takes no locks of its own: the store serialises writes around it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# A history id names a git ref, so it is kept to characters every ref name allows.
# The random id of a history begun without a file id (file ids have dashes: uuid4's str).
_UNNAMED_HISTORY_ID = re.compile(r"^[0-9a-f]{32}$")
SAFE_HISTORY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
# The versions table's columns, in the order the index writes them.
_INDEX_COLUMNS = (
    "id, hid, seq, created, authors, message, label, checkpoint, committed_checkpoint, size, "
    "path, kind, restored_from, content_oid, author_names"
)
# The columns a Version is read from, in the order `_row_to_version` takes them.
_COLUMNS = (
    "id, hid, seq, created, authors, message, label, checkpoint, size, path, kind, "
    "restored_from, author_names"
)


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
    # Listed from a remix: a version of the original's history, from before the remix.
    before_remix: bool = False

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
            "before_remix": self.before_remix,
        }


def _row_to_version(row: Sequence[Any]) -> Version:
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


class VersionIndex:
    """The sqlite index at `path`, with one connection per thread.

    Callers that write (every method but the queries) hold the store's write lock.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    @property
    def db(self) -> sqlite3.Connection:
        """The calling thread's connection (opened on first use)."""
        con = getattr(self._local, "db", None)
        if con is None:
            con = sqlite3.connect(str(self.path), timeout=30)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            # Keep the write-ahead log small on disk: the index is tiny and derivable.
            con.execute("PRAGMA journal_size_limit=1048576")
            self._local.db = con
        return con

    def close(self) -> None:
        """Close the calling thread's connection."""
        con = getattr(self._local, "db", None)
        if con is not None:
            con.close()
            self._local.db = None

    def create(self) -> None:
        """Create the tables, or bring an index written by an older version up to date."""
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
                CREATE TABLE IF NOT EXISTS origins(
                    hid TEXT PRIMARY KEY, source_hid TEXT NOT NULL, source_version TEXT NOT NULL,
                    source_seq INTEGER NOT NULL);
                """
            )
            # Stores written before display names were recorded lack the column.
            columns = {row[1] for row in con.execute("PRAGMA table_info(versions)")}
            if "author_names" not in columns:
                con.execute("ALTER TABLE versions ADD COLUMN author_names TEXT")

    # -- what reconciliation compares and adds ---------------------------------------------

    def tips(self) -> dict[str, tuple[str | None, str | None]]:
        """History id -> (commit tip, notes tip) as the index last saw them."""
        return {
            row[0]: (row[1], row[2])
            for row in self.db.execute("SELECT hid, tip, notes_tip FROM histories")
        }

    def seq(self, version_id: str) -> int | None:
        """A version's position in its history's chain; None if the index lacks it."""
        row = self.db.execute("SELECT seq FROM versions WHERE id = ?", (version_id,)).fetchone()
        return None if row is None else int(row[0])

    def content_and_checkpoint(self, version_id: str) -> tuple[str | None, bool, int] | None:
        """A version's content hash (None for a split notebook), whether it is a checkpoint, and
        its `seq`; None if the index lacks it (one query: what a new version needs of its
        parent)."""
        row = self.db.execute(
            "SELECT content_oid, checkpoint, seq FROM versions WHERE id = ?", (version_id,)
        ).fetchone()
        return None if row is None else (row[0], bool(row[1]), int(row[2]))

    def add_version(self, version: Version, content_oid: str | None) -> None:
        """A new newest version of its history (the history shows its path and is not deleted)."""
        with self.db as con:
            _insert_version(con, version, content_oid)
            con.execute(
                "INSERT INTO histories(hid, path, tip) VALUES (?,?,?) ON CONFLICT(hid) DO UPDATE "
                "SET tip = excluded.tip, path = excluded.path, deleted = 0",
                (version.history_id, version.path, version.id),
            )

    def add_chain(
        self,
        history_id: str,
        tip: str,
        versions: Sequence[tuple[Version, str | None]],
        path: str | None,
    ) -> None:
        """Versions (oldest first, with their content hashes) the index missed, up to `tip`.

        `path` is where the tip was saved, None to keep the path the history has.
        """
        with self.db as con:
            for version, content_oid in versions:
                _insert_version(con, version, content_oid)
            con.execute(
                "INSERT INTO histories(hid, path, tip) VALUES (?,?,?) ON CONFLICT(hid) DO UPDATE "
                "SET tip = excluded.tip, path = COALESCE(excluded.path, histories.path)",
                (history_id, path, tip),
            )

    def set_notes(
        self, history_id: str, notes: Mapping[str, Mapping[str, Any]], notes_tip: str | None
    ) -> None:
        """The labels and checkpoint marks of a history: version id -> its note, as a whole."""
        with self.db as con:
            con.execute(
                "UPDATE versions SET label = NULL, checkpoint = committed_checkpoint WHERE hid = ?",
                (history_id,),
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
                        history_id,
                    ),
                )
            con.execute("UPDATE histories SET notes_tip = ? WHERE hid = ?", (notes_tip, history_id))

    # -- which history a file belongs to ---------------------------------------------------

    def history_for(self, file_id: str | None, path: str) -> str:
        """The history a save of `path` with this file id continues, recorded if new.

        In order: the file id's history; else that of a deleted file last seen at `path` (a file
        deleted and saved again, or restored, keeps its history); else, without a file id, the
        live history at `path`, and with one, a live history at `path` begun without a file id;
        else a new history named by the file id (a random id where the file id is not a safe
        ref name, or there is none).
        """
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
        elif not deleted:
            # A live history at `path` begun by saves made without a file id (the file id
            # service failed or was not there yet; such histories have a random id and no
            # alias) is continued by the file's first file id, not doubled by a second one.
            for (candidate,) in con.execute(
                "SELECT hid FROM histories h WHERE path = ? AND deleted = 0 AND NOT EXISTS "
                "(SELECT 1 FROM aliases a WHERE a.hid = h.hid)",
                (path,),
            ).fetchall():
                if _UNNAMED_HISTORY_ID.match(candidate):
                    with con:
                        con.execute("INSERT INTO aliases VALUES (?, ?)", (file_id, candidate))
                    return str(candidate)
        hid = str(deleted[0]) if deleted else (file_id or uuid.uuid4().hex)
        if not SAFE_HISTORY_ID.match(hid):
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

    def adopt(self, file_id: str, history_id: str) -> None:
        """From now on the file id's saves continue `history_id` (a remix's new file)."""
        with self.db as con:
            con.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?)", (file_id, history_id))

    def find_history(self, file_id: str | None, path: str) -> str | None:
        """The history of a file id, else the most recent history last seen at `path` (a live
        one before a deleted one)."""
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
        """Histories at `old_path`, or under it as a folder, move to `new_path`."""
        with self.db as con:
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
        """Histories at `path`, or under it as a folder, are marked deleted (they stay findable)."""
        with self.db as con:
            prefix = path.rstrip("/") + "/"
            con.execute(
                "UPDATE histories SET deleted = 1 WHERE path = ? OR substr(path, 1, ?) = ?",
                (path, len(prefix), prefix),
            )

    # -- queries ---------------------------------------------------------------------------

    def versions(
        self, history_id: str, limit: int = 50, before: str | None = None
    ) -> tuple[list[Version], str | None]:
        """Newest first; `before` is the cursor (a version id) from the previous page.

        A remix's list goes on, past its own first version, with the original's versions up to
        the one it was remixed from (`before_remix`), and so on for a remix of a remix.
        """
        limit = max(1, min(int(limit), 1000))
        lineage = self.lineage(history_id)
        start, below = 0, None
        if before:
            for start, (hid, bound) in enumerate(lineage):  # noqa: B007
                row = self.db.execute(
                    "SELECT seq FROM versions WHERE id = ? AND hid = ? AND seq <= ?",
                    (before, hid, _upper(bound)),
                ).fetchone()
                if row is not None:
                    below = int(row[0])
                    break
            else:
                raise UnknownVersion(f"No version {before!r} in this file's history.")
        found: list[Version] = []
        rows_left = limit + 1
        for depth in range(start, len(lineage)):
            hid, bound = lineage[depth]
            upper = _upper(bound) if below is None or depth != start else below - 1
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM versions WHERE hid = ? AND seq <= ? "
                "ORDER BY seq DESC LIMIT ?",
                (hid, upper, rows_left),
            ).fetchall()
            for row in rows:
                version = _row_to_version(row)
                version.before_remix = depth > 0
                found.append(version)
            rows_left -= len(rows)
            if rows_left <= 0:
                break
        versions = found[:limit]
        cursor = versions[-1].id if len(found) > limit and versions else None
        return versions, cursor

    # -- remixes ---------------------------------------------------------------------------

    def set_origin(
        self, history_id: str, source_history: str, source_version: str, source_seq: int
    ) -> None:
        """`history_id` began as a remix of `source_version` (at `source_seq` in its history)."""
        with self.db as con:
            con.execute(
                "INSERT OR REPLACE INTO origins VALUES (?,?,?,?)",
                (history_id, source_history, source_version, source_seq),
            )

    def origin(self, history_id: str) -> tuple[str, str, int] | None:
        """(source history, source version, its seq) of a remix; None for any other history."""
        row = self.db.execute(
            "SELECT source_hid, source_version, source_seq FROM origins WHERE hid = ?",
            (history_id,),
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), int(row[2]))

    def lineage(self, history_id: str) -> list[tuple[str, int | None]]:
        """The history, then the history it was remixed from (up to the remixed version's seq),
        and so on: [(history id, highest seq that belongs to this notebook or None)]."""
        chain: list[tuple[str, int | None]] = [(history_id, None)]
        seen = {history_id}
        hid = history_id
        while (origin := self.origin(hid)) is not None and origin[0] not in seen:
            hid, _version, seq = origin
            seen.add(hid)
            # A source already bounded further down the chain keeps the lower bound.
            chain.append((hid, seq))
        return chain

    def authors_until(self, history_id: str, version_id: str) -> dict[str, str]:
        """Everyone who wrote a version of this notebook up to `version_id` (oldest first,
        across the remixes it came from): user name -> display name."""
        lineage = self.lineage(history_id)
        target = self.version(history_id, version_id)
        names: dict[str, str] = {}
        for hid, bound in reversed(lineage):
            limit = target.seq if hid == target.history_id else _upper(bound)
            for authors, display in self.db.execute(
                "SELECT authors, author_names FROM versions WHERE hid = ? AND seq <= ? "
                "ORDER BY seq",
                (hid, limit),
            ):
                users = json.loads(authors)
                shown = json.loads(display) if display else []
                for i, user in enumerate(users):
                    if user not in names and user != "unknown":
                        names[user] = shown[i] if i < len(shown) and shown[i] else user
            if hid == target.history_id:
                break
        return names

    def checkpoints(self, history_id: str, limit: int = 50) -> list[Version]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM versions WHERE hid = ? AND checkpoint = 1 "
            "ORDER BY seq DESC LIMIT ?",
            (history_id, limit),
        ).fetchall()
        return [_row_to_version(r) for r in rows]

    def latest(self, history_id: str) -> Version | None:
        versions, _ = self.versions(history_id, limit=1)
        return versions[0] if versions else None

    def version(self, history_id: str, version_id: str) -> Version:
        """A version by its id or an unambiguous prefix of at least 4 hex digits; a remix also
        finds the original's versions from before the remix (`before_remix`)."""
        row = None
        depth = 0
        if isinstance(version_id, str) and re.fullmatch(r"[0-9a-f]{4,40}", version_id):
            for depth, (hid, bound) in enumerate(self.lineage(history_id)):  # noqa: B007
                if len(version_id) == 40:
                    row = self.db.execute(
                        f"SELECT {_COLUMNS} FROM versions WHERE id = ? AND hid = ? AND seq <= ?",
                        (version_id, hid, _upper(bound)),
                    ).fetchone()
                else:
                    rows = self.db.execute(
                        f"SELECT {_COLUMNS} FROM versions WHERE hid = ? AND seq <= ? "
                        "AND substr(id, 1, ?) = ?",
                        (hid, _upper(bound), len(version_id), version_id),
                    ).fetchall()
                    if len(rows) > 1:
                        raise UnknownVersion(
                            f"Version {version_id!r} is ambiguous: use more digits."
                        )
                    row = rows[0] if rows else None
                if row is not None:
                    break
        if row is None:
            raise UnknownVersion(f"No version {version_id!r} in this file's history.")
        version = _row_to_version(row)
        version.before_remix = depth > 0
        return version

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


def _upper(bound: int | None) -> int:
    """A seq bound for SQL: none is every version."""
    return (1 << 62) if bound is None else bound


def _insert_version(con: sqlite3.Connection, v: Version, content_oid: str | None) -> None:
    # A version enters the index unlabelled, with the checkpoint mark its commit carries; notes
    # are applied by `set_notes`.
    con.execute(
        f"INSERT OR REPLACE INTO versions({_INDEX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
