"""Publishing against a real server, its git history and the publication store on disk: a
version at a permanent URL that anyone reads without a login, immutable editions, tombstones,
downloads, remix of a published page by its author and by another user.

Two users sign in with their own tokens (ann publishes, bob reads and remixes); strangers come
with no token and no cookie.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyter_nj.cli import main

from ..history.conftest import flush, history, make_notebook, save_notebook
from .conftest import expect_error, pages_service

# The remix tests' server: two users with their own tokens, history on.
from .test_remix import as_user, jp_server_config  # noqa: F401


def titled_notebook(marker: str) -> dict[str, Any]:
    nb = make_notebook(marker)
    nb["cells"].insert(
        0, {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# Rain in Köln"}
    )
    return nb


async def publish(jp_fetch: Any, path: str, body: Any = None, user: str = "ann") -> Any:
    response = await jp_fetch(
        "nj",
        "api",
        "publish",
        path,
        method="POST",
        body=json.dumps(body or {}),
        headers=as_user(user),
    )
    assert response.code == 201
    return json.loads(response.body)


async def stranger(http_server_client: Any, url: str) -> Any:
    """What a logged-out browser gets: no token, no cookie."""
    return await http_server_client.fetch(url, raise_error=False, follow_redirects=False)


async def test_a_published_version_is_readable_logged_out_and_never_changes(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, http_server_client: Any
) -> None:
    await save_notebook(jp_fetch, "rain.ipynb", titled_notebook("first-edition-output"))
    await flush(jp_serverapp)
    first = await publish(jp_fetch, "rain.ipynb")
    # The slug comes from the title; the owner is the user who published.
    assert first["url"] == "/a%40b/nj/p/ann/rain-in-koln/1"
    assert first["latest"] == "/a%40b/nj/p/ann/rain-in-koln"
    assert first["state"] == "published" and first["author"] == "ann"
    versions = (await history(jp_fetch, "rain.ipynb"))["versions"]
    assert first["version"] == versions[0]["id"]

    page = await stranger(http_server_client, first["url"])
    assert page.code == 200, page.body[:300]
    text = page.body.decode()
    assert "first-edition-output" in text and "Rain in Köln" in text
    assert "Published by <strong>ann</strong>" in text and "edition 1" in text
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox allow-downloads;") and "script-src" not in policy
    etag = page.headers["ETag"]
    again = await http_server_client.fetch(
        first["url"], headers={"If-None-Match": etag}, raise_error=False
    )
    assert again.code == 304

    # The author edits and publishes again: a second edition; the first stays as it was.
    await save_notebook(jp_fetch, "rain.ipynb", titled_notebook("second-edition-output"))
    await flush(jp_serverapp)
    second = await publish(jp_fetch, "rain.ipynb")
    assert second["url"].endswith("/rain-in-koln/2")
    old = (await stranger(http_server_client, first["url"])).body.decode()
    assert "first-edition-output" in old and "second-edition-output" not in old
    latest = await stranger(http_server_client, first["latest"])
    assert latest.code == 302 and latest.headers["Location"] == second["url"]

    # Deleting the notebook leaves every edition as published.
    (jp_root_dir / "rain.ipynb").unlink()
    assert (await stranger(http_server_client, first["url"])).code == 200
    download = await stranger(http_server_client, second["url"] + "/notebook.ipynb")
    assert download.code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert "second-edition-output" in json.dumps(json.loads(download.body))

    listed = json.loads((await jp_fetch("nj", "api", "publications", headers=as_user("ann"))).body)
    assert [p["number"] for p in listed["publications"]] == [2, 1]
    # bob's publications are his own: none.
    theirs = json.loads((await jp_fetch("nj", "api", "publications", headers=as_user("bob"))).body)
    assert theirs["publications"] == []


async def test_unpublishing_leaves_a_tombstone_and_the_number_is_never_reused(
    jp_fetch: Any, jp_serverapp: Any, http_server_client: Any
) -> None:
    await save_notebook(jp_fetch, "t.ipynb", titled_notebook("one"))
    await flush(jp_serverapp)
    first = await publish(jp_fetch, "t.ipynb", {"slug": "tomb"})
    second = await publish(jp_fetch, "t.ipynb", {"slug": "tomb"})
    assert (await stranger(http_server_client, second["url"])).code == 200  # cached now

    # Only the owner may unpublish.
    await expect_error(
        jp_fetch(
            "nj", "api", "publications", "ann", "tomb", "2", method="DELETE", headers=as_user("bob")
        ),
        403,
    )
    response = await jp_fetch(
        "nj", "api", "publications", "ann", "tomb", "2", method="DELETE", headers=as_user("ann")
    )
    assert json.loads(response.body)["unpublished"][0]["state"] == "unpublished"
    gone = await stranger(http_server_client, second["url"])
    assert gone.code == 410 and b"unpublished" in gone.body
    assert (await stranger(http_server_client, second["url"] + "/notebook.ipynb")).code == 410
    latest = await stranger(http_server_client, first["latest"])
    assert latest.headers["Location"] == first["url"]

    third = await publish(jp_fetch, "t.ipynb", {"slug": "tomb"})
    assert third["number"] == 3
    await jp_fetch("nj", "api", "publications", "ann", "tomb", method="DELETE")
    assert (await stranger(http_server_client, first["latest"])).code == 410
    assert (await stranger(http_server_client, third["url"])).code == 410
    unknown = await stranger(http_server_client, "/a%40b/nj/p/ann/tomb/9")
    assert unknown.code == 404


async def test_bad_publications_are_clear_4xx_and_publish_nothing(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    await save_notebook(jp_fetch, "a.ipynb", titled_notebook("a"))
    await save_notebook(jp_fetch, "b.ipynb", titled_notebook("b"))
    (jp_root_dir / "notes.txt").write_text("text")
    await flush(jp_serverapp)

    def post(path: str, body: Any) -> Any:
        return jp_fetch(
            "nj",
            "api",
            "publish",
            path,
            method="POST",
            body=json.dumps(body),
            headers=as_user("ann"),
        )

    assert (await expect_error(post("a.ipynb", {"slug": "Has Spaces"}), 400))["reason"] == (
        "bad-slug"
    )
    await expect_error(post("a.ipynb", {"slug": "../x"}), 400)
    await expect_error(post("a.ipynb", {"version": "0123456789abcdef"}), 404)
    await expect_error(post("missing.ipynb", {}), 404)
    await expect_error(post("notes.txt", {}), 400)
    await expect_error(post("../outside.ipynb", {}), 404)
    await expect_error(post("a.ipynb", {"rerun": "yes"}), 400)
    listed = json.loads((await jp_fetch("nj", "api", "publications", headers=as_user("ann"))).body)
    assert listed["publications"] == []

    await publish(jp_fetch, "a.ipynb", {"slug": "shared-name"})
    taken = await expect_error(post("b.ipynb", {"slug": "shared-name"}), 409)
    assert taken["reason"] == "slug-taken" and "a.ipynb" in taken["message"]
    # Another user's slugs are their own.
    await publish(jp_fetch, "b.ipynb", {"slug": "shared-name"}, user="bob")


async def test_publishing_fails_closed_on_a_live_secret_value(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    value = "tok-9f8e7d6c5b4a"
    nb = titled_notebook("safe")
    nb["cells"][1]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": f"token is {value}\n"}
    ]
    await save_notebook(jp_fetch, "leaky.ipynb", nb)
    await flush(jp_serverapp)
    # A runtime received the value after this version was recorded.
    nj = jp_serverapp.web_app.settings["nj_app"]
    assert nj.secrets_manager.redactor.register("WAREHOUSE_TOKEN", value)
    body = await expect_error(
        jp_fetch(
            "nj",
            "api",
            "publish",
            "leaky.ipynb",
            method="POST",
            body=json.dumps(
                {"version": (await history(jp_fetch, "leaky.ipynb"))["versions"][0]["id"]}
            ),
            headers=as_user("ann"),
        ),
        409,
    )
    assert body["reason"] == "holds-secret" and value not in json.dumps(body)
    store = Path(nj.publications_path)
    assert not any(p.name == "notebook.ipynb" for p in store.rglob("*"))


async def test_publishing_fails_closed_on_a_live_secret_value_in_the_results(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    """A kernel that wrote a secret into a results file: the results are scanned too, a value
    split across two of the scan's pieces included, and nothing is published."""
    value = "pw-0a1b2c3d4e5f"
    results = jp_root_dir / "export.results"
    results.mkdir()
    (results / "clean.csv").write_text("a,b\n1,2\n")
    # Straddling the first 1 MiB piece's end.
    (results / "dump.log").write_bytes(b"x" * ((1 << 20) - 6) + f"{value}\n".encode())
    await save_notebook(jp_fetch, "export.ipynb", titled_notebook("clean-notebook"))
    await flush(jp_serverapp)
    nj = jp_serverapp.web_app.settings["nj_app"]
    assert nj.secrets_manager.redactor.register("EXPORT_PASSWORD", value)
    body = await expect_error(
        jp_fetch(
            "nj",
            "api",
            "publish",
            "export.ipynb",
            method="POST",
            body=json.dumps({}),
            headers=as_user("ann"),
        ),
        409,
    )
    assert body["reason"] == "results-hold-secret" and value not in json.dumps(body)
    store = Path(nj.publications_path)
    assert not any(p.name == "notebook.ipynb" for p in store.rglob("*"))
    # Without the results the notebook itself is clean and is published.
    edition = await publish(jp_fetch, "export.ipynb", {"results": False})
    assert edition["results"] == 0


