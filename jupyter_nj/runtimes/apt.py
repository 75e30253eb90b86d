"""`apt-get install` from a cell of a container runtime, without making the kernel root.

Kernels run unprivileged with `no-new-privileges`, so sudo cannot work. Instead, the image's
`apt-get` (and `apt`) for non-root users is a small shim that sends its arguments over a unix
socket in the runtime's private folder; the server checks them against a strict allow-list and runs
`apt-get` as root *in that container* on the user's behalf (`docker exec -u 0`), streaming the
output back. Only `update` and `install` of Debian package names with a few harmless flags pass:
no `-o` options (they can run commands as root), no local `.deb` files, no other subcommands.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SOCKET_NAME = "apt.sock"
SOCKET_IN_CONTAINER_VARIABLE = "NJ_APT_SOCKET"
ALLOWED_FLAGS = {"-y", "--yes", "-q", "-qq", "--quiet", "--no-install-recommends"}
PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]{0,80}(?:=[A-Za-z0-9.+:~-]{1,80})?$")

# Installed as /usr/local/bin/apt-get and /usr/local/bin/apt in environment images.
SHIM = r"""#!/usr/bin/python3
# jupyter-nj: apt for unprivileged runtimes. Root gets the real apt; everyone else asks the
# server, which runs allowed `apt-get update/install` as root in this container.
import json, os, socket, sys
if os.getuid() == 0:
    os.execv("/usr/bin/" + os.path.basename(sys.argv[0]), sys.argv)
path = os.environ.get("NJ_APT_SOCKET", "")
if not path or not os.path.exists(path):
    sys.exit("apt: this runtime cannot install Debian packages (no jupyter-nj server link).")
conn = socket.socket(socket.AF_UNIX)
conn.connect(path)
conn.sendall(json.dumps({"argv": sys.argv[1:]}).encode() + b"\n")
code = 1
for line in conn.makefile("rb"):
    message = json.loads(line)
    if "out" in message:
        sys.stdout.write(message["out"])
        sys.stdout.flush()
    else:
        code = int(message.get("exit", 1))
sys.exit(code)
"""


def check_apt_arguments(argv: list[str]) -> str:
    """Empty when `argv` (after `apt-get`) is allowed, else why it is not."""
    if not argv or argv[0] not in {"update", "install"}:
        return "only `apt-get update` and `apt-get install -y PACKAGE...` are allowed here"
    words = argv[1:]
    for word in words:
        if word.startswith("-"):
            if word not in ALLOWED_FLAGS:
                return f"the option {word!r} is not allowed"
        elif argv[0] == "update" or not PACKAGE.match(word):
            return f"{word!r} is not a Debian package name"
    if argv[0] == "install" and not any(not w.startswith("-") for w in words):
        return "name at least one package"
    return ""


class AptBridge:
    """Serves one runtime's apt socket; runs allowed requests through `run_as_root`."""

    def __init__(
        self, folder: str, uid: int, gid: int, run_as_root: Callable[[list[str]], Any]
    ) -> None:
        self.path = os.path.join(folder, SOCKET_NAME)
        self.uid, self.gid = uid, gid
        self.run_as_root = run_as_root
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        if self.server is not None:
            return
        Path(self.path).unlink(missing_ok=True)
        self.server = await asyncio.start_unix_server(self._serve, path=self.path)
        os.chmod(self.path, 0o600)
        if os.geteuid() == 0:
            os.chown(self.path, self.uid, self.gid)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        Path(self.path).unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline())
            argv = [str(a) for a in request.get("argv", [])]
        except (ValueError, AttributeError):
            argv = []
        problem = check_apt_arguments(argv)
        if problem:
            await _send(writer, {"out": f"apt: {problem}.\n"})
            await _send(writer, {"exit": 100})
            writer.close()
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def run() -> None:
            try:
                for message in self.run_as_root(argv):
                    loop.call_soon_threadsafe(queue.put_nowait, message)
            except Exception as err:  # noqa: BLE001  reported to the cell, never raised
                loop.call_soon_threadsafe(queue.put_nowait, {"out": f"apt: failed: {err}\n"})
                loop.call_soon_threadsafe(queue.put_nowait, {"exit": 100})

        threading.Thread(target=run, name="nj-apt", daemon=True).start()
        while True:
            message = await queue.get()
            await _send(writer, message)
            if "exit" in message:
                break
        writer.close()


async def _send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()


def run_apt_in_container(
    docker: Callable[[], Any], container_id: Callable[[], str | None], ca_path: str
) -> Callable[[list[str]], Iterator[dict[str, Any]]]:
    """A `run_as_root` for AptBridge: `apt-get ARGV` as root in the runtime's current container.

    `docker` gives the server's client of the engine (shared, so never closed here)."""

    def run(argv: list[str]) -> Iterator[dict[str, Any]]:
        target = container_id()
        if target is None:
            yield {"out": "apt: the runtime is not running.\n"}
            yield {"exit": 100}
            return
        client = docker()
        options = ["-o", f"Acquire::https::CAInfo={ca_path}"] if ca_path else []
        steps = []
        if argv[0] == "install":
            # Images ship without package lists; fetch them first when they are missing.
            refresh = f"apt-get {' '.join(options)} update"
            steps.append(
                ["sh", "-c", f"ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || {refresh}"]
            )
        steps.append(["apt-get", *options, *argv])
        code = 0
        for cmd in steps:
            exec_id = client.api.exec_create(
                target, cmd, user="0", environment={"DEBIAN_FRONTEND": "noninteractive"}
            )["Id"]
            for chunk in client.api.exec_start(exec_id, stream=True):
                yield {"out": chunk.decode("utf-8", "replace")}
            code = int(client.api.exec_inspect(exec_id).get("ExitCode") or 0)
            if code != 0:
                break
        yield {"exit": code}

    return run
