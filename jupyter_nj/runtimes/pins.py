"""Pins: which environment version a notebook runs, kept in its metadata."""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from tornado import web

from ..base import NJError, resolve_api_path
from ..environments.manager import write_pin
from ..environments.model import EnvironmentVersion


async def pin_notebook(
    contents_manager: Any, root_dir: str, path: str, record: EnvironmentVersion
) -> dict[str, Any]:
    """Write the pin through the contents manager, so checkpoints and save hooks see it."""
    resolve_api_path(root_dir, path)  # 404 for anything outside the root
    try:
        model = await ensure_async(contents_manager.get(path, content=True, type="notebook"))
    except web.HTTPError as err:
        raise NJError(err.status_code, "bad-notebook", f"Cannot open {path!r}.") from None
    notebook = model["content"]
    write_pin(notebook, record)
    await ensure_async(
        contents_manager.save({"type": "notebook", "format": "json", "content": notebook}, path)
    )
    return dict(notebook["metadata"]["nj"]["runtimes"]["main"])
