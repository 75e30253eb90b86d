"""What every jupyter-nj handler shares: authentication, JSON errors and safe paths."""

from __future__ import annotations

import asyncio
import json
import os
from http.client import responses
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jupyter_server.base.handlers import APIHandler
from tornado import web


def nj_app_of(configurable: Any) -> Any:
    """The running NJApp, found from any object in the server's tree (a kernel provisioner, a
    kernel manager, the server app), or None outside a jupyter-nj server.

    jupyter_client creates kernel provisioners with no reference to server extensions; walking
    the `parent` chain up to the server app reaches the tornado settings, where NJApp is kept.
    """
    node = configurable
    for _ in range(16):  # provisioner -> kernel manager -> multi-kernel manager -> server app
        if node is None:
            return None
        web_app = getattr(node, "web_app", None)
        if web_app is not None:
            return web_app.settings.get("nj_app")
        node = getattr(node, "parent", None)
    return None


class NJError(web.HTTPError):
    """An error the caller can act on: carries the HTTP status, a reason code and advice.

    Managers raise it; as an `HTTPError`, tornado hands it to `NJHandler.write_error`, which
    writes `{"message", "reason"}` with the status. The message must never contain a secret
    value. (It is passed as an argument of the log format, so a `%` in it is kept as it is.)
    """

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(status, "%s", message, reason=reason)
        self.reason: str = reason
        self.message = message

    @property
    def status(self) -> int:
        return self.status_code

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:
        # Raised in the diff worker processes too: pickled as a plain NJError (subclasses take
        # other arguments), with everything the handler writes.
        return (NJError, (self.status_code, self.reason, self.message))


class PathOutsideRoot(NJError):
    def __init__(self, path: str) -> None:
        # Reported as "not found" so a caller cannot probe what exists outside the root.
        super().__init__(404, "not-found", f"No such file: {path!r}.")


def resolve_api_path(root: str | os.PathLike[str], api_path: str) -> Path:
    """Resolve an API path (relative to the server root) to an absolute path inside the root.

    Refuses absolute paths, `..`, encoded separators and symlinks that lead out of the root, by
    comparing fully resolved paths. Raises `PathOutsideRoot` (a 404) when the path leaves the root.
    """
    root_path = Path(root).resolve()
    decoded = unquote(api_path or "")
    if "\x00" in decoded or decoded.startswith(("/", "\\")) or os.path.isabs(decoded):
        raise PathOutsideRoot(api_path)
    _refuse_names_the_os_refuses(root_path, decoded.replace("\\", "/"))
    candidate = (root_path / decoded.replace("\\", "/")).resolve()
    if candidate != root_path and root_path not in candidate.parents:
        raise PathOutsideRoot(api_path)
    return candidate


def _refuse_names_the_os_refuses(root: Path, relative: str) -> None:
    """A 400 for a name the file system would refuse (too long, not encodable), checked before
    any file operation so it never surfaces later as an OSError (a 500). The name itself is not
    repeated in the message: it may be thousands of characters long."""
    try:
        encoded = os.fsencode(relative)
    except UnicodeEncodeError:
        raise NJError(
            400, "bad-path", "The path cannot be encoded for the file system: rename the file."
        ) from None
    name_max, path_max = _fs_limit(root, "PC_NAME_MAX", 255), _fs_limit(root, "PC_PATH_MAX", 4096)
    too_long = len(os.fsencode(str(root))) + 1 + len(encoded) >= path_max
    if too_long or any(len(part) > name_max for part in encoded.split(b"/")):
        raise NJError(
            400,
            "path-too-long",
            f"The path is longer than the file system allows ({name_max} bytes per name, "
            f"{path_max} in all): use a shorter name.",
        )


def _fs_limit(folder: Path, name: str, fallback: int) -> int:
    try:
        return int(os.pathconf(folder, name))
    except (OSError, ValueError):
        return fallback


def json_object(raw: bytes | None) -> dict[str, Any]:
    """A request body as a JSON object, or a 400 that says what is wrong with it. Shared by the
    server's handlers and the hub service's, which is no Jupyter server."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as err:
        raise NJError(400, "bad-json", f"The request body is not valid JSON: {err}.") from None
    if not isinstance(body, dict):
        raise NJError(400, "bad-json", "The request body must be a JSON object.")
    return body


def error_body(status_code: int, exc: BaseException | None, internal: str) -> dict[str, str]:
    """The `{"message", "reason"}` of an error answer: an NJError's own words, a tornado
    HTTPError's message, else `internal` for a 5xx (the traceback stays in the log)."""
    if isinstance(exc, NJError):
        return {"message": exc.message, "reason": exc.reason}
    if isinstance(exc, web.HTTPError) and exc.log_message:
        return {
            "message": exc.log_message % exc.args if exc.args else exc.log_message,
            "reason": exc.reason or "http-error",
        }
    if status_code >= 500:
        return {"message": internal, "reason": "internal"}
    return {"message": responses.get(status_code, "HTTP error"), "reason": "http-error"}


class NJHandler(APIHandler):
    """Base of every jupyter-nj REST handler.

    Every verb of a subclass carries `@web.authenticated` and `@authorized`: the server's
    Authorizer decides on `auth_resource` (one per pillar, `nj:<pillar>`) with the action of the
    HTTP verb (GET reads, POST/PUT/DELETE write), so an operator can give a user read-only access
    to history or none to secrets. On every registered route, `tests/foundation/test_auth.py`
    checks the first and `test_authorizer.py` the second. Errors are written as JSON
    `{"message", "reason"}`; anything unexpected becomes a 500 with a generic message and the
    traceback only in the server log.
    """

    auth_resource = "nj"

    @property
    def nj(self) -> Any:
        """The running NJApp, which holds one manager per pillar."""
        return self.settings["nj_app"]

    def write_json(self, data: Any, status: int = 200) -> None:
        """Answer with small JSON; large payloads go through `write_large_json`."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    async def write_large_json(self, data: Any, status: int = 200) -> None:
        """Answer with JSON that may be megabytes (a notebook version, a diff), serialised in a
        worker thread so other requests and kernel messages are not held up meanwhile."""
        body = await asyncio.to_thread(json.dumps, data)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        await self.finish(body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        body = error_body(
            status_code,
            exc_info[1] if exc_info else None,
            "jupyter-nj hit an internal error; the server log has the details.",
        )
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def read_json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 that says what is wrong with it."""
        return json_object(self.request.body)