async def test_the_page_names_the_environment_and_offers_the_results(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, http_server_client: Any
) -> None:
    results = jp_root_dir / "study.results"
    results.mkdir()
    (results / "table.csv").write_text("a,b\n1,2\n")
    nb = titled_notebook("with-results")
    nb["metadata"]["nj"] = {
        "runtimes": {
            "main": {"environment": "python", "version": "sha256:3f2a9c", "backend": "local"}
        }
    }
    await save_notebook(jp_fetch, "study.ipynb", nb)
    await flush(jp_serverapp)
    edition = await publish(jp_fetch, "study.ipynb")
    assert edition["results"] == 1
    assert edition["environments"][0]["name"] == "python"
    text = (await stranger(http_server_client, edition["url"])).body.decode()
    assert "Runtime <strong>main</strong>" in text and "jupyter nj env import" in text
    assert "results (1 files)" in text
    archive = await stranger(http_server_client, edition["url"] + "/results.zip")
    assert archive.code == 200
    with zipfile.ZipFile(io.BytesIO(archive.body)) as zipped:
        assert zipped.read("table.csv") == b"a,b\n1,2\n"
    # Only the files an edition offers are served.
    assert (await stranger(http_server_client, edition["url"] + "/edition.json")).code == 404
    assert (await stranger(http_server_client, edition["url"] + "/page.html")).code == 404

    # Without results, none are published.
    bare = await publish(jp_fetch, "study.ipynb", {"results": False, "slug": "bare"})
    assert bare["results"] == 0
    assert (await stranger(http_server_client, bare["url"] + "/results.zip")).code == 404


