"""The REST API on a real server, on both backends, with several users."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import as_user, multi_user_server_config

pytestmark = pytest.mark.openbao

VALUE = "sk_live_5bd41c2e-'quoted'-value"


@pytest.fixture
def jp_server_config(backend_kind: str, request: Any, tmp_path: Path) -> dict[str, Any]:
    return multi_user_server_config(
        backend_kind, request, tmp_path, secrets_groups={"team-a": ["bob"], "hub-team": []}
    )


async def call(jp_fetch: Any, user: str, *parts: str, method: str = "GET", body: Any = None):  # type: ignore[no-untyped-def]
    kwargs: dict[str, Any] = {"method": method, "headers": as_user(user)}
    if body is not None:
        kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
    if method == "DELETE":
        kwargs["allow_nonstandard_methods"] = True
    return await jp_fetch(*parts, **kwargs)


async def error_of(jp_fetch: Any, user: str, *parts: str, **kwargs: Any) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        await call(jp_fetch, user, *parts, **kwargs)
    assert caught.value.response is not None
    text = caught.value.response.body.decode()
    assert VALUE not in text
    return caught.value.code, json.loads(text)


async def test_crud_round_trip_never_returns_the_value(jp_fetch: Any) -> None:
    created = await call(
        jp_fetch,
        "alice",
        "nj",
        "api",
        "secrets",
        "STRIPE_KEY",
        method="PUT",
        body={"value": VALUE, "description": "payments", "shared_with": {"users": ["bob"]}},
    )
    assert created.code == 201
    everything = [created.body.decode()]
    record = json.loads(created.body)
    assert record["owner"] == "alice" and record["description"] == "payments"

    listing = await call(jp_fetch, "alice", "nj", "api", "secrets")
    everything.append(listing.body.decode())
    assert [s["name"] for s in json.loads(listing.body)["secrets"]] == ["STRIPE_KEY"]

    one = await call(jp_fetch, "alice", "nj", "api", "secrets", "STRIPE_KEY")
    everything.append(one.body.decode())
    assert "value" not in json.loads(one.body)

    changed = await call(
        jp_fetch,
        "alice",
        "nj",
        "api",
        "secrets",
        "STRIPE_KEY",
        method="PUT",
        body={"value": VALUE + "-v2"},
    )
    assert changed.code == 200 and json.loads(changed.body)["version"] == 2
    everything.append(changed.body.decode())
    assert all(VALUE not in text for text in everything)

    deleted = await call(jp_fetch, "alice", "nj", "api", "secrets", "STRIPE_KEY", method="DELETE")
    assert deleted.code == 204
    code, body = await error_of(jp_fetch, "alice", "nj", "api", "secrets", "STRIPE_KEY")
    assert (code, body["reason"]) == (404, "secret-not-found")


async def test_bad_requests_get_clear_4xx_json(jp_fetch: Any) -> None:
    path = ("nj", "api", "secrets")
    code, body = await error_of(jp_fetch, "alice", *path, "bad-name", method="PUT", body={})
    assert (code, body["reason"]) == (400, "bad-name")
    code, body = await error_of(
        jp_fetch, "alice", *path, "GOOD", method="PUT", body="{not json " + VALUE
    )
    assert (code, body["reason"]) == (400, "bad-json")
    code, body = await error_of(
        jp_fetch, "alice", *path, "GOOD", method="PUT", body={"value": VALUE * 3000}
    )
    assert (code, body["reason"]) == (413, "value-too-large")
    code, body = await error_of(
        jp_fetch, "alice", *path, "GOOD", method="PUT", body={"value": VALUE, "shared_with": 3}
    )
    assert (code, body["reason"]) == (400, "bad-sharing")


async def test_sharing_with_configured_and_hub_groups(jp_fetch: Any) -> None:
    await call(
        jp_fetch,
        "alice",
        "nj",
        "api",
        "secrets",
        "TEAM_KEY",
        method="PUT",
        body={"value": VALUE, "shared_with": {"groups": ["team-a", "hub-team"]}},
    )
    for member in ("bob", "dave"):  # bob by configuration, dave by his hub groups
        listing = json.loads((await call(jp_fetch, member, "nj", "api", "secrets")).body)
        assert [s["name"] for s in listing["secrets"]] == ["TEAM_KEY"], member
    outsider = json.loads((await call(jp_fetch, "carol", "nj", "api", "secrets")).body)
    assert outsider["secrets"] == []
    code, body = await error_of(jp_fetch, "carol", "nj", "api", "secrets", "TEAM_KEY")
    assert code == 404
    code, body = await error_of(
        jp_fetch, "bob", "nj", "api", "secrets", "TEAM_KEY", method="PUT", body={"value": "x" * 9}
    )
    assert (code, body["reason"]) == (403, "not-owner")


async def test_attach_by_name_writes_names_only_into_notebook_metadata(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    await call(
        jp_fetch,
        "alice",
        "nj",
        "api",
        "secrets",
        "DB_PASSWORD",
        method="PUT",
        body={"value": VALUE},
    )
    await jp_fetch(
        "api", "contents", "analysis.ipynb", method="PUT", body=json.dumps({"type": "notebook"})
    )
    response = await call(
        jp_fetch,
        "alice",
        "nj",
        "api",
        "secret-attachments",
        "analysis.ipynb",
        method="PUT",
        body={"secrets": ["DB_PASSWORD"]},
    )
    assert json.loads(response.body)["secrets"] == [{"name": "DB_PASSWORD", "status": "ok"}]
    on_disk = json.loads((jp_root_dir / "analysis.ipynb").read_text())
    assert on_disk["metadata"]["nj"]["secrets"] == ["DB_PASSWORD"]
    assert VALUE not in (jp_root_dir / "analysis.ipynb").read_text()

    # Someone a secret is not shared with cannot attach it, and sees attached ones as unavailable.
    await call(
        jp_fetch, "alice", "nj", "api", "secrets", "OTHER_KEY", method="PUT", body={"value": VALUE}
    )
    code, body = await error_of(
        jp_fetch,
        "carol",
        "nj",
        "api",
        "secret-attachments",
        "analysis.ipynb",
        method="PUT",
        body={"secrets": ["DB_PASSWORD", "OTHER_KEY"]},
    )
    assert (code, body["reason"]) == (404, "secret-not-found")
    seen = json.loads(
        (await call(jp_fetch, "carol", "nj", "api", "secret-attachments", "analysis.ipynb")).body
    )
    assert seen["secrets"] == [{"name": "DB_PASSWORD", "status": "unavailable"}]

    code, _ = await error_of(jp_fetch, "alice", "nj", "api", "secret-attachments", "..%2Fx.ipynb")
    assert code == 404
    code, body = await error_of(jp_fetch, "alice", "nj", "api", "secret-attachments", "notes.txt")
    assert (code, body["reason"]) == (400, "not-a-notebook")

    detached = await call(
        jp_fetch,
        "alice",
        "nj",
        "api",
        "secret-attachments",
        "analysis.ipynb",
        method="PUT",
        body={"secrets": []},
    )
    assert json.loads(detached.body)["secrets"] == []
