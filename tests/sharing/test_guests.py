"""Edit links: another user co-edits one notebook and reaches nothing else of the server.

A real server with real-time rooms and jupyter-nj's Authorizer; ann owns the server, bob is a
user of the same identity provider with a token of his own (as a hub user who accepted a share
is, under JupyterHub). Every route a guest could try is tried: what the link grants answers,
everything else is 403, and revoking the link ends it at the next request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from ..conftest import collaborative_server_config
from ..history.conftest import make_notebook, save_notebook
from .test_remix import TwoUsers, as_user


def guests_server_config(**nj: Any) -> dict[str, Any]:
    """ann's server, narrowing guests to edit links, with bob as a second user (and `nj`, more
    NJApp settings)."""
    config = collaborative_server_config(
        {
            "history_quiet_period": 0.0,
            "history_diff_executor": "thread",
            "guest_access": "edit-links",
            "secrets_user": "ann",
            **nj,
        }
    )
    config["ServerApp"]["identity_provider_class"] = TwoUsers
    return config


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return guests_server_config()


async def status_of(call: Any) -> int:
    try:
        response = await call
    except HTTPClientError as err:
        return err.code
    return int(response.code)


async def test_an_edit_link_lets_a_guest_reach_that_notebook_and_nothing_else(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, jp_http_port: int, jp_base_url: str
) -> None:
    from jupyter_nj.sharing.guests import GuestAuthorizer

    assert isinstance(jp_serverapp.authorizer, GuestAuthorizer)
    await save_notebook(jp_fetch, "shared.ipynb", make_notebook("shared"))
    await save_notebook(jp_fetch, "private.ipynb", make_notebook("private"))
    (jp_root_dir / "notes.txt").write_text("owner's notes")
    bob = as_user("bob")

    def as_bob(*parts: str, **kw: Any) -> Any:
        return status_of(jp_fetch(*parts, headers={**bob, **kw.pop("headers", {})}, **kw))

    # No edit link yet: bob reaches nothing, not even the file he will be given.
    assert await as_bob("api", "contents", "shared.ipynb") == 403
    assert await as_bob("api", "contents") == 403
    assert await as_bob("nj", "api", "status") == 403

    response = await jp_fetch(
        "nj",
        "api",
        "links",
        method="POST",
        body=json.dumps({"path": "shared.ipynb", "edit": True}),
        headers=as_user("ann"),
    )
    link = json.loads(response.body)
    assert link["kind"] == "edit" and link["run"] is False
    # Off a hub the link is the notebook's own JupyterLab URL (bob logs in as himself).
    assert link["url"] == "/a%40b/lab/tree/shared.ipynb"

    # What the link grants: the notebook, read and saved; its file; its real-time room.
    assert await as_bob("api", "contents", "shared.ipynb") == 200
    nb = make_notebook("edited by bob")
    body = json.dumps({"type": "notebook", "format": "json", "content": nb})
    assert await as_bob("api", "contents", "shared.ipynb", method="PUT", body=body) == 200
    assert "edited by bob" in (jp_root_dir / "shared.ipynb").read_text()
    assert await as_bob("api", "contents", "shared.ipynb", "checkpoints") == 200
    assert await as_bob("files", "shared.ipynb") == 200
    session_body = json.dumps({"format": "json", "type": "notebook"})
    session = await jp_fetch(
        "api",
        "collaboration",
        "session",
        "shared.ipynb",
        method="PUT",
        body=session_body,
        headers=bob,
    )
    session_json = json.loads(session.body)
    ws_base = f"ws://localhost:{jp_http_port}{jp_base_url}api/collaboration/room/"
    room = await websocket_connect(
        HTTPRequest(
            f"{ws_base}json:notebook:{session_json['fileId']}?sessionId={session_json['sessionId']}",
            headers=bob,
        )
    )
    room.close()
    assert await as_bob("nj", "api", "status") == 200  # the lab's status bar

    # Everything else: other files, the listing, renames, deletes, kernels, jupyter-nj's APIs.
    refused = {
        "other notebook": await as_bob("api", "contents", "private.ipynb"),
        "other file": await as_bob("files", "notes.txt"),
        "listing": await as_bob("api", "contents"),
        "save elsewhere": await as_bob("api", "contents", "new.ipynb", method="PUT", body=body),
        "rename": await as_bob(
            "api",
            "contents",
            "shared.ipynb",
            method="PATCH",
            body=json.dumps({"path": "moved.ipynb"}),
        ),
        "delete": await as_bob("api", "contents", "shared.ipynb", method="DELETE"),
        "../ escape": await as_bob("api", "contents", "shared.ipynb", "..", "private.ipynb"),
        "kernels": await as_bob("api", "kernels"),
        "start kernel": await as_bob("api", "kernels", method="POST", body="{}"),
        "sessions": await as_bob("api", "sessions"),
        "history": await as_bob("nj", "api", "history", "shared.ipynb"),
        "secrets": await as_bob("nj", "api", "secrets"),
        "links": await as_bob("nj", "api", "links"),
        "publish": await as_bob("nj", "api", "publish", "shared.ipynb", method="POST", body="{}"),
        "other room session": await as_bob(
            "api", "collaboration", "session", "private.ipynb", method="PUT", body=session_body
        ),
    }
    assert {what: code for what, code in refused.items() if code != 403} == {}
    private = json.loads(
        (
            await jp_fetch(
                "api",
                "collaboration",
                "session",
                "private.ipynb",
                method="PUT",
                body=session_body,
                headers=as_user("ann"),
            )
        ).body
    )
    with pytest.raises(HTTPClientError) as info:
        await websocket_connect(
            HTTPRequest(f"{ws_base}json:notebook:{private['fileId']}", headers=bob)
        )
    assert info.value.code == 403

    # The owner is not narrowed.
    assert await status_of(jp_fetch("api", "contents", headers=as_user("ann"))) == 200

    # A link that allows running lets bob list and use kernels; revoking ends everything.
    run_link = json.loads(
        (
            await jp_fetch(
                "nj",
                "api",
                "links",
                method="POST",
                body=json.dumps({"path": "shared.ipynb", "edit": True, "run": True}),
                headers=as_user("ann"),
            )
        ).body
    )
    assert await as_bob("api", "kernels") == 200
    assert await as_bob("api", "sessions") == 200
    for made in (link, run_link):
        await jp_fetch("nj", "api", "links", made["id"], method="DELETE", headers=as_user("ann"))
    assert await as_bob("api", "contents", "shared.ipynb") == 403
    assert await as_bob("api", "kernels") == 403


async def test_edit_link_requests_with_bad_input_get_clear_errors(jp_fetch: Any) -> None:
    await save_notebook(jp_fetch, "a.ipynb", make_notebook("a"))
    for body, code in (
        ({"path": "a.ipynb", "edit": "yes"}, 400),
        ({"path": "a.ipynb", "run": True}, 400),
        ({"path": "missing.ipynb", "edit": True}, 404),
    ):
        status = await status_of(
            jp_fetch(
                "nj",
                "api",
                "links",
                method="POST",
                body=json.dumps(body),
                headers=as_user("ann"),
            )
        )
        assert status == code, body


def test_an_edit_link_says_so_when_the_hub_does_not_answer() -> None:
    """Under a hub that is down, making an edit link is a 503 naming the hub, and revoking
    one only logs (the link ends at once: the Authorizer reads jupyter-nj's store)."""
    import socket

    from jupyter_nj.base import NJError
    from jupyter_nj.sharing.guests import HubShares

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hub = HubShares(
        {
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{port}/hub/api",
            "JUPYTERHUB_API_TOKEN": "not-a-real-token",
            "JUPYTERHUB_USER": "ann",
        }
    )
    assert hub.available
    with pytest.raises(NJError) as info:
        hub.create("shared.ipynb", None)
    assert info.value.status_code == 503 and info.value.reason == "hub-unreachable"
    assert "not-a-real-token" not in info.value.message
    hub.revoke("123")  # logged, not raised
