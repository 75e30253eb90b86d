"""A busy kernel counts as server activity, although it says nothing while it computes: the
server's last activity is what JupyterHub's idle culler reads (tests/hub/test_culling.py runs
the culler itself)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest

from ..conftest import nj_server_config


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return nj_server_config({"runtime_busy_activity_interval": 0.2})


async def wait_for_status(ws: Any, msg_id: str, state: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        message = json.loads(await asyncio.wait_for(ws.read_message(), 60))
        if (
            message.get("msg_type") == "status"
            and message["parent_header"].get("msg_id") == msg_id
            and message["content"]["execution_state"] == state
        ):
            return
        assert time.monotonic() < deadline


async def test_a_silent_busy_kernel_keeps_the_server_active(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any
) -> None:
    reply = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kernel_id = json.loads(reply.body)["id"]
    ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
    msg_id = uuid.uuid4().hex
    request = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "test",
            "session": uuid.uuid4().hex,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": "import time; time.sleep(2.5)", "silent": False},
        "channel": "shell",
    }
    try:
        await ws.write_message(json.dumps(request))
        await wait_for_status(ws, msg_id, "busy")
        web_app = jp_serverapp.web_app
        await asyncio.sleep(0.5)
        while_busy = web_app.last_activity()
        await asyncio.sleep(1.0)
        # Nothing but the busy kernel happened in that second.
        assert web_app.last_activity() > while_busy
        await wait_for_status(ws, msg_id, "idle")
        await asyncio.sleep(0.5)
        once_idle = web_app.last_activity()
        await asyncio.sleep(1.0)
        assert web_app.last_activity() == once_idle
    finally:
        ws.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
