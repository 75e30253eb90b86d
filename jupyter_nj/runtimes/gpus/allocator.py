"""Who holds which GPU: every runtime that asked for GPUs gets its own devices, by UUID.

A request is a count (`metadata.nj.runtimes.<name>.gpus = 2`), a list of device UUIDs, or
"all" where the operator allows it. Two runtimes never get the same device unless
`NJApp.gpu_sharing` is on. Allocations are kept per kernel: a restart keeps the kernel's devices
(it asks again and gets the same ones first), a shutdown, a crash or a cull releases them, and
after a server restart they are rebuilt from the labels of the kernel containers still running.
"""

from __future__ import annotations

import getpass
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...base import NJError
from .inventory import GpuDevice, GpuReport

ALL = "all"
# The label a container kernel carries with its devices (comma-separated UUIDs).
GPUS_LABEL = "org.jupyter-nj.gpus"

GpuRequest = int | tuple[str, ...] | str


@dataclass(frozen=True)
class GpuHolder:
    """A runtime that holds GPUs: its kernel, notebook, runtime name and user."""

    kernel_id: str
    notebook: str
    runtime: str
    user: str
    since: float

    def to_json(self) -> dict[str, str]:
        return {
            "kernel_id": self.kernel_id,
            "notebook": self.notebook,
            "runtime": self.runtime,
            "user": self.user,
        }

    def describe(self) -> str:
        where = f" of {self.notebook}" if self.notebook else ""
        who = f", {self.user}" if self.user else ""
        return f"runtime {self.runtime!r}{where} (kernel {self.kernel_id[:8]}{who})"


def parse_gpu_request(value: Any) -> GpuRequest:
    """A pin's `gpus` as a request: 0 (none), a count, device UUIDs, or "all"."""
    if value is None or value is False or value == [] or value == "":
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, int) and value >= 0:
        return value
    if value == ALL:
        return ALL
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value):
        return tuple(dict.fromkeys(value))
    raise NJError(
        400,
        "bad-gpus",
        f"`gpus` is {value!r}: give a count (0 for none), a list of device UUIDs "
        '(`["GPU-…"]`, see GET /nj/api/gpus), or "all".',
    )


def requested_count(request: GpuRequest, report: GpuReport | None = None) -> int:
    if isinstance(request, int):
        return request
    if request == ALL:
        return len(report.devices) if report is not None else 0
    return len(request)


