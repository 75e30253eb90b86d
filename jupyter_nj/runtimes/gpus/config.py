"""The GPU traits, mixed into NJApp (so they read `c.NJApp.gpu_*`), and the manager they build."""

from __future__ import annotations

from traitlets import Bool, Float, Int, Type
from traitlets.config import Configurable

from .allocator import GpuAllocator
from .inventory import GpuInventory, NvmlInventory
from .manager import CullSettings, GpuManager


class GpuTraits(Configurable):
    gpu_inventory_class = Type(
        NvmlInventory,
        klass=GpuInventory,
        config=True,
        help="""Where the host's GPUs are read from: a `GpuInventory` subclass. The default reads
        NVIDIA GPUs through NVML (nvidia-ml-py) on the server's host, which must be the host of
        the Docker engine that runs the runtimes.""",
    )
    gpu_sharing = Bool(
        False,
        config=True,
        help="""Let two runtimes hold the same GPU (they then share its memory and compute). Off:
        a runtime that asks for a GPU gets one nobody else holds, or does not start.""",
    )
    gpu_allow_all = Bool(
        False,
        config=True,
        help="""Let a runtime ask for `"gpus": "all"` (every GPU of the host). Off: runtimes ask for
        a count or for specific devices, and always get devices by UUID.""",
    )
    gpu_max_per_runtime = Int(
        0, config=True, help="Most GPUs one runtime may hold; 0: no limit besides the host's."
    )
    gpu_max_per_user = Int(
        0,
        config=True,
        help="""Most GPUs one user may hold in all their runtimes together on this server; 0: no
        limit. The user is whoever asked for the GPUs through the runtime's GPU menu
        (POST /nj/api/runtimes/{kernel_id}/gpus), else the server's own user.""",
    )
    gpu_idle_timeout = Float(
        1800.0,
        config=True,
        help="""Seconds after which a runtime that holds GPUs is shut down when, all that time, it
        ran no cell and every one of its GPUs stayed under NJApp.gpu_idle_utilization. 0: never.
        Runtimes without GPUs follow jupyter_server's culling (MappingKernelManager.cull_*).""",
    )
    gpu_idle_utilization = Float(
        5.0,
        config=True,
        help="""GPU utilization (percent, as NVML samples it) under which a GPU counts as idle.
        Memory held does not count: a runtime that only holds GPU memory is idle.""",
    )
    gpu_cull_warning = Float(
        300.0,
        config=True,
        help="""Seconds before a GPU runtime is culled at which its notebook is warned; 0: no
        warning.""",
    )
    gpu_cull_interval = Float(
        60.0, config=True, help="Seconds between two checks of the GPU runtimes' idleness."
    )

    def build_gpu_inventory(self) -> GpuInventory:
        inventory: GpuInventory = self.gpu_inventory_class()  # type: ignore[abstract]
        return inventory

    def build_gpu_manager(self) -> GpuManager:
        return GpuManager(
            self.build_gpu_inventory(),
            GpuAllocator(
                sharing=self.gpu_sharing,
                max_per_runtime=self.gpu_max_per_runtime,
                max_per_user=self.gpu_max_per_user,
                allow_all=self.gpu_allow_all,
            ),
            CullSettings(
                timeout=self.gpu_idle_timeout,
                utilization=self.gpu_idle_utilization,
                warning=self.gpu_cull_warning,
                interval=self.gpu_cull_interval,
            ),
        )
