"""Remix: POST /nj/api/remix/{path} against a real server, its git store and its results folder.

Two users sign in with their own tokens (ann writes the original, bob remixes it); the history
store is the real one (git checks it), the results folder is real files on this disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.identity import IdentityProvider, User

from jupyter_nj.cli import main

from ..history.conftest import flush, history, history_manager, make_notebook, save_notebook
from ..services import fsck_is_clean, git_fsck
from .conftest import expect_error

TOKENS = {"ann-token": ("ann", "Ann Author"), "bob-token": ("bob", "Bob Remixer")}


class TwoUsers(IdentityProvider):  # type: ignore[misc]
    """Each user signs in with a token of their own; the server's own token is ann."""

    def get_user(self, handler: Any) -> Any:
        header = handler.request.headers.get("Authorization", "")
        token = header[len("token ") :].strip() if header.startswith("token ") else ""
        if token in TOKENS:
            handler._token_authenticated = True
            name, display = TOKENS[token]
            return User(username=name, display_name=display, name=display)
        return super().get_user(handler)

    def generate_anonymous_user(self, handler: Any) -> User:
        return User("ann", "Ann Author", "Ann Author", "AA", None, None)


def as_user(name: str) -> dict[str, str]:
    token = next(t for t, (n, _d) in TOKENS.items() if n == name)
    return {"Authorization": f"token {token}"}


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True, "jupyter_server_fileid": True},
            "allow_unauthenticated_access": False,
            "identity_provider_class": TwoUsers,
        },
        "NJApp": {"history_quiet_period": 0.0, "history_diff_executor": "thread"},
    }


PINS = {"python": {"environment": "python", "version": "3f2a9c", "backend": "local"}}


def original_notebook(marker: str) -> dict[str, Any]:
    nb = make_notebook(marker)
    nb["metadata"]["nj"] = {"runtimes": PINS, "secrets": ["WAREHOUSE_TOKEN"]}
    return nb


async def remix(jp_fetch: Any, path: str, body: Any, user: str = "bob") -> Any:
    response = await jp_fetch(
        "nj", "api", "remix", path, method="POST", body=json.dumps(body), headers=as_user(user)
    )
    assert response.code == 201
    return json.loads(response.body)


async def write_original(jp_fetch: Any, jp_serverapp: Any, root: Path) -> list[str]:
    """analysis.ipynb with three versions by ann; the results folder changes at the second."""
    results = root / "analysis.results"
    results.mkdir()
    (results / "table.csv").write_text("a,b\n1,2\n")
    ids = []
    for marker in ("one", "two", "three"):
        if marker == "two":
            (results / "table.csv").write_text("a,b\n1,2\n3,4\n")
            (results / "sub").mkdir()
            (results / "sub" / "big.bin").write_bytes(os.urandom(300_000))
        await save_notebook(jp_fetch, "analysis.ipynb", original_notebook(marker))
        await flush(jp_serverapp)
        ids.append((await history(jp_fetch, "analysis.ipynb"))["versions"][0]["id"])
    return ids


