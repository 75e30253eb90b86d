"""Who made a version: the user name is the stable key, the display name is what people read.

The requesting user's identity comes from jupyter_server's IdentityProvider; collaborators in a
real-time room come from the awareness states their clients send over the room's websocket.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_nj.history.store import HistoryStore

from ..conftest import collaborative_server_config
from .conftest import flush, history, make_notebook, nj_app, save_notebook


class NamedTokenUser(IdentityProvider):  # type: ignore[misc]
    """One shared token that stands for a named user, as a deployment's identity provider
    (JupyterHub's, say) would give: a user name that is an id, and a display name."""

    def generate_anonymous_user(self, handler: Any) -> User:
        return User("ann-7f3a", "ann", "Ann Example", "AE", None, None)


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    config = collaborative_server_config(
        {"history_quiet_period": 0.0, "history_diff_executor": "thread"}
    )
    config["ServerApp"]["identity_provider_class"] = NamedTokenUser
    return config


async def me(jp_fetch: Any) -> dict[str, Any]:
    identity: dict[str, Any] = json.loads((await jp_fetch("api", "me")).body)["identity"]
    return identity


async def test_a_save_records_the_identity_display_name(jp_fetch: Any, jp_serverapp: Any) -> None:
    await save_notebook(jp_fetch, "nb.ipynb", make_notebook("one"))
    await flush(jp_serverapp)
    newest = (await history(jp_fetch, "nb.ipynb"))["versions"][0]
    assert (await me(jp_fetch))["username"] == "ann-7f3a"
    assert newest["authors"] == ["ann-7f3a"]
    assert newest["author_display_names"] == ["Ann Example"]


async def join_room(
    jp_fetch: Any, ws_url: str, headers: dict[str, str], path: str, user: dict[str, str]
) -> Any:
    """A collaboration client: opens the file's session, joins its room, announces `user`."""
    session = json.loads(
        (
            await jp_fetch(
                "api",
                "collaboration",
                "session",
                path,
                method="PUT",
                body=json.dumps({"format": "json", "type": "notebook"}),
            )
        ).body
    )
    # The room id keeps its colons: quoted, it would name a different, transient room.
    ws = await websocket_connect(
        HTTPRequest(
            f"{ws_url}api/collaboration/room/json:notebook:{session['fileId']}"
            f"?sessionId={session['sessionId']}",
            headers=headers,
        )
    )
    awareness = pycrdt.Awareness(pycrdt.Doc())
    awareness.set_local_state({"user": user})
    await ws.write_message(
        pycrdt.create_awareness_message(awareness.encode_awareness_update([awareness.client_id])),
        binary=True,
    )
    return ws


async def test_collaborators_in_the_room_are_named_by_their_display_names(
    jp_fetch: Any, jp_serverapp: Any, jp_http_port: int, jp_base_url: str, jp_auth_header: Any
) -> None:
    await save_notebook(jp_fetch, "shared.ipynb", make_notebook("one"))
    ws = await join_room(
        jp_fetch,
        f"ws://localhost:{jp_http_port}{jp_base_url}",
        dict(jp_auth_header),
        "shared.ipynb",
        {"username": "bob-01c2", "name": "bob", "display_name": "Bob Example"},
    )
    try:
        documents = nj_app(jp_serverapp).documents
        deadline = time.monotonic() + 20
        while "bob-01c2" not in documents.room_users("shared.ipynb"):
            assert time.monotonic() < deadline, "the room never saw the client's awareness"
            await asyncio.sleep(0.1)
        await save_notebook(jp_fetch, "shared.ipynb", make_notebook("two"))
        await flush(jp_serverapp)
        newest = next(
            v
            for v in (await history(jp_fetch, "shared.ipynb"))["versions"]
            if "bob-01c2" in v["authors"]
        )
    finally:
        ws.close()
    names = dict(zip(newest["authors"], newest["author_display_names"], strict=True))
    assert names == {"bob-01c2": "Bob Example", "ann-7f3a": "Ann Example"}


def test_display_names_survive_an_index_rebuild_and_old_indexes_are_upgraded(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "h.git")
    try:
        hid = store.history_for("f", "a.txt")
        store.commit(hid, "a.txt", b"one\n", authors={"ann": "Ann Example", "bob": ""})
        store.commit(hid, "a.txt", b"two\n", authors=["carl"])
    finally:
        store.close()
    index = tmp_path / "h.git" / "index.sqlite3"
    # An index from before display names were kept has no such column: it gains one, and the
    # versions it already lists show their user names.
    with sqlite3.connect(index) as con:
        con.execute("ALTER TABLE versions DROP COLUMN author_names")
    store = HistoryStore(tmp_path / "h.git")
    try:
        two, one = store.versions(hid)[0]
        assert one.to_json()["author_display_names"] == ["ann", "bob"]
        assert two.to_json()["author_display_names"] == ["carl"]
    finally:
        store.close()
    # A lost index is rebuilt from git, whose commits carry the display names.
    for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
        (tmp_path / "h.git" / name).unlink(missing_ok=True)
    store = HistoryStore(tmp_path / "h.git")
    try:
        two, one = store.versions(hid)[0]
        assert one.authors == ["ann", "bob"]
        assert one.to_json()["author_display_names"] == ["Ann Example", "bob"]
        assert two.to_json()["author_display_names"] == ["carl"]
    finally:
        store.close()
