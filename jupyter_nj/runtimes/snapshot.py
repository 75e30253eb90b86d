"""Save a running runtime as a new environment version, then re-pin its notebook."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from jupyter_core.utils import ensure_async

from ..base import NJError
from ..documents import LiveDocuments
from .manager import EnvironmentManager
from .pins import pin_notebook
from .provisioner import NJRuntimeMixin

INSTALL_COMMAND = re.compile(
    r"(?:^|[\s!%;&|])(?:pip3?|uv\s+pip|apt-get|apt|conda|mamba)\s+(?:install|uninstall)\b"
)


async def install_commands(km: Any, timeout: float = 5.0) -> list[str]:
    """The install commands this kernel session ran (from the kernel's own input history).

    Kernels without a history (bash_kernel) give none; the package list diff still says what
    changed.
    """
    client = km.client()
    client.start_channels()
    try:
        msg_id = client.history(
            raw=True, output=False, hist_access_type="range", session=0, start=1, stop=None
        )
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            reply = await client.get_shell_msg(timeout=remaining)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
    except Exception:  # noqa: BLE001  a kernel that cannot answer still gets its snapshot
        return []
    finally:
        client.stop_channels()
    lines = []
    for entry in reply["content"].get("history", []):
        for line in str(entry[2]).splitlines():
            if INSTALL_COMMAND.search(line):
                lines.append(line.strip())
    return lines


async def snapshot_runtime(
    manager: EnvironmentManager,
    km: Any,
    runtime: NJRuntimeMixin,
    documents: LiveDocuments,
    path: str | None,
) -> dict[str, Any]:
    """Save environment: the runtime saves itself (each provisioner knows how), then the
    notebook is re-pinned to the new version."""
    parent = runtime.record
    if parent is None:
        raise NJError(409, "not-started", "The runtime has not started yet.")
    notebook = path or runtime.session_name
    if notebook.endswith(".ipynb"):
        # Refuse before saving anything: a snapshot nobody is pinned to is easy to lose.
        documents.notebook_path(notebook)
        if not await ensure_async(documents.contents_manager.file_exists(notebook)):
            raise NJError(404, "no-notebook", f"There is no notebook {notebook!r} to re-pin.")
    commands = await install_commands(km)
    started = asyncio.get_running_loop().time()
    record = await runtime.snapshot(commands)
    manager.emit(
        "snapshot-saved",
        record.name,
        record.backend,
        version=record.version,
        parent=parent.version,
        seconds=asyncio.get_running_loop().time() - started,
    )
    pin = None
    if notebook.endswith(".ipynb"):
        pin = await pin_notebook(documents, notebook, record)
    message = f"Saved {record.name}@{record.short} (from {parent.short})" + (
        f"; {notebook} is now pinned to it." if pin else "."
    )
    return {"version": record.to_json(), "path": notebook or None, "pin": pin, "message": message}
