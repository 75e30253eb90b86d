"""What GPUs the engine host has and how busy each is, behind one interface.

`GpuInventory` is what the allocator, the culler, the REST API and the status probe read;
`NvmlInventory` (NVML through `nvidia-ml-py`) is the only implementation shipped. NVML runs on
the server's host, which must be the Docker engine's host (docs/gpus.md): inside containers NVML
reports host PIDs or none, so use is attributed by the devices a runtime was given, never by PID.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

NO_DRIVER = "no NVIDIA driver on this host"
NO_DRIVER_HINT = (
    "GPU runtimes need an NVIDIA GPU with its driver on the host that runs the kernels, and the "
    "NVIDIA container toolkit for Docker runtimes (docs/gpus.md). Install the driver "
    "(`nvidia-smi` must list the GPUs), or run this server on a GPU host; runtimes without GPUs "
    "work as before."
)


@dataclass(frozen=True)
class GpuDevice:
    """One GPU as NVML reports it now. Memory in bytes, utilization in percent (None: unknown)."""

    uuid: str
    index: int
    name: str
    memory_total: int
    memory_used: int
    utilization: int | None


@dataclass(frozen=True)
class GpuReport:
    """The host's GPUs, or why there are none (`reason`, and `hint`: what to do)."""

    available: bool
    reason: str = ""
    hint: str = ""
    devices: tuple[GpuDevice, ...] = field(default_factory=tuple)

    def device(self, uuid: str) -> GpuDevice | None:
        return next((d for d in self.devices if d.uuid == uuid), None)


class GpuInventory(ABC):
    """Reads the host's GPUs. Blocking (call it in a thread); never raises for a host without
    GPUs: the report says why instead."""

    @abstractmethod
    def read(self) -> GpuReport:
        """Every GPU of the host with its memory and utilization now."""

    def close(self) -> None:  # noqa: B027  optional: most inventories hold nothing
        """Release what reading needed (NVML's handle)."""


class NvmlInventory(GpuInventory):
    """The host's NVIDIA GPUs through NVML (`pynvml`, from the `nvidia-ml-py` package).

    NVML is initialised on the first read and kept; a failed initialisation is tried again at
    the next read, so a driver installed while the server runs is found without a restart.
    Only unversioned NVML calls are used (the `_v2`/`_v3` symbols differ between drivers).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._initialised = False

    def _init(self) -> GpuReport | None:
        """Initialise NVML; a report saying why not, or None when it worked."""
        try:
            import pynvml
        except ImportError:
            return GpuReport(
                available=False,
                reason="nvidia-ml-py is not installed in the server's environment",
                hint="pip install nvidia-ml-py (a dependency of jupyter-nj), then restart.",
            )
        if self._initialised:
            return None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as err:
            return _nvml_failure(pynvml, err)
        self._initialised = True
        return None

    def read(self) -> GpuReport:
        with self._lock:
            failure = self._init()
            if failure is not None:
                return failure
            import pynvml

            try:
                count = pynvml.nvmlDeviceGetCount()
                devices = tuple(_read_device(pynvml, index) for index in range(count))
            except pynvml.NVMLError as err:
                # The driver went away (unloaded, GPU lost): start over at the next read.
                self._shutdown()
                return _nvml_failure(pynvml, err)
        if not devices:
            return GpuReport(
                available=False,
                reason="the NVIDIA driver is loaded but reports no GPU",
                hint="Check `nvidia-smi`; a GPU may be disabled, or passed to a VM.",
            )
        return GpuReport(available=True, devices=devices)

    def _shutdown(self) -> None:
        if self._initialised:
            import pynvml

            try:
                pynvml.nvmlShutdown()
            except pynvml.NVMLError:
                pass
            self._initialised = False

    def close(self) -> None:
        with self._lock:
            self._shutdown()


def _read_device(pynvml: Any, index: int) -> GpuDevice:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    uuid = pynvml.nvmlDeviceGetUUID(handle)
    name = pynvml.nvmlDeviceGetName(handle)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    try:
        utilization: int | None = int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except pynvml.NVMLError:
        utilization = None  # some devices (MIG parents) do not report it
    return GpuDevice(
        uuid=uuid.decode() if isinstance(uuid, bytes) else str(uuid),
        index=index,
        name=name.decode() if isinstance(name, bytes) else str(name),
        memory_total=int(memory.total),
        memory_used=int(memory.used),
        utilization=utilization,
    )


# NVML's errors a person can act on: (error class in pynvml, reason, what to do).
_KNOWN_FAILURES = (
    ("NVMLError_LibraryNotFound", NO_DRIVER, NO_DRIVER_HINT),
    (
        "NVMLError_DriverNotLoaded",
        "the NVIDIA driver is installed but not loaded",
        "Load it (`sudo modprobe nvidia`, or reboot after a driver update); see `nvidia-smi`.",
    ),
    (
        "NVMLError_NoPermission",
        "the server's user may not read the GPUs",
        "Give the server's user access to /dev/nvidia* (the `video` group on most distributions).",
    ),
)


def _nvml_failure(pynvml: Any, err: Exception) -> GpuReport:
    """What a person can do about an NVML error."""
    for name, reason, hint in _KNOWN_FAILURES:
        if isinstance(err, getattr(pynvml, name)):
            return GpuReport(available=False, reason=reason, hint=hint)
    return GpuReport(
        available=False,
        reason=f"NVML failed: {err}",
        hint="Check the NVIDIA driver with `nvidia-smi`; a driver and library mismatch needs a "
        "reboot after a driver update.",
    )
