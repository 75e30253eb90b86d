"""A notebook's other runtimes get its attached secrets like its own kernel does, and what they
print reaches the browser redacted: their messages take the same websocket path (routing.py is
wrapped by the secrets pillar's redaction)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ..conftest import nj_server_config
from ..secrets.conftest import nj_config_for
from .test_routing import open_work_notebook

VALUE = "sk_live_" + uuid.uuid4().hex[:16]


@pytest.fixture
def jp_server_config(request: Any, tmp_path: Path, nj_config: dict[str, Any]) -> dict[str, Any]:
    return nj_server_config({**nj_config, **nj_config_for("local", request, tmp_path)})


async def test_other_runtimes_get_the_notebooks_secrets_and_their_output_is_redacted(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any
) -> None:
    fetch, ws_fetch = jp_fetch, jp_ws_fetch
    await fetch(
        "nj", "api", "secrets", "API_TOKEN", method="PUT", body=json.dumps({"value": VALUE})
    )
    async with open_work_notebook(
        fetch,
        ws_fetch,
        jp_serverapp,
        jp_root_dir,
        nj_app,
        "v1.kernel.websocket.jupyter.org",
        secrets=["API_TOKEN"],
    ) as nb:
        main = await nb.run("import os; print(os.environ.get('API_TOKEN', 'missing'))")
        python = await nb.run("import os; print(os.environ.get('API_TOKEN', 'missing'))", "py2")
        bash = await nb.run('echo "${API_TOKEN:-missing}"', "sh")
        for answer in (main, python, bash):
            assert answer["status"] == "ok", answer
            assert VALUE not in json.dumps(nb.messages), "a runtime's output reached the browser"
            assert answer["out"].strip() == "[secret API_TOKEN]", answer
