"""GPUs per runtime: the host's inventory (NVML), who holds which device, and the culling of
runtimes that hold a GPU and use it no more (docs/gpus.md)."""
