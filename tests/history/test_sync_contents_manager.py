"""A server with a synchronous contents manager: its saves are versioned, and it keeps its own
checkpoints (history's checkpoints are async, as jupyter_server's default contents manager is;
jupyter_server itself deprecates the synchronous ones)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jupyter_server.services.contents.filecheckpoints import FileCheckpoints

from .conftest import flush, history, make_notebook, save_notebook

pytestmark = pytest.mark.filterwarnings(
    "ignore:The synchronous ContentsManager classes are deprecated:DeprecationWarning"
)


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True, "jupyter_server_fileid": True},
            "allow_unauthenticated_access": False,
            "contents_manager_class": "jupyter_server.services.contents.filemanager."
            "FileContentsManager",
        },
        "NJApp": {"history_quiet_period": 0.0, "history_diff_executor": "thread"},
    }


async def test_saves_are_versioned_and_checkpoints_stay_the_managers_own(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    assert isinstance(jp_serverapp.contents_manager.checkpoints, FileCheckpoints)
    await save_notebook(jp_fetch, "s.ipynb", make_notebook("one"))
    created = json.loads(
        (await jp_fetch("api", "contents", "s.ipynb", "checkpoints", method="POST", body="")).body
    )
    assert created["id"] == "checkpoint"  # FileCheckpoints' one checkpoint per file
    await save_notebook(jp_fetch, "s.ipynb", make_notebook("two"))
    await flush(jp_serverapp)
    assert len((await history(jp_fetch, "s.ipynb"))["versions"]) == 2
