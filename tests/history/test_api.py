"""The history REST API against a real jupyter server, real git and real nbdime."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import (
    first_source,
    flush,
    fsck_is_clean,
    git_fsck,
    history,
    history_manager,
    make_notebook,
    post_history,
    save_notebook,
    save_text,
)


async def expect_error(call: Any, code: int) -> dict[str, Any]:
    with pytest.raises(HTTPClientError) as info:
        await call
    assert info.value.code == code, info.value.response.body if info.value.response else ""
    assert info.value.response is not None
    body = json.loads(info.value.response.body)
    assert body["message"]
    return body


async def test_each_distinct_save_is_a_version_and_unchanged_saves_are_not(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any
) -> None:
    for marker in ("one", "two", "two", "three"):
        await save_notebook(jp_fetch, "nb.ipynb", make_notebook(marker))
    await flush(jp_serverapp)
    listing = await history(jp_fetch, "nb.ipynb")
    assert listing["path"] == "nb.ipynb"
    assert listing["file_id"]
    versions = listing["versions"]
    assert len(versions) == 3, versions
    assert listing["next"] is None
    newest = versions[0]
    assert set(newest) >= {
        "id",
        "created",
        "authors",
        "message",
        "label",
        "checkpoint",
        "size",
        "path",
    }
    assert newest["path"] == "nb.ipynb"
    assert newest["created"].endswith("Z")
    assert newest["size"] == (jp_root_dir / "nb.ipynb").stat().st_size
    # The requesting user is the author.
    assert newest["authors"] and newest["authors"][0] != "unknown"
    # The content of each version is what was saved, newest first.
    markers = []
    for v in versions:
        one = await history(jp_fetch, "nb.ipynb", version=v["id"])
        assert one["format"] == "json"
        markers.append(first_source(one["content"]).split("# ")[-1])
    assert markers == ["three", "two", "one"]


async def test_a_version_reassembles_to_the_exact_bytes_that_were_saved(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any
) -> None:
    await save_notebook(jp_fetch, "exact.ipynb", make_notebook("x", cells=6, image=True))
    await flush(jp_serverapp)
    saved = (jp_root_dir / "exact.ipynb").read_bytes()
    manager = history_manager(jp_serverapp)
    listing = await history(jp_fetch, "exact.ipynb")
    assert manager.store.content(listing["versions"][0]["id"]) == saved
    assert listing["versions"][0]["kind"] == "notebook"


async def test_listing_pages_through_history_with_the_before_cursor(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    for i in range(7):
        await save_text(jp_fetch, "notes.txt", f"version {i}\n")
    await flush(jp_serverapp)
    page1 = await history(jp_fetch, "notes.txt", limit=3)
    page2 = await history(jp_fetch, "notes.txt", limit=3, before=page1["next"])
    page3 = await history(jp_fetch, "notes.txt", limit=3, before=page2["next"])
    ids = [v["id"] for v in page1["versions"] + page2["versions"] + page3["versions"]]
    assert len(ids) == 7 and len(set(ids)) == 7
    assert page3["next"] is None
    texts = [(await history(jp_fetch, "notes.txt", version=i))["content"] for i in ids]
    assert texts == [f"version {i}\n" for i in reversed(range(7))]


async def test_a_file_without_history_lists_empty_and_unknown_files_are_404(
    jp_fetch: Any, jp_root_dir: Any
) -> None:
    (jp_root_dir / "untouched.txt").write_text("made outside the server\n")
    listing = await history(jp_fetch, "untouched.txt")
    assert listing["versions"] == [] and listing["next"] is None
    body = await expect_error(history(jp_fetch, "no-such-file.ipynb"), 404)
    assert "no-such-file.ipynb" in body["message"]


async def test_paths_leaving_the_root_and_odd_names_are_404_not_500(
    jp_fetch: Any, jp_root_dir: Any
) -> None:
    (jp_root_dir.parent / "outside.txt").write_text("secret\n")
    for path in (
        "../outside.txt",
        "..%2Foutside.txt",
        "%2e%2e/outside.txt",
        "a/../../outside.txt",
        "%ff%fe.ipynb",
        "folder%00.ipynb",
    ):
        await expect_error(history(jp_fetch, path), 404)
    (jp_root_dir / "sub").mkdir()
    await expect_error(history(jp_fetch, "sub"), 404)


async def test_unknown_versions_and_bad_bodies_get_clear_4xx(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    await save_text(jp_fetch, "a.txt", "hello\n")
    await flush(jp_serverapp)
    body = await expect_error(history(jp_fetch, "a.txt", version="0" * 40), 404)
    assert "0000000" in body["message"]
    await expect_error(history(jp_fetch, "a.txt", version="not-a-commit"), 404)
    await expect_error(history(jp_fetch, "a.txt", limit="many"), 400)
    await expect_error(history(jp_fetch, "a.txt", limit="0"), 400)
    await expect_error(history(jp_fetch, "a.txt", before="f" * 40), 404)
    await expect_error(history(jp_fetch, "a.txt", diff="nonsense"), 400)
    await expect_error(history(jp_fetch, "a.txt", diff="abc..current", ignore_outputs="maybe"), 400)
    for bad in (
        [1, 2],
        {"restore": 5},
        {"label": 3, "version": "x"},
        {"label": "x"},
        {},
        {"something": "else"},
    ):
        await expect_error(post_history(jp_fetch, "a.txt", bad), 400)
    raw = jp_fetch("nj", "api", "history", "a.txt", method="POST", body="{not json")
    await expect_error(raw, 400)
    await expect_error(post_history(jp_fetch, "a.txt", {"restore": "0" * 40}), 404)
    await expect_error(post_history(jp_fetch, "a.txt", {"label": "x", "version": "0" * 40}), 404)


async def test_labels_are_set_removed_and_readable_with_git(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    await save_text(jp_fetch, "l.txt", "one\n")
    await save_text(jp_fetch, "l.txt", "two\n")
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "l.txt"))["versions"]
    older = versions[1]["id"]
    labelled = await post_history(jp_fetch, "l.txt", {"label": "before refactor", "version": older})
    assert labelled["version"]["label"] == "before refactor"
    listing = await history(jp_fetch, "l.txt")
    assert [v["label"] for v in listing["versions"]] == [None, "before refactor"]
    store = history_manager(jp_serverapp).store
    hid = listing["history_id"]
    log = await asyncio.to_thread(
        subprocess.run,
        [
            "git",
            "--git-dir",
            str(store.path),
            "log",
            f"--notes=refs/notes/nj/{hid}",
            f"refs/nj/files/{hid}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    log = log.stdout
    assert "before refactor" in log and "Nj-Path: l.txt" in log
    removed = await post_history(jp_fetch, "l.txt", {"label": "", "version": older[:10]})
    assert removed["version"]["label"] is None


async def test_binary_files_huge_outputs_and_invalid_notebook_json_are_versioned_intact(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any
) -> None:
    import base64

    blob = bytes(range(256)) * 40
    await save_text(jp_fetch, "data.bin", base64.b64encode(blob).decode(), fmt="base64")
    huge = make_notebook("huge")
    huge["cells"][1]["outputs"][0]["text"] = "y" * 3_000_000
    await save_notebook(jp_fetch, "huge.ipynb", huge)
    # A file named .ipynb that is not a notebook, saved as a plain file.
    await save_text(jp_fetch, "broken.ipynb", '{"cells": [ this is not json')
    await flush(jp_serverapp)
    bin_version = (await history(jp_fetch, "data.bin"))["versions"][0]
    one = await history(jp_fetch, "data.bin", version=bin_version["id"])
    assert one["format"] == "base64" and base64.b64decode(one["content"]) == blob
    huge_version = (await history(jp_fetch, "huge.ipynb"))["versions"][0]
    assert huge_version["size"] == (jp_root_dir / "huge.ipynb").stat().st_size
    broken = (await history(jp_fetch, "broken.ipynb"))["versions"][0]
    one = await history(jp_fetch, "broken.ipynb", version=broken["id"])
    assert one["format"] == "text" and one["content"] == '{"cells": [ this is not json'
    # Diffing an invalid notebook is a clear 400, not a 500.
    await expect_error(history(jp_fetch, "broken.ipynb", diff=f"{broken['id']}..current"), 400)


async def test_diff_of_two_versions_and_against_current_matches_nbdime(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    import nbformat
    from nbdime import diff_notebooks

    a_nb, b_nb = make_notebook("alpha"), make_notebook("beta")
    b_nb["cells"][1]["outputs"][0]["text"] = "changed output\n"
    await save_notebook(jp_fetch, "d.ipynb", a_nb)
    await save_notebook(jp_fetch, "d.ipynb", b_nb)
    await flush(jp_serverapp)
    new, old = (v["id"] for v in (await history(jp_fetch, "d.ipynb"))["versions"])
    result = await history(jp_fetch, "d.ipynb", diff=f"{old}..{new}")
    assert result["base_version"] == old and result["remote_version"] == new
    assert first_source(result["base"]).endswith("alpha")
    expected = diff_notebooks(nbformat.from_dict(a_nb), nbformat.from_dict(b_nb))
    assert json.loads(json.dumps(expected)) == result["diff"]
    # Ignoring outputs leaves only the source change.
    inputs_only = await history(jp_fetch, "d.ipynb", diff=f"{old}..{new}", ignore_outputs="true")
    assert "outputs" in json.dumps(result["diff"])
    assert "outputs" not in json.dumps(inputs_only["diff"])
    # Against the file as it is now (the newest version): no differences.
    same = await history(jp_fetch, "d.ipynb", diff=f"{new}..current")
    assert same["diff"] == [] and same["remote_version"] == "current"
    await expect_error(history(jp_fetch, "d.ipynb", diff=f"{old}..{'0' * 40}"), 404)


async def test_restore_without_a_room_saves_through_contents_and_appends_a_version(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any
) -> None:
    await save_notebook(jp_fetch, "r.ipynb", make_notebook("first"))
    await save_notebook(jp_fetch, "r.ipynb", make_notebook("second"))
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "r.ipynb"))["versions"]
    first = versions[-1]["id"]
    result = await post_history(jp_fetch, "r.ipynb", {"restore": first})
    assert result["restored"] == first and result["via"] == "contents"
    assert result["version"]["id"] not in {v["id"] for v in versions}
    assert result["version"]["restored_from"] == first
    on_disk = json.loads((jp_root_dir / "r.ipynb").read_text())
    assert first_source(on_disk).endswith("first")
    after = (await history(jp_fetch, "r.ipynb"))["versions"]
    assert len(after) == 3 and after[0]["id"] == result["version"]["id"]


async def test_renamed_files_keep_history_and_deleted_files_stay_restorable(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any
) -> None:
    await save_notebook(jp_fetch, "old.ipynb", make_notebook("a"))
    await save_notebook(jp_fetch, "old.ipynb", make_notebook("b"))
    await flush(jp_serverapp)
    before = (await history(jp_fetch, "old.ipynb"))["versions"]
    await jp_fetch(
        "api", "contents", "old.ipynb", method="PATCH", body=json.dumps({"path": "new.ipynb"})
    )
    await save_notebook(jp_fetch, "new.ipynb", make_notebook("c"))
    await flush(jp_serverapp)
    renamed = await history(jp_fetch, "new.ipynb")
    assert [v["id"] for v in renamed["versions"][1:]] == [v["id"] for v in before]
    assert renamed["versions"][0]["path"] == "new.ipynb"
    # Delete: history is still listed by path and a version can be restored.
    await jp_fetch("api", "contents", "new.ipynb", method="DELETE")
    await flush(jp_serverapp)
    gone = await history(jp_fetch, "new.ipynb")
    assert len(gone["versions"]) == 3
    oldest = gone["versions"][-1]["id"]
    restored = await post_history(jp_fetch, "new.ipynb", {"restore": oldest})
    assert restored["via"] == "contents"
    assert first_source(json.loads((jp_root_dir / "new.ipynb").read_text())).endswith("a")
    again = await history(jp_fetch, "new.ipynb")
    assert len(again["versions"]) == 4 and again["versions"][0]["restored_from"] == oldest


async def test_git_can_read_the_store_and_fsck_is_clean(jp_fetch: Any, jp_serverapp: Any) -> None:
    await save_notebook(jp_fetch, "g.ipynb", make_notebook("git", image=True))
    await flush(jp_serverapp)
    store = history_manager(jp_serverapp).store
    listing = await history(jp_fetch, "g.ipynb")
    version = listing["versions"][0]["id"]
    shown = await asyncio.to_thread(
        subprocess.run,
        ["git", "--git-dir", str(store.path), "show", f"{version}:notebook.json"],
        capture_output=True,
        text=True,
        check=True,
    )
    shown = shown.stdout
    assert '"outputs": []' in shown and "# git" in shown
    assert fsck_is_clean(await asyncio.to_thread(git_fsck, store.path))


async def test_names_with_percent_signs_and_spaces_resolve_to_that_file(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    # "a%20b.txt" must not be decoded a second time into "a b.txt", a different file.
    await save_text(jp_fetch, "a%20b.txt", "percent\n")
    await save_text(jp_fetch, "a b.txt", "space\n")
    await flush(jp_serverapp)
    for name, text in (("a%20b.txt", "percent\n"), ("a b.txt", "space\n")):
        listing = await history(jp_fetch, name)
        assert listing["path"] == name
        version = await history(jp_fetch, name, version=listing["versions"][0]["id"])
        assert version["content"] == text
