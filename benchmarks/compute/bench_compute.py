"""Compute benchmark: cells routed to their runtimes, side by side with one plain kernel.

Anchors (the issue's): the same execute request straight to one kernel, over jupyter_server's own
kernel websocket (its connection class, with jupyter-nj's redaction but without the routing);
`papermill` on the same single-runtime notebook. Measured, interleaved round by round:

- round trip of a trivial cell (`1`): plain websocket; routed, cell on `main`; routed, cell on
  another runtime;
- "Run all" of 100 trivial cells alternating between two runtimes vs the same 100 cells on one
  kernel over the plain websocket (all sent at once, time until the last reply);
- `jupyter nj run` vs `papermill` (its own engine, the server's `python3` kernel) on a notebook of
  10 trivial cells: wall time of the command;
- a file written in one runtime and read in another: same inode or not, and the read's time
  against the same read in the runtime that wrote it.

Local backend (no Docker needed): the `mini` environment (ipykernel only) for both runtimes.

    .venv/bin/python benchmarks/compute/bench_compute.py [--rounds 5] [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

REPO = Path(__file__).resolve().parents[2]
V1 = "v1.kernel.websocket.jupyter.org"
MINI = (
    'name = "mini"\ndisplay_name = "Mini"\nlanguage = "python"\npython = "3.11"\n'
    'kernel = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]\n'
)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


class Socket:
    """A kernel websocket as JupyterLab uses it (v1 protocol)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.session = uuid.uuid4().hex
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.seen: dict[str, set[str]] = {}
        self.reader = asyncio.ensure_future(self._read())

    async def send(self, code: str, runtime: str | None = None) -> asyncio.Future[None]:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "session": self.session,
            "username": "bench",
            "msg_type": "execute_request",
            "version": "5.3",
            "date": "2026-01-01T00:00:00Z",
        }
        metadata: dict[str, Any] = {"cellId": msg_id}
        if runtime:
            metadata["nj"] = {"runtime": runtime}
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        msg = {"header": header, "parent_header": {}, "metadata": metadata, "content": content}
        done = asyncio.get_running_loop().create_future()
        self.waiting[msg_id], self.seen[msg_id] = done, set()
        pack = lambda part: json.dumps(part).encode()  # noqa: E731
        await self.ws.write_message(serialize_msg_to_ws_v1(msg, "shell", pack), binary=True)
        return done

    async def _read(self) -> None:
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                return
            _, parts = deserialize_msg_from_ws_v1(raw)
            parent = json.loads(parts[1]).get("msg_id")
            if parent not in self.waiting:
                continue
            kind = json.loads(parts[0])["msg_type"]
            if kind == "status" and json.loads(parts[3])["execution_state"] == "idle":
                self.seen[parent].add("idle")
            elif kind == "execute_reply":
                self.seen[parent].add("reply")
            if self.seen[parent] >= {"idle", "reply"} and not self.waiting[parent].done():
                self.waiting[parent].set_result(None)

    async def run(self, code: str, runtime: str | None = None) -> None:
        await asyncio.wait_for(await self.send(code, runtime), 120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--trips", type=int, default=100, help="round trips per kind per round")
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()

    from jupyter_server.serverapp import ServerApp
    from traitlets.config import Config

    work = Path(tempfile.mkdtemp(prefix="nj-bench-compute-"))
    root, definitions, data = work / "root", work / "definitions", work / "data"
    root.mkdir()
    (definitions / "mini").mkdir(parents=True)
    (definitions / "mini" / "environment.toml").write_text(MINI)
    shutil.copyfile(
        REPO / "environments/bash/requirements.lock", definitions / "mini/requirements.lock"
    )
    token, port = uuid.uuid4().hex, free_port()
    config = Config()
    config.ServerApp.update(
        root_dir=str(root),
        port=port,
        open_browser=False,
        log_level="CRITICAL",
        jpserver_extensions={"jupyter_nj": True},
        allow_root=True,
        token=token,
    )
    config.IdentityProvider.token = token
    config.NJApp.update(
        nj_dir=str(data), environment_paths=[str(definitions)], runtime_backend="local"
    )
    serverapp = ServerApp(config=config)
    serverapp.init_signal = lambda: None  # type: ignore[method-assign]
    serverapp.initialize(argv=[], find_extensions=False, new_httpserver=True)
    serverapp.start_app()
    nj = serverapp.web_app.settings["nj_app"]
    await nj.environment_manager.abuild("mini", "local")
    await asyncio.to_thread(nj.environment_manager.write_kernelspecs)

    nb = nbformat.v4.new_notebook()
    nb.metadata["nj"] = {
        "runtimes": {"main": {"environment": "mini"}, "b": {"environment": "mini"}}
    }
    nbformat.write(nb, str(root / "bench.ipynb"))
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"token {token}"}
    http = AsyncHTTPClient()
    reply = await http.fetch(
        HTTPRequest(
            f"{base}/api/sessions",
            method="POST",
            headers=auth,
            body=json.dumps(
                {"path": "bench.ipynb", "type": "notebook", "kernel": {"name": "nj-mini"}}
            ),
        )
    )
    kernel_id = json.loads(reply.body)["kernel"]["id"]

    settings = serverapp.web_app.settings
    routed_class = settings["kernel_websocket_connection_class"]
    # The same connection without the routing: jupyter_server's class with jupyter-nj's
    # redaction, as a server without the compute pillar would run it.
    from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

    from jupyter_nj.secrets.websocket import RedactingConnectionMixin

    plain_class = type(
        "PlainConnection", (RedactingConnectionMixin, ZMQChannelsWebsocketConnection), {}
    )

    async def connect(cls: Any) -> Socket:
        settings["kernel_websocket_connection_class"] = cls
        ws = await websocket_connect(
            HTTPRequest(
                f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}",
                headers=auth,
            ),
            subprotocols=[V1],
        )
        settings["kernel_websocket_connection_class"] = routed_class
        # As browsers send: no Nagle delay (else every round trip waits for a delayed ACK).
        ws.stream.set_nodelay(True)
        return Socket(ws)

    plain, routed = await connect(plain_class), await connect(routed_class)
    await routed.run("1", "b")  # start the second runtime before measuring
    await plain.run("1")

    trips: dict[str, list[float]] = {"plain": [], "routed main": [], "routed other runtime": []}
    run_all: dict[str, list[float]] = {"one kernel, plain": [], "two runtimes, routed": []}
    for _ in range(args.rounds):
        for kind, (sock, runtime) in {
            "plain": (plain, None),
            "routed main": (routed, None),
            "routed other runtime": (routed, "b"),
        }.items():
            for _ in range(args.trips):
                started = time.perf_counter()
                await sock.run("1", runtime)
                trips[kind].append(time.perf_counter() - started)
        for kind, samples in run_all.items():
            started = time.perf_counter()
            if kind.startswith("one"):
                futures = [await plain.send("1") for _ in range(100)]
            else:
                futures = [await routed.send("1", "b" if i % 2 else None) for i in range(100)]
            await asyncio.wait_for(asyncio.gather(*futures), 300)
            samples.append(time.perf_counter() - started)

    # A file written by one runtime, read by another.
    size = args.size_mib * 1024 * 1024
    write = (
        "import os\np = os.path.join(os.environ['NJ_RESULTS'], 'big.bin')\n"
        "chunk = os.urandom(1 << 20)\n"
        f"with open(p, 'wb') as f:\n    for _ in range({args.size_mib}):\n        f.write(chunk)\n"
    )
    await routed.run(write)
    results = root / "bench.results"
    read = (
        "import os, time, json\np = os.path.join(os.environ['NJ_RESULTS'], 'big.bin')\n"
        "t = time.perf_counter(); n = 0\nwith open(p, 'rb') as f:\n"
        "    while (b := f.read(1 << 22)):\n        n += len(b)\n"
        "open(os.path.join(os.environ['NJ_RESULTS'], 'read-' + os.environ['NJ_RUNTIME']), 'w')"
        ".write(json.dumps([os.stat(p).st_ino, n, time.perf_counter() - t]))\n"
    )
    reads: dict[str, list[float]] = {"same runtime": [], "other runtime": []}
    inodes = set()
    for _ in range(3):
        for kind, runtime in (("same runtime", None), ("other runtime", "b")):
            await routed.run(read, runtime)
            name = "main" if runtime is None else runtime
            inode, n, seconds = json.loads((results / f"read-{name}").read_text())
            assert n == size
            inodes.add(inode)
            reads[kind].append(seconds)
    inodes.add(os.stat(results / "big.bin").st_ino)
    (results / "big.bin").unlink()

    # jupyter nj run vs papermill, single runtime, 10 trivial cells.
    single = nbformat.v4.new_notebook()
    single.metadata["nj"] = {"runtimes": {"main": {"environment": "mini"}}}
    single.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    single.cells = [nbformat.v4.new_code_cell(f"x = {i}") for i in range(10)]
    project = work / "project"
    project.mkdir()
    nbformat.write(single, str(project / "single.ipynb"))
    cfg = work / "config"
    cfg.mkdir()
    (cfg / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "NJApp": {
                    "nj_dir": str(data),
                    "environment_paths": [str(definitions)],
                    "runtime_backend": "local",
                }
            }
        )
    )
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(cfg)}
    # As on a user's machine, Python caches bytecode (some CI machines turn that off), so both
    # kernels import from .pyc files after a first, unmeasured run of each command.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    bin_dir = Path(sys.executable).parent
    commands = {
        "jupyter nj run": [str(bin_dir / "jupyter"), "nj", "run", "single.ipynb", "-o", "a.ipynb"],
        "papermill": [str(bin_dir / "papermill"), "--no-progress-bar", "single.ipynb", "b.ipynb"],
    }
    walls: dict[str, list[float]] = {k: [] for k in commands}
    for command in commands.values():
        await asyncio.to_thread(
            subprocess.run, command, cwd=project, env=env, capture_output=True, check=False
        )
    for _ in range(max(3, args.rounds)):
        for kind, command in commands.items():
            started = time.perf_counter()
            done = await asyncio.to_thread(
                subprocess.run, command, cwd=project, env=env, capture_output=True, check=False
            )
            walls[kind].append(time.perf_counter() - started)
            assert done.returncode == 0, (kind, done.stderr[-2000:])

    await http.fetch(HTTPRequest(f"{base}/api/kernels/{kernel_id}", method="DELETE", headers=auth))
    for sock in (plain, routed):
        sock.ws.close()
    await serverapp._cleanup()
    shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}")
    print(f"rounds {args.rounds}, {args.trips} round trips per kind per round")
    plain_ms = median_ms(trips["plain"])
    print("\nround trip of a trivial cell (median):")
    for kind, samples in trips.items():
        ms = median_ms(samples)
        print(f"  {kind:22} {ms:7.2f} ms  {ms / plain_ms:5.2f}x  (+{ms - plain_ms:.2f} ms)")
    one = statistics.median(run_all["one kernel, plain"])
    print("\nRun all, 100 trivial cells (median):")
    for kind, samples in run_all.items():
        s = statistics.median(samples)
        print(f"  {kind:22} {s * 1000:7.1f} ms  {s / one:5.2f}x")
    print("\nheadless, 10 trivial cells (median wall):")
    anchor = statistics.median(walls["papermill"])
    for kind, samples in walls.items():
        s = statistics.median(samples)
        print(f"  {kind:22} {s:6.2f} s  {s / anchor:5.2f}x")
    same = statistics.median(reads["same runtime"])
    print(f"\n{args.size_mib} MiB file written by one runtime (median read):")
    for kind, samples in reads.items():
        s = statistics.median(samples)
        print(f"  read in the {kind:14} {s:6.2f} s  {s / same:5.2f}x")
    print(f"  inodes seen: {len(inodes)} (1 = the same file, no copy)")


if __name__ == "__main__":
    asyncio.run(main())
