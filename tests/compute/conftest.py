"""Fixtures for several runtimes per notebook: the runtimes pillar's server (its session-wide
catalog of built environments) and a browser-side kernel websocket client."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)

from ..runtimes.conftest import (  # noqa: F401  the runtimes pillar's fixtures, reused
    definitions_dir,
    jp_server_config,
    nj_app,
    nj_config,
    nj_session_dir,
    no_kernel_container_outlives_the_module,
    runtime_backend,
)

V1 = "v1.kernel.websocket.jupyter.org"


class Notebook:
    """A notebook's kernel websocket, as JupyterLab uses it: execute requests carry the cell's
    metadata and id, several can be sent before the first reply, answers are gathered per
    request."""

    def __init__(self, ws: Any, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self.session = uuid.uuid4().hex
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.done: dict[str, asyncio.Future[None]] = {}
        self._seen: dict[str, set[str]] = {}
        self.order: list[tuple[str, str]] = []  # (msg_id, msg_type) as they arrived
        self._reader = asyncio.ensure_future(self._read())

    def _header(self, msg_type: str) -> dict[str, Any]:
        return {
            "msg_id": uuid.uuid4().hex,
            "session": self.session,
            "username": "browser",
            "msg_type": msg_type,
            "version": "5.3",
            "date": "2026-01-01T00:00:00Z",
        }

    async def send(
        self, channel: str, msg_type: str, content: dict[str, Any], metadata: dict[str, Any]
    ) -> str:
        header = self._header(msg_type)
        msg_id = header["msg_id"]
        self.messages[msg_id] = []
        self.done[msg_id] = asyncio.get_running_loop().create_future()
        self._seen[msg_id] = set()
        msg = {"header": header, "parent_header": {}, "metadata": metadata, "content": content}
        if self.protocol == V1:
            pack = lambda part: json.dumps(part).encode()  # noqa: E731
            await self.ws.write_message(serialize_msg_to_ws_v1(msg, channel, pack), binary=True)
        else:
            await self.ws.write_message(json.dumps({**msg, "channel": channel, "buffers": []}))
        return msg_id

    async def submit(
        self,
        code: str,
        runtime: str | None = None,
        stop_on_error: bool = True,
        allow_stdin: bool = False,
    ) -> str:
        cell_metadata: dict[str, Any] = {"nj": {"runtime": runtime}} if runtime else {}
        metadata = {**cell_metadata, "cellId": uuid.uuid4().hex}
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": allow_stdin,
            "stop_on_error": stop_on_error,
        }
        return await self.send("shell", "execute_request", content, metadata)

    async def result(self, msg_id: str, timeout: float = 180) -> dict[str, Any]:
        """The reply's content, with the text of every output and error under `out`."""
        await asyncio.wait_for(asyncio.shield(self.done[msg_id]), timeout)
        reply: dict[str, Any] = {}
        out: list[str] = []
        for message in self.messages[msg_id]:
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "execute_reply":
                reply = dict(content)
            elif kind == "stream":
                out.append(content["text"])
            elif kind in {"execute_result", "display_data"}:
                out.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                out.append(f"{content['ename']}: {content['evalue']}")
        reply["out"] = "".join(out)
        return reply

    async def run(self, code: str, runtime: str | None = None, **options: Any) -> dict[str, Any]:
        return await self.result(await self.submit(code, runtime, **options))

    async def _read(self) -> None:
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                return
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
            parent = message["parent_header"].get("msg_id")
            if parent not in self.messages:
                continue
            self.messages[parent].append(message)
            kind = message["header"]["msg_type"]
            self.order.append((parent, kind))
            seen = self._seen[parent]
            if kind == "status" and message["content"]["execution_state"] == "idle":
                seen.add("idle")
            if kind.endswith("_reply"):
                seen.add("reply")
            if seen >= {"idle", "reply"} and not self.done[parent].done():
                self.done[parent].set_result(None)
            if kind == "input_request" and not self.done[parent].done():
                self.on_input(parent, message)

    def on_input(self, parent: str, message: dict[str, Any]) -> None:
        """Answer `input()` (tests replace this)."""

    async def close(self) -> None:
        self.ws.close()
        self._reader.cancel()


@pytest.fixture
def protocol() -> str:
    return V1


async def open_notebook(jp_ws_fetch: Any, kernel_id: str, protocol: str = V1) -> Notebook:
    subprotocols = [V1] if protocol == V1 else None
    ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels", subprotocols=subprotocols)
    return Notebook(ws, protocol)
