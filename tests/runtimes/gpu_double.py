"""A test double of the GPU inventory, for tests only: it is not a GPU test and proves nothing
about NVML. It stands for a host whose GPUs (UUIDs, names, utilization) a test sets, so the
allocation, the device requests and the culling decisions run against the real engine and the
real server on machines without a GPU. The shipped inventory is `NvmlInventory` alone.
"""

from __future__ import annotations

from typing import ClassVar

from jupyter_nj.runtimes.gpus.inventory import GpuDevice, GpuInventory, GpuReport

GIB = 1024**3


def device_double(index: int, utilization: int | None = 0) -> GpuDevice:
    return GpuDevice(
        uuid=f"GPU-d0ub1e00-0000-0000-0000-00000000000{index}",
        index=index,
        name="Test double (no GPU)",
        memory_total=16 * GIB,
        memory_used=0,
        utilization=utilization,
    )


class GpuInventoryDouble(GpuInventory):
    """Reports `devices`, with each device's utilization from `utilization` (by UUID). The
    server instantiates the class itself (NJApp.gpu_inventory_class), so tests set the class
    attributes; the `gpu_host` fixture resets them."""

    devices: ClassVar[list[GpuDevice]] = []
    utilization: ClassVar[dict[str, int | None]] = {}
    reads: ClassVar[int] = 0

    def read(self) -> GpuReport:
        type(self).reads += 1
        if not self.devices:
            return GpuReport(available=False, reason="no GPU in this test double", hint="")
        return GpuReport(
            available=True,
            devices=tuple(
                GpuDevice(
                    uuid=d.uuid,
                    index=d.index,
                    name=d.name,
                    memory_total=d.memory_total,
                    memory_used=d.memory_used,
                    utilization=self.utilization.get(d.uuid, d.utilization),
                )
                for d in self.devices
            ),
        )

    @classmethod
    def reset(cls, count: int) -> list[GpuDevice]:
        cls.devices = [device_double(i) for i in range(count)]
        cls.utilization = {}
        cls.reads = 0
        return list(cls.devices)