def write_in_place(path: Path, offset: int, data: bytes) -> None:
    """Write into the file's own inode, as a runtime's `open(..., "r+b")` does."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def listing(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


async def test_a_remix_copies_the_version_pins_secret_names_results_and_history(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    ids = await write_original(jp_fetch, jp_serverapp, jp_root_dir)
    result = await remix(jp_fetch, "analysis.ipynb", {"version": ids[1], "to": "mine.ipynb"})

    assert result["path"] == "mine.ipynb"
    assert result["from"]["version"] == ids[1]
    assert result["from"]["authors"] == ["ann"]
    assert result["secrets"] == ["WAREHOUSE_TOKEN"]
    assert result["runtimes"] == PINS
    nb = json.loads((jp_root_dir / "mine.ipynb").read_text())
    assert "# two" in "".join(nb["cells"][0]["source"])
    remix_meta = nb["metadata"]["nj"]["remix"]
    assert remix_meta["from"] == {
        "path": "analysis.ipynb",
        "file_id": result["from"]["file_id"],
        "version": ids[1],
        "authors": ["ann"],
        "author_display_names": ["Ann Author"],
    }
    assert remix_meta["from"]["file_id"]
    assert remix_meta["at"].endswith("Z")
    assert nb["metadata"]["nj"]["runtimes"] == PINS
    assert nb["metadata"]["nj"]["secrets"] == ["WAREHOUSE_TOKEN"]

    # The results folder at that version (the second), byte for byte, in a folder of its own.
    original_results = jp_root_dir / "analysis.results"
    mine = jp_root_dir / "mine.results"
    assert listing(mine) == {"table.csv", "sub", "sub/big.bin"}
    for rel in ("table.csv", "sub/big.bin"):
        assert (mine / rel).read_bytes() == (original_results / rel).read_bytes()
        assert (mine / rel).stat().st_ino != (original_results / rel).stat().st_ino
    assert result["results"]["files"] == 2

    # History: the remix's first version is bob's, its parent is the original's version, and the
    # original's earlier versions follow it, marked as from before the remix.
    listed = await history(jp_fetch, "mine.ipynb")
    assert listed["remixed_from"]["version"] == ids[1]
    versions = listed["versions"]
    assert [v["id"] for v in versions[1:]] == [ids[1], ids[0]]
    assert [v["before_remix"] for v in versions] == [False, True, True]
    assert versions[0]["authors"] == ["bob"]
    assert versions[0]["author_display_names"] == ["Bob Remixer"]
    store = history_manager(jp_serverapp).store
    first = store.repo[versions[0]["id"]]
    assert [str(p) for p in first.parent_ids] == [ids[1]]
    assert first.tree["results"].id == store.repo[ids[1]].tree["results"].id
    # Paged one at a time, the cursor walks from the remix into the original.
    page = await history(jp_fetch, "mine.ipynb", limit=1, before=versions[0]["id"])
    assert [v["id"] for v in page["versions"]] == [ids[1]] and page["next"] == ids[1]
    # A version from before the remix opens from the remix, and can be restored into it.
    old = await history(jp_fetch, "mine.ipynb", version=ids[0])
    assert old["before_remix"] and "# one" in "".join(old["content"]["cells"][0]["source"])
    # ... but only the original labels its own versions.
    await expect_error(
        jp_fetch(
            "nj",
            "api",
            "history",
            "mine.ipynb",
            method="POST",
            body=json.dumps({"label": "x", "version": ids[0]}),
        ),
        400,
    )
    # The original's history is untouched: three versions, none from the remix.
    assert [v["id"] for v in (await history(jp_fetch, "analysis.ipynb"))["versions"]] == ids[::-1]
    assert (await history(jp_fetch, "analysis.ipynb"))["remixed_from"] is None
    assert fsck_is_clean(git_fsck(store.path))


async def test_changing_either_notebook_never_changes_the_other(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    ids = await write_original(jp_fetch, jp_serverapp, jp_root_dir)
    result = await remix(jp_fetch, "analysis.ipynb", {"version": "current", "to": "mine.ipynb"})
    assert result["from"]["version"] == ids[2]
    original = jp_root_dir / "analysis.results"
    mine = jp_root_dir / "mine.results"
    before = {rel: (original / rel).read_bytes() for rel in ("table.csv", "sub/big.bin")}

    # A runtime writes the remix's results file in place (no new inode): the original's stays.
    write_in_place(mine / "sub" / "big.bin", 0, b"changed by the remix")
    write_in_place(mine / "table.csv", len(b"a,b\n1,2\n3,4\n"), b"5,6\n")
    assert {rel: (original / rel).read_bytes() for rel in before} == before
    # ... and the other way round.
    write_in_place(original / "table.csv", 0, b"A")
    assert (mine / "table.csv").read_bytes().startswith(b"a,b")

    # Both notebooks go on with histories of their own.
    await save_notebook(jp_fetch, "mine.ipynb", original_notebook("bob's edit"))
    await flush(jp_serverapp)
    await save_notebook(jp_fetch, "analysis.ipynb", original_notebook("ann's edit"))
    await flush(jp_serverapp)
    mine_versions = (await history(jp_fetch, "mine.ipynb"))["versions"]
    theirs = (await history(jp_fetch, "analysis.ipynb"))["versions"]
    assert "bob's edit" in mine_versions[0]["message"] or not mine_versions[0]["before_remix"]
    assert len([v for v in mine_versions if not v["before_remix"]]) == 2
    assert len(theirs) == 4 and not any(v["before_remix"] for v in theirs)
    assert mine_versions[1]["id"] == result["version"]["id"]
    assert {v["id"] for v in theirs}.isdisjoint(
        {v["id"] for v in mine_versions if not v["before_remix"]}
    )
    # The save of the remix after the first one captured bob's results, not ann's.
    store = history_manager(jp_serverapp).store
    captured = {r.path: r for r in store.results(mine_versions[0]["id"])}
    assert store.result_bytes(mine_versions[0]["id"], "table.csv").endswith(b"5,6\n")
    assert captured.keys() == {"table.csv", "sub/big.bin"}
    assert "ann's edit" in "".join(
        json.loads((jp_root_dir / "analysis.ipynb").read_text())["cells"][0]["source"]
    )
    assert "bob's edit" in "".join(
        json.loads((jp_root_dir / "mine.ipynb").read_text())["cells"][0]["source"]
    )


async def test_the_remix_file_continues_the_remix_history_and_adds_no_copy_version(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    await write_original(jp_fetch, jp_serverapp, jp_root_dir)
    result = await remix(jp_fetch, "analysis.ipynb", {"to": "mine.ipynb"})
    await flush(jp_serverapp)
    listed = await history(jp_fetch, "mine.ipynb")
    # The save that wrote the file was the remix's version already: nothing new was recorded.
    own = [v for v in listed["versions"] if not v["before_remix"]]
    assert [v["id"] for v in own] == [result["version"]["id"]]
    assert listed["history_id"] == result["history_id"]
    assert listed["file_id"] and listed["file_id"] != result["from"]["file_id"]


async def test_the_index_rebuilt_from_git_keeps_both_histories_apart(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    ids = await write_original(jp_fetch, jp_serverapp, jp_root_dir)
    result = await remix(jp_fetch, "analysis.ipynb", {"version": ids[1], "to": "mine.ipynb"})
    store = history_manager(jp_serverapp).store
    from jupyter_nj.history.store import HistoryStore

    copy = jp_root_dir.parent / "copy.git"
    shutil.copytree(store.path, copy, ignore=shutil.ignore_patterns("index.sqlite3*"))
    rebuilt = HistoryStore(copy)
    try:
        mine, _ = rebuilt.versions(result["history_id"])
        assert [v.id for v in mine] == [result["version"]["id"], ids[1], ids[0]]
        assert [v.before_remix for v in mine] == [False, True, True]
        original_hid = result["from"]["history_id"]
        assert [v.id for v in rebuilt.versions(original_hid)[0]] == ids[::-1]
        assert rebuilt.origin(result["history_id"]) == (original_hid, ids[1], 2)
    finally:
        rebuilt.close()


async def test_bad_remixes_are_4xx_and_write_nothing(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    await write_original(jp_fetch, jp_serverapp, jp_root_dir)
    (jp_root_dir / "taken.ipynb").write_text("{}")
    (jp_root_dir / "busy.results").mkdir()
    (jp_root_dir / "notes.txt").write_text("text")
    outside = jp_root_dir.parent / "outside"
    outside.mkdir()
    (jp_root_dir / "out").symlink_to(outside)
    (jp_root_dir / "planted.results").symlink_to(outside)
    store = history_manager(jp_serverapp).store
    before = (listing(jp_root_dir), len(store.histories()))

    def post(path: str, body: Any) -> Any:
        return jp_fetch(
            "nj", "api", "remix", path, method="POST", body=json.dumps(body), headers=as_user("bob")
        )

    await expect_error(post("analysis.ipynb", {"version": "0" * 40, "to": "a.ipynb"}), 404)
    await expect_error(post("analysis.ipynb", {"version": "nope", "to": "a.ipynb"}), 404)
    await expect_error(post("missing.ipynb", {"to": "a.ipynb"}), 404)
    await expect_error(post("analysis.ipynb", {"to": "taken.ipynb"}), 409)
    await expect_error(post("analysis.ipynb", {"to": "busy.ipynb"}), 409)
    await expect_error(post("analysis.ipynb", {"to": "../escape.ipynb"}), 404)
    await expect_error(post("analysis.ipynb", {"to": "%2E%2E/escape.ipynb"}), 404)
    await expect_error(post("analysis.ipynb", {"to": "/etc/x.ipynb"}), 404)
    await expect_error(post("analysis.ipynb", {"to": "out/x.ipynb"}), 404)
    # A results folder a runtime swapped for a link is "taken", never written through.
    await expect_error(post("analysis.ipynb", {"to": "planted.ipynb"}), 409)
    await expect_error(post("analysis.ipynb", {"to": "no/such/folder/a.ipynb"}), 404)
    await expect_error(post("analysis.ipynb", {"to": "a.txt"}), 400)
    await expect_error(post("notes.txt", {"to": "a.ipynb"}), 400)
    await expect_error(post("analysis.ipynb", {"version": 3}), 400)
    await expect_error(post("analysis.ipynb", {"to": ["a.ipynb"]}), 400)
    # An oversized notebook: over the bytes history keeps per file.
    recorder = history_manager(jp_serverapp).recorder
    limit, recorder.max_file_size = recorder.max_file_size, 1000
    try:
        await expect_error(post("analysis.ipynb", {"to": "a.ipynb"}), 413)
    finally:
        recorder.max_file_size = limit
    assert (listing(jp_root_dir), len(store.histories())) == before
    assert list(outside.iterdir()) == []


async def test_a_remix_without_a_target_takes_a_free_name(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    await write_original(jp_fetch, jp_serverapp, jp_root_dir)
    first = await remix(jp_fetch, "analysis.ipynb", {})
    second = await remix(jp_fetch, "analysis.ipynb", {"version": "current"})
    assert (first["path"], second["path"]) == ("analysis-remix.ipynb", "analysis-remix-2.ipynb")
    # A remix of a remix: its history goes back through both.
    third = await remix(jp_fetch, first["path"], {"to": "third.ipynb"})
    assert third["from"]["path"] == "analysis-remix.ipynb"
    assert third["from"]["authors"] == ["ann", "bob"]
    versions = (await history(jp_fetch, "third.ipynb"))["versions"]
    assert len(versions) == 1 + 1 + 3
    assert [v["before_remix"] for v in versions] == [False, True, True, True, True]


def test_the_command_line_remixes_with_no_server(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    nb = original_notebook("cli")
    (root / "nb.ipynb").write_text(json.dumps(nb))
    (root / "nb.results").mkdir()
    (root / "nb.results" / "out.txt").write_text("42\n")

    def run(*argv: str) -> int:
        return main(["--root-dir", str(root), *argv])

    assert run("remix", "nb.ipynb", "--to", "copy.ipynb") == 0
    out = capsys.readouterr().out
    assert "as copy.ipynb" in out and "WAREHOUSE_TOKEN" in out
    assert (root / "copy.results" / "out.txt").read_text() == "42\n"
    copied = json.loads((root / "copy.ipynb").read_text())
    assert copied["metadata"]["nj"]["remix"]["from"]["path"] == "nb.ipynb"
    assert run("history", "log", "copy.ipynb", "--json") == 0
    versions = json.loads(capsys.readouterr().out)["versions"]
    assert len(versions) == 2 and versions[1]["before_remix"]
    assert run("history", "log", "copy.ipynb") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "before the remix" not in lines[0] and lines[1].endswith("[before the remix]")
    assert run("remix", "nb.ipynb", "--to", "copy.ipynb") == 2
    assert "already exists" in capsys.readouterr().err
    assert run("remix", "nb.ipynb", "--version", "abcdef12") == 2
    git = subprocess.run(
        ["git", "--git-dir", str(next((tmp_path / "data").rglob("history.git"))), "fsck"],
        capture_output=True,
        check=False,
    )
    assert git.returncode == 0, git.stderr
