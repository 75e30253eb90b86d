"""A remix of `current` of a notebook open in a real-time room copies what the room holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..conftest import collaborative_server_config
from ..history.conftest import first_source, flush, history, make_notebook, save_notebook


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    config = collaborative_server_config(
        {"history_quiet_period": 0.0, "history_diff_executor": "thread"}
    )
    # The room would save the typed text only after a minute: long after the remix below.
    config["YDocExtension"]["document_save_delay"] = 60.0
    return config


async def test_a_remix_of_current_copies_the_room_s_unsaved_edits_and_the_results(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    (jp_root_dir / "live.results").mkdir()
    (jp_root_dir / "live.results" / "out.txt").write_text("42\n")
    await save_notebook(jp_fetch, "live.ipynb", make_notebook("saved"))
    await flush(jp_serverapp)
    ydoc = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_server_ydoc"]))
    document = await ydoc.get_document(
        path="live.ipynb", content_type="notebook", file_format="json", copy=False, create=True
    )
    source = document.ycells[0]["source"]
    source.insert(len(str(source)), "  # typed, not saved")

    response = await jp_fetch(
        "nj", "api", "remix", "live.ipynb", method="POST", body=json.dumps({"to": "copy.ipynb"})
    )
    result = json.loads(response.body)

    copied = json.loads((jp_root_dir / "copy.ipynb").read_text())
    assert first_source(copied).endswith("typed, not saved")
    assert (jp_root_dir / "copy.results" / "out.txt").read_text() == "42\n"
    # The room's content became the original's newest version first (with its results folder),
    # and the remix starts from it; the original's file is still what was saved.
    newest = (await history(jp_fetch, "live.ipynb"))["versions"][0]
    assert result["from"]["version"] == newest["id"]
    shown = await history(jp_fetch, "live.ipynb", version=newest["id"])
    assert first_source(shown["content"]).endswith("typed, not saved")
    assert shown["results"] == [{"path": "out.txt", "size": 3}]
    assert first_source(json.loads((jp_root_dir / "live.ipynb").read_text())).endswith("saved")
