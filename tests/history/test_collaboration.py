"""Restore into a real jupyter-collaboration room goes through the shared document."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from ..conftest import collaborative_server_config
from .conftest import first_source, flush, history, make_notebook, post_history, save_notebook


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return collaborative_server_config(
        {"history_quiet_period": 0.0, "history_diff_executor": "thread"}
    )


def ydoc_extension(serverapp: Any) -> Any:
    return next(iter(serverapp.extension_manager.extension_apps["jupyter_server_ydoc"]))


async def wait_for(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_restore_into_an_open_room_goes_through_the_shared_document(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any
) -> None:
    await save_notebook(jp_fetch, "live.ipynb", make_notebook("original"))
    await save_notebook(jp_fetch, "live.ipynb", make_notebook("edited"))
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "live.ipynb"))["versions"]
    original = versions[-1]["id"]

    ydoc = ydoc_extension(jp_serverapp)
    document = await ydoc.get_document(
        path="live.ipynb", content_type="notebook", file_format="json", copy=False, create=True
    )
    assert document is not None
    assert first_source(document.get()).endswith("edited")

    result = await post_history(jp_fetch, "live.ipynb", {"restore": original})
    assert result == {"restored": original, "via": "shared-document", "version": None}
    # Collaborators see the restored content in the shared model at once ...
    assert first_source(document.get()).endswith("original")
    # ... and the diff against `current` reads the live document.
    live_diff = await history(jp_fetch, "live.ipynb", diff=f"{original}..current")
    # (The shared model adds empty kernelspec metadata; the cells are identical.)
    assert [entry["key"] for entry in live_diff["diff"]] in ([], ["metadata"])

    # The room saves it (the file is never rewritten under the room), and that save is the new
    # version, marked as a restore.
    async def restored_version() -> Any:
        await flush(jp_serverapp)
        newest = (await history(jp_fetch, "live.ipynb"))["versions"][0]
        return newest if newest.get("restored_from") == original else None

    newest = await wait_for(restored_version)
    assert newest["id"] not in {v["id"] for v in versions}
    on_disk = json.loads((jp_root_dir / "live.ipynb").read_text())
    assert first_source(on_disk).endswith("original")
    # Cells were patched in place: the cell ids survived.
    assert [c["id"] for c in on_disk["cells"]] == ["cell-0", "cell-1", "cell-2", "md-0"]
