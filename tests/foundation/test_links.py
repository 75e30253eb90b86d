"""The server never reads or writes through a link that leads out of its root.

Runtimes can plant links in every folder they write; jupyter_server alone would follow them.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_nj.links import open_inside


def notebook_text(marker: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(marker))
    return nbformat.writes(nb)


@pytest.fixture
def outside(jp_root_dir: Path) -> Path:
    """A folder beside the root (where a user's config or keys would be), with a notebook."""
    folder = jp_root_dir.parent / "outside"
    folder.mkdir(exist_ok=True)
    (folder / "private.ipynb").write_text(notebook_text("private"))
    return folder


@pytest.fixture
def planted(jp_root_dir: Path, outside: Path) -> Path:
    """What a runtime could leave in the root: a link to a file and one to a folder outside."""
    os.symlink(outside / "private.ipynb", jp_root_dir / "escape.ipynb")
    os.symlink(outside, jp_root_dir / "escape-dir")
    (jp_root_dir / "real.ipynb").write_text(notebook_text("real"))
    os.symlink(jp_root_dir / "real.ipynb", jp_root_dir / "inner-link.ipynb")
    return jp_root_dir


async def status_of(jp_fetch: Any, *path: str, **kwargs: Any) -> int:
    try:
        response = await jp_fetch(*path, **kwargs)
    except HTTPClientError as err:
        return int(err.code)
    return int(response.code)


async def test_reads_and_writes_through_links_out_of_the_root_are_refused(
    jp_fetch: Any, planted: Path, outside: Path
) -> None:
    before = (outside / "private.ipynb").read_text()
    for path in ("escape.ipynb", "escape-dir/private.ipynb"):
        assert await status_of(jp_fetch, "api", "contents", path) == 403, path
        body = json.dumps(
            {"type": "notebook", "format": "json", "content": json.loads(notebook_text("x"))}
        )
        assert await status_of(jp_fetch, "api", "contents", path, method="PUT", body=body) == 403
    assert (outside / "private.ipynb").read_text() == before
    # The message says what happened and what to do.
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("api", "contents", "escape.ipynb")
    assert "link" in json.loads(refused.value.response.body)["message"]
    # One planted link does not break the folder's listing, and links inside the root work.
    listing = json.loads((await jp_fetch("api", "contents", "")).body)
    assert {"escape.ipynb", "real.ipynb", "inner-link.ipynb"} <= {
        item["name"] for item in listing["content"]
    }
    assert await status_of(jp_fetch, "api", "contents", "inner-link.ipynb") == 200


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: pytest.FixtureRequest) -> Any:
    follow = getattr(request, "param", False)
    return {**jp_server_config, "NJApp": {"follow_links_out_of_root": follow}}


@pytest.mark.parametrize("jp_server_config", [True], indirect=True)
async def test_an_operator_can_let_the_server_follow_links(
    jp_fetch: Any, planted: Path, jp_server_config: Any
) -> None:
    assert await status_of(jp_fetch, "api", "contents", "escape.ipynb") == 200


def read_inside(root: str, path: str) -> bytes:
    with os.fdopen(open_inside(root, path), "rb") as handle:
        return handle.read()


def test_open_inside_follows_no_link_on_the_way(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "nb.ipynb").write_text("mine")
    secret = tmp_path / "secret"
    secret.write_text("not yours")
    os.symlink(secret, root / "sub" / "link.ipynb")
    os.symlink(tmp_path, root / "parent-link")
    os.mkfifo(root / "pipe")

    assert read_inside(str(root), str(root / "sub" / "nb.ipynb")) == b"mine"
    cases = {
        root / "sub" / "link.ipynb": errno.ELOOP,  # a file swapped for a link
        root / "parent-link" / "secret": errno.ELOOP,  # a folder swapped for a link
        root / "pipe": errno.EINVAL,  # would block the reader
        secret: errno.EXDEV,  # not below the root at all
    }
    for path, expected in cases.items():
        with pytest.raises(OSError) as refused:
            read_inside(str(root), str(path))
        assert refused.value.errno in {expected, errno.ENOTDIR}, path
