"""History's failure answers through REST, on the server's default `process` diff executor: a
store that cannot be opened is a 503 (and saves and runtimes keep working), a diff past its time
limit is a 504 (and the next diff still works)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..runtimes.conftest import start_session_kernel, write_mini_definition
from .conftest import flush, history, history_manager, make_notebook, save_notebook

EXTENSIONS = {"jupyter_nj": True, "jupyter_server_fileid": True, "nbdime": True}


def server_config(nj: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": EXTENSIONS, "allow_unauthenticated_access": False},
        # No `history_diff_executor`: the server's default (a worker process) is what is tested.
        "NJApp": {"history_quiet_period": 0.0, **nj},
    }


async def error_of(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as caught:
        await call
    assert caught.value.response is not None
    return caught.value.code, json.loads(caught.value.response.body)


class TestStoreThatCannotBeOpened:
    @pytest.fixture
    def jp_server_config(self, tmp_path: Path) -> dict[str, Any]:
        data = tmp_path / "nj-data"
        data.mkdir()
        # A plain file where the store's folder belongs: no store can be opened there.
        (data / "history.git").write_text("not a git repository\n")
        write_mini_definition(tmp_path / "definitions")
        return server_config(
            {
                "nj_dir": str(data),
                "environment_paths": [str(tmp_path / "definitions")],
                "runtime_backend": "local",
            }
        )

    async def test_every_history_call_is_a_clear_503_and_saves_and_runtimes_still_work(
        self, jp_fetch: Any, jp_serverapp: Any
    ) -> None:
        response = await save_notebook(jp_fetch, "nb.ipynb", make_notebook("one"))
        assert response.code in {200, 201}
        calls = [
            jp_fetch("nj", "api", "history", "nb.ipynb"),
            jp_fetch("nj", "api", "history", "nb.ipynb", params={"diff": "a..current"}),
            jp_fetch(
                "nj", "api", "history", "nb.ipynb", method="POST", body=json.dumps({"restore": "a"})
            ),
        ]
        for call in calls:
            code, error = await error_of(call)
            assert code == 503
            assert set(error) >= {"message", "reason"} and error["reason"] == "history-unavailable"
            assert "cannot be opened" in error["message"] and "NJApp.nj_dir" in error["message"]
        status = json.loads((await jp_fetch("nj", "api", "status")).body)
        assert status["version"]
        saved = await jp_fetch("api", "contents", "nb.ipynb")
        assert "one" in json.loads(saved.body)["content"]["cells"][0]["source"]

        # A runtime starts for the notebook and runs a cell, with no store to record into.
        await jp_fetch("nj", "api", "environments", "mini", "build", method="POST", body="{}")
        session = await start_session_kernel(jp_fetch, jp_serverapp, "nb.ipynb", "nj-mini")
        try:
            status, out, ename = await session.run("print('ran', 6 * 7)")
        finally:
            await session.shutdown()
        assert (status, ename, out.split()) == ("ok", "", ["ran", "42"])


class TestDiffPastItsTimeLimit:
    @pytest.fixture
    def jp_server_config(self) -> dict[str, Any]:
        # Far below what starting a worker process and diffing in it can take on any machine.
        return server_config({"history_diff_timeout": 0.001})

    async def test_diff_is_a_504_and_the_next_diff_still_works(
        self, jp_fetch: Any, jp_serverapp: Any
    ) -> None:
        manager = history_manager(jp_serverapp)
        assert manager.diffs.executor_kind == "process"
        for marker in ("one", "two"):
            await save_notebook(jp_fetch, "nb.ipynb", make_notebook(marker, cells=50))
            await flush(jp_serverapp)
        newer, older = (v["id"] for v in (await history(jp_fetch, "nb.ipynb"))["versions"])

        code, error = await error_of(
            jp_fetch("nj", "api", "history", "nb.ipynb", params={"diff": f"{older}..{newer}"})
        )
        assert code == 504 and error["reason"] == "diff-timeout"
        assert "was stopped" in error["message"] and "ignore_outputs=true" in error["message"]

        # The stopped worker is replaced: with room to finish, the same diff answers.
        manager.diffs.timeout = 120.0
        answer = await history(jp_fetch, "nb.ipynb", diff=f"{older}..{newer}")
        assert answer["diff"] and answer["base"]["cells"]
