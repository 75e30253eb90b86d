"""The status panel's GPU line: what GET /nj/api/gpus says, in one sentence."""

from __future__ import annotations

from typing import Any

from ...status.manager import BackendStatus

LABEL = "GPUs"


def probe_gpus(manager: Any, inventory_class: Any = None) -> BackendStatus:
    """Blocking (reads NVML); never raises. Without a manager (the command line), a fresh
    inventory of `inventory_class` is read and no GPU counts as held."""
    try:
        if manager is not None:
            report = manager.inventory.read()
        else:
            inventory = inventory_class()
            try:
                report = inventory.read()
            finally:
                inventory.close()
    except Exception as err:  # noqa: BLE001  a probe reports, it never fails
        return BackendStatus(name="gpus", label=LABEL, live=False, detail=f"unreadable ({err})")
    if not report.available:
        return BackendStatus(
            name="gpus", label=LABEL, live=False, detail=report.reason, hint=report.hint
        )
    holders = manager.allocator.holders() if manager is not None else {}
    free = sum(1 for d in report.devices if not holders.get(d.uuid))
    names = sorted({d.name for d in report.devices})
    return BackendStatus(
        name="gpus",
        label=LABEL,
        live=True,
        detail=f"{len(report.devices)} × {', '.join(names)} ({free} free)",
        facts={"count": len(report.devices), "free": free},
    )
