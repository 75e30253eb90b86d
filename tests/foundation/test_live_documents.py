"""Writes into a notebook open in a real jupyter-collaboration room go through its shared document.

Written to the file instead, the room would reload it from disk (losing what collaborators typed
and had not saved yet) or overwrite it with its next autosave (losing the write).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_nj.runtimes.model import EnvironmentVersion
from jupyter_nj.runtimes.pins import pin_notebook

from ..conftest import collaborative_server_config
from ..secrets.conftest import nj_config_for

TYPED = "  # typed in the room, not saved yet"


@pytest.fixture
def jp_server_config(request: Any, tmp_path: Path) -> dict[str, Any]:
    return collaborative_server_config(
        {**nj_config_for("local", request, tmp_path), "history_enabled": False}
    )


async def open_room_with_unsaved_edit(jp_fetch: Any, jp_serverapp: Any, path: str) -> Any:
    """Save a notebook, open its room, and type into its first cell without saving."""
    notebook = new_notebook(cells=[new_code_cell("x = 1")])
    body = json.dumps({"type": "notebook", "format": "json", "content": notebook})
    await jp_fetch("api", "contents", path, method="PUT", body=body)
    ydoc = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_server_ydoc"]))
    document = await ydoc.get_document(
        path=path, content_type="notebook", file_format="json", copy=False, create=True
    )
    source = document.ycells[0]["source"]
    source.insert(len(str(source)), TYPED)
    return document


async def on_disk_eventually(file: Path, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
    """The file once the room has saved what `predicate` waits for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            saved = json.loads(file.read_text())
        except ValueError:  # caught half-written
            saved = None
        if saved is not None and predicate(saved):
            return saved
        await asyncio.sleep(0.1)
    raise AssertionError(f"the room never saved {file.name}: {file.read_text()[:400]}")


def first_source(notebook: dict[str, Any]) -> str:
    source = notebook["cells"][0]["source"]
    return "".join(source) if isinstance(source, list) else str(source)


