"""Runtimes benchmark: kernel start, "Save environment" and rebuilds, side by side in one run.

Anchor: a plain local ipykernel started by jupyter_client's LocalProvisioner (the `python3`
kernelspec of the server's own environment). Against it, on the same machine and in the same run,
interleaved round by round:

- `nj-local`: the `python` environment's uv venv (plus its per-runtime overlay);
- `nj-docker`: the `python` environment's image, IPC sockets, limits, unprivileged user.

Time = from `start_kernel()` until `wait_for_ready()` returns (first kernel_info_reply).
Then: "Save environment" after installing one small package (a local wheel, so the network does
not count), and rebuilding the `python` environment with a warm cache versus a cold one.

Run (needs the Docker engine and `jupyter nj env bootstrap` done once):

    .venv/bin/python benchmarks/runtimes/bench_runtimes.py [--rounds 15] [--skip-cold]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from jupyter_nj.runtimes.builds.docker import BuildSettings, DockerBackend
from jupyter_nj.runtimes.builds.local import BuildTools, LocalBackend
from jupyter_nj.runtimes.config import RuntimesConfig
from jupyter_nj.runtimes.service import RuntimeService

REPO = Path(__file__).resolve().parents[2]


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "p90": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


async def start_to_ready(
    ksm: KernelSpecManager, name: str, cwd: str, service: RuntimeService | None = None
) -> tuple[float, Any]:
    km = AsyncKernelManager(kernel_name=name, kernel_spec_manager=ksm)
    # No server here: the kernel manager hands the provisioner its runtimes service itself.
    km.nj_runtime_service = service
    started = time.perf_counter()
    await km.start_kernel(cwd=cwd)
    client = km.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)
    elapsed = time.perf_counter() - started
    client.stop_channels()
    return elapsed, km


async def pool_ready(service: RuntimeService) -> None:
    pool = service.pool
    while True:
        with pool.lock:
            if sum(map(len, pool.ready.values())) and not any(pool.starting.values()):
                return
        await asyncio.sleep(0.1)


def make_wheel(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "nj_bench_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("nj_bench_pkg/__init__.py", "VALUE = 1\n")
        info = "nj_bench_pkg-1.0.dist-info"
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: nj_bench_pkg\nVersion: 1.0\n")
        zf.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{info}/RECORD", "")
    return wheel


async def run_code(km: Any, code: str) -> None:
    client = km.client()
    client.start_channels()
    try:
        reply = await client.execute_interactive(code, timeout=120)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"cell failed: {reply['content']}")
    finally:
        client.stop_channels()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--skip-cold", action="store_true", help="skip the cold rebuilds")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nj-bench-"))
    notebook_dir = work / "notebooks"
    notebook_dir.mkdir()
    if os.geteuid() == 0:
        os.chown(notebook_dir, 1000, 100)
    config = RuntimesConfig(environment_paths=[str(REPO / "environments")])
    service = config.build_runtime_service(str(work), work / "data", "")
    manager = service.manager
    # The pooled scenario: the same catalog, a pool of one, rooted at the notebooks' folder.
    pooled = RuntimesConfig(
        environment_paths=[str(REPO / "environments")], runtime_pool_size=1
    ).build_runtime_service(str(notebook_dir), work / "data", "")
    print(
        f"# machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    manager.bootstrap()
    manager.build("python", "local")
    manager.build("python", "docker")

    local_dir, docker_dir = work / "specs-local", work / "specs-docker"
    manager.backend_preference = "local"
    manager.kernelspec_dir = local_dir
    manager.write_kernelspecs()
    manager.backend_preference = "docker"
    manager.kernelspec_dir = docker_dir
    manager.write_kernelspecs()
    (work / "specs-nj-docker").mkdir()
    shutil.copytree(docker_dir / "nj-python", work / "specs-nj-docker" / "nj-python-docker")
    pooled_spec = work / "specs-nj-docker" / "nj-python-pool"
    shutil.copytree(docker_dir / "nj-python", pooled_spec)
    ksm = KernelSpecManager(kernel_dirs=[str(local_dir), str(work / "specs-nj-docker")])
    anchor_ksm = KernelSpecManager()  # the server environment's own python3 kernelspec

    scenarios = {
        "local ipykernel (anchor)": (anchor_ksm, "python3", None),
        "nj-local (uv venv)": (ksm, "nj-python", service),
        "nj-docker (container)": (ksm, "nj-python-docker", service),
        "nj-docker, warm pool of 1": (ksm, "nj-python-pool", pooled),
    }
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    for specs, kernel, runtimes in scenarios.values():  # warm-up: page cache, image layers
        _, km = await start_to_ready(specs, kernel, str(notebook_dir), runtimes)
        await km.shutdown_kernel(now=True)
    for _ in range(args.rounds):
        for name, (specs, kernel, runtimes) in scenarios.items():
            if kernel == "nj-python-pool":
                await pool_ready(pooled)  # refilling after the previous start is not timed
            elapsed, km = await start_to_ready(specs, kernel, str(notebook_dir), runtimes)
            samples[name].append(elapsed)
            await km.shutdown_kernel(now=True)

    await pool_ready(pooled)
    pooled.pool.drain(
        lambda r: manager.docker.client().api.remove_container(r.container_id, force=True)
    )
    anchor = statistics.median(samples["local ipykernel (anchor)"])
    print(f"\n## Kernel start to first kernel_info_reply (n={args.rounds} each, interleaved)\n")
    print("| runtime | median | min | p90 | max | vs anchor |")
    print("|---|---|---|---|---|---|")
    for name, values in samples.items():
        s = summary(values)
        print(
            f"| {name} | {s['median']:.3f} s | {s['min']:.3f} | {s['p90']:.3f} | {s['max']:.3f}"
            f" | {s['median'] / anchor:.2f}x |"
        )

    # "Save environment" after one small install.
    wheel = make_wheel(notebook_dir / "wheels")
    os.chmod(wheel.parent, 0o755)
    print("\n## Save environment after installing one small package\n")
    print("| backend | install | save (snapshot + new version) |")
    print("|---|---|---|")
    for label, kernel in (("nj-local", "nj-python"), ("nj-docker", "nj-python-docker")):
        _, km = await start_to_ready(ksm, kernel, str(notebook_dir), service)
        try:
            started = time.perf_counter()
            await run_code(km, f"%pip install --no-index --find-links {wheel.parent} nj_bench_pkg")
            installed = time.perf_counter() - started
            started = time.perf_counter()
            record = await km.provisioner.snapshot([])
            saved = time.perf_counter() - started
            print(f"| {label} | {installed:.2f} s | {saved:.2f} s ({record.short}) |")
            if label == "nj-docker":
                manager.docker.client().images.remove(record.version, force=True)
        finally:
            await km.shutdown_kernel(now=True)

    # Rebuilding `python`: warm uv cache versus a cold one.
    definition = manager.definition("python")
    lock_sha = manager.catalog.store_lock(definition.lock_text)
    print("\n## Rebuild of the `python` environment\n")
    print("| backend | warm cache | cold cache |")
    print("|---|---|---|")
    rows = {}
    for cache in ("warm", "cold"):
        if cache == "cold" and args.skip_cold:
            continue
        cold_dir = work / f"uv-cache-{cache}"
        env_backup = os.environ.get("UV_CACHE_DIR")
        if cache == "cold":
            os.environ["UV_CACHE_DIR"] = str(cold_dir)
        try:
            record = manager.build("python", "local")
            venv = manager.catalog.venv_path(record.version)
            shutil.rmtree(venv)
            started = time.perf_counter()
            LocalBackend(
                manager.catalog, BuildTools(uv=manager.tools.uv, ca_bundle=manager.tools.ca_bundle)
            ).materialise(record)
            rows.setdefault("local (uv venv)", {})[cache] = time.perf_counter() - started
        finally:
            if env_backup is None:
                os.environ.pop("UV_CACHE_DIR", None)
            else:
                os.environ["UV_CACHE_DIR"] = env_backup
        settings = manager.docker.settings
        if cache == "cold":
            settings = BuildSettings(
                **{**settings.__dict__, "uv_cache_volume": f"nj-bench-{uuid.uuid4().hex[:8]}"}
            )
        backend = DockerBackend(settings)
        started = time.perf_counter()
        rebuilt = backend.build(definition, lock_sha, reuse=False)
        rows.setdefault("docker (image)", {})[cache] = time.perf_counter() - started
        client = backend.client()
        if cache == "cold":
            client.volumes.get(settings.uv_cache_volume).remove(force=True)
        original = manager.catalog.current("python", "docker")
        if original is not None and rebuilt.version != original.version:
            # The rebuild took over the tag: give it back to the version the catalog knows.
            client.images.get(original.version).tag(*str(original.image).split(":"))
            client.images.remove(rebuilt.version, force=True)
        client.close()
    for label, values in rows.items():
        warm = f"{values['warm']:.1f} s"
        cold = f"{values['cold']:.1f} s" if "cold" in values else "skipped"
        print(f"| {label} | {warm} | {cold} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.platform != "linux":
        raise SystemExit("this benchmark needs Linux and a Docker engine")
    asyncio.run(main())
