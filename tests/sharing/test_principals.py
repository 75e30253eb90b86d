"""The names a user can share with (GET /nj/api/principals), and named shares off a hub.

A real server with jupyter-nj's Authorizer and two users (ann owns the server, bob is another
user of its identity provider, as a hub user let in by a share is): without a hub the names are
the configured groups, their members and the owner; a guest never reaches the list; a named
share needs a hub and says so. tests/hub/test_named_shares.py runs the same against a real hub.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from ..history.conftest import make_notebook, save_notebook
from .test_guests import guests_server_config, status_of
from .test_remix import as_user


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return guests_server_config(secrets_groups={"lab": ["ann", "bob"], "analysts": ["carol"]})


async def test_the_owner_gets_the_configured_groups_and_their_members(jp_fetch: Any) -> None:
    reply = await jp_fetch("nj", "api", "principals", headers=as_user("ann"))
    listing = json.loads(reply.body)
    assert listing == {
        "source": "server",
        "hub": False,
        "users": ["ann", "bob", "carol"],
        "groups": [
            {"name": "analysts", "members": ["carol"]},
            {"name": "lab", "members": ["ann", "bob"]},
        ],
    }


async def test_a_guest_cannot_list_the_names(jp_fetch: Any) -> None:
    await save_notebook(jp_fetch, "shared.ipynb", make_notebook("shared"))
    link = await jp_fetch(
        "nj",
        "api",
        "links",
        method="POST",
        body=json.dumps({"path": "shared.ipynb", "edit": True}),
        headers=as_user("ann"),
    )
    # bob is a guest with a grant (he reaches shared.ipynb), yet not the names.
    assert (
        await status_of(jp_fetch("api", "contents", "shared.ipynb", headers=as_user("bob"))) == 200
    )
    assert await status_of(jp_fetch("nj", "api", "principals", headers=as_user("bob"))) == 403
    made = json.loads(link.body)
    await jp_fetch("nj", "api", "links", made["id"], method="DELETE", headers=as_user("ann"))


async def test_a_named_share_off_a_hub_says_what_to_do_instead(jp_fetch: Any) -> None:
    await save_notebook(jp_fetch, "a.ipynb", make_notebook("a"))
    for share_with, code in (
        ({"user": "bob"}, 409),
        ({"group": "lab"}, 409),
        ({"user": "bob", "group": "lab"}, 400),
        ({"team": "lab"}, 400),
        ({"user": ""}, 400),
        ("bob", 400),
    ):
        try:
            await jp_fetch(
                "nj",
                "api",
                "links",
                method="POST",
                body=json.dumps({"path": "a.ipynb", "share_with": share_with}),
                headers=as_user("ann"),
            )
        except Exception as err:
            response = err.response  # type: ignore[attr-defined]
            assert response.code == code, share_with
            body = json.loads(response.body)
            if code == 409:
                assert body["reason"] == "no-hub" and "edit link" in body["message"]
            else:
                assert body["reason"] == "bad-share" and '{"user": "bob"}' in body["message"]
        else:
            raise AssertionError(f"{share_with!r} was accepted")
    listed = await jp_fetch(
        "nj", "api", "links", params={"path": "a.ipynb"}, headers=as_user("ann")
    )
    assert json.loads(listed.body)["links"] == []  # nothing was stored


async def test_the_names_under_a_hub_that_does_not_answer_are_a_clear_503() -> None:
    from jupyter_nj.base import NJError
    from jupyter_nj.sharing.guests import HubShares
    from jupyter_nj.sharing.principals import PrincipalDirectory

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
    directory = PrincipalDirectory(dict, lambda: "ann", hub=hub)
    with pytest.raises(NJError) as info:
        await directory.listing()
    assert info.value.status_code == 503 and info.value.reason == "hub-unreachable"
    assert "Type the names" in info.value.message
    assert "not-a-real-token" not in info.value.message


def test_a_named_grant_lets_in_only_whom_it_names(tmp_path: Path) -> None:
    """What the Authorizer reads (DraftLinkService.edit_grants): an edit link with a share code
    grants every guest; one shared with a user, that user; with a group, its members."""
    from jupyter_nj.sharing.links import DraftLinks, DraftLinkService

    links = DraftLinks(tmp_path / "links.json")
    links.create("open.ipynb", "ann", kind="edit")
    links.create("bob.ipynb", "ann", kind="edit", shared_with={"user": "bob"})
    links.create("lab.ipynb", "ann", kind="edit", run=True, shared_with={"group": "lab"})
    ended, _ = links.create("gone.ipynb", "ann", kind="edit", shared_with={"user": "bob"})
    links.revoke(ended.id)
    links.create("draft.ipynb", "ann")  # a draft link grants no guest anything
    service = DraftLinkService(links, documents=None)
    assert sorted(service.edit_grants("bob")) == [("bob.ipynb", False), ("open.ipynb", False)]
    assert sorted(service.edit_grants("carol", frozenset({"lab"}))) == [
        ("lab.ipynb", True),
        ("open.ipynb", False),
    ]
    assert service.edit_grants("dave") == [("open.ipynb", False)]
