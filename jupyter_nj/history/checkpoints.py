"""jupyter_server Checkpoints on the history store.

JupyterLab's Ctrl-S saves and then creates a checkpoint: here that marks the saved version as a
checkpoint (there is one store, not a second copy). "Revert to checkpoint" lists checkpoint
versions newest first and restores one (which appends a version). nbdime's "diff to checkpoint"
reads `list_checkpoints()[0]`, the newest. Renaming or deleting a file keeps its history, so the
rename/delete hooks do nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_server.services.contents.checkpoints import (
    AsyncCheckpoints,
    AsyncGenericCheckpointsMixin,
    Checkpoints,
    GenericCheckpointsMixin,
)

if TYPE_CHECKING:
    from .manager import HistoryManager


def _checkpoint_id(checkpoint_id: Any) -> str:
    # nbdime passes the whole checkpoint model instead of its id.
    if isinstance(checkpoint_id, dict):
        return str(checkpoint_id.get("id", ""))
    return str(checkpoint_id)


class AsyncHistoryCheckpoints(AsyncGenericCheckpointsMixin, AsyncCheckpoints):
    """Checkpoints for async contents managers (jupyter_server's default)."""

    def __init__(self, history: HistoryManager, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = history

    async def create_checkpoint(self, contents_mgr: Any, path: str) -> dict[str, Any]:
        return await self.history.create_checkpoint(contents_mgr, path)

    async def restore_checkpoint(self, contents_mgr: Any, checkpoint_id: Any, path: str) -> None:
        await self.history.restore_checkpoint(contents_mgr, _checkpoint_id(checkpoint_id), path)

    async def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        return self.history.list_checkpoints(path)

    async def delete_checkpoint(self, checkpoint_id: Any, path: str) -> None:
        await self.history.delete_checkpoint(_checkpoint_id(checkpoint_id), path)

    async def rename_checkpoint(self, checkpoint_id: Any, old_path: str, new_path: str) -> None:
        return None

    async def rename_all_checkpoints(self, old_path: str, new_path: str) -> None:
        return None

    async def delete_all_checkpoints(self, path: str) -> None:
        # A deleted file's history stays restorable.
        return None

    async def get_notebook_checkpoint(self, checkpoint_id: Any, path: str) -> dict[str, Any]:
        return await self.history.checkpoint_model(_checkpoint_id(checkpoint_id), path, True)

    async def get_file_checkpoint(self, checkpoint_id: Any, path: str) -> dict[str, Any]:
        return await self.history.checkpoint_model(_checkpoint_id(checkpoint_id), path, False)


class HistoryCheckpoints(GenericCheckpointsMixin, Checkpoints):
    """Checkpoints for synchronous contents managers."""

    def __init__(self, history: HistoryManager, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = history

    def create_checkpoint(self, contents_mgr: Any, path: str) -> dict[str, Any]:
        return self.history.create_checkpoint_sync(contents_mgr, path)

    def restore_checkpoint(self, contents_mgr: Any, checkpoint_id: Any, path: str) -> None:
        self.history.restore_checkpoint_sync(contents_mgr, _checkpoint_id(checkpoint_id), path)

    def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        return self.history.list_checkpoints(path)

    def delete_checkpoint(self, checkpoint_id: Any, path: str) -> None:
        self.history.delete_checkpoint_sync(_checkpoint_id(checkpoint_id), path)

    def rename_checkpoint(self, checkpoint_id: Any, old_path: str, new_path: str) -> None:
        return None

    def rename_all_checkpoints(self, old_path: str, new_path: str) -> None:
        return None

    def delete_all_checkpoints(self, path: str) -> None:
        return None

    def get_notebook_checkpoint(self, checkpoint_id: Any, path: str) -> dict[str, Any]:
        return self.history.checkpoint_model_sync(_checkpoint_id(checkpoint_id), path, True)

    def get_file_checkpoint(self, checkpoint_id: Any, path: str) -> dict[str, Any]:
        return self.history.checkpoint_model_sync(_checkpoint_id(checkpoint_id), path, False)
