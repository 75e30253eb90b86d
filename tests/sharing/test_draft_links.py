"""Draft links against a real server with its global login guard on: a page anyone with the URL
can read, without a login, that follows the author's saves and ends when the link is revoked."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .conftest import expect_error


def write_notebook(root: Path, name: str, text: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('hi')")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [nbformat.v4.new_markdown_cell("# A draft"), cell]
    nbformat.write(nb, str(root / name))


async def create_link(jp_fetch: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await jp_fetch("nj", "api", "links", method="POST", body=json.dumps(body))
    assert response.code == 201
    return dict(json.loads(response.body))


async def open_logged_out(http_server_client: Any, url: str) -> Any:
    """The page as a stranger's browser gets it: no token, no cookie."""
    return await http_server_client.fetch(url, raise_error=False, follow_redirects=False)


async def test_a_draft_link_shows_the_notebook_without_a_login_and_follows_saves(
    jp_fetch: Any, jp_root_dir: Path, http_server_client: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    write_notebook(jp_root_dir, "draft.ipynb", "first output\n")
    link = await create_link(jp_fetch, {"path": "draft.ipynb"})
    assert link["url"].startswith("/a%40b/nj/l/") and link["state"] == "active"
    token = link["url"].rsplit("/", 1)[1]
    assert len(token) >= 32  # 192 random bits, URL-safe

    page = await open_logged_out(http_server_client, link["url"])
    assert page.code == 200, page.body[:500]
    text = page.body.decode()
    assert "first output" in text and "A draft" in text
    assert "a draft shared by" in text and "read-only" in text
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy
    assert "default-src 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta http-equiv="refresh"' in text
    first_tag = page.headers["ETag"]

    # The author saves a change (through the contents API, as JupyterLab does): the page follows.
    nb = json.loads((jp_root_dir / "draft.ipynb").read_text())
    nb["cells"][1]["outputs"][0]["text"] = "second output\n"
    await jp_fetch(
        "api",
        "contents",
        "draft.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": nb}),
    )
    again = await open_logged_out(http_server_client, link["url"])
    assert again.code == 200
    assert "second output" in again.body.decode() and "first output" not in again.body.decode()
    assert again.headers["ETag"] != first_tag

    # Only the author's server knows the link, and never by its token.
    listed = json.loads((await jp_fetch("nj", "api", "links", params={"path": "draft.ipynb"})).body)
    assert [item["id"] for item in listed["links"]] == [link["id"]]
    assert token not in json.dumps(listed)
    store = next(Path(p) for p in jp_root_dir.parent.rglob("links.json"))
    assert token not in store.read_text() and link["id"] in store.read_text()
    assert oct(store.stat().st_mode & 0o777) == "0o600"

    # Revoked: the next request, an open page's next reload included, is refused.
    await jp_fetch("nj", "api", "links", link["id"], method="DELETE")
    gone = await open_logged_out(http_server_client, link["url"])
    assert gone.code == 410 and "revoked" in gone.body.decode()
    assert "second output" not in gone.body.decode()
    listed = json.loads((await jp_fetch("nj", "api", "links")).body)
    assert listed["links"] == []
    # No log line of the server carries the token.
    assert token not in caplog.text


async def test_bad_tokens_expired_links_and_bad_requests_get_clear_answers(
    jp_fetch: Any, jp_root_dir: Path, http_server_client: Any
) -> None:
    write_notebook(jp_root_dir, "draft.ipynb", "x\n")
    unknown = await open_logged_out(http_server_client, "/a%40b/nj/l/" + "A" * 32)
    assert unknown.code == 404 and "does not exist" in unknown.body.decode()
    short = await open_logged_out(http_server_client, "/a%40b/nj/l/abc")
    assert short.code == 404

    for body, code in (
        ({}, 400),
        ({"path": "missing.ipynb"}, 404),
        ({"path": "../outside.ipynb"}, 404),
        ({"path": "notes.txt"}, 400),
        ({"path": "draft.ipynb", "expires": "next tuesday"}, 400),
        ({"path": "draft.ipynb", "expires": "2001-01-01T00:00:00Z"}, 400),
        ({"path": "draft.ipynb", "expires": True}, 400),
    ):
        await expect_error(
            jp_fetch("nj", "api", "links", method="POST", body=json.dumps(body)), code
        )
    assert json.loads((await jp_fetch("nj", "api", "links")).body)["links"] == []
    await expect_error(jp_fetch("nj", "api", "links", "0123456789ab", method="DELETE"), 404)

    link = await create_link(jp_fetch, {"path": "draft.ipynb", "expires": 1.5})
    assert link["expires"]
    assert (await open_logged_out(http_server_client, link["url"])).code == 200
    import asyncio

    await asyncio.sleep(1.6)
    expired = await open_logged_out(http_server_client, link["url"])
    assert expired.code == 410 and "expired" in expired.body.decode()


async def test_a_draft_page_never_shows_a_live_secret_value(
    jp_fetch: Any, jp_root_dir: Path, http_server_client: Any, nj_app: Any
) -> None:
    """A value a runtime received is replaced on the page even where it reached the file
    without a save through the server (written by the runtime itself)."""
    value = "s3cr3t-value-for-the-draft-page"
    nj_app.secrets_manager.redactor.register("API_KEY", value)
    write_notebook(jp_root_dir, "leak.ipynb", f"the key is {value}\n")
    link = await create_link(jp_fetch, {"path": "leak.ipynb"})
    page = await open_logged_out(http_server_client, link["url"])
    assert page.code == 200
    assert value not in page.body.decode() and "[secret API_KEY]" in page.body.decode()


async def test_a_link_follows_its_notebook_when_it_moves(
    jp_fetch: Any, jp_root_dir: Path, http_server_client: Any
) -> None:
    write_notebook(jp_root_dir, "before.ipynb", "moved along\n")
    link = await create_link(jp_fetch, {"path": "before.ipynb"})
    await jp_fetch(
        "api", "contents", "before.ipynb", method="PATCH", body=json.dumps({"path": "after.ipynb"})
    )
    page = await open_logged_out(http_server_client, link["url"])
    assert page.code == 200 and "moved along" in page.body.decode()
    listed = json.loads((await jp_fetch("nj", "api", "links")).body)["links"]
    assert [item["path"] for item in listed] == ["after.ipynb"]
    (jp_root_dir / "after.ipynb").unlink()
    gone = await open_logged_out(http_server_client, link["url"])
    assert gone.code == 410


@pytest.fixture
def nj_app(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["nj_app"]


async def test_two_links_to_one_notebook_each_name_their_own_author(
    jp_fetch: Any, jp_root_dir: Path, http_server_client: Any, nj_app: Any
) -> None:
    write_notebook(jp_root_dir, "shared.ipynb", "same content\n")
    first = await create_link(jp_fetch, {"path": "shared.ipynb"})
    second = await nj_app.sharing_manager.links.create("shared.ipynb", "Grace Hopper")
    one = await open_logged_out(http_server_client, first["url"])
    two = await open_logged_out(http_server_client, "/a%40b" + second["url"])
    assert one.code == two.code == 200
    assert "a draft shared by Grace Hopper" not in one.body.decode()
    assert "a draft shared by Grace Hopper" in two.body.decode()
