"""Draft links with a snapshot store (NJApp.drafts_dir): a real server writes each link's page
into the store, and a pages service of its own (`jupyter nj pages-service --drafts-dir`, a
separate process, as the hub runs it) serves it with the answers the server gives: the page,
404 for a token never handed out, 410 once revoked or expired."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_nj.base import NJError
from jupyter_nj.sharing.drafts import PAGE_FILE, STATE_FILE, DraftSnapshots
from jupyter_nj.sharing.links import DraftLink, token_digest

from .conftest import pages_service
from .test_draft_links import create_link, open_logged_out, write_notebook

SERVICE = "/services/nj-pages/"


@pytest.fixture
def drafts_dir(tmp_path: Path) -> Path:
    return tmp_path / "drafts"


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], drafts_dir: Path) -> dict[str, Any]:
    nj = {
        **jp_server_config["NJApp"],
        "drafts_dir": str(drafts_dir),
        "drafts_base_url": SERVICE,
        "drafts_snapshot_delay": 0.05,
    }
    return {**jp_server_config, "NJApp": nj}


@pytest.fixture
def nj_app(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["nj_app"]


async def get(url: str) -> requests.Response:
    return await asyncio.to_thread(requests.get, url, timeout=30)


async def until(url: str, check: Any, timeout: float = 30) -> requests.Response:
    """GET `url` until `check(reply)` holds (a snapshot is written after the save returns)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = await get(url)
        if check(reply) or time.monotonic() > deadline:
            return reply
        await asyncio.sleep(0.1)


def stored_bytes(store: Path) -> bytes:
    """Every file name and every byte under the store."""
    return b"".join(
        str(p.relative_to(store)).encode() + (p.read_bytes() if p.is_file() else b"")
        for p in sorted(store.rglob("*"))
    )


async def save(jp_fetch: Any, root: Path, name: str, text: str) -> None:
    nb = json.loads((root / name).read_text())
    nb["cells"][1]["outputs"][0]["text"] = text
    await jp_fetch(
        "api",
        "contents",
        name,
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": nb}),
    )


async def test_the_pages_service_serves_a_draft_that_follows_saves_until_revoked(
    jp_fetch: Any, jp_root_dir: Path, http_server_client: Any, nj_app: Any, drafts_dir: Path
) -> None:
    write_notebook(jp_root_dir, "draft.ipynb", "first output\n")
    async with pages_service(nj_app.publications_path, drafts_dir) as base:
        link = await create_link(jp_fetch, {"path": "draft.ipynb"})
        # The URL names the service, so it answers while this server is stopped.
        assert link["url"].startswith(SERVICE + "nj/l/")
        token = link["url"].rsplit("/", 1)[1]
        url = base + "/nj/l/" + token

        page = await get(url)  # written before the link was handed out: no wait
        assert page.status_code == 200, page.text[:300]
        assert "first output" in page.text and "a draft shared by" in page.text
        assert page.headers["Content-Security-Policy"].startswith("sandbox;")
        assert "script-src" not in page.headers["Content-Security-Policy"]
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
        # The author's server still answers the same link itself, as without a store.
        live = await open_logged_out(http_server_client, "/a%40b/nj/l/" + token)
        assert live.code == 200 and "first output" in live.body.decode()

        # Keyed by the token's digest; the token is in no file name and no file.
        folder = drafts_dir / token_digest(token)
        assert (folder / PAGE_FILE).is_file() and (folder / STATE_FILE).is_file()
        assert token.encode() not in stored_bytes(drafts_dir)
        assert oct((folder / PAGE_FILE).stat().st_mode & 0o777) == "0o600"
        assert oct(folder.stat().st_mode & 0o777) == "0o700"

        await save(jp_fetch, jp_root_dir, "draft.ipynb", "second output\n")
        again = await until(url, lambda r: "second output" in r.text)
        assert again.status_code == 200 and "second output" in again.text
        assert "first output" not in again.text
        assert again.headers["ETag"] != page.headers["ETag"]

        unknown = await get(base + "/nj/l/" + "A" * 32)
        assert unknown.status_code == 404 and "does not exist" in unknown.text
        assert (await get(base + "/nj/l/")).status_code == 404  # no listing of drafts

        await jp_fetch("nj", "api", "links", link["id"], method="DELETE")
        gone = await get(url)  # the very next request
        assert gone.status_code == 410 and "revoked" in gone.text
        assert "second output" not in gone.text
        assert not (folder / PAGE_FILE).exists()
        # A save after the revocation brings nothing back.
        await save(jp_fetch, jp_root_dir, "draft.ipynb", "third output\n")
        assert await nj_app.sharing_manager.links.refresh({"draft.ipynb"}) == 0
        assert not (folder / PAGE_FILE).exists()
        assert (await get(url)).status_code == 410


