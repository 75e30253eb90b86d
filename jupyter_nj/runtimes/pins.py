"""Pins: which environment version a notebook runs, kept in its metadata."""

from __future__ import annotations

from typing import Any

from ..documents import LiveDocuments
from .manager import PIN_SLOT, write_pin
from .model import EnvironmentVersion


async def pin_notebook(
    documents: LiveDocuments, path: str, record: EnvironmentVersion
) -> dict[str, Any]:
    """Write the pin into the open real-time room, or through the contents manager, so
    collaborators, checkpoints and save hooks all see it (see `LiveDocuments`)."""
    _, metadata = await documents.edit_notebook_metadata(
        path, lambda notebook: write_pin(notebook, record)
    )
    return dict(metadata["nj"]["runtimes"][PIN_SLOT])
