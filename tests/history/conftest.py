"""History test fixtures: a real server with file ids, notebooks to save, and store helpers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from ..services import fsck_is_clean, git_fsck

__all__ = ["fsck_is_clean", "git_fsck"]


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {
                "jupyter_nj": True,
                "jupyter_server_fileid": True,
                "nbdime": True,
            },
            "allow_unauthenticated_access": False,
        },
        # Every save is a version: the tests check each one.
        "NJApp": {"history_quiet_period": 0.0, "history_diff_executor": "thread"},
    }


def make_notebook(marker: str = "", cells: int = 3, image: bool = False) -> dict[str, Any]:
    """A small valid nbformat 4.5 notebook whose first cell's source carries `marker`."""
    nb = new_notebook()
    for i in range(cells):
        outputs = [new_output("stream", name="stdout", text=f"out {i}\n")]
        if image and i == 0:
            outputs.append(new_output("display_data", data={"image/png": "iVBORw0KGgo=" * 50}))
        cell = new_code_cell(
            source=f"print({i})  # {marker}" if i == 0 else f"x = {i}",
            outputs=outputs,
            execution_count=i + 1,
        )
        cell["id"] = f"cell-{i}"
        nb.cells.append(cell)
    md = new_markdown_cell("# notes")
    md["id"] = "md-0"
    nb.cells.append(md)
    return json.loads(json.dumps(nb))


def nj_app(serverapp: Any) -> Any:
    apps = serverapp.extension_manager.extension_apps["jupyter_nj"]
    return next(iter(apps))


def history_manager(serverapp: Any) -> Any:
    return nj_app(serverapp).history_manager


async def flush(serverapp: Any) -> None:
    """Wait until every save so far is written as a version."""
    await asyncio.wrap_future(history_manager(serverapp).recorder.flush())


async def save_notebook(jp_fetch: Any, path: str, nb: dict[str, Any]) -> Any:
    body = json.dumps({"type": "notebook", "format": "json", "content": nb})
    return await jp_fetch("api", "contents", path, method="PUT", body=body)


async def save_text(jp_fetch: Any, path: str, text: str, fmt: str = "text") -> Any:
    body = json.dumps({"type": "file", "format": fmt, "content": text})
    return await jp_fetch("api", "contents", path, method="PUT", body=body)


async def get_json(jp_fetch: Any, *parts: str, **params: Any) -> Any:
    response = await jp_fetch(*parts, params=params or None)
    return json.loads(response.body)


async def history(jp_fetch: Any, path: str, **params: Any) -> Any:
    return await get_json(jp_fetch, "nj", "api", "history", path, **params)


async def post_history(jp_fetch: Any, path: str, body: Any) -> Any:
    response = await jp_fetch("nj", "api", "history", path, method="POST", body=json.dumps(body))
    return json.loads(response.body)


def first_source(nb: dict[str, Any]) -> str:
    source = nb["cells"][0]["source"]
    return "".join(source) if isinstance(source, list) else source


def nbdime_patch(base: Any, diff: list[Any]) -> Any:
    """Apply a diff that came back as JSON with nbdime's own patch."""
    from nbdime import patch

    from jupyter_nj.history.diff import to_diff_entries

    return patch(base, to_diff_entries(diff))
