"""How NJApp starts the runtimes pillar: manager, kernelspecs and orphan clean-up."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from typing import Any

from ..base import NJError
from .builds.docker import docker_client
from .manager import EnvironmentManager
from .pool import WarmPool
from .provisioner import remove_orphan_kernels


def start_runtimes(app: Any) -> EnvironmentManager:
    """Build the manager, publish `nj-<name>` kernelspecs and clear orphans left by a crash."""
    manager: EnvironmentManager = app.build_environment_manager(
        app.root_dir, app.nj_data_path, app.docker_host
    )
    # Overlays of local kernels a previous run of this server left behind (it was killed);
    # Jupyter Server never re-attaches kernels, so none of them is in use now.
    shutil.rmtree(manager.catalog.runtimes_dir(), ignore_errors=True)
    docker_up = manager.docker_available()
    try:
        manager.write_kernelspecs(docker_up=docker_up)
    except OSError as err:
        app.log.warning("jupyter-nj: could not write runtime kernelspecs: %s", err)
    serverapp = getattr(app, "serverapp", None)
    if serverapp is not None and getattr(serverapp, "event_logger", None) is not None:
        manager.use_event_logger(serverapp.event_logger)
    if serverapp is not None:
        dirs = serverapp.kernel_spec_manager.kernel_dirs
        if str(manager.kernelspec_dir) not in dirs:
            dirs.append(str(manager.kernelspec_dir))
    if docker_up:
        # Off the startup path: listing and removing containers can take a while.
        # Only containers created before now: kernels this server starts meanwhile are not
        # orphans. Joined on stop, so no sweep outlives its server.
        manager.orphan_sweep = threading.Thread(
            target=_remove_orphans,
            args=(app, manager, time.time()),
            name="nj-orphans",
            daemon=True,
        )
        manager.orphan_sweep.start()
    return manager


def _remove_orphans(app: Any, manager: EnvironmentManager, created_before: float) -> None:
    try:
        client = docker_client(manager.docker_host)
    except NJError:
        return
    try:
        removed = remove_orphan_kernels(client, manager.runtime.catalog, created_before)
        if removed:
            app.log.info("jupyter-nj: removed %d orphaned kernel container(s)", removed)
    except Exception as err:  # noqa: BLE001  clean-up must never take the server down
        app.log.warning("jupyter-nj: orphan clean-up failed: %s", err)
    finally:
        client.close()


async def stop_runtimes(app: Any) -> None:
    """Remove the warm pool's waiting containers (running kernels are the kernel manager's)."""
    manager: EnvironmentManager | None = getattr(app, "environment_manager", None)
    if manager is not None and manager.orphan_sweep is not None:
        await asyncio.to_thread(manager.orphan_sweep.join)
    if manager is None or not WarmPool.instance().ready:
        return
    await asyncio.to_thread(_drain_pool, app, manager)


def _drain_pool(app: Any, manager: EnvironmentManager) -> None:
    try:
        client = docker_client(manager.docker_host)
    except NJError:
        return
    try:
        removed = WarmPool.instance().drain(
            lambda r: client.api.remove_container(r.container_id, force=True)
        )
        app.log.info("jupyter-nj: removed %d waiting pooled runtime(s)", removed)
    finally:
        client.close()