async def test_the_pages_service_refuses_an_expired_draft_by_itself(
    jp_fetch: Any, jp_root_dir: Path, http_server_client: Any, nj_app: Any, drafts_dir: Path
) -> None:
    """Expiry is checked by the service from the stored expiry, at each request: it needs no
    word from the author's server (which may be stopped)."""
    write_notebook(jp_root_dir, "soon.ipynb", "short-lived\n")
    async with pages_service(nj_app.publications_path, drafts_dir) as base:
        link = await create_link(jp_fetch, {"path": "soon.ipynb", "expires": 2})
        token = link["url"].rsplit("/", 1)[1]
        url = base + "/nj/l/" + token
        expires = json.loads((drafts_dir / token_digest(token) / STATE_FILE).read_text())
        first = await get(url)
        if time.time() < expires["expires"]:  # a slow machine may have spent the 2 s already
            assert first.status_code == 200 and "short-lived" in first.text
        expired = await until(url, lambda r: r.status_code == 410, timeout=10)
        assert expired.status_code == 410 and "expired" in expired.text
        # The server did nothing yet: the page is still on disk, refused by the service alone.
        assert (drafts_dir / token_digest(token) / PAGE_FILE).exists()
        # The author's server tombstones it when it notices (here, a reader at its own URL).
        assert (await open_logged_out(http_server_client, "/a%40b/nj/l/" + token)).code == 410
        assert not (drafts_dir / token_digest(token) / PAGE_FILE).exists()
        assert (await get(url)).status_code == 410


async def test_a_secret_value_never_reaches_a_draft_snapshot(
    jp_fetch: Any, jp_root_dir: Path, nj_app: Any, drafts_dir: Path
) -> None:
    value = "s3cr3t-value-for-the-snapshot"
    nj_app.secrets_manager.redactor.register("API_KEY", value)
    # Written by a runtime, not saved through the server: the snapshot still redacts it.
    write_notebook(jp_root_dir, "leak.ipynb", f"the key is {value}\n")
    link = await create_link(jp_fetch, {"path": "leak.ipynb"})
    token = link["url"].rsplit("/", 1)[1]
    page = (drafts_dir / token_digest(token) / PAGE_FILE).read_text()
    assert "[secret API_KEY]" in page
    assert value.encode() not in stored_bytes(drafts_dir)


async def test_a_deleted_notebooks_draft_answers_410_from_the_store(
    jp_fetch: Any, jp_root_dir: Path, http_server_client: Any, nj_app: Any, drafts_dir: Path
) -> None:
    write_notebook(jp_root_dir, "temp.ipynb", "soon deleted\n")
    write_notebook(jp_root_dir, "other.ipynb", "removed behind the server's back\n")
    deleted = await create_link(jp_fetch, {"path": "temp.ipynb"})
    removed = await create_link(jp_fetch, {"path": "other.ipynb"})
    store = DraftSnapshots(drafts_dir)
    # Deleted through the contents API (JupyterLab's delete): its snapshot goes at once.
    await jp_fetch("api", "contents", "temp.ipynb", method="DELETE")
    token = deleted["url"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 30
    while store.has_page(snapshot_link(token)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # the event listener runs after the delete answered
    with pytest.raises(NJError) as info:
        await store.page(token)
    assert info.value.status_code == 410 and "gone" in info.value.message
    # Removed from the disk by something else: the server notices at its own page.
    token = removed["url"].rsplit("/", 1)[1]
    (jp_root_dir / "other.ipynb").unlink()
    assert (await open_logged_out(http_server_client, "/a%40b/nj/l/" + token)).code == 410
    with pytest.raises(NJError) as info:
        await store.page(token)
    assert info.value.status_code == 410


def snapshot_link(token: str) -> DraftLink:
    return DraftLink(
        id="x", token_sha256=token_digest(token), path="x.ipynb", author="x", created=0.0
    )


def test_an_ended_snapshot_stays_ended_and_a_damaged_one_is_never_served(tmp_path: Path) -> None:
    store = DraftSnapshots(tmp_path)
    token = "t" * 32
    link = snapshot_link(token)
    assert store.write(link, "<p>page</p>")
    assert store.read(token)[0] == b"<p>page</p>"
    store.end(link, "revoked")
    assert not store.write(link, "<p>again</p>")  # a refresh racing the revocation
    for bad in (token, "u" * 32, "x" * 1000):
        with pytest.raises(NJError) as info:
            store.read(bad)
        assert info.value.status_code == (410 if bad == token else 404)
    other = snapshot_link("v" * 32)
    store.write(other, "<p>other</p>")
    (tmp_path / other.token_sha256 / STATE_FILE).write_text("{not json")
    with pytest.raises(NJError) as info:
        store.read("v" * 32)
    assert info.value.status_code == 410


async def test_a_save_whose_hook_runs_in_a_worker_thread_refreshes_the_snapshot(
    jp_fetch: Any, jp_root_dir: Path, nj_app: Any, drafts_dir: Path
) -> None:
    """A contents manager may run its post-save hooks in a worker thread: the refresh still
    runs, on the server's loop."""
    write_notebook(jp_root_dir, "threaded.ipynb", "before\n")
    link = await create_link(jp_fetch, {"path": "threaded.ipynb"})
    token = link["url"].rsplit("/", 1)[1]
    write_notebook(jp_root_dir, "threaded.ipynb", "after, from a thread\n")
    hook = nj_app.sharing_manager.links.post_save_hook
    await asyncio.to_thread(hook, {"type": "notebook", "path": "threaded.ipynb"}, "")
    store = DraftSnapshots(drafts_dir)
    deadline = time.monotonic() + 30
    while b"after, from a thread" not in store.read(token)[0]:
        assert time.monotonic() < deadline, "the snapshot did not follow the threaded save"
        await asyncio.sleep(0.05)