async def test_a_published_page_is_remixed_by_its_author_and_by_another_user(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    results = jp_root_dir / "orig.results"
    results.mkdir()
    (results / "data.csv").write_text("x\n1\n")
    await save_notebook(jp_fetch, "orig.ipynb", titled_notebook("published-state"))
    await flush(jp_serverapp)
    edition = await publish(jp_fetch, "orig.ipynb")
    await save_notebook(jp_fetch, "orig.ipynb", titled_notebook("edited-after"))
    await flush(jp_serverapp)
    remix_url = edition["url"].removeprefix("/a%40b/").split("/")

    async def remix(user: str, body: Any) -> Any:
        response = await jp_fetch(
            *remix_url,
            "remix",
            method="POST",
            body=json.dumps(body),
            headers={**as_user(user), "Content-Type": "application/json"},
        )
        assert response.code == 201
        return json.loads(response.body)

    # bob's copy comes from the publication: the published state, attributed to ann.
    theirs = await remix("bob", {"to": "bobs.ipynb"})
    copied = json.loads((jp_root_dir / "bobs.ipynb").read_text())
    assert "published-state" in json.dumps(copied) and "edited-after" not in json.dumps(copied)
    origin = copied["metadata"]["nj"]["remix"]
    assert origin["from"]["authors"] == ["ann"] and origin["publication"].endswith("/1")
    assert (jp_root_dir / "bobs.results" / "data.csv").read_text() == "x\n1\n"
    assert theirs["path"] == "bobs.ipynb"

    # ann's own copy is a remix of the version in her history: it starts from that version.
    mine = await remix("ann", {"to": "annes.ipynb"})
    assert mine["from"]["version"] == edition["version"]
    remixed_history = await history(jp_fetch, "annes.ipynb")
    assert any(v.get("before_remix") for v in remixed_history["versions"])
    assert "published-state" in (jp_root_dir / "annes.ipynb").read_text()

    # The original and the publication stay as they were.
    assert "edited-after" in (jp_root_dir / "orig.ipynb").read_text()
    taken = await expect_error(
        jp_fetch(
            *remix_url,
            "remix",
            method="POST",
            body=json.dumps({"to": "bobs.ipynb"}),
            headers={**as_user("bob"), "Content-Type": "application/json"},
        ),
        409,
    )
    assert taken["reason"] == "exists"


async def test_publish_access_authenticated_asks_strangers_to_log_in(
    jp_fetch: Any, jp_serverapp: Any, http_server_client: Any
) -> None:
    await save_notebook(jp_fetch, "inside.ipynb", titled_notebook("members-only"))
    await flush(jp_serverapp)
    edition = await publish(jp_fetch, "inside.ipynb")
    # The trait is read at each request (as `c.NJApp.publish_access = "authenticated"` sets it).
    jp_serverapp.web_app.settings["nj_app"].publish_access = "authenticated"
    for url in (edition["url"], edition["latest"], edition["url"] + "/notebook.ipynb"):
        refused = await stranger(http_server_client, url)
        assert refused.code == 302 and "/login?next=" in refused.headers["Location"], url
    page = await jp_fetch(
        *edition["url"].removeprefix("/a%40b/").split("/"), headers=as_user("bob")
    )
    assert page.code == 200 and "members-only" in page.body.decode()
    assert page.headers["Cache-Control"].startswith("private")


def test_the_command_line_publishes_lists_and_unpublishes(
    jp_root_dir: Path, capsys: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    import nbformat

    # The user's publication store is under their Jupyter data folder: a fresh one here.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# From the shell")]
    nbformat.write(nb, str(jp_root_dir / "cli.ipynb"))
    root = ["--root-dir", str(jp_root_dir)]
    assert main([*root, "publish", "cli.ipynb", "--json"]) == 0
    edition = json.loads(capsys.readouterr().out)
    assert edition["url"].endswith(f"/nj/p/{quote(edition['owner'], safe='')}/from-the-shell/1")
    assert main([*root, "publications", "list"]) == 0
    assert "from-the-shell/1" in capsys.readouterr().out
    owner = edition["owner"]
    assert main([*root, "publications", "unpublish", f"{owner}/from-the-shell/1"]) == 0
    assert "410" in capsys.readouterr().out
    assert main([*root, "publish", "cli.ipynb", "--slug", "Bad Slug"]) == 2
    assert "slug" in capsys.readouterr().err
    assert (tmp_path / "data" / "nj" / "publications").is_dir()


async def test_the_pages_service_serves_the_store_on_its_own(
    jp_fetch: Any, jp_serverapp: Any, tmp_path: Path
) -> None:
    """A process of its own, over the same store: pages answer without the author's server,
    and an edition the author's server unpublishes is gone from it at the next request."""
    import asyncio

    import requests

    await save_notebook(jp_fetch, "svc.ipynb", titled_notebook("served-elsewhere"))
    await flush(jp_serverapp)
    # As under JupyterHub: URLs name the service, Remix goes to the reader's own server.
    nj = jp_serverapp.web_app.settings["nj_app"]
    nj.publish_base_url = "/services/nj-pages/"
    nj.sharing_manager.publishing.remix_url = (
        "/hub/user-redirect/nj/p/{owner}/{slug}/{number}/remix"
    )
    edition = await publish(jp_fetch, "svc.ipynb", {"slug": "elsewhere"})
    assert edition["url"] == "/services/nj-pages/nj/p/ann/elsewhere/1"
    assert edition["latest"] == "/services/nj-pages/nj/p/ann/elsewhere"
    async with pages_service(nj.publications_path) as base:
        url = base.removesuffix("/services/nj-pages") + edition["url"]
        page = await asyncio.to_thread(requests.get, url, timeout=10)
        assert page.status_code == 200 and "served-elsewhere" in page.text
        assert "href='/hub/user-redirect/nj/p/ann/elsewhere/1/remix'" in page.text
        assert page.headers["Content-Security-Policy"].startswith("sandbox allow-downloads;")
        latest = await asyncio.to_thread(
            requests.get, base + "/nj/p/ann/elsewhere", allow_redirects=False, timeout=10
        )
        assert latest.status_code == 302
        assert latest.headers["Location"] == "/services/nj-pages/nj/p/ann/elsewhere/1"
        nb = await asyncio.to_thread(requests.get, url + "/notebook.ipynb", timeout=10)
        assert nb.status_code == 200 and "served-elsewhere" in nb.text

        await jp_fetch(
            "nj",
            "api",
            "publications",
            "ann",
            "elsewhere",
            "1",
            method="DELETE",
            headers=as_user("ann"),
        )
        gone = await asyncio.to_thread(requests.get, url, timeout=10)
        assert gone.status_code == 410
        missing = await asyncio.to_thread(requests.get, base + "/nj/p/ann/nothing/1", timeout=10)
        assert missing.status_code == 404
        # Without --drafts-dir the service has no draft route.
        draft = await asyncio.to_thread(requests.get, base + "/nj/l/" + "A" * 32, timeout=10)
        assert draft.status_code == 404


async def test_an_oversized_version_is_refused_and_nothing_is_published(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    await save_notebook(jp_fetch, "big.ipynb", titled_notebook("x" * 4000))
    await flush(jp_serverapp)
    nj = jp_serverapp.web_app.settings["nj_app"]
    nj.sharing_manager.publishing.max_size = 1000  # as NJApp.publish_max_size = 1000 sets it
    body = await expect_error(
        jp_fetch(
            "nj", "api", "publish", "big.ipynb", method="POST", body="{}", headers=as_user("ann")
        ),
        413,
    )
    assert body["reason"] == "too-large" and "publish_max_size" in body["message"]
    assert not any(p.name == "edition.json" for p in Path(nj.publications_path).rglob("*"))
