"""Names the operating system refuses get a clear 4xx on every jupyter-nj route, never a 500.

Like the auth sweep, the routes are read from the running server, so a route added later is swept
too. Every captured part of every route (a file path, a secret name, a kernel id) is replaced by
each bad name, and every verb the handler serves is called with credentials, plainly and with the
query parameters the history routes read.
"""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import HTTPClientError

from .test_auth import XSRF, handled_verbs, nj_routes

BAD_NAMES = {
    "too long": "a" * 5000 + ".ipynb",  # far past NAME_MAX (255 bytes) and PATH_MAX
    "too long, nested": "/".join(["d" * 200] * 30) + "/nb.ipynb",
    "NUL": "bad%00name.ipynb",
    "invalid UTF-8": "bad%FF%FEname.ipynb",
    "lone surrogate": "bad%ED%A0%80name.ipynb",
}
QUERIES = ["", "?version=0123456789abcdef", "?diff=0123456789abcdef..current"]
BODIES = {
    "HistoryHandler": {"restore": "0123456789abcdef"},
    "SecretAttachmentsHandler": {"secrets": []},
}


async def test_every_route_answers_names_the_os_refuses_with_a_clear_4xx(
    jp_serverapp: Any, http_server_client: Any, jp_auth_header: dict[str, str]
) -> None:
    routes = [(path, handler) for path, handler in nj_routes(jp_serverapp) if "sample" in path]
    names = {handler.__name__ for _, handler in routes}
    assert {"HistoryHandler", "SecretAttachmentsHandler"} <= names, names
    answered: list[str] = []
    for template, handler in routes:
        for what, name in BAD_NAMES.items():
            for verb in handled_verbs(handler):
                for query in QUERIES if verb == "GET" else [""]:
                    url = template.replace("sample", name) + query
                    body = json.dumps(BODIES.get(handler.__name__, {}))
                    try:
                        response = await http_server_client.fetch(
                            url,
                            method=verb,
                            body=body if verb in {"POST", "PUT", "PATCH"} else None,
                            headers={**jp_auth_header, **XSRF},
                            allow_nonstandard_methods=True,
                            raise_error=True,
                        )
                        code, text = response.code, response.body
                    except HTTPClientError as err:
                        assert err.response is not None
                        code, text = err.code, err.response.body
                    where = f"{verb} {handler.__name__} {what}{query}"
                    assert 400 <= code < 500, f"{where} answered {code}: {text[:300]!r}"
                    if text.startswith(b"{"):
                        error = json.loads(text)
                        assert error.get("message"), where
                    answered.append(where)
    assert len(answered) >= len(routes) * len(BAD_NAMES)
