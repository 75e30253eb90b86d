"""What the browser receives: the hostile cells run through the real kernel websocket, in both
websocket protocols, and every output that carried the exact value arrives redacted."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)

from .conftest import multi_user_server_config
from .test_runtime import HOSTILE_CELLS, VALUE, api, make_notebook, start_kernel

pytestmark = pytest.mark.openbao

V1 = "v1.kernel.websocket.jupyter.org"


@pytest.fixture
def jp_server_config(backend_kind: str, request: Any, tmp_path: Path) -> dict[str, Any]:
    return multi_user_server_config(backend_kind, request, tmp_path)


class BrowserSide:
    """A kernel websocket as JupyterLab opens it, in the legacy JSON or the v1 binary protocol."""

    def __init__(self, ws: Any, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self.session = uuid.uuid4().hex

    async def execute(self, code: str) -> list[dict[str, Any]]:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "session": self.session,
            "username": "browser",
            "msg_type": "execute_request",
            "version": "5.3",
            "date": "2026-01-01T00:00:00Z",
        }
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        msg = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        if self.protocol == V1:
            pack = lambda part: json.dumps(part).encode()  # noqa: E731
            await self.ws.write_message(serialize_msg_to_ws_v1(msg, "shell", pack), binary=True)
        else:
            await self.ws.write_message(json.dumps({**msg, "channel": "shell", "buffers": []}))
        received: list[dict[str, Any]] = []
        idle = replied = False
        while not (idle and replied):
            raw = await asyncio.wait_for(self.ws.read_message(), timeout=60)
            assert raw is not None, "the websocket closed"
            if self.protocol == V1:
                channel, parts = deserialize_msg_from_ws_v1(raw)
                message = {
                    "channel": channel,
                    "header": json.loads(parts[0]),
                    "parent_header": json.loads(parts[1]),
                    "content": json.loads(parts[3]),
                }
            else:
                message = json.loads(raw)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            received.append(message)
            kind = message["header"]["msg_type"]
            idle = idle or (kind == "status" and message["content"]["execution_state"] == "idle")
            replied = replied or kind == "execute_reply"
        return received


@pytest.mark.parametrize("protocol", ["legacy", V1])
async def test_browser_receives_hostile_outputs_redacted(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, protocol: str
) -> None:
    await api(jp_fetch, "alice", "PUT", "nj", "api", "secrets", "API_TOKEN", body={"value": VALUE})
    await make_notebook(jp_fetch, "alice", "hostile.ipynb", ["API_TOKEN"])
    kernel, _ = await start_kernel(jp_serverapp, "hostile.ipynb", "alice")
    kernel.client.stop_channels()
    subprotocols = [V1] if protocol == V1 else None
    ws = await jp_ws_fetch(
        "api", "kernels", kernel.kernel_id, "channels", subprotocols=subprotocols
    )
    browser = BrowserSide(ws, protocol)
    try:
        await browser.execute(
            "from jupyter_nj import secrets\nimport os, sys, logging, tempfile\n"
            "from IPython.display import HTML, Markdown, JSON, display"
        )
        leaked, redacted = [], []
        for way, code in HOSTILE_CELLS.items():
            messages = await browser.execute(code)
            text = json.dumps(messages, ensure_ascii=False)
            outputs = [
                m
                for m in messages
                if m["header"]["msg_type"] in {"stream", "execute_result", "display_data", "error"}
            ]
            assert outputs, f"{way}: the browser got no output"
            if VALUE[8:24] in text:
                leaked.append(way)
            if "[secret API_TOKEN]" in text:
                redacted.append(way)
        assert leaked == [], f"reached the browser unredacted: {leaked}"
        assert redacted == list(HOSTILE_CELLS)
    finally:
        ws.close()
