"""jupyter_server's checkpoints API (JupyterLab's Ctrl-S and "Revert to checkpoint") on history."""

from __future__ import annotations

import json
from typing import Any

from .conftest import (
    first_source,
    flush,
    get_json,
    history,
    make_notebook,
    nbdime_patch,
    save_notebook,
    save_text,
)


async def test_ctrl_s_marks_the_saved_version_as_a_checkpoint(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    await save_notebook(jp_fetch, "c.ipynb", make_notebook("draft"))
    await save_notebook(jp_fetch, "c.ipynb", make_notebook("saved with ctrl-s"))
    # What JupyterLab does on Ctrl-S after the save.
    response = await jp_fetch("api", "contents", "c.ipynb", "checkpoints", method="POST", body="")
    created = json.loads(response.body)
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "c.ipynb"))["versions"]
    assert created["id"] == versions[0]["id"]
    assert versions[0]["checkpoint"] is True
    # No extra version for the checkpoint: the content did not change.
    newest = await history(jp_fetch, "c.ipynb", version=versions[0]["id"])
    assert first_source(newest["content"]).endswith("saved with ctrl-s")
    listed = await get_json(jp_fetch, "api", "contents", "c.ipynb", "checkpoints")
    assert listed[0]["id"] == created["id"]
    assert all(v["checkpoint"] for v in versions if v["id"] in {c["id"] for c in listed})


async def test_checkpoints_list_newest_first_and_restore_appends_a_version(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any
) -> None:
    ids = []
    for marker in ("one", "two", "three"):
        await save_notebook(jp_fetch, "k.ipynb", make_notebook(marker))
        response = await jp_fetch(
            "api", "contents", "k.ipynb", "checkpoints", method="POST", body=""
        )
        ids.append(json.loads(response.body)["id"])
    listed = await get_json(jp_fetch, "api", "contents", "k.ipynb", "checkpoints")
    assert [c["id"] for c in listed] == list(reversed(ids))
    # "Revert to checkpoint" on the oldest one.
    await jp_fetch("api", "contents", "k.ipynb", "checkpoints", ids[0], method="POST", body="")
    await flush(jp_serverapp)
    assert first_source(json.loads((jp_root_dir / "k.ipynb").read_text())).endswith("one")
    versions = (await history(jp_fetch, "k.ipynb"))["versions"]
    assert versions[0]["restored_from"] == ids[0]
    assert ids[0] in {v["id"] for v in versions[1:]}
    # Deleting a checkpoint only removes the mark; the version stays.
    await jp_fetch("api", "contents", "k.ipynb", "checkpoints", ids[1], method="DELETE")
    listed = await get_json(jp_fetch, "api", "contents", "k.ipynb", "checkpoints")
    assert ids[1] not in [c["id"] for c in listed]
    assert ids[1] in {v["id"] for v in (await history(jp_fetch, "k.ipynb"))["versions"]}


async def test_text_files_get_checkpoints_too(jp_fetch: Any, jp_serverapp: Any) -> None:
    await save_text(jp_fetch, "t.md", "# one\n")
    response = await jp_fetch("api", "contents", "t.md", "checkpoints", method="POST", body="")
    checkpoint = json.loads(response.body)
    await save_text(jp_fetch, "t.md", "# two\n")
    await jp_fetch(
        "api", "contents", "t.md", "checkpoints", checkpoint["id"], method="POST", body=""
    )
    model = await get_json(jp_fetch, "api", "contents", "t.md")
    assert model["content"] == "# one\n"


async def test_nbdime_diff_to_checkpoint_reads_the_newest_checkpoint(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    await save_notebook(jp_fetch, "n.ipynb", make_notebook("checkpointed"))
    await jp_fetch("api", "contents", "n.ipynb", "checkpoints", method="POST", body="")
    await save_notebook(jp_fetch, "n.ipynb", make_notebook("edited since"))
    response = await jp_fetch(
        "nbdime", "api", "diff", method="POST", body=json.dumps({"base": "checkpoint:n.ipynb"})
    )
    result = json.loads(response.body)
    assert first_source(result["base"]).endswith("checkpointed")
    assert first_source(nbdime_patch(result["base"], result["diff"])).endswith("edited since")