async def test_attaching_a_secret_goes_into_the_open_room(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    await jp_fetch(
        "nj", "api", "secrets", "ROOM_TOKEN", method="PUT", body=json.dumps({"value": "v-1234567"})
    )
    document = await open_room_with_unsaved_edit(jp_fetch, jp_serverapp, "room.ipynb")

    response = await jp_fetch(
        "nj",
        "api",
        "secret-attachments",
        "room.ipynb",
        method="PUT",
        body=json.dumps({"secrets": ["ROOM_TOKEN"]}),
    )
    assert json.loads(response.body)["secrets"] == [{"name": "ROOM_TOKEN", "status": "ok"}]
    # Collaborators see the attachment at once, and keep what they typed.
    live = document.get()
    assert live["metadata"]["nj"]["secrets"] == ["ROOM_TOKEN"]
    assert first_source(live) == "x = 1" + TYPED
    # Reading the attachments back does not wait for the room to save.
    listed = await jp_fetch("nj", "api", "secret-attachments", "room.ipynb")
    assert json.loads(listed.body)["secrets"] == [{"name": "ROOM_TOKEN", "status": "ok"}]

    # The room saves both: the attachment and the unsaved edit.
    saved = await on_disk_eventually(
        jp_root_dir / "room.ipynb",
        lambda nb: nb["metadata"].get("nj", {}).get("secrets") == ["ROOM_TOKEN"],
    )
    assert first_source(saved) == "x = 1" + TYPED
    assert "v-1234567" not in (jp_root_dir / "room.ipynb").read_text()


async def test_pinning_a_notebook_open_in_a_room_keeps_other_metadata_and_cells(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    document = await open_room_with_unsaved_edit(jp_fetch, jp_serverapp, "pinned.ipynb")
    record = EnvironmentVersion(
        name="python",
        version="sha256:" + "a" * 64,
        backend="local",
        recipe={"python": "3.11", "kernel": ["python"], "apt": []},
        lock_sha256="0" * 64,
        created="2026-11-23T00:00:00+00:00",
    )
    nj_app = jp_serverapp.web_app.settings["nj_app"]

    pin = await pin_notebook(nj_app.documents, "pinned.ipynb", record)

    expected = {"environment": "python", "version": record.version, "backend": "local"}
    assert pin == expected
    live = document.get()
    assert live["metadata"]["nj"]["runtimes"]["main"] == expected
    assert "kernelspec" in live["metadata"]  # the other keys stay as they were
    assert first_source(live) == "x = 1" + TYPED
    saved = await on_disk_eventually(
        jp_root_dir / "pinned.ipynb",
        lambda nb: nb["metadata"].get("nj", {}).get("runtimes", {}).get("main") == expected,
    )
    assert first_source(saved) == "x = 1" + TYPED


async def test_without_a_room_the_metadata_is_saved_through_the_contents_manager(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    notebook = new_notebook(cells=[new_code_cell("y = 2")])
    body = json.dumps({"type": "notebook", "format": "json", "content": notebook})
    await jp_fetch("api", "contents", "closed.ipynb", method="PUT", body=body)
    documents = jp_serverapp.web_app.settings["nj_app"].documents
    assert await documents.shared_document("closed.ipynb") is None

    path, metadata = await documents.edit_notebook_metadata(
        "closed.ipynb", lambda nb: nb["metadata"].setdefault("nj", {}).update(secrets=["A"])
    )

    assert (path, metadata["nj"]) == ("closed.ipynb", {"secrets": ["A"]})
    saved = json.loads((jp_root_dir / "closed.ipynb").read_text())
    assert saved["metadata"]["nj"] == {"secrets": ["A"]}
    assert first_source(saved) == "y = 2"


def test_shared_metadata_reads_and_sets_what_jupyter_ydoc_holds() -> None:
    # The adapter relies on jupyter_ydoc's private layout (`_ymeta["metadata"]`): if a release
    # moves it, this fails instead of pins and attachments going to the wrong place.
    from jupyter_ydoc import YNotebook

    from jupyter_nj.documents import SharedNotebookMetadata

    document = YNotebook()
    notebook = new_notebook(cells=[new_code_cell("x = 1")])
    notebook.metadata.update({"kernelspec": {"name": "nj-mini", "display_name": "mini"}})
    document.set(json.loads(json.dumps(notebook)))
    shared = SharedNotebookMetadata(document)
    assert shared.read() == document.get()["metadata"]
    assert shared.read()["kernelspec"]["name"] == "nj-mini"

    shared.set({"nj": {"secrets": ["token"]}})
    after = document.get()
    assert after["metadata"]["nj"] == {"secrets": ["token"]}
    assert after["metadata"]["kernelspec"]["name"] == "nj-mini"
    assert after["cells"][0]["source"] == "x = 1"


async def test_metadata_of_saved_notebooks_is_read_once_and_refreshed_after_a_save(
    tmp_path: Path,
) -> None:
    from jupyter_server.services.contents.filemanager import AsyncFileContentsManager

    from jupyter_nj.base import NJError
    from jupyter_nj.documents import LiveDocuments

    manager = AsyncFileContentsManager(root_dir=str(tmp_path))
    documents = LiveDocuments(contents_manager=manager)
    notebook = new_notebook(cells=[new_code_cell("x = 1")], metadata={"nj": {"secrets": ["a"]}})
    (tmp_path / "nb.ipynb").write_text(json.dumps(notebook))

    assert (await documents.notebook_metadata("nb.ipynb"))[1]["nj"] == {"secrets": ["a"]}
    assert "nb.ipynb" in documents._metadata_cache
    # A caller that changes what it got does not change what the next caller gets.
    (await documents.notebook_metadata("nb.ipynb"))[1]["nj"]["secrets"].append("mutated")
    assert (await documents.notebook_metadata("nb.ipynb"))[1]["nj"] == {"secrets": ["a"]}

    await documents.edit_notebook_metadata(
        "nb.ipynb", lambda nb: nb["metadata"].__setitem__("nj", {"secrets": ["b"]})
    )
    assert (await documents.notebook_metadata("nb.ipynb"))[1]["nj"] == {"secrets": ["b"]}

    # A link inside the root is the contents manager's to follow; one out of it is not found.
    (tmp_path / "linked.ipynb").symlink_to(tmp_path / "nb.ipynb")
    assert (await documents.notebook_metadata("linked.ipynb"))[1]["nj"] == {"secrets": ["b"]}
    outside = tmp_path.parent / f"{tmp_path.name}-outside.ipynb"
    outside.write_text(json.dumps(notebook))
    (tmp_path / "escape.ipynb").symlink_to(outside)
    for path, status in (("escape.ipynb", 404), ("missing.ipynb", 404)):
        with pytest.raises(NJError) as refused:
            await documents.notebook_metadata(path)
        assert refused.value.status == status
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(NJError) as broken:
        await documents.notebook_metadata("broken.ipynb")
    assert (broken.value.status, broken.value.reason) == (400, "bad-notebook")
