"""Vault down: the API answers with a clear 503, and a runtime still starts, without secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..services import free_loopback_port


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True},
            "allow_unauthenticated_access": False,
        },
        "NJApp": {
            "secrets_backend": "vault",
            "vault_url": f"http://127.0.0.1:{free_loopback_port()}",
            "vault_token": "nj-unused-token-1234",
            "vault_timeout": 2,
        },
    }


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
    manager = jp_serverapp.web_app.settings["nj_app"].secrets_manager
    runtime = await manager.runtime_environment("nb.ipynb", "someone")
    assert runtime.attached == ["KEY"]
    assert runtime.injected == []
    assert runtime.skipped == {"KEY": "vault-unreachable"}
    assert runtime.env["NJ_SECRETS_TOKEN"]
