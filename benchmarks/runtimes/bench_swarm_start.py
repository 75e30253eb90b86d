"""Runtime start as a Docker Swarm service versus a plain container, on the same engine.

Anchor: `nj-docker` with `runtime_engine = "docker"` (a container, IPC sockets). Against it, in
the same run and interleaved round by round: `runtime_engine = "swarm"` (a one-replica service
on an encrypted overlay, its task reached through a loopback relay). Same image (the `python`
environment), same limits, same unprivileged user.

Time = from `start_kernel()` until `wait_for_ready()` returns (first kernel_info_reply); then the
shutdown (`shutdown_kernel(now=True)`: for a service, until its task's container is gone).

Run (needs the Docker engine and `jupyter nj env bootstrap` done once). The engine is made a
single-node swarm for the run when it is in none, and leaves it at the end:

    .venv/bin/python benchmarks/runtimes/bench_swarm_start.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from benchmarks.runtimes.bench_runtimes import summary
from jupyter_nj.runtimes.config import RuntimesConfig
from jupyter_nj.runtimes.service import RuntimeService

REPO = Path(__file__).resolve().parents[2]


async def start_and_stop(
    ksm: KernelSpecManager, cwd: str, service: RuntimeService
) -> tuple[float, float]:
    km: Any = AsyncKernelManager(kernel_name="nj-python", kernel_spec_manager=ksm)
    km.nj_runtime_service = service  # no server here: the kernel manager carries the service
    started = time.perf_counter()
    await km.start_kernel(cwd=cwd)
    client = km.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)
    ready = time.perf_counter() - started
    client.stop_channels()
    started = time.perf_counter()
    await km.shutdown_kernel(now=True)
    return ready, time.perf_counter() - started


def swarm_state() -> str:
    return subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    initialised = swarm_state() != "active"
    had_gwbridge = bool(
        subprocess.run(
            ["docker", "network", "ls", "-q", "--filter", "name=^docker_gwbridge$"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    if initialised:
        subprocess.run(
            ["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"],
            check=True,
            capture_output=True,
        )
    work = Path(tempfile.mkdtemp(prefix="nj-bench-swarm-"))
    try:
        asyncio.run(measure(work, args.rounds))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if initialised:
            subprocess.run(["docker", "swarm", "leave", "--force"], check=True, capture_output=True)
            if not had_gwbridge:  # made by `swarm init`; leaving keeps it
                subprocess.run(
                    ["docker", "network", "rm", "docker_gwbridge"], check=False, capture_output=True
                )


async def measure(work: Path, rounds: int) -> None:
    notebook_dir = work / "notebooks"
    notebook_dir.mkdir()
    if os.geteuid() == 0:
        os.chown(notebook_dir, 1000, 100)
    definitions = [str(REPO / "environments")]
    services = {
        engine: RuntimesConfig(
            environment_paths=definitions, runtime_engine=engine
        ).build_runtime_service(
            str(notebook_dir), work / f"data-{engine}", "", catalog=work / "catalog"
        )
        for engine in ("docker", "swarm")
    }
    manager = services["docker"].manager
    print(
        f"# machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    manager.bootstrap()
    record = manager.build("python", "docker")
    print(f"# environment: python@{record.short} ({record.image})")
    manager.backend_preference = "docker"
    manager.kernelspec_dir = work / "specs"
    manager.write_kernelspecs()
    ksm = KernelSpecManager(kernel_dirs=[str(work / "specs")])

    labels = {"docker": "container (anchor)", "swarm": "swarm service + relay"}
    ready: dict[str, list[float]] = {engine: [] for engine in services}
    stop: dict[str, list[float]] = {engine: [] for engine in services}
    try:
        for service in services.values():  # warm-up: page cache, the overlay network
            await start_and_stop(ksm, str(notebook_dir), service)
        for _ in range(rounds):
            for engine, service in services.items():
                up, down = await start_and_stop(ksm, str(notebook_dir), service)
                ready[engine].append(up)
                stop[engine].append(down)
    finally:
        for service in services.values():
            await service.stop()
    anchor = statistics.median(ready["docker"])
    anchor_stop = statistics.median(stop["docker"])
    print(f"\n## Kernel start to first kernel_info_reply (n={rounds} each, interleaved)\n")
    print("| runtime | median | min | p90 | max | vs container | shutdown (median) |")
    print("|---|---|---|---|---|---|---|")
    for engine in services:
        s = summary(ready[engine])
        down = statistics.median(stop[engine])
        print(
            f"| {labels[engine]} | {s['median']:.3f} s | {s['min']:.3f} | {s['p90']:.3f} | "
            f"{s['max']:.3f} | {s['median'] / anchor:.2f}x | {down:.3f} s "
            f"({down / anchor_stop:.2f}x) |"
        )


if __name__ == "__main__":
    if sys.platform != "linux":
        raise SystemExit("this benchmark needs Linux and a Docker engine")
    main()
