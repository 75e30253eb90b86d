"""Files as the server sees them now: the live shared document of an open real-time room, else disk.

jupyter-nj writes into notebooks on a user's behalf (a runtime pin, the names of attached
secrets, a restored version). While a file is open in a jupyter-collaboration room, the room's
shared document is the truth: the room saves it about a second after every change, so a write
made to the file behind its back is overwritten by the next autosave (or raises the "file changed
on disk" dialog). Every pillar therefore reads and edits notebooks through `LiveDocuments`,
which goes through the shared document when a room is open and the contents manager otherwise.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from jupyter_server.services.contents.fileio import FileManagerMixin
from jupyter_server.utils import ensure_async
from jupyter_server_ydoc.utils import encode_file_path, room_id_from_encoded_path
from tornado.web import HTTPError

from .base import NJError, resolve_api_path
from .links import open_inside

log = logging.getLogger(__name__)


def notebook_kind(path: str) -> bool:
    return path.lower().endswith(".ipynb")


class LiveDocuments:
    """The open real-time rooms of one server, and notebook metadata read and edited through them.

    `serverapp` may be None (the command line, unit tests): then there are no rooms and every
    read and write goes through `contents_manager`.
    """

    # Metadata of notebooks on disk, by file identity and modification: pins and attached
    # secrets are read at every kernel start and every `secrets.get()`, and a large notebook must
    # not be parsed each time.
    METADATA_CACHE_SIZE = 256

    def __init__(self, serverapp: Any = None, contents_manager: Any = None) -> None:
        self.serverapp = serverapp
        self._contents_manager = contents_manager
        self._metadata_cache: OrderedDict[str, tuple[tuple[int, ...], dict[str, Any]]] = (
            OrderedDict()
        )
        # Reads run in worker threads, several at once.
        self._metadata_lock = threading.Lock()

    @property
    def contents_manager(self) -> Any:
        if self._contents_manager is not None:
            return self._contents_manager
        return getattr(self.serverapp, "contents_manager", None)

    # -- rooms --------------------------------------------------------------------------------

    @property
    def _ydoc_extension(self) -> Any:
        if self.serverapp is None:
            return None
        apps = self.serverapp.extension_manager.extension_apps.get("jupyter_server_ydoc")
        return next(iter(apps)) if apps else None

    @property
    def file_id_manager(self) -> Any:
        """jupyter_server_fileid's manager, when the server runs it."""
        settings = getattr(getattr(self.serverapp, "web_app", None), "settings", None) or {}
        return settings.get("file_id_manager")

    def file_id(self, path: str) -> str | None:
        """The file's id, if jupyter_server_fileid already knows it (a lookup never indexes)."""
        manager = self.file_id_manager
        if manager is None:
            return None
        try:
            return manager.get_id(path)
        except Exception:
            log.debug("no file id for %s", path, exc_info=True)
            return None

    def room(self, path: str, file_id: str | None = None) -> Any:
        """The open real-time room of a file, or None."""
        server = getattr(self._ydoc_extension, "ywebsocket_server", None)
        file_id = file_id or self.file_id(path)
        if server is None or not file_id:
            return None
        # The room id as jupyter-collaboration spells it for the file's document.
        spec = ("json", "notebook") if notebook_kind(path) else ("text", "file")
        room_id = room_id_from_encoded_path(encode_file_path(*spec, file_id))
        return server.rooms[room_id] if server.room_exists(room_id) else None

    async def shared_document(self, path: str, file_id: str | None = None) -> Any:
        """The live shared model of the file's open room (edits reach every collaborator and
        the room saves them), or None when no room is open."""
        room = self.room(path, file_id)
        if room is None:
            return None
        try:
            return await self._ydoc_extension.get_document(room_id=room.room_id, copy=False)
        except Exception:
            log.warning("could not reach the real-time room of %s", path, exc_info=True)
            return None

    def room_users(self, path: str, file_id: str | None = None) -> dict[str, str]:
        """The users present in the file's room, user name -> display name, as their clients
        announce them in the room's awareness (JupyterLab sends the server's identity model)."""
        room = self.room(path, file_id)
        users: dict[str, str] = {}
        for state in list(room.awareness.states.values()) if room is not None else []:
            user = state.get("user") if isinstance(state, dict) else None
            if not isinstance(user, dict):
                continue
            name = str(user.get("username") or user.get("name") or "")
            if name:
                users[name] = str(user.get("display_name") or user.get("name") or name)
        return users

    # -- notebook metadata ----------------------------------------------------------------------

    def notebook_path(self, path: str) -> str:
        """The API path of a notebook, or a 404 (outside the root) or 400 (not a .ipynb)."""
        path = (path or "").removeprefix("RTC:").strip("/")
        root = getattr(self.contents_manager, "root_dir", None)
        if root:
            resolve_api_path(root, path)  # 404 for anything that leaves the server root
        if not notebook_kind(path):
            raise NJError(400, "not-a-notebook", f"{path!r} is not a notebook (.ipynb).")
        return path

    async def saved_notebook(self, path: str, content: bool = True) -> dict[str, Any]:
        """The contents manager's model of the saved notebook (with `last_modified`); clear
        404/4xx errors for a missing or unreadable one."""
        cm = self.contents_manager
        if cm is None:
            raise NJError(500, "no-contents", "No contents manager is available.")
        try:
            model: dict[str, Any] = await ensure_async(
                cm.get(path, content=content, type="notebook")
            )
        except NJError:
            raise
        except HTTPError as err:
            if err.status_code == 404:
                raise NJError(404, "not-found", f"No such notebook: {path!r}.") from None
            raise NJError(
                err.status_code if 400 <= err.status_code < 500 else 400,
                "bad-notebook",
                f"The notebook {path!r} cannot be opened.",
            ) from None
        return model

    async def notebook_content(self, path: str) -> dict[str, Any]:
        """The whole notebook (nbformat JSON) as collaborators see it now: the open room's
        shared document, else the saved file through the contents manager."""
        path = self.notebook_path(path)
        document = await self.shared_document(path)
        if document is not None:
            content: dict[str, Any] = document.get()
            return content
        model = await self.saved_notebook(path)
        return dict(model["content"])

    async def notebook_metadata(self, path: str) -> tuple[str, dict[str, Any]]:
        """(API path, the notebook's metadata as collaborators see it now).

        The open room's shared document first; else, for notebooks on this server's disk, the
        saved file, parsed in a worker thread and cached while it is unchanged; else the
        contents manager (other stores, and notebooks reached through a link inside the root).
        """
        path = self.notebook_path(path)
        document = await self.shared_document(path)
        if document is not None:
            return path, SharedNotebookMetadata(document).read()
        root = self._disk_root()
        if root is not None:
            metadata = await asyncio.to_thread(self._metadata_on_disk, root, path)
            if metadata is not None:
                return path, metadata
        model = await self.saved_notebook(path)
        return model["path"], dict(model["content"].get("metadata", {}))

    def _disk_root(self) -> str | None:
        """The root folder of a file-backed contents manager (jupyter_server's sync and async
        ones share this mixin), or None for other stores."""
        cm = self.contents_manager
        if not isinstance(cm, FileManagerMixin):
            return None
        return str(getattr(cm, "root_dir", "")) or None

    def _metadata_on_disk(self, root: str, path: str) -> dict[str, Any] | None:
        """The saved notebook's metadata, or None where the contents manager must answer (a
        link on the way: the contents API decides whether to follow it)."""
        try:
            fd = open_inside(root, os.path.join(root, path))
        except FileNotFoundError:
            raise NJError(404, "not-found", f"No such notebook: {path!r}.") from None
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENOTDIR, errno.EXDEV):
                return None
            raise NJError(
                400, "unreadable", f"The notebook {path!r} cannot be read ({err.strerror})."
            ) from None
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            key = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
            with self._metadata_lock:
                cached = self._metadata_cache.get(path)
                if cached is not None and cached[0] == key:
                    self._metadata_cache.move_to_end(path)
                    return copy.deepcopy(cached[1])
            data = file.read()
        try:
            metadata = json.loads(data).get("metadata", {})
        except (ValueError, AttributeError):
            metadata = None
        if not isinstance(metadata, dict):
            raise NJError(400, "bad-notebook", f"{path!r} is not valid notebook JSON.")
        with self._metadata_lock:
            self._metadata_cache[path] = (key, metadata)
            while len(self._metadata_cache) > self.METADATA_CACHE_SIZE:
                self._metadata_cache.popitem(last=False)
        return copy.deepcopy(metadata)

    async def edit_notebook_metadata(
        self, path: str, edit: Callable[[dict[str, Any]], None]
    ) -> tuple[str, dict[str, Any]]:
        """Apply `edit` to `{"metadata": ...}` of a notebook and keep the result.

        In an open room only the top-level metadata keys that changed are set in the shared
        document, the same way JupyterLab's own metadata edits travel, so a collaborator's
        concurrent edit of another key or of a cell is kept. Otherwise the notebook is saved
        through the contents manager (save hooks, history and checkpoints see it).
        Returns (API path, the new metadata).
        """
        path = self.notebook_path(path)
        document = await self.shared_document(path)
        if document is not None:
            # No await between reading and writing: nothing else can edit the document between.
            shared = SharedNotebookMetadata(document)
            before = shared.read()
            notebook = {"metadata": copy.deepcopy(before)}
            edit(notebook)
            after = notebook["metadata"]
            changed = {k: v for k, v in after.items() if before.get(k) != v}
            if changed:
                shared.set(changed)
            return path, after
        model = await self.saved_notebook(path)
        content = model["content"]
        content.setdefault("metadata", {})
        edit(content)
        saved = {"type": "notebook", "format": "json", "content": content}
        await ensure_async(self.contents_manager.save(saved, model["path"]))
        return model["path"], content["metadata"]


class SharedNotebookMetadata:
    """The top-level metadata of a jupyter_ydoc `YNotebook`, read and set key by key.

    jupyter_ydoc has no public per-key metadata access: the notebook keeps its metadata as a Map
    under `_ymeta["metadata"]` (written whenever the room loads the file), which is what
    JupyterLab's `setMetadata(key, value)` writes to. This is the one place that relies on it;
    `tests/foundation/test_live_documents.py` checks it against jupyter_ydoc, so a release that
    changes the layout fails that test rather than editing the wrong thing.
    """

    def __init__(self, document: Any) -> None:
        self.document = document

    @property
    def _map(self) -> Any:
        return self.document._ymeta["metadata"]

    def read(self) -> dict[str, Any]:
        """The metadata, without converting every cell of a large notebook."""
        return dict(self._map.to_py() or {})

    def set(self, changed: dict[str, Any]) -> None:
        """Set some top-level keys, in one transaction."""
        shared = self._map
        with self.document.ydoc.transaction():
            for key, value in changed.items():
                shared[key] = copy.deepcopy(value)
