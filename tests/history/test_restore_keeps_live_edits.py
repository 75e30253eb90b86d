"""A restore into an open room first keeps what collaborators typed and the room has not saved."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import collaborative_server_config
from .conftest import first_source, flush, history, make_notebook, post_history, save_notebook


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    config = collaborative_server_config(
        {"history_quiet_period": 0.0, "history_diff_executor": "thread"}
    )
    # The room would save the typed text (and so version it) only after a minute: long after
    # the restore below.
    config["YDocExtension"]["document_save_delay"] = 60.0
    return config


async def test_edits_the_room_has_not_saved_become_a_version_before_a_restore(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any
) -> None:
    await save_notebook(jp_fetch, "typed.ipynb", make_notebook("original"))
    await save_notebook(jp_fetch, "typed.ipynb", make_notebook("edited"))
    await flush(jp_serverapp)
    original = (await history(jp_fetch, "typed.ipynb"))["versions"][-1]["id"]
    ydoc = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_server_ydoc"]))
    document = await ydoc.get_document(
        path="typed.ipynb", content_type="notebook", file_format="json", copy=False, create=True
    )
    source = document.ycells[0]["source"]
    source.insert(len(str(source)), "  # typed, not saved")

    await post_history(jp_fetch, "typed.ipynb", {"restore": original})

    assert first_source(document.get()).endswith("original")
    versions = (await history(jp_fetch, "typed.ipynb"))["versions"]
    kept = [v for v in versions if "typed, not saved" in await _first_source_of(jp_fetch, v)]
    assert len(kept) == 1, [v["id"] for v in versions]
    assert kept[0]["id"] == versions[0]["id"]  # the newest: made by the restore, just before it


async def _first_source_of(jp_fetch: Any, version: dict[str, Any]) -> str:
    shown = await history(jp_fetch, "typed.ipynb", version=version["id"])
    return first_source(shown["content"])
