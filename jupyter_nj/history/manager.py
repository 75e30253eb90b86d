"""HistoryManager: the history pillar's one manager (store, recorder, checkpoints, diffs, restore).

In a server, handlers and the checkpoints reach the store only through it (the command line
opens the store itself, with no server). Blocking work (git, JSON of large notebooks, nbdime)
runs in threads or the diff process, never on the event loop; the jupyter_server_fileid manager
and the real-time rooms are used on the event loop, where they live.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
from jupyter_server.utils import ensure_async

from ..base import NJError, resolve_api_path
from ..documents import LiveDocuments
from .checkpoints import HistoryCheckpoints
from .contents import content_fields, contents_model, normalize_api_path
from .diff import DiffService, DiffTimeout
from .disk import read_saved_file
from .recorder import Captured, HistoryRecorder, Redactor, ResultsCapture
from .store import (
    HistoryError,
    HistoryStore,
    UnknownVersion,
    Version,
    notebook_kind,
    notebook_model,
)

log = logging.getLogger(__name__)

CONTENTS_EVENTS = "https://events.jupyter.org/jupyter_server/contents_service/v1"


@dataclass
class Located:
    """A file named by an API path: where it is, whether it exists, and its history."""

    path: str
    os_path: Path
    exists: bool
    file_id: str | None
    history_id: str | None


class HistoryManager:
    """Every version of every file under one server root."""

    def __init__(
        self,
        store_path: str | os.PathLike[str],
        root_dir: str,
        *,
        quiet_period: float = 2.0,
        max_delay: float = 30.0,
        max_file_size: int = 100 * 1024 * 1024,
        results_folder: str = "{stem}.results",
        results_max_file_size: int = 50 * 1024 * 1024,
        results_max_total_size: int = 200 * 1024 * 1024,
        results_ignore: Sequence[str] = (),
        redact: Redactor | None = None,
        saves_redacted: bool = False,
        repack_every: int = 500,
        diff_executor: str = "process",
        diff_timeout: float = 60.0,
        diff_cache_size: int = 64,
        ignore_prefixes: Sequence[str] = (".ipynb_checkpoints",),
    ) -> None:
        self.root_dir = str(root_dir)
        self.store = HistoryStore(store_path)
        self.results = (
            ResultsCapture(
                self.store,
                folder=results_folder,
                max_file_size=results_max_file_size,
                max_total_size=results_max_total_size,
                ignore=results_ignore,
            )
            if results_folder
            else None
        )
        self.recorder = HistoryRecorder(
            self.store,
            quiet_period=quiet_period,
            max_delay=max_delay,
            max_file_size=max_file_size,
            results=self.results,
            redact=redact,
            saves_redacted=saves_redacted,
            repack_every=repack_every,
            file_id_lookup=self.index_file_id,
            authors_lookup=self.authors,
            ignore_prefixes=ignore_prefixes,
            root_dir=str(root_dir),
        )
        self.diffs = DiffService(
            str(self.store.path),
            executor=diff_executor,
            timeout=diff_timeout,
            cache_size=diff_cache_size,
        )
        self.serverapp: Any = None
        self.documents = LiveDocuments()

    # -- wiring into a running server -------------------------------------------------------

    def attach(
        self, serverapp: Any, *, checkpoints: bool = True, documents: LiveDocuments | None = None
    ) -> None:
        """Hook into the server's contents manager and events, and start recording."""
        self.serverapp = serverapp
        self.documents = documents or LiveDocuments(serverapp)
        self.hook_contents_manager(serverapp.contents_manager, checkpoints=checkpoints)
        event_logger = getattr(serverapp, "event_logger", None)
        if event_logger is not None:
            event_logger.add_listener(schema_id=CONTENTS_EVENTS, listener=self._on_contents_event)
        self.recorder.start()
        if self.diffs.executor_kind == "process":
            # Start the diff worker (it imports nbdime) now, not on a user's first diff.
            self.diffs.warm_up()

    def hook_contents_manager(self, cm: Any, *, checkpoints: bool = True) -> None:
        """Record every save of this contents manager, and keep its checkpoints in history.

        Also called for a contents manager that replaced the first one after start-up (see
        NJApp.rehook_contents_manager)."""
        cm.register_pre_save_hook(self.recorder.pre_save_hook)
        cm.register_post_save_hook(self.recorder.post_save_hook)
        if checkpoints:
            from jupyter_server.services.contents.manager import AsyncContentsManager

            if isinstance(cm, AsyncContentsManager):
                cm.checkpoints = HistoryCheckpoints(self, parent=cm, log=cm.log)
            else:
                log.warning(
                    "history: %s is synchronous, so it keeps its own checkpoints; saves are "
                    "still versioned. Use an async contents manager for checkpoints in history.",
                    type(cm).__name__,
                )

    async def _on_contents_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        action = data.get("action")
        if action == "rename":
            self.recorder.file_moved(data.get("source_path", ""), data.get("path", ""))
        elif action == "delete":
            self.recorder.file_deleted(data.get("path", ""))

    def start(self) -> None:
        """Record without a server (tests, benchmarks): saves come through `record`."""
        self.recorder.start()

    def stop(self) -> None:
        self.recorder.stop()
        self.diffs.close()
        # After the recorder wrote what was pending: the store's lock file and index go too (a
        # process that starts servers one after another, as the test suite does, kept them all).
        self.store.close()

    # -- the rest of the server --------------------------------------------------------------

    @property
    def _fileids(self) -> Any:
        if self.serverapp is None:
            return None
        return self.serverapp.web_app.settings.get("file_id_manager")

    def index_file_id(self, path: str) -> str | None:
        manager = self._fileids
        if manager is None:
            return None
        try:
            return manager.index(path)
        except Exception:  # a file id is an optimisation of history, not required
            log.debug("history: no file id for %s", path, exc_info=True)
            return None

    def authors(self, file_id: str | None, path: str) -> dict[str, str]:
        """Who made this save, user name -> display name: everyone in the file's real-time
        room, and the requesting user (the identity jupyter_server authenticated)."""
        authors: dict[str, str] = {}
        try:
            authors.update(self.documents.room_users(path, file_id))
            from jupyter_server.base.call_context import CallContext

            handler = CallContext.get(CallContext.JUPYTER_HANDLER)
            user = getattr(handler, "current_user", None) if handler is not None else None
            name = getattr(user, "username", None) or getattr(user, "name", None)
            if name:
                authors[str(name)] = str(
                    getattr(user, "display_name", None) or getattr(user, "name", None) or name
                )
        except Exception:  # attribution must never fail a save
            log.debug("history: could not tell who saved %s", path, exc_info=True)
        return authors

    # -- locating files ---------------------------------------------------------------------

    async def locate(self, path: str) -> Located:
        api_path = normalize_api_path(path)
        if not api_path:
            raise NJError(404, "not-found", "Give the path of a file, not the server root.")
        # Tornado has already URL-decoded the path once; keep a literal "%" in a file name
        # from being decoded a second time by resolve_api_path.
        os_path = resolve_api_path(self.root_dir, api_path.replace("%", "%25"))
        file_id = self.documents.file_id(api_path)
        exists, is_dir = await asyncio.to_thread(lambda: (os_path.is_file(), os_path.is_dir()))
        if is_dir:
            raise NJError(404, "not-a-file", f"{api_path!r} is a folder; history is kept per file.")
        history_id = await asyncio.to_thread(self.store.find_history, file_id, api_path)
        if not exists and history_id is None:
            raise NJError(404, "not-found", f"No such file, and no history for it: {api_path!r}.")
        return Located(api_path, os_path, exists, file_id, history_id)

    def _version(self, loc: Located, version_id: str) -> Version:
        if loc.history_id is None:
            raise NJError(404, "unknown-version", f"{loc.path!r} has no history yet.")
        try:
            return self.store.version(loc.history_id, version_id)
        except UnknownVersion as err:
            raise NJError(
                404, "unknown-version", f"{err} (file {loc.path!r}); list versions to pick one."
            ) from None

    # -- REST operations ---------------------------------------------------------------------

    async def list_versions(
        self, path: str, limit: int = 50, before: str | None = None
    ) -> dict[str, Any]:
        loc = await self.locate(path)
        if loc.history_id is None:
            versions: list[Version] = []
            cursor = None
        else:
            hid = loc.history_id
            try:
                versions, cursor = await asyncio.to_thread(self.store.versions, hid, limit, before)
            except UnknownVersion as err:
                raise NJError(404, "unknown-version", f"{err} (cursor `before`).") from None
        origin = (
            await asyncio.to_thread(self.store.origin, loc.history_id) if loc.history_id else None
        )
        return {
            "path": loc.path,
            "file_id": loc.file_id,
            "history_id": loc.history_id,
            "exists": loc.exists,
            "versions": [v.to_json() for v in versions],
            "next": cursor,
            # A remix: the original's history and version it began from (its versions up to
            # that one follow the remix's own in `versions`, marked `before_remix`).
            "remixed_from": (
                {"history_id": origin[0], "version": origin[1]} if origin is not None else None
            ),
        }

    async def get_version(self, path: str, version_id: str) -> dict[str, Any]:
        loc = await self.locate(path)

        def load() -> dict[str, Any]:
            version = self._version(loc, version_id)
            data = self.store.content(version.id)
            body = version.to_json()
            body.update(content_fields(loc.path, data))
            if version.kind.startswith("notebook"):
                body["results"] = [
                    {"path": r.path, "size": r.size} for r in self.store.results(version.id)
                ]
            return body

        return await asyncio.to_thread(load)

    async def snapshot(
        self, path: str, version_id: str, results_zip: Path | None = None
    ) -> dict[str, Any]:
        """A notebook at one version ("current": recorded now first), for a publication: the
        version, the notebook, and its results folder at that version written as the zip file
        `results_zip` (none is written when the version has no results).

        404 for an unknown version, 400 for a version that is not a notebook.
        """
        loc = await self.locate(path)
        if not notebook_kind(loc.path):
            raise NJError(400, "not-a-notebook", f"{loc.path!r} is not a notebook (.ipynb).")
        if version_id == "current":
            version = await self._current_version(loc)
        else:
            version = await asyncio.to_thread(self._version, loc, version_id)
        if not version.kind.startswith("notebook"):
            raise NJError(400, "not-a-notebook", f"Version {version.id[:12]} is not a notebook.")

        def read() -> dict[str, Any]:
            results = self.store.results(version.id)
            if results and results_zip is not None:
                import zipfile

                with zipfile.ZipFile(results_zip, "w", zipfile.ZIP_DEFLATED) as archive:
                    for entry in results:
                        data = self.store.result_bytes(version.id, entry.path)
                        archive.writestr(entry.path, data)
            return {
                "path": loc.path,
                "file_id": loc.file_id,
                "version": version.to_json(),
                "notebook": self.store.notebook(version.id),
                "results": [{"path": r.path, "size": r.size} for r in results],
            }

        return await asyncio.to_thread(read)

    async def diff(self, path: str, spec: str, ignore_outputs: bool = False) -> dict[str, Any]:
        loc = await self.locate(path)
        if ".." not in spec:
            raise NJError(400, "bad-diff", "Write the diff as `<a>..<b>` (b may be `current`).")
        a, b = (part.strip() for part in spec.split("..", 1))
        if not a or not b:
            raise NJError(400, "bad-diff", "Write the diff as `<a>..<b>` (b may be `current`).")
        notebook = notebook_kind(loc.path)
        sides = []
        for ref in (a, b):
            if ref == "current":
                sides.append(("content", await self._current(loc, notebook)))
            else:
                version = await asyncio.to_thread(self._version, loc, ref)
                if not notebook:
                    await asyncio.to_thread(self._require_text, version)
                sides.append(("version", version.id))
        base_side, remote_side = sides
        if base_side[0] == "version":
            base = await asyncio.to_thread(self._load_side, base_side[1], notebook)
        else:
            base = base_side[1]
        try:
            diff = await self.diffs.diff(
                base_side, remote_side, notebook=notebook, ignore_outputs=ignore_outputs
            )
        except DiffTimeout as err:
            raise NJError(504, "diff-timeout", f"{err} Try `ignore_outputs=true`.") from None
        return {
            "base": base,
            "diff": diff,
            "base_version": base_side[1] if base_side[0] == "version" else "current",
            "remote_version": remote_side[1] if remote_side[0] == "version" else "current",
        }

    def _require_text(self, version: Version) -> None:
        try:
            self.store.content(version.id).decode("utf-8")
        except UnicodeDecodeError:
            raise NJError(400, "not-text", "Binary files cannot be diffed.") from None

    def _load_side(self, version_id: str, notebook: bool) -> Any:
        if notebook:
            try:
                return self.store.notebook(version_id)
            except HistoryError as err:
                raise NJError(400, "not-a-notebook", str(err)) from None
        return self.store.content(version_id).decode("utf-8")

    async def _current(self, loc: Located, notebook: bool) -> Any:
        """The file as it is now: the live shared document when a room is open, else the disk."""
        document = await self.documents.shared_document(loc.path, loc.file_id)
        if document is not None:
            return document.get()
        if not loc.exists:
            raise NJError(404, "not-found", f"{loc.path!r} no longer exists; diff two versions.")
        data = await asyncio.to_thread(read_saved_file, self.root_dir, str(loc.os_path))
        if notebook:
            try:
                return await asyncio.to_thread(notebook_model, data)
            except HistoryError as err:
                raise NJError(400, "not-a-notebook", f"The file on disk: {err}") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise NJError(400, "not-text", "Binary files cannot be diffed.") from None

    async def restore(self, path: str, version_id: str) -> dict[str, Any]:
        """Make `version_id` the file's content again, as a new version.

        Into an open real-time room the content goes through the shared document (collaborators
        see an ordinary edit, and the room saves it); otherwise through the contents manager.
        """
        loc = await self.locate(path)
        version = await asyncio.to_thread(self._version, loc, version_id)
        assert loc.history_id is not None
        data = await asyncio.to_thread(self.store.content, version.id)
        notebook = notebook_kind(loc.path)
        document = await self.documents.shared_document(loc.path, loc.file_id)
        if document is not None:
            await self._record_live(loc, document, notebook)
            value: Any
            if notebook:
                value = await asyncio.to_thread(self._load_side, version.id, True)
            else:
                try:
                    value = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise NJError(400, "not-text", "A binary file cannot go into a room.") from None
            self.recorder.expect_restore(loc.history_id, version.id)
            document.set(value)
            return {"restored": version.id, "via": "shared-document", "version": None}
        model = await asyncio.to_thread(contents_model, loc.path, data)
        self.recorder.expect_restore(loc.history_id, version.id)
        cm = self.serverapp.contents_manager
        await ensure_async(cm.save(model, loc.path))
        await asyncio.wrap_future(self.recorder.flush())
        latest = await asyncio.to_thread(self.store.latest, loc.history_id)
        return {
            "restored": version.id,
            "via": "contents",
            "version": latest.to_json() if latest is not None else None,
        }

    async def remix(
        self,
        path: str,
        version_id: str,
        to: str,
        stamp: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
        *,
        authors: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Copy the notebook at `path`, at `version_id` ("current": as it is now), to the new
        path `to`, with its results folder at that version, as a new history whose first
        version's parent is that version (`HistoryStore.remix`: no blob copied).

        `stamp(notebook, origin)` returns the notebook the remix saves (the sharing pillar writes
        its attribution). Nothing is written unless every check passed: 404 for an unknown
        version or a missing folder, 400 for a version that is not a notebook, 409 when `to` or
        its results folder exists, 413 for a notebook over `max_file_size`.
        """
        loc = await self.locate(path)
        if loc.history_id is None and version_id != "current":
            raise NJError(404, "unknown-version", f"{loc.path!r} has no history yet.")
        if not notebook_kind(loc.path):
            raise NJError(400, "not-a-notebook", f"{loc.path!r} is not a notebook (.ipynb).")
        target = normalize_api_path(to)
        if not target:
            raise NJError(400, "bad-target", "Name the notebook to write.")
        target_os = resolve_api_path(self.root_dir, target.replace("%", "%25"))
        # Before "current" records anything: a refused remix writes nothing, not even a version.
        await asyncio.to_thread(self._check_target, target, target_os)
        if version_id == "current":
            version = await self._current_version(loc)
        else:
            version = await asyncio.to_thread(self._version, loc, version_id)
        if not version.kind.startswith("notebook"):
            raise NJError(400, "not-a-notebook", f"Version {version.id[:12]} is not a notebook.")
        assert loc.history_id is not None
        author = authors if authors is not None else self.authors(None, target)
        prepared = await asyncio.to_thread(
            self._prepare_remix, loc, version, target, target_os, stamp
        )
        origin, notebook, data = prepared
        results_target = self.results.folder_for(str(target_os)) if self.results else None

        def write_history() -> tuple[Version, dict[str, Any] | None]:
            new = self.store.remix(loc.history_id or "", version.id, target, data, authors=author)
            report = None
            if results_target is not None and self.results is not None:
                report = self._materialize_results(loc, version.id, results_target)
            return new, report

        new, report = await asyncio.to_thread(write_history)
        self.recorder.expect_history(target, new.history_id)
        cm = self.serverapp.contents_manager if self.serverapp is not None else None
        if cm is not None:
            await ensure_async(
                cm.save({"type": "notebook", "format": "json", "content": notebook}, target)
            )
            # The save is the remix's first version already (same tree: no version is added);
            # handled before the answer, so a runtime's first write after it is the remix's own.
            await asyncio.wrap_future(self.recorder.flush(new.history_id))
        else:
            from .clone import write_new_file

            await asyncio.to_thread(write_new_file, str(target_os), data)
        return {
            "path": target,
            "history_id": new.history_id,
            "version": new.to_json(),
            "from": origin,
            "results": report,
        }

    async def _current_version(self, loc: Located) -> Version:
        """The newest version once the notebook as it is now is recorded: what an open room
        holds unsaved, else the file on disk (written outside Jupyter, or not yet recorded),
        with its results folder."""
        if loc.history_id is not None:
            # Saves still in their quiet period are written first, with their own authors.
            await asyncio.wrap_future(self.recorder.flush(loc.history_id))
        document = await self.documents.shared_document(loc.path, loc.file_id)
        if document is not None:
            await self._record_live(loc, document, True)
        elif loc.exists:
            data = await asyncio.to_thread(read_saved_file, self.root_dir, str(loc.os_path))
            await asyncio.wrap_future(
                self.recorder.record(
                    loc.path,
                    str(loc.os_path),
                    data,
                    file_id=loc.file_id,
                    authors=self.authors(loc.file_id, loc.path),
                )
            )
        loc.history_id = await asyncio.to_thread(self.store.find_history, loc.file_id, loc.path)
        latest = (
            await asyncio.to_thread(self.store.latest, loc.history_id) if loc.history_id else None
        )
        if latest is None:
            raise NJError(404, "unknown-version", f"{loc.path!r} has no version to remix.")
        return latest

    def _check_target(self, target: str, target_os: Path) -> None:
        """409 when the remix's file or results folder exists (a link too), 404 without a
        folder to write into."""
        if os.path.lexists(target_os):
            raise NJError(409, "exists", f"{target!r} already exists: choose another name.")
        if not target_os.parent.is_dir():
            raise NJError(404, "no-folder", f"There is no folder for {target!r}.")
        if self.results is not None:
            folder = self.results.folder_for(str(target_os))
            if os.path.lexists(folder):
                raise NJError(
                    409,
                    "exists",
                    f"{target!r}'s results folder {folder.name!r} already exists: choose "
                    "another name, or move that folder away.",
                )

    def _prepare_remix(
        self,
        loc: Located,
        version: Version,
        target: str,
        target_os: Path,
        stamp: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
    ) -> tuple[dict[str, Any], dict[str, Any], bytes]:
        """Check the target and build the remix's notebook and bytes (nothing written)."""
        self._check_target(target, target_os)
        assert loc.history_id is not None
        authors = self.store.authors_until(loc.history_id, version.id)
        origin = {
            "path": version.path if version.before_remix else loc.path,
            "file_id": None if version.before_remix else loc.file_id,
            "history_id": version.history_id,
            "version": version.id,
            "authors": list(authors),
            "author_display_names": list(authors.values()),
        }
        notebook = stamp(self.store.notebook(version.id), origin)
        data = self.recorder.captured_bytes(Captured("notebook", notebook, "json"))
        if data is None:
            raise NJError(400, "not-a-notebook", f"Version {version.id[:12]} is not nbformat 4.")
        if len(data) > self.recorder.max_file_size:
            raise NJError(
                413,
                "too-large",
                f"The remix would be {len(data)} bytes, over the {self.recorder.max_file_size} "
                "bytes history keeps per file (NJApp.history_max_file_size).",
            )
        return origin, notebook, data

    def _materialize_results(
        self, loc: Located, version_id: str, folder: Path
    ) -> dict[str, Any] | None:
        """Write the version's results folder at `folder` (see `clone.make_results_folder`)."""
        from .clone import ResultEntry, make_results_folder

        assert self.results is not None
        found = self.store.results(version_id)
        if not found:
            return None
        source_folder = self.results.folder_for(str(loc.os_path))
        oids = {r.path: r.oid for r in found}
        entries = []
        for result in found:
            on_disk = str(source_folder / result.path)
            known = self.results.known_blob(on_disk)
            same = known is not None and str(known) == result.oid
            entries.append(ResultEntry(result.path, result.size, on_disk if same else None))

        def unchanged(entry: ResultEntry) -> bool:
            known = self.results.known_blob(entry.source) if self.results and entry.source else None
            return known is not None and str(known) == oids[entry.rel]

        def written(full: str, rel: str) -> None:
            assert self.results is not None
            self.results.remember(full, pygit2.Oid(hex=oids[rel]))

        report = make_results_folder(
            folder,
            entries,
            lambda rel: self.store.result_bytes(version_id, rel),
            written,
            unchanged,
        )
        return report.to_json()

    async def _record_live(self, loc: Located, document: Any, notebook: bool) -> None:
        """Make what collaborators typed since the room last saved a version, before a restore
        replaces it. (The room saves about a second after each change; browsers do not save a
        shared document themselves, so the restore cannot ask them to.) Content equal to the
        newest version adds none."""
        captured = Captured(
            "notebook" if notebook else "file", document.get(), "json" if notebook else "text"
        )
        # Serialising a large notebook takes a while: not on the event loop.
        data = await asyncio.to_thread(self.recorder.captured_bytes, captured)
        if data is None:
            return
        await asyncio.wrap_future(
            self.recorder.record(
                loc.path,
                # The results folder is captured with it, as with a save.
                str(loc.os_path) if loc.exists else None,
                data,
                file_id=loc.file_id,
                authors=self.authors(loc.file_id, loc.path),
            )
        )

    async def label_latest(self, path: str, label: str) -> dict[str, Any] | None:
        """Write what is pending for `path` now and label its newest version (a headless run
        labels the version its save made). None when the file has no version."""
        await asyncio.wrap_future(self.recorder.flush())
        newest = (await self.list_versions(path, limit=1))["versions"]
        if not newest:
            return None
        return (await self.label(path, newest[0]["id"], label))["version"]

    async def label(self, path: str, version_id: str, label: str | None) -> dict[str, Any]:
        loc = await self.locate(path)

        def apply() -> Version:
            version = self._version(loc, version_id)
            assert loc.history_id is not None
            if version.before_remix:
                raise NJError(
                    400,
                    "before-remix",
                    "This version is the original's, from before the remix: label it there.",
                )
            return self.store.set_label(loc.history_id, version.id, label)

        return {"version": (await asyncio.to_thread(apply)).to_json()}


def build_history_manager(
    app: Any, redact: Callable[[Any], Any] | None = None, *, saves_redacted: bool = False
) -> HistoryManager:
    """A HistoryManager configured from NJApp's traits (used by app.py and the command line).

    `saves_redacted`: a pre-save hook registered before history's applies `redact` to saves.
    """
    root = str(app.root_dir)
    data_path = Path(app.nj_data_path)
    ignore = [".ipynb_checkpoints"]
    try:
        rel = data_path.resolve().relative_to(Path(root).resolve())
        ignore.append(rel.as_posix())
    except ValueError:
        pass
    return HistoryManager(
        data_path / "history.git",
        root,
        quiet_period=app.history_quiet_period,
        max_delay=app.history_max_delay,
        max_file_size=app.history_max_file_size,
        results_folder=app.history_results_folder,
        results_max_file_size=app.history_results_max_file_size,
        results_max_total_size=app.history_results_max_total_size,
        results_ignore=list(app.history_results_ignore),
        redact=redact,
        saves_redacted=saves_redacted,
        repack_every=app.history_repack_every,
        diff_executor=app.history_diff_executor,
        diff_timeout=app.history_diff_timeout,
        ignore_prefixes=ignore,
    )


__all__ = ["HistoryManager", "build_history_manager", "normalize_api_path"]
