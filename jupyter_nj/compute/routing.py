"""Routing a notebook's cells to their runtimes, on the kernel websocket.

JupyterLab talks to a notebook's kernel over one websocket. Every execute request carries the
cell's metadata (JupyterLab merges it into the request's metadata), so the server can send the
request to the runtime the cell names (`metadata.nj.runtime`) instead of the notebook's kernel,
and send that runtime's replies and outputs back on the same websocket. Nothing evaluates user
code here: each runtime is a kernel of its own (see groups.py), and its messages travel as they
are, re-signed with the websocket's session key, which is the one the browser's messages use.

- **Order.** Cells run in the order they were sent, even when they alternate between runtimes:
  a request for one runtime waits until every earlier request sent to another one has its
  reply. Requests for the runtime already running are passed on at once (its kernel queues them),
  so one runtime's cells cost nothing extra.
- **Errors.** With `stop_on_error` (JupyterLab's default), an error aborts the requests still
  waiting, as one kernel aborts its own queue. A runtime that cannot start (not declared, not
  built, failed) answers its cells with an error output saying which runtime and what to do.
- **The rest of the protocol.** Comm messages go to the runtime that opened the comm (widgets),
  an `input_reply` to the runtime that asked for input. Completion and inspection requests go to
  the runtime named in their metadata, else to the notebook's kernel. Interrupt, restart and
  shut down are kernel manager operations (groups.py follows them).

The class is mixed in front of jupyter_server's `ZMQChannelsWebsocketConnection`; a gateway
connection class is left as it is (its kernels are not this server's).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import DELIM, Session
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from .groups import Companion, NotebookRuntimes, RuntimeUnavailable
from .model import MAIN, cell_runtime

log = logging.getLogger(__name__)

V1 = "v1.kernel.websocket.jupyter.org"
CHANNELS = ("iopub", "shell", "control", "stdin")
# Requests about a cell's code that its runtime must answer (completion, Shift-Tab).
ASK_CELL = frozenset({"complete_request", "inspect_request", "is_complete_request"})


@dataclass
class _Request:
    """An execute request from the browser, on its way to a runtime."""

    runtime: str
    ws_msg: Any
    header: dict[str, Any]
    stop_on_error: bool
    error: str = ""


@dataclass
class _Attached:
    """This websocket's channels to one of the notebook's other runtimes."""

    companion: Companion
    session: Session
    streams: dict[str, Any]
    # The restarter's callbacks for this runtime's kernel (a restart, or giving up: "dead").
    on_restart: Any = None


@dataclass
class _Routing:
    attached: dict[str, _Attached] = field(default_factory=dict)
    # Execute requests passed on and not answered yet: msg_id -> runtime.
    in_flight: dict[str, str] = field(default_factory=dict)
    stop_on_error: dict[str, bool] = field(default_factory=dict)
    # The headers of the requests passed on to runtimes other than `main`: answered here when
    # their runtime dies or restarts under them (the browser only hears of `main`'s restarts).
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiting: deque[_Request] = field(default_factory=deque)
    attaching: set[str] = field(default_factory=set)
    comm_owner: dict[str, str] = field(default_factory=dict)
    # kernel_info requests of our own (see _nudge): msg_id -> set when their answer came on iopub.
    nudges: dict[str, asyncio.Event] = field(default_factory=dict)
    stdin_owner: str = MAIN
    closed: bool = False


class RuntimeRoutingConnectionMixin:
    """Routes execute requests (and what belongs to them) to the cell's runtime."""

    # Provided by ZMQChannelsWebsocketConnection.
    session: Session
    channels: dict[str, Any]
    websocket_handler: Any
    multi_kernel_manager: Any
    kernel_id: str
    subprotocol: str | None
    write_message: Any

    _nj_routing: _Routing | None = None

    def _runtimes(self) -> NotebookRuntimes | None:
        handler = getattr(self, "websocket_handler", None)
        app = handler.settings.get("nj_app") if handler is not None else None
        return getattr(app, "notebook_runtimes", None)

    @property
    def _routing(self) -> _Routing:
        if self._nj_routing is None:
            self._nj_routing = _Routing()
        return self._nj_routing

    # -- browser -> runtimes ----------------------------------------------------------------------

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        if not self.channels or self._runtimes() is None:
            return super().handle_incoming_message(incoming_msg)  # type: ignore[misc]
        try:
            channel, header, metadata, content = self._peek(incoming_msg)
        except Exception:  # noqa: BLE001  jupyter_server's own handling says what is wrong
            return super().handle_incoming_message(incoming_msg)  # type: ignore[misc]
        msg_type = header.get("msg_type")
        routing = self._routing
        if channel == "shell" and msg_type == "execute_request":
            stop = bool(content.get("stop_on_error", True)) if isinstance(content, dict) else True
            self._queue(_Request(cell_runtime(metadata), incoming_msg, header, stop))
            return None
        runtime = MAIN
        if channel == "shell" and msg_type in {"comm_msg", "comm_close"} and routing.comm_owner:
            runtime = routing.comm_owner.get(str((content or {}).get("comm_id")), MAIN)
        elif channel == "stdin" and msg_type == "input_reply":
            runtime = routing.stdin_owner
        elif channel == "shell" and msg_type in ASK_CELL:
            runtime = cell_runtime(metadata)
            code = (content or {}).get("code") if isinstance(content, dict) else None
            if runtime == MAIN and routing.attached and isinstance(code, str):
                # No metadata in JupyterLab's requests: find the cell by its source.
                asyncio.ensure_future(self._route_by_code(incoming_msg, code))
                return None
        if runtime == MAIN or runtime not in routing.attached:
            return super().handle_incoming_message(incoming_msg)  # type: ignore[misc]
        self._forward(routing.attached[runtime], incoming_msg)
        return None

    async def _route_by_code(self, ws_msg: Any, code: str) -> None:
        runtimes = self._runtimes()
        runtime = MAIN
        if runtimes is not None:
            try:
                runtime = await runtimes.runtime_of_code(self.kernel_id, code)
            except Exception:
                log.debug("jupyter-nj: no cell found for a completion", exc_info=True)
        routing = self._routing
        if routing.closed:
            return
        if runtime != MAIN and runtime in routing.attached:
            self._forward(routing.attached[runtime], ws_msg)
        elif self.channels:
            super().handle_incoming_message(ws_msg)  # type: ignore[misc]

    def _peek(self, ws_msg: Any) -> tuple[str, dict[str, Any], Any, Any]:
        """Channel, header, metadata and (for small messages) content of a browser message."""
        if self.subprotocol == V1:
            channel, parts = deserialize_msg_from_ws_v1(ws_msg)
            header = json.loads(parts[0])
            msg_type = header.get("msg_type")
            needs_content = msg_type in {"execute_request", "comm_msg", "comm_close", *ASK_CELL}
            metadata = json.loads(parts[2]) if len(parts) > 2 else {}
            content = json.loads(parts[3]) if needs_content and len(parts) > 3 else None
            return channel or "shell", header, metadata, content
        msg = (
            deserialize_binary_message(ws_msg) if isinstance(ws_msg, bytes) else json.loads(ws_msg)
        )
        return (
            msg.get("channel") or "shell",
            msg.get("header") or {},
            msg.get("metadata") or {},
            msg.get("content"),
        )

    def _queue(self, request: _Request) -> None:
        self._routing.waiting.append(request)
        self._pump()

    def _pump(self) -> None:
        """Pass on the waiting requests that may run now, in the order they came."""
        routing = self._routing
        runtimes = self._runtimes()
        if runtimes is not None and routing.in_flight and not routing.attached:
            runtimes.watch(self.kernel_id, self)
        while routing.waiting and not routing.closed:
            request = routing.waiting[0]
            if request.error:
                routing.waiting.popleft()
                self._answer_error(request)
                continue
            if any(r != request.runtime for r in routing.in_flight.values()):
                return  # an earlier cell on another runtime is still running
            attached = routing.attached.get(request.runtime)
            if (
                attached is not None
                and attached.companion.kernel_id not in self.multi_kernel_manager
            ):
                self._detach(request.runtime)  # stopped or culled: started again below
            if (
                attached is not None
                and runtimes is not None
                and runtimes.kernel_manager.restarting(attached.companion.kernel_id)
            ):
                # Restarting (the toolbar's Restart, or the restarter's after it died): a
                # request sent now would be lost with the old kernel; it goes once it is back.
                if request.runtime not in routing.attaching:
                    routing.attaching.add(request.runtime)
                    asyncio.ensure_future(self._after_restart(runtimes, request.runtime))
                return
            if request.runtime != MAIN and request.runtime not in routing.attached:
                if runtimes is not None and request.runtime not in routing.attaching:
                    routing.attaching.add(request.runtime)
                    asyncio.ensure_future(self._attach(runtimes, request.runtime))
                return
            routing.waiting.popleft()
            msg_id = str(request.header.get("msg_id"))
            routing.in_flight[msg_id] = request.runtime
            routing.stop_on_error[msg_id] = request.stop_on_error
            if request.runtime != MAIN:
                routing.headers[msg_id] = request.header
            if request.runtime == MAIN:
                super().handle_incoming_message(request.ws_msg)  # type: ignore[misc]
            else:
                self._forward(routing.attached[request.runtime], request.ws_msg)

    async def _attach(self, runtimes: NotebookRuntimes, name: str) -> None:
        routing = self._routing
        try:
            companion = await runtimes.kernel_for(self.kernel_id, name)
            # It may be restarting (the restarter's, after it died): connect to the new one.
            await runtimes.kernel_manager.settled(companion.kernel_id)
            if not routing.closed:
                attached = self._connect(companion)
                await self._nudge(attached)
                routing.attached[name] = attached
        except RuntimeUnavailable as err:
            for request in routing.waiting:
                if request.runtime == name:
                    request.error = str(err)
        except Exception as err:
            log.exception("jupyter-nj: could not start runtime %s", name)
            for request in routing.waiting:
                if request.runtime == name:
                    request.error = f"Runtime {name!r} could not start: {err}"
        finally:
            routing.attaching.discard(name)
        self._pump()

    async def _after_restart(self, runtimes: NotebookRuntimes, name: str) -> None:
        routing = self._routing
        attached = routing.attached.get(name)
        try:
            if attached is not None:
                await runtimes.kernel_manager.settled(attached.companion.kernel_id)
        finally:
            routing.attaching.discard(name)
        if routing.attached.get(name) is attached:
            self._detach(name)  # the restarted kernel gets channels of its own (see below)
        self._pump()

    async def _nudge(self, attached: _Attached, timeout: float = 120) -> None:
        """Wait until the new channels to a runtime carry its output, as jupyter_server does for
        the notebook's kernel: a kernel that is still starting (a container) would lose what it
        publishes before our subscription reaches it, and the cell would wait for an `idle` that
        never comes. kernel_info requests until one's status arrives on iopub; their answers are
        ours, not the browser's."""
        routing = self._routing
        deadline = asyncio.get_running_loop().time() + timeout
        while not routing.closed:
            msg = attached.session.msg("kernel_info_request", {})
            arrived = routing.nudges[msg["header"]["msg_id"]] = asyncio.Event()
            attached.session.send(attached.streams["shell"], msg)
            try:
                await asyncio.wait_for(arrived.wait(), 0.5)
                return
            except asyncio.TimeoutError:
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeUnavailable(
                        f"Runtime {attached.companion.name!r} started but does not answer."
                    ) from None

    def _connect(self, companion: Companion) -> _Attached:
        km = self.multi_kernel_manager.get_kernel(companion.kernel_id)
        streams = {}
        for channel in CHANNELS:
            stream = getattr(km, f"connect_{channel}")(identity=self.session.bsession)
            stream.channel = channel
            stream.nj_runtime = companion.name
            stream.on_recv_stream(self.handle_outgoing_message)
            streams[channel] = stream
        self.multi_kernel_manager.notify_connect(companion.kernel_id)
        runtimes = self._runtimes()
        if runtimes is not None:
            runtimes.watch(self.kernel_id, self)

        def on_restart() -> None:
            self.runtime_restarted(companion.name)

        for event in ("restart", "dead"):
            self.multi_kernel_manager.add_restart_callback(companion.kernel_id, on_restart, event)
        return _Attached(companion, km.session, streams, on_restart)

    def _forward(self, attached: _Attached, ws_msg: Any) -> None:
        """A browser message, sent to another runtime signed with that runtime's key."""
        if attached.companion.kernel_id not in self.multi_kernel_manager:
            return
        allowed = self.multi_kernel_manager.allowed_message_types
        if self.subprotocol == V1:
            channel, parts = deserialize_msg_from_ws_v1(ws_msg)
            if allowed and json.loads(parts[0]).get("msg_type") not in allowed:
                return
            attached.session.send_raw(attached.streams[channel or "shell"], parts)
        else:
            msg = (
                deserialize_binary_message(ws_msg)
                if isinstance(ws_msg, bytes)
                else json.loads(ws_msg)
            )
            channel = msg.pop("channel", None) or "shell"
            if allowed and msg["header"]["msg_type"] not in allowed:
                return
            attached.session.send(attached.streams[channel], msg)

    # -- runtimes -> browser ----------------------------------------------------------------------

    def handle_outgoing_message(self, stream: Any, outgoing_msg: list[Any]) -> None:
        runtime = getattr(stream, "nj_runtime", None)
        routing = self._nj_routing
        if runtime is not None:
            if routing is None or routing.closed or stream.closed():
                return
            outgoing_msg = self._signed_here(outgoing_msg)
        channel = getattr(stream, "channel", stream if isinstance(stream, str) else None)
        released = False
        if (
            runtime is not None
            and routing is not None
            and routing.nudges
            and self._is_nudge(channel, outgoing_msg)
        ):
            return
        if routing is not None:
            released = self._note(channel, runtime or MAIN, outgoing_msg)
        super().handle_outgoing_message(stream, outgoing_msg)  # type: ignore[misc]
        if released:
            self._pump()

    def _is_nudge(self, channel: str | None, msg_list: list[Any]) -> bool:
        """A message answering one of our own kernel_info requests (kept from the browser)."""
        parts = [getattr(part, "bytes", part) for part in msg_list]
        try:
            parent = json.loads(parts[parts.index(DELIM) + 3]).get("msg_id")
        except (ValueError, IndexError):
            return False
        arrived = self._routing.nudges.get(str(parent))
        if arrived is None:
            return False
        if channel == "iopub":
            arrived.set()
        return True

    def _signed_here(self, msg_list: list[Any]) -> list[Any]:
        """Another runtime's message, signed with this websocket's key (the browser checks
        nothing, but jupyter_server's own path deserialises and checks every message)."""
        parts = [getattr(part, "bytes", part) for part in msg_list]
        split = parts.index(DELIM)
        rest = parts[split + 1 :]
        rest[0] = self.session.sign(rest[1:5])
        return [*parts[:split], DELIM, *rest]

    def _note(self, channel: str | None, runtime: str, msg_list: list[Any]) -> bool:
        """Track what routing needs from a runtime's message; True when a reply freed the
        queue."""
        routing = self._routing
        if channel == "iopub" and runtime == MAIN:
            return False
        if channel == "shell" and not routing.in_flight:
            return False
        parts = [getattr(part, "bytes", part) for part in msg_list]
        try:
            rest = parts[parts.index(DELIM) + 1 :]
            header = json.loads(rest[1])
        except (ValueError, IndexError):
            return False
        msg_type = header.get("msg_type")
        if channel == "shell" and msg_type == "execute_reply":
            parent = json.loads(rest[2])
            msg_id = str(parent.get("msg_id"))
            routing.headers.pop(msg_id, None)
            if routing.in_flight.pop(msg_id, None) is None:
                return False
            stop = routing.stop_on_error.pop(msg_id, True)
            if stop and json.loads(rest[4]).get("status") == "error":
                self._abort_waiting()
            return True
        if channel == "iopub" and msg_type == "comm_open":
            comm_id = json.loads(rest[4]).get("comm_id")
            if comm_id:
                routing.comm_owner[str(comm_id)] = runtime
        elif channel == "iopub" and msg_type == "comm_close":
            routing.comm_owner.pop(str(json.loads(rest[4]).get("comm_id")), None)
        elif channel == "stdin" and msg_type == "input_request":
            routing.stdin_owner = runtime
        return False

    def _abort_waiting(self) -> None:
        """An error stops the cells queued behind it, as a kernel aborts its own queue."""
        routing = self._routing
        kept: deque[_Request] = deque()
        while routing.waiting:
            request = routing.waiting.popleft()
            if request.stop_on_error:
                self._answer(request, {"status": "aborted"}, outputs=[])
            else:
                kept.append(request)
        routing.waiting = kept

    def _answer_error(self, request: _Request) -> None:
        error = {
            "ename": "RuntimeUnavailable",
            "evalue": request.error,
            "traceback": [f"\x1b[0;31mRuntimeUnavailable\x1b[0m: {request.error}"],
        }
        self._answer(
            request,
            {"status": "error", "execution_count": None, **error},
            outputs=[("error", error)],
        )
        if request.stop_on_error:
            self._abort_waiting()

    def _answer(
        self,
        request: _Request,
        reply: dict[str, Any],
        outputs: list[tuple[str, dict[str, Any]]],
    ) -> None:
        """Answer a request here, as a kernel would: busy, outputs, the reply, idle."""
        parent = request.header
        self._send_here("iopub", "status", {"execution_state": "busy"}, parent)
        for msg_type, content in outputs:
            self._send_here("iopub", msg_type, content, parent)
        self._send_here("shell", "execute_reply", reply, parent)
        self._send_here("iopub", "status", {"execution_state": "idle"}, parent)

    def _send_here(
        self, channel: str, msg_type: str, content: dict[str, Any], parent: dict[str, Any]
    ) -> None:
        msg = self.session.msg(msg_type, content, parent=parent)
        try:
            if self.subprotocol == V1:
                self.write_message(
                    serialize_msg_to_ws_v1(msg, channel, self.session.pack), binary=True
                )
            else:
                msg["channel"] = channel
                self.write_message(json.dumps(msg, default=json_default))
        except Exception as err:  # noqa: BLE001  the browser went away
            log.debug("jupyter-nj: could not answer %s: %s", msg_type, err)

    # -- restarts: a request whose kernel restarted or died gets no reply ----------------------

    def runtime_restarted(self, runtime: str) -> None:
        """Forget the requests `runtime` will never answer, so the cells behind them run."""
        routing = self._nj_routing
        if routing is None or routing.closed:
            return
        lost = []
        for msg_id, owner in list(routing.in_flight.items()):
            if owner == runtime or runtime == MAIN:
                del routing.in_flight[msg_id]
                routing.stop_on_error.pop(msg_id, None)
                header = routing.headers.pop(msg_id, None)
                if header is not None:
                    lost.append(_Request(owner, None, header, stop_on_error=False))
        for request in lost:
            request.error = (
                f"Runtime {request.runtime!r} stopped while it ran this cell (it died, for "
                "example out of memory, or was restarted): its state is lost. Run the cells it "
                "needs again."
            )
            self._answer_error(request)
        if runtime != MAIN and runtime in routing.attached:
            # A restarted kernel may listen on other ports (a provisioner picks them at each
            # start), and what it publishes before a new subscription reaches it is lost: the
            # next request for it connects afresh and waits for its output, as the first did
            # (JupyterLab reconnects the notebook's own kernel after a restart for the same
            # reason). The channels close later, not now: the restarter may be calling our
            # callback, which closing removes.
            stale = routing.attached.pop(runtime)
            asyncio.get_running_loop().call_soon(self._release, stale)
        self._pump()

    def on_kernel_restarted(self) -> None:
        super().on_kernel_restarted()  # type: ignore[misc]
        self.runtime_restarted(MAIN)

    def on_restart_failed(self) -> None:
        super().on_restart_failed()  # type: ignore[misc]
        self.runtime_restarted(MAIN)

    # -- closing ---------------------------------------------------------------------------------

    def _detach(self, runtime: str) -> None:
        attached = self._routing.attached.pop(runtime, None)
        if attached is not None:
            self._release(attached)

    def _release(self, attached: _Attached) -> None:
        """Close this websocket's channels to a runtime it no longer routes to."""
        for stream in attached.streams.values():
            if not stream.closed():
                stream.on_recv(None)
                stream.close()
        kernel_id = attached.companion.kernel_id
        if kernel_id in self.multi_kernel_manager:
            self.multi_kernel_manager.notify_disconnect(kernel_id)
            for event in ("restart", "dead"):
                self.multi_kernel_manager.remove_restart_callback(
                    kernel_id, attached.on_restart, event
                )

    def disconnect(self) -> None:
        routing = self._nj_routing
        if routing is not None and not routing.closed:
            routing.closed = True
            for runtime in list(routing.attached):
                self._detach(runtime)
        return super().disconnect()  # type: ignore[misc]


def install_runtime_routing(settings: dict[str, Any]) -> None:
    """Route cells to their runtimes on the server's own kernel websocket connections
    (jupyter_server's class or one derived from it; a gateway's is left alone)."""
    base = settings.get("kernel_websocket_connection_class")
    if (
        base is None
        or not issubclass(base, ZMQChannelsWebsocketConnection)
        or issubclass(base, RuntimeRoutingConnectionMixin)
    ):
        return
    settings["kernel_websocket_connection_class"] = type(
        f"RuntimeRouting{base.__name__}", (RuntimeRoutingConnectionMixin, base), {}
    )
