"""Every jupyter-nj route refuses a request that carries no credentials.

The routes are read from the running server, not listed by hand, so a handler added later is
covered without anyone remembering to add it here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def all_rules(router: Any) -> list[Any]:
    """Every leaf rule under a tornado router (extensions add host-matching sub-routers)."""
    rules = []
    for rule in getattr(router, "rules", []):
        if hasattr(rule.target, "rules"):
            rules.extend(all_rules(rule.target))
        else:
            rules.append(rule)
    return rules


def nj_routes(serverapp: Any) -> list[tuple[str, type]]:
    """(sample URL path, handler class) for every route that a jupyter_nj module registered."""
    routes = []
    for rule in all_rules(serverapp.web_app.default_router):
        handler = rule.target
        if not isinstance(handler, type) or not handler.__module__.startswith("jupyter_nj"):
            continue
        pattern = rule.matcher.regex.pattern.rstrip("$")
        # Fill every capture group with a harmless sample value.
        sample = re.sub(r"\((?:\?P<\w+>)?[^()]*\)", "sample", pattern)
        routes.append((sample.replace("\\", ""), handler))
    return routes


def handled_verbs(handler: type) -> list[str]:
    from jupyter_server.base.handlers import APIHandler

    return [
        verb
        for verb in VERBS
        if getattr(handler, verb.lower(), None) is not getattr(APIHandler, verb.lower(), None)
    ]


@pytest.fixture(params=[False, True], ids=["global-guard-on", "global-guard-off"])
def jp_server_config(request: Any) -> dict[str, Any]:
    # With allow_unauthenticated_access=True the server's global guard is off, so the second run
    # proves that every verb carries its own @web.authenticated.
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True},
            "allow_unauthenticated_access": request.param,
        }
    }


# The only jupyter-nj routes that answer without a login (the token in the URL is the
# credential), with where they live under /nj/. Any other route answering is a failure.
PUBLIC_PAGES = {
    "DraftPageHandler": "l/",
    "PublishedLatestHandler": "p/",
    "PublishedEditionHandler": "p/",
    "PublishedFileHandler": "p/",
}
# Pages (not API routes) that need a login: a GET without one is sent to the login page, like
# any Jupyter page; every other verb is refused.
LOGIN_PAGES = {"PublicationRemixHandler": "p/"}

# jupyter_server checks XSRF before authentication: without a matching cookie and header an
# unauthenticated POST/PUT/DELETE is refused by XSRF whatever the handler does. Sending a
# matching pair lets the request reach the handler's own @web.authenticated.
XSRF = {"Cookie": "_xsrf=6e6a2d78737266", "X-XSRFToken": "6e6a2d78737266"}


async def call_without_credentials(http_server_client: Any, path: str, verb: str) -> int:
    body = "{}" if verb in {"POST", "PUT", "PATCH"} else None
    try:
        response = await http_server_client.fetch(
            path,
            method=verb,
            body=body,
            headers=XSRF,
            follow_redirects=False,
            raise_error=True,
            allow_nonstandard_methods=True,
        )
    except HTTPClientError as err:
        return err.code
    return int(response.code)


async def test_every_nj_route_refuses_requests_without_credentials(
    jp_serverapp: Any, http_server_client: Any
) -> None:
    routes = nj_routes(jp_serverapp)
    assert routes, "jupyter_nj registered no routes: is the extension loaded?"
    checked: set[str] = set()
    public: set[str] = set()
    for path, handler in routes:
        verbs = handled_verbs(handler)
        assert verbs, f"{handler.__name__} handles no HTTP verb"
        if handler.__name__ in PUBLIC_PAGES:
            # Reachable without a login on purpose, and only for reading.
            assert verbs == ["GET"], f"{handler.__name__} answers {verbs}"
            assert path.split("/nj/", 1)[1].startswith(PUBLIC_PAGES[handler.__name__]), path
            code = await call_without_credentials(http_server_client, path, "GET")
            assert code == 404, f"{path} answered {code} for a token that does not exist"
            public.add(handler.__name__)
            continue
        if handler.__name__ in LOGIN_PAGES:
            assert path.split("/nj/", 1)[1].startswith(LOGIN_PAGES[handler.__name__]), path
            response = await http_server_client.fetch(
                path, follow_redirects=False, raise_error=False
            )
            assert response.code == 302, f"GET {path} answered {response.code} without login"
            assert "/login?next=" in response.headers["Location"], response.headers["Location"]
            for verb in (v for v in verbs if v != "GET"):
                code = await call_without_credentials(http_server_client, path, verb)
                assert code == 403, f"{verb} {path} answered {code} without credentials"
            checked.add(handler.__name__)
            continue
        for verb in verbs:
            code = await call_without_credentials(http_server_client, path, verb)
            assert code == 403, (
                f"{verb} {path} ({handler.__name__}) answered {code} without credentials"
            )
            checked.add(handler.__name__)
    assert public == set(PUBLIC_PAGES), "a public page is not registered, or not found"
    # The discovery found the routes of every pillar (a broken discovery would check nothing).
    assert {
        "StatusHandler",
        "HistoryHandler",
        "SecretHandler",
        "EnvironmentsHandler",
        "ImportHandler",
        "ExportHandler",
        "LinksHandler",
        "LinkHandler",
        "PublishHandler",
        "PublicationsHandler",
        "PublicationHandler",
        "PublicationRemixHandler",
    } <= checked


async def test_status_answers_with_credentials(jp_fetch: Any) -> None:
    # The counterpart of the test above: the same route works when the token is sent.
    response = await jp_fetch("nj", "api", "status")
    assert response.code == 200
