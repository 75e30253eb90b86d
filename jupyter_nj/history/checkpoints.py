"""jupyter_server Checkpoints on the history store.

JupyterLab's Ctrl-S saves and then creates a checkpoint: here that marks the saved version as a
checkpoint (there is one store, not a second copy). "Revert to checkpoint" lists checkpoint
versions newest first and restores one (which appends a version). nbdime's "diff to checkpoint"
reads `list_checkpoints()[0]`, the newest. Renaming or deleting a file keeps its history, so the
rename hooks and `delete_all_checkpoints` do nothing (`delete_checkpoint` only removes the mark).

One implementation, async, for jupyter_server's async contents managers (its default). A server
configured with a synchronous contents manager keeps that manager's own checkpoints; its saves
are still versioned.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jupyter_server.services.contents.checkpoints import (
    AsyncCheckpoints,
    AsyncGenericCheckpointsMixin,
)
from jupyter_server.utils import ensure_async

from ..base import NJError, resolve_api_path
from .contents import contents_model, normalize_api_path
from .recorder import Captured
from .store import UnknownVersion, Version, notebook_kind

if TYPE_CHECKING:
    from .manager import HistoryManager


def _checkpoint_id(checkpoint_id: Any) -> str:
    # nbdime passes the whole checkpoint model instead of its id.
    if isinstance(checkpoint_id, dict):
        return str(checkpoint_id.get("id", ""))
    return str(checkpoint_id)


def _checkpoint_model(version: Version) -> dict[str, Any]:
    return {
        "id": version.id,
        "last_modified": datetime.fromtimestamp(version.created, tz=timezone.utc),
    }


class HistoryCheckpoints(AsyncGenericCheckpointsMixin, AsyncCheckpoints):
    """Checkpoints that are history versions marked as checkpoints."""

    def __init__(self, history: HistoryManager, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = history

    # -- what jupyter_server calls ----------------------------------------------------------

    async def create_checkpoint(self, contents_mgr: Any, path: str) -> dict[str, Any]:
        path = normalize_api_path(path)
        found = await self._saved_bytes(contents_mgr, path)
        if found is None:
            # Another save of the file is writing it: its own post-save hook versions it.
            return {"id": "none", "last_modified": datetime.now(timezone.utc)}
        os_path, data = found
        history = self.history
        version = await asyncio.wrap_future(
            history.recorder.record(
                path,
                os_path,
                data,
                file_id=history.index_file_id(path),
                authors=history.authors(history.documents.file_id(path), path),
                checkpoint=True,
            )
        )
        if version is None:
            # Recording was refused (too big, unreadable): the checkpoint marks the moment.
            return {"id": "none", "last_modified": datetime.now(timezone.utc)}
        return _checkpoint_model(version)

    async def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        # Called inside every notebook save: an indexed query of a few rows.
        hid = self._history_id(path)
        if hid is None:
            return []
        return [_checkpoint_model(v) for v in self.history.store.checkpoints(hid, limit=50)]

    async def restore_checkpoint(self, contents_mgr: Any, checkpoint_id: Any, path: str) -> None:
        path = normalize_api_path(path)
        hid, version = await asyncio.to_thread(self._checkpoint, checkpoint_id, path)
        data = await asyncio.to_thread(self.history.store.content, version.id)
        model = await asyncio.to_thread(contents_model, path, data)
        self.history.recorder.expect_restore(hid, version.id)
        await ensure_async(contents_mgr.save(model, path))

    async def delete_checkpoint(self, checkpoint_id: Any, path: str) -> None:
        def unmark() -> None:
            hid, version = self._checkpoint(checkpoint_id, path)
            self.history.store.set_checkpoint(hid, version.id, False)

        await asyncio.to_thread(unmark)

    async def rename_checkpoint(self, checkpoint_id: Any, old_path: str, new_path: str) -> None:
        return None

    async def rename_all_checkpoints(self, old_path: str, new_path: str) -> None:
        return None

    async def delete_all_checkpoints(self, path: str) -> None:
        # A deleted file's history stays restorable.
        return None

    async def get_notebook_checkpoint(self, checkpoint_id: Any, path: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._checkpoint_contents, checkpoint_id, path, True)

    async def get_file_checkpoint(self, checkpoint_id: Any, path: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._checkpoint_contents, checkpoint_id, path, False)

    # -- helpers ----------------------------------------------------------------------------

    def _history_id(self, path: str) -> str | None:
        path = normalize_api_path(path)
        return self.history.store.find_history(self.history.documents.file_id(path), path)

    def _checkpoint(self, checkpoint_id: Any, path: str) -> tuple[str, Version]:
        hid = self._history_id(path)
        if hid is None:
            raise NJError(404, "unknown-version", f"{path!r} has no checkpoints.")
        try:
            return hid, self.history.store.version(hid, _checkpoint_id(checkpoint_id))
        except UnknownVersion as err:
            raise NJError(404, "unknown-version", str(err)) from None

    def _checkpoint_contents(self, checkpoint_id: Any, path: str, notebook: bool) -> dict[str, Any]:
        _, version = self._checkpoint(checkpoint_id, path)
        data = self.history.store.content(version.id)
        model = contents_model(normalize_api_path(path), data)
        if not notebook and model["type"] == "notebook":
            model = {"type": "file", "format": "text", "content": data.decode()}
        return model

    async def _saved_bytes(self, contents_mgr: Any, path: str) -> tuple[str | None, bytes] | None:
        """What the save just wrote: the file's bytes (no link followed) when the contents
        manager keeps files under the server root, else the bytes of its model; None when
        another save of the file is under way.

        jupyter_server creates a notebook's first checkpoint inside its save, and concurrent
        saves of one file rewrite it in place through one shared backup name: the file can be
        empty or half written with no backup beside it. So the file is read only when no other
        save of it has begun, and only when it holds still (the recorder's careful read).
        """
        root = getattr(contents_mgr, "root_dir", None)
        if root and root == self.history.root_dir:
            recorder = self.history.recorder
            # The save this checkpoint belongs to counts as one.
            if recorder.saves_in_flight(path) > 1:
                return None
            # The path is already decoded: keep a literal "%" in a name from being decoded again.
            os_path = str(resolve_api_path(root, path.replace("%", "%25")))
            data = await asyncio.to_thread(recorder.read_saved, os_path)
            if data is None or (not data and notebook_kind(path)):
                return None
            return os_path, data
        model = await ensure_async(contents_mgr.get(path, content=True))
        data = self.history.recorder.captured_bytes(
            Captured(model["type"], model["content"], model.get("format"))
        )
        if data is None:
            raise NJError(400, "unsupported", f"Cannot checkpoint {path!r}.")
        return None, data
