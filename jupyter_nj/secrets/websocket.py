"""Redaction of kernel messages on their way to the browser (and so to the shared RTC document,
which JupyterLab fills from the outputs it receives).

The server's kernel websocket connection class is wrapped: every message coming from the kernel
passes through `redact_kernel_message` before jupyter_server forwards it. Messages are only
unpacked when their raw bytes may hold a live value (a cheap byte search), so a server with no
live secret, or output without one, pays almost nothing. Both websocket protocols are covered,
because the message is changed (and re-signed) before jupyter_server chooses how to forward it.

Not covered: output that never crosses this websocket, for example kernels executed by the server
itself writing straight into the shared document. docs/secrets.md lists the limits.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from jupyter_client.session import DELIM, Session

from .redaction import Redactor

log = logging.getLogger(__name__)

# [HMAC, header, parent_header, metadata, content, *buffers] after the delimiter.
METADATA_INDEX, CONTENT_INDEX = 3, 4


class DropMessage(Exception):
    """A message that may hold a live value could not be redacted: it is not forwarded."""


def redact_kernel_message(session: Session, msg_list: list[Any], redactor: Redactor) -> list[Any]:
    """The same ZMQ message with live values replaced in its metadata and content, re-signed."""
    parts = [getattr(part, "bytes", part) for part in msg_list]
    if not any(redactor.may_contain(part) for part in parts):
        return msg_list
    try:
        split = parts.index(DELIM)
        idents, rest = parts[:split], parts[split + 1 :]
        changed = False
        for index in (METADATA_INDEX, CONTENT_INDEX):
            if index < len(rest) and redactor.may_contain(rest[index]):
                original = session.unpack(rest[index])
                cleaned = redactor.redact_structure(original)
                if cleaned != original:
                    rest[index] = session.pack(cleaned)
                    changed = True
        if not changed:
            return msg_list
        rest[0] = session.sign(rest[1:5])
        return [*idents, DELIM, *rest]
    except Exception as err:
        # Fail closed: better a missing output than a value in the browser.
        log.exception("Could not redact a kernel message; it was not forwarded")
        raise DropMessage from err


def redact_json_message(text: str | bytes, redactor: Redactor) -> str | bytes:
    """The same JSON kernel message (as a kernel gateway sends it) with live values replaced."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if not redactor.may_contain(raw):
        return text
    try:
        original = json.loads(raw)
        cleaned = redactor.redact_structure(original)
        return text if cleaned == original else json.dumps(cleaned)
    except Exception as err:
        log.exception("Could not redact a kernel message; it was not forwarded")
        raise DropMessage from err


class RedactingConnectionMixin:
    """Mixed in front of the server's kernel websocket connection class.

    jupyter_server's own class receives `(stream, [zmq frames])`; the kernel gateway class
    receives `(json_text, ...)`. Both are redacted before the wrapped class forwards them.
    """

    session: Session
    websocket_handler: Any

    def handle_outgoing_message(self, *args: Any) -> None:
        redactor = _redactor_of(self)
        if redactor is not None and redactor.active and args:
            try:
                if len(args) >= 2 and isinstance(args[1], list):  # (stream, zmq frames)
                    args = (args[0], redact_kernel_message(self.session, args[1], redactor))
                elif isinstance(args[0], (str, bytes)):  # (json text, ...) from a gateway
                    args = (redact_json_message(args[0], redactor), *args[1:])
            except DropMessage:
                return
        super().handle_outgoing_message(*args)  # type: ignore[misc]


def _redactor_of(connection: Any) -> Redactor | None:
    handler = getattr(connection, "websocket_handler", None)
    app = handler.settings.get("nj_app") if handler is not None else None
    manager = getattr(app, "secrets_manager", None)
    return getattr(manager, "redactor", None)


def install_websocket_redaction(settings: dict[str, Any]) -> None:
    """Wrap whatever kernel websocket connection class the server uses (default, gateway, or
    another extension's) so that its outgoing messages are redacted first.

    `settings` is the tornado settings dict that the server's kernel websocket handler reads
    (for an extension: its own `settings`, which jupyter_server copies into the web app's).
    """
    base = settings.get("kernel_websocket_connection_class")
    if base is None or issubclass(base, RedactingConnectionMixin):
        return
    settings["kernel_websocket_connection_class"] = type(
        f"SecretRedacting{base.__name__}", (RedactingConnectionMixin, base), {}
    )
