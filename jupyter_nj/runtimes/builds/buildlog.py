"""Live build output: each line a build step prints, handed to whoever follows the build.

Builds run in worker threads (`asyncio.to_thread`, which carries context variables across), many
calls below whoever started them. Rather than pass a callback through every layer, the caller
sets `follow_build(sink)` around the build and the steps call `report_line`. The REST build sends
the lines as `build-log` jupyter events (the environments panel shows them as they come); the
command line prints them.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar

log = logging.getLogger(__name__)

LineSink = Callable[[str], None]

_sink: ContextVar[LineSink | None] = ContextVar("nj_build_log_sink", default=None)


@contextlib.contextmanager
def follow_build(sink: LineSink | None) -> Iterator[None]:
    """Send the lines of every build step run inside this block (and its threads) to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


# Colour and cursor escapes: a tool may still print them (a FORCE_COLOR in its environment).
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def report_line(line: str) -> None:
    sink = _sink.get()
    if sink is None:
        return
    try:
        sink(_ESCAPES.sub("", line).rstrip("\r\n"))
    except Exception:  # following a build must never fail it
        log.debug("nj: a build log follower failed", exc_info=True)


def split_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text lines from a stream of byte chunks that may break anywhere (Docker log streams)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")