def owner() -> str:
    """The server's own user: who a runtime belongs to when no request named anyone."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class GpuAllocator:
    """The GPUs each kernel of this server holds (thread-safe: starts run in threads)."""

    def __init__(
        self,
        sharing: bool = False,
        max_per_runtime: int = 0,
        max_per_user: int = 0,
        allow_all: bool = False,
    ) -> None:
        self.sharing = sharing
        self.max_per_runtime = max_per_runtime
        self.max_per_user = max_per_user
        self.allow_all = allow_all
        self._lock = threading.Lock()
        self._held: dict[str, tuple[GpuHolder, tuple[str, ...]]] = {}
        # Who asked for the GPUs of (notebook, runtime) through the REST API.
        self._asked_by: dict[tuple[str, str], str] = {}

    # -- reading ---------------------------------------------------------------------------------

    def held_by(self, kernel_id: str) -> tuple[str, ...]:
        with self._lock:
            entry = self._held.get(kernel_id)
            return entry[1] if entry else ()

    def holders(self) -> dict[str, list[GpuHolder]]:
        """Device UUID → the runtimes holding it."""
        with self._lock:
            result: dict[str, list[GpuHolder]] = {}
            for holder, uuids in self._held.values():
                for uuid in uuids:
                    result.setdefault(uuid, []).append(holder)
            return result

    def kernels(self) -> dict[str, tuple[GpuHolder, tuple[str, ...]]]:
        with self._lock:
            return dict(self._held)

    def user_of(self, notebook: str, runtime: str) -> str:
        with self._lock:
            return self._asked_by.get((notebook, runtime)) or owner()

    def asked_by(self, notebook: str, runtime: str, user: str) -> None:
        with self._lock:
            self._asked_by[(notebook, runtime)] = user

    # -- checking and allocating ---------------------------------------------------------------

    def check_limits(
        self, request: GpuRequest, user: str, report: GpuReport, kernel_id: str = ""
    ) -> None:
        """Refuse (NJError 403) what the operator's limits do not allow."""
        if request == ALL and not self.allow_all:
            raise NJError(
                403,
                "gpus-all-refused",
                'This server does not hand out "all" GPUs (NJApp.gpu_allow_all): ask for a '
                "count or for specific devices.",
            )
        count = requested_count(request, report)
        if self.max_per_runtime and count > self.max_per_runtime:
            raise NJError(
                403,
                "gpu-limit",
                f"A runtime may use at most {self.max_per_runtime} GPU(s) on this server "
                f"(NJApp.gpu_max_per_runtime); this one asks for {count}.",
            )
        if self.max_per_user and user:
            with self._lock:
                others = sum(
                    len(uuids)
                    for holder, uuids in self._held.values()
                    if holder.user == user and holder.kernel_id != kernel_id
                )
            if others + count > self.max_per_user:
                raise NJError(
                    403,
                    "gpu-user-limit",
                    f"{user} may use at most {self.max_per_user} GPU(s) on this server "
                    f"(NJApp.gpu_max_per_user) and holds {others} in other runtimes; stop one "
                    "of them or ask for fewer.",
                )

    def allocate(
        self,
        kernel_id: str,
        request: GpuRequest,
        report: GpuReport,
        notebook: str = "",
        runtime: str = "main",
        user: str = "",
    ) -> tuple[str, ...]:
        """The devices kernel `kernel_id` runs with from now on (its earlier ones are released
        first, and preferred: a restart keeps its GPUs). Raises NJError 409 when the host has no
        GPU, or not enough free ones, naming who holds them; 403 past a limit."""
        user = user or self.user_of(notebook, runtime)
        count = requested_count(request, report)
        if count == 0 and request != ALL:
            self.release(kernel_id)
            return ()
        if not report.available:
            raise NJError(
                409,
                "no-gpu",
                f"Runtime {runtime!r} asks for GPUs, but there is {report.reason}. {report.hint}",
            )
        self.check_limits(request, user, report, kernel_id)
        with self._lock:
            previous = self._held.pop(kernel_id, None)
            try:
                chosen = self._choose(request, report, previous[1] if previous else ())
            except NJError:
                if previous is not None:
                    self._held[kernel_id] = previous
                raise
            holder = GpuHolder(kernel_id, notebook, runtime, user, time.time())
            self._held[kernel_id] = (holder, chosen)
            return chosen

    def check_fits(self, kernel_id: str, request: GpuRequest, report: GpuReport) -> None:
        """Raise the NJError `allocate` would raise for kernel `kernel_id`, recording nothing."""
        with self._lock:
            previous = self._held.pop(kernel_id, None)
            try:
                self._choose(request, report, ())
            finally:
                if previous is not None:
                    self._held[kernel_id] = previous

    def _choose(
        self, request: GpuRequest, report: GpuReport, preferred: tuple[str, ...]
    ) -> tuple[str, ...]:
        held = self._holders_locked()
        known = {d.uuid: d for d in report.devices}
        if isinstance(request, tuple):
            unknown = [u for u in request if u not in known]
            if unknown:
                raise NJError(
                    409,
                    "unknown-gpu",
                    f"This host has no GPU {', '.join(unknown)}; its GPUs are "
                    f"{_list_devices(report.devices)}.",
                )
            taken = [u for u in request if held.get(u) and not self.sharing]
            if taken:
                raise NJError(409, "gpu-busy", _busy_message(taken, known, held))
            return request
        if request == ALL:
            taken = [u for u in known if held.get(u) and not self.sharing]
            if taken:
                raise NJError(409, "gpu-busy", _busy_message(taken, known, held))
            return tuple(known)
        assert isinstance(request, int)
        # Free devices first (the kernel's own earlier ones before others), then, when sharing
        # is allowed, the least shared ones.
        order = sorted(
            report.devices,
            key=lambda d: (len(held.get(d.uuid, ())), d.uuid not in preferred, d.index),
        )
        usable = [d for d in order if self.sharing or not held.get(d.uuid)]
        if len(usable) < request:
            busy = [d.uuid for d in report.devices if held.get(d.uuid)]
            free = len(usable)
            raise NJError(
                409,
                "gpu-busy",
                f"This runtime asks for {request} GPU(s), but only {free} of the host's "
                f"{len(report.devices)} are free. " + _busy_message(busy, known, held),
            )
        return tuple(d.uuid for d in usable[:request])

    def _holders_locked(self) -> dict[str, list[GpuHolder]]:
        result: dict[str, list[GpuHolder]] = {}
        for holder, uuids in self._held.values():
            for uuid in uuids:
                result.setdefault(uuid, []).append(holder)
        return result

    def release(self, kernel_id: str) -> tuple[str, ...]:
        """Free the devices of kernel `kernel_id`; what it held."""
        with self._lock:
            entry = self._held.pop(kernel_id, None)
        return entry[1] if entry else ()

    def adopt(self, holder: GpuHolder, uuids: Iterable[str]) -> None:
        """Record devices a runtime already holds (a container found at the server's start)."""
        with self._lock:
            self._held[holder.kernel_id] = (holder, tuple(uuids))

    def rebuild_from_containers(self, containers: Iterable[Any]) -> int:
        """Adopt the devices of the running kernel containers that carry `GPUS_LABEL` (left by an
        earlier run of this server, or run by another server on the same engine). Returns how
        many containers held GPUs."""
        found = 0
        for container in containers:
            labels = getattr(container, "labels", {}) or {}
            uuids = [u for u in labels.get(GPUS_LABEL, "").split(",") if u]
            if not uuids:
                continue
            kernel_id = labels.get("org.jupyter-nj.kernel-id") or str(container.id)
            self.adopt(
                GpuHolder(
                    kernel_id=kernel_id,
                    notebook=labels.get("org.jupyter-nj.notebook", ""),
                    runtime=labels.get("org.jupyter-nj.runtime", "main"),
                    user=labels.get("org.jupyter-nj.user", ""),
                    since=time.time(),
                ),
                uuids,
            )
            found += 1
        return found


def _list_devices(devices: Iterable[GpuDevice]) -> str:
    listed = [f"{d.uuid} (GPU {d.index}, {d.name})" for d in devices]
    return ", ".join(listed) or "none"


def _busy_message(
    uuids: Iterable[str], known: dict[str, GpuDevice], held: dict[str, list[GpuHolder]]
) -> str:
    parts = []
    for uuid in uuids:
        device = known.get(uuid)
        label = f"GPU {device.index} ({device.name})" if device else uuid
        holders = "; ".join(h.describe() for h in held.get(uuid, ()))
        parts.append(f"{label} is held by {holders}")
    return (
        ". ".join(parts)
        + ". Stop one of those runtimes (or wait until it is culled), or ask for no GPU."
    )
