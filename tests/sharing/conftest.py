"""Sharing test fixtures: a real server with history on (every save a version) and helpers."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from tornado.httpclient import HTTPClientError


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True, "jupyter_server_fileid": True},
            "allow_unauthenticated_access": False,
        },
        "NJApp": {
            "history_quiet_period": 0.0,
            "history_diff_executor": "thread",
            "sharing_max_import_size": 64 * 1024,
        },
    }


MARKDOWN = """\
---
jupyter:
  kernelspec:
    display_name: Python 3
    language: python
    name: python3
---

# A title

Some prose.

```python
x = 1 + 1
print(x)
```

More prose.
"""

MYST = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A MyST notebook

```{code-cell} ipython3
:tags: [hide-input]

y = 2 * 21
```
"""

RMD = """\
---
title: "An R Markdown notebook"
---

Some text.

```{r}
summary(cars)
```
"""

PERCENT = """\
# %% [markdown]
# # Percent cells

# %%
total = sum(range(10))
print(total)
"""


async def import_file(jp_fetch: Any, path: str, body: Any = None) -> Any:
    response = await jp_fetch(
        "nj", "api", "import", path, method="POST", body=json.dumps(body or {})
    )
    return json.loads(response.body)


async def export_file(jp_fetch: Any, path: str, **params: str) -> Any:
    return await jp_fetch("nj", "api", "export", path, params=params or None)


async def expect_error(call: Any, code: int) -> dict[str, Any]:
    with pytest.raises(HTTPClientError) as info:
        await call
    assert info.value.code == code, info.value.response.body if info.value.response else ""
    assert info.value.response is not None
    body: dict[str, Any] = json.loads(info.value.response.body)
    assert body["message"] and body["reason"]
    return body


def sources(nb: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
        for c in nb["cells"]
    ]


@asynccontextmanager
async def pages_service(
    publish_dir: Path, drafts_dir: Path | None = None, prefix: str = "/services/nj-pages/"
) -> AsyncIterator[str]:
    """`jupyter nj pages-service` as a process of its own (as the hub runs it), over the given
    stores; yields its address with the prefix (no trailing slash) once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "jupyter_nj.cli", "pages-service"]
    command += ["--publish-dir", str(publish_dir), "--port", str(port), "--prefix", prefix]
    if drafts_dir is not None:
        command += ["--drafts-dir", str(drafts_dir)]
    proc = await asyncio.to_thread(
        subprocess.Popen, command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}" + prefix.rstrip("/")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await asyncio.to_thread(requests.get, base + "/health", timeout=2)).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(proc.stdout.read() if proc.stdout else "no service")
            await asyncio.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 20)
