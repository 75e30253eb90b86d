"""A sealed Vault and a token Vault rejects, seen through REST: a clear JSON answer that says what
to do and never quotes the server's token."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import hvac
import pytest
from tornado.httpclient import HTTPClientError

from ..conftest import nj_server_config
from ..services import OpenBaoServer, service_missing, start_openbao_dev_server

pytestmark = pytest.mark.openbao


def server_config(url: str, token: str) -> dict[str, Any]:
    return nj_server_config(
        {
            "secrets_backend": "vault",
            "vault_url": url,
            "vault_token": token,
            "vault_path_prefix": f"nj-tests/{uuid.uuid4().hex[:12]}",
            "vault_timeout": 5,
        }
    )


async def secrets_calls_fail_with(jp_fetch: Any, reason: str, *never: str) -> list[str]:
    """Every secrets verb answers a JSON 503 with `reason`; returns the messages."""
    calls = [
        ("GET", ("nj", "api", "secrets"), None),
        ("GET", ("nj", "api", "secrets", "KEY"), None),
        ("PUT", ("nj", "api", "secrets", "KEY"), json.dumps({"value": "never-stored-value"})),
        ("DELETE", ("nj", "api", "secrets", "KEY"), None),
    ]
    messages = []
    for method, parts, body in calls:
        with pytest.raises(HTTPClientError) as caught:
            await jp_fetch(*parts, method=method, body=body)
        response = caught.value.response
        assert response is not None
        # 503: the caller did nothing wrong, and the same call works once the operator fixes it.
        assert caught.value.code == 503, (method, parts, caught.value.code)
        error = json.loads(response.body)
        assert set(error) == {"message", "reason"}, error
        assert error["reason"] == reason, (method, parts, error)
        text = response.body.decode()
        for secret in ("never-stored-value", *never):
            assert secret not in text
        messages.append(error["message"])
    return messages


class TestRejectedToken:
    WRONG_TOKEN = f"nj-wrong-token-{uuid.uuid4().hex}"

    @pytest.fixture
    def jp_server_config(self, openbao: OpenBaoServer) -> dict[str, Any]:
        return server_config(openbao.url, self.WRONG_TOKEN)

    async def test_every_secrets_call_says_the_token_was_refused(
        self, jp_fetch: Any, openbao: OpenBaoServer
    ) -> None:
        for message in await secrets_calls_fail_with(
            jp_fetch, "vault-token-rejected", self.WRONG_TOKEN, openbao.token
        ):
            assert "refused the server's credentials" in message
            assert "NJApp.vault_token" in message


@pytest.fixture
def dedicated_openbao() -> Iterator[OpenBaoServer]:
    """An OpenBao server of this test's own, which it may seal: the session's server stays up."""
    try:
        server = start_openbao_dev_server()
    except Exception as err:
        service_missing("a second OpenBao dev server", str(err))
    yield server
    server.stop()


class TestSealedVault:
    @pytest.fixture
    def jp_server_config(self, dedicated_openbao: OpenBaoServer) -> dict[str, Any]:
        return server_config(dedicated_openbao.url, dedicated_openbao.token)

    async def test_every_secrets_call_says_vault_is_sealed(
        self, jp_fetch: Any, dedicated_openbao: OpenBaoServer
    ) -> None:
        body = json.dumps({"value": "stored-before-the-seal"})
        await jp_fetch("nj", "api", "secrets", "BEFORE", method="PUT", body=body)
        client = hvac.Client(url=dedicated_openbao.url, token=dedicated_openbao.token)
        try:
            client.sys.seal()
            assert client.sys.read_seal_status()["sealed"] is True
        finally:
            client.adapter.close()
        for message in await secrets_calls_fail_with(
            jp_fetch, "vault-sealed", dedicated_openbao.token, "stored-before-the-seal"
        ):
            assert "is sealed" in message and "unseal" in message
