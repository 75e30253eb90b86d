"""How a recorded version's bytes become what jupyter_server speaks: REST fields and contents
models (shared by the manager, the checkpoints and the command line)."""

from __future__ import annotations

import base64
from typing import Any

from .store import HistoryError, notebook_kind, notebook_model


def normalize_api_path(path: str) -> str:
    path = (path or "").strip()
    # JupyterLab's collaborative drive prefixes paths with "RTC:".
    path = path.removeprefix("RTC:")
    return path.strip("/")


def content_fields(path: str, data: bytes) -> dict[str, Any]:
    """`format` and `content` of a version for the REST API."""
    if notebook_kind(path):
        try:
            return {"format": "json", "content": notebook_model(data)}
        except (HistoryError, ValueError, TypeError, AttributeError):
            pass
    try:
        return {"format": "text", "content": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"format": "base64", "content": base64.b64encode(data).decode("ascii")}


def contents_model(path: str, data: bytes) -> dict[str, Any]:
    """A contents-manager model that saves exactly these bytes (as near as the API allows)."""
    fields = content_fields(path, data)
    if fields["format"] == "json":
        return {"type": "notebook", "format": "json", "content": fields["content"]}
    return {"type": "file", "format": fields["format"], "content": fields["content"]}
