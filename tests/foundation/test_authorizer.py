"""An operator's Authorizer decides every jupyter-nj request, per pillar and per action.

jupyter_server hands `is_authorized(handler, user, action, resource)` to the configured
Authorizer (JupyterHub's scopes and read-only deployments plug in there). jupyter-nj's handlers
name one resource per pillar (`nj:compute`, `nj:gpus`, `nj:history`, `nj:runtimes`, `nj:secrets`,
`nj:sharing`, `nj:status`) and the verb's action (GET reads; POST, PUT and DELETE write).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

from ..history.conftest import flush, history, make_notebook, post_history, save_notebook
from .test_auth import PUBLIC_PAGES, handled_verbs, nj_routes

NJ_RESOURCES = {
    "nj:compute",
    "nj:gpus",
    "nj:history",
    "nj:runtimes",
    "nj:secrets",
    "nj:sharing",
    "nj:status",
}
VERB_ACTION = {"GET": "read", "POST": "write", "PUT": "write", "PATCH": "write", "DELETE": "write"}


class DenyHistoryWrites(Authorizer):
    """A site where everyone may read history but nobody may restore or label."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "nj:history" and action == "write")


class DenyJupyterNJ(Authorizer):
    """Refuses every jupyter-nj resource, and notes what each request asked for."""

    asked: ClassVar[list[tuple[str, str, str]]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if not resource.startswith("nj"):
            return True
        DenyJupyterNJ.asked.append((handler.request.method, action, resource))
        return False


def server_config(authorizer: type[Authorizer]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True, "jupyter_server_fileid": True},
            "allow_unauthenticated_access": False,
            "authorizer_class": authorizer,
        },
        "NJApp": {"history_quiet_period": 0.0, "history_diff_executor": "thread"},
    }


async def status_of(call: Any) -> int:
    try:
        response = await call
    except HTTPClientError as err:
        return err.code
    return int(response.code)


@pytest.mark.parametrize("jp_server_config", [server_config(DenyHistoryWrites)])
async def test_a_read_only_history_user_reads_but_cannot_restore_or_label(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    for marker in ("one", "two"):
        await save_notebook(jp_fetch, "nb.ipynb", make_notebook(marker))
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "nb.ipynb"))["versions"]
    assert len(versions) == 2
    oldest = versions[-1]["id"]
    # Reads still work: one version and a diff.
    assert (await history(jp_fetch, "nb.ipynb", version=oldest))["content"]["cells"]
    assert "diff" in await history(jp_fetch, "nb.ipynb", diff=f"{oldest}..{versions[0]['id']}")

    for body in ({"restore": oldest}, {"label": "kept", "version": oldest}):
        with pytest.raises(HTTPClientError) as refused:
            await post_history(jp_fetch, "nb.ipynb", body)
        assert refused.value.code == 403
        assert refused.value.response is not None
        answer = json.loads(refused.value.response.body)
        assert "nj:history" in answer["message"]
    # Nothing was restored or labelled.
    after = (await history(jp_fetch, "nb.ipynb"))["versions"]
    assert [v["id"] for v in after] == [v["id"] for v in versions]
    assert all(not v["label"] for v in after)


@pytest.mark.parametrize("jp_server_config", [server_config(DenyJupyterNJ)])
async def test_an_authorizer_that_refuses_jupyter_nj_gets_403_on_every_route(
    jp_fetch: Any, jp_serverapp: Any, http_server_client: Any
) -> None:
    DenyJupyterNJ.asked.clear()
    token = jp_serverapp.identity_provider.token
    headers = {"Authorization": f"token {token}"}
    routes = nj_routes(jp_serverapp)
    calls = 0
    for path, handler in routes:
        if handler.__name__ in PUBLIC_PAGES:
            continue  # no login, so no user for an Authorizer to ask about (test_auth.py)
        for verb in handled_verbs(handler):
            body = "{}" if verb in {"POST", "PUT", "PATCH"} else None
            code = await status_of(
                http_server_client.fetch(
                    path, method=verb, body=body, headers=headers, allow_nonstandard_methods=True
                )
            )
            assert code == 403, f"{verb} {path} ({handler.__name__}) answered {code}"
            calls += 1
    # Every call reached the Authorizer with the resource of its pillar and the verb's action.
    assert len(DenyJupyterNJ.asked) == calls
    assert {resource for _, _, resource in DenyJupyterNJ.asked} == NJ_RESOURCES
    for method, action, _ in DenyJupyterNJ.asked:
        assert action == VERB_ACTION[method]
    # The server's own routes are not affected.
    assert (await jp_fetch("api", "contents")).code == 200
