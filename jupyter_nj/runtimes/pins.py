"""Pins: which environment version each runtime of a notebook runs, kept in its metadata
(`metadata.nj.runtimes.<name>`; `main` is the notebook's kernel, other names are the runtimes
its cells can choose, see jupyter_nj/compute/), read and written only through
`LiveDocuments`, so a pin set in an open real-time room is the one the next kernel start sees,
and collaborators, checkpoints and save hooks all see a pin that is written."""

from __future__ import annotations

from typing import Any

from ..base import NJError
from ..documents import LiveDocuments
from .model import EnvironmentVersion

PIN_SLOT = "main"
# What a runtime asks for besides its version: `gpus`, a count or device UUIDs (runtimes/gpus/).
GPUS_KEY = "gpus"


def read_pin(notebook: dict[str, Any], slot: str = PIN_SLOT) -> dict[str, str] | None:
    """`metadata.nj.runtimes.<slot>` of a notebook, when it is a well-formed pin."""
    pin = notebook.get("metadata", {}).get("nj", {}).get("runtimes", {}).get(slot)
    if isinstance(pin, dict) and isinstance(pin.get("environment"), str):
        return {k: str(v) for k, v in pin.items() if k in {"environment", "version", "backend"}}
    return None


def write_pin(notebook: dict[str, Any], record: EnvironmentVersion, slot: str = PIN_SLOT) -> None:
    metadata = notebook.setdefault("metadata", {})
    runtimes = metadata.setdefault("nj", {}).setdefault("runtimes", {})
    previous = runtimes.get(slot) if isinstance(runtimes.get(slot), dict) else {}
    runtimes[slot] = {
        "environment": record.name,
        "version": record.version,
        "backend": record.backend,
    }
    if GPUS_KEY in previous:  # the GPUs asked for stay with the runtime when it is re-pinned
        runtimes[slot][GPUS_KEY] = previous[GPUS_KEY]


def read_pin_gpus(notebook: dict[str, Any], slot: str = PIN_SLOT) -> Any:
    """`metadata.nj.runtimes.<slot>.gpus` as written (a count, device UUIDs, "all"), or None."""
    pin = notebook.get("metadata", {}).get("nj", {}).get("runtimes", {}).get(slot)
    return pin.get(GPUS_KEY) if isinstance(pin, dict) else None


def write_pin_gpus(
    notebook: dict[str, Any],
    slot: str,
    gpus: Any,
    record: EnvironmentVersion | None = None,
) -> None:
    """Set (or, for none, remove) the GPUs runtime `slot` asks for; a runtime not pinned yet is
    pinned to `record` first."""
    metadata = notebook.setdefault("metadata", {})
    runtimes = metadata.setdefault("nj", {}).setdefault("runtimes", {})
    pin = runtimes.get(slot)
    if not isinstance(pin, dict) or "environment" not in pin:
        if record is None:
            raise NJError(
                409, "not-pinned", f"Runtime {slot!r} is not declared in the notebook's metadata."
            )
        write_pin(notebook, record, slot)
        pin = runtimes[slot]
    if gpus in (None, 0, [], ""):
        pin.pop(GPUS_KEY, None)
    else:
        pin[GPUS_KEY] = gpus


async def notebook_pin_gpus(
    documents: LiveDocuments | None, path: str, slot: str = PIN_SLOT
) -> Any:
    """The GPUs runtime `slot` of the notebook at `path` asks for (see read_pin_gpus)."""
    metadata = await _metadata_or_none(documents, path)
    return read_pin_gpus({"metadata": metadata}, slot) if metadata is not None else None


async def _metadata_or_none(documents: LiveDocuments | None, path: str) -> dict[str, Any] | None:
    """The metadata of the notebook at API path `path` as collaborators see it now, or None (no
    notebook, not saved yet, unreadable)."""
    if documents is None or not path.endswith(".ipynb"):
        return None
    try:
        _, metadata = await documents.notebook_metadata(path)
    except NJError:
        return None
    return metadata


async def pin_notebook(
    documents: LiveDocuments, path: str, record: EnvironmentVersion, slot: str = PIN_SLOT
) -> dict[str, Any]:
    """Write the pin into the open real-time room, or through the contents manager."""
    _, metadata = await documents.edit_notebook_metadata(
        path, lambda notebook: write_pin(notebook, record, slot)
    )
    return dict(metadata["nj"]["runtimes"][slot])


async def notebook_pin(
    documents: LiveDocuments | None, path: str, slot: str = PIN_SLOT
) -> dict[str, str] | None:
    """The pin of the notebook at API path `path` as collaborators see it now, or None (no
    notebook, not saved yet, unreadable: the kernel then runs its kernelspec's version)."""
    metadata = await _metadata_or_none(documents, path)
    return read_pin({"metadata": metadata}, slot) if metadata is not None else None
