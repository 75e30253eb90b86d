"""Vault down: the API answers with a clear 503, and a runtime still starts, without secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..conftest import nj_server_config
from ..runtimes.conftest import start_session_kernel, write_mini_definition
from ..services import free_loopback_port


@pytest.fixture
def jp_server_config(tmp_path: Path) -> dict[str, Any]:
    definitions = tmp_path / "definitions"
    write_mini_definition(definitions)
    return nj_server_config(
        {
            "secrets_backend": "vault",
            "vault_url": f"http://127.0.0.1:{free_loopback_port()}",
            "vault_token": "nj-unused-token-1234",
            "vault_timeout": 2,
            "nj_dir": str(tmp_path / "nj"),
            "environment_paths": [str(definitions)],
            "runtime_backend": "local",
        }
    )


async def test_unreachable_vault_is_a_clear_503_and_runtimes_still_start(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    for method, body in (("GET", None), ("PUT", json.dumps({"value": "never-stored-value"}))):
        parts = ("nj", "api", "secrets") if method == "GET" else ("nj", "api", "secrets", "KEY")
        with pytest.raises(HTTPClientError) as caught:
            await jp_fetch(*parts, method=method, body=body)
        assert caught.value.code == 503
        assert caught.value.response is not None
        error = json.loads(caught.value.response.body)
        assert error["reason"] == "vault-unreachable"
        assert "not reachable" in error["message"]
        assert "never-stored-value" not in error["message"]
        assert "nj-unused-token-1234" not in error["message"]

    # A notebook that attaches a secret still gets a runtime, with the reason it has no secrets.
    notebook = {
        "type": "notebook",
        "content": {
            "cells": [],
            "metadata": {"nj": {"secrets": ["KEY"]}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
    }
    await jp_fetch("api", "contents", "nb.ipynb", method="PUT", body=json.dumps(notebook))
    await jp_fetch("nj", "api", "environments", "mini", "build", method="POST", body=json.dumps({}))
    session = await start_session_kernel(jp_fetch, jp_serverapp, "nb.ipynb", "nj-mini")
    try:
        status, out, ename = await session.run(
            "import os\n"
            "from jupyter_nj import secrets\n"
            "print('KEY' in os.environ)\n"
            "try:\n"
            "    secrets.get('KEY')\n"
            "except secrets.SecretsUnavailableError as err:\n"
            "    print('unavailable', err.reason)\n"
            "print('ran', 6 * 7)\n"
        )
    finally:
        await session.shutdown()
    assert (status, ename) == ("ok", ""), out
    assert out.split() == ["False", "unavailable", "vault-unreachable", "ran", "42"], out
    assert "nj-unused-token-1234" not in out
