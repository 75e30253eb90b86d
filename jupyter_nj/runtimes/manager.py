"""EnvironmentManager: the runtimes pillar's one manager.

It finds definitions, builds versions with the local or Docker backend, answers what exists,
and keeps the `nj-<name>` kernelspecs in step with the catalog.
Everything here blocks (files, uv, docker SDK); the `a*` methods run it in a thread for the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..base import NJError
from .builds.buildlog import follow_build
from .builds.docker import LONG_OPERATION_TIMEOUT, BuildSettings, DockerBackend, docker_client
from .builds.local import BuildTools, LocalBackend, compile_lock, local_problem
from .catalog import EnvironmentCatalog
from .model import (
    BACKENDS,
    DEFINITION_FILE,
    EnvironmentDefinition,
    EnvironmentVersion,
    check_name,
    local_version_id,
)

log = logging.getLogger(__name__)

EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_nj/environments/v1"
EVENT_SCHEMA_PATH = Path(__file__).parent / "events" / "environments.yaml"
KERNELSPEC_PREFIX = "nj-"
# A build-log line longer than this is cut (progress bars print very long lines).
MAX_LOG_LINE = 500


class EnvironmentManager:
    def __init__(
        self,
        data_dir: Path,
        definition_dirs: Sequence[Path],
        tools: BuildTools,
        build_settings: BuildSettings,
        kernelspec_dir: Path,
        backend_preference: str = "auto",
        docker_host: str = "",
    ) -> None:
        self.catalog = EnvironmentCatalog(data_dir)
        self.definition_dirs = [Path(d) for d in definition_dirs]
        self.tools = tools
        self.local = LocalBackend(self.catalog, tools)
        self.docker = DockerBackend(build_settings, docker_host)
        self.kernelspec_dir = Path(kernelspec_dir)
        self.backend_preference = backend_preference
        self.docker_host = docker_host
        self.event_logger: Any = None
        self._build_locks: dict[tuple[str, str], threading.Lock] = {}

    def use_event_logger(self, event_logger: Any) -> None:
        """Report builds and snapshots as jupyter events (for the environments panel)."""
        event_logger.register_event_schema(EVENT_SCHEMA_PATH)
        self.event_logger = event_logger

    def emit(self, action: str, environment: str, backend: str, **extra: Any) -> None:
        if self.event_logger is None:
            return
        data = {"action": action, "environment": environment, "backend": backend}
        data.update({k: v for k, v in extra.items() if v not in (None, "")})
        try:
            self.event_logger.emit(schema_id=EVENT_SCHEMA_ID, data=data)
        except Exception:  # reporting progress must never fail a build
            log.exception("nj: could not emit the environment event %s", action)

    # -- definitions ---------------------------------------------------------------------------

    def definition_dir(self, name: str) -> Path:
        check_name(name)
        for base in self.definition_dirs:
            if (base / name / DEFINITION_FILE).exists():
                return base / name
        raise NJError(
            404,
            "unknown-environment",
            f"There is no environment called {name!r}. Known: {', '.join(self.names()) or 'none'}.",
        )

    def definition(self, name: str) -> EnvironmentDefinition:
        return EnvironmentDefinition.load(self.definition_dir(name))

    def names(self) -> list[str]:
        """Every environment with a definition or a built version, first definition dir wins."""
        found: set[str] = set(self.catalog.names())
        for base in self.definition_dirs:
            if base.is_dir():
                found.update(p.parent.name for p in base.glob(f"*/{DEFINITION_FILE}"))
        return sorted(n for n in found if _valid_name(n))

    # -- building ------------------------------------------------------------------------------

    def build(self, name: str, backend: str = "local") -> EnvironmentVersion:
        """Build the current definition of `name`; returns the (possibly existing) version."""
        if backend not in BACKENDS:
            raise NJError(400, "bad-backend", f"Unknown backend {backend!r}: use local or docker.")
        definition = self.definition(name)
        with self._build_locks.setdefault((name, backend), threading.Lock()):
            # One build per environment and backend at a time: two requests for the same venv
            # or image would otherwise build it twice into the same place.
            return self._build_locked(name, backend, definition)

    def _build_locked(
        self, name: str, backend: str, definition: EnvironmentDefinition
    ) -> EnvironmentVersion:
        lock_sha = self.catalog.store_lock(definition.lock_text)
        if backend == "local":
            record = EnvironmentVersion(
                name=name,
                version=definition.local_version(),
                backend="local",
                recipe=definition.recipe(),
                lock_sha256=lock_sha,
            )
            self.local.materialise(record)
        else:
            record = self.docker.build(definition, lock_sha)
        stored = self.catalog.add(record)
        self.catalog.set_current(stored)
        self.write_kernelspecs()
        return stored

    def lock(self, name: str) -> Path:
        folder = self.definition_dir(name)
        definition_python = EnvironmentDefinition.load_python(folder)
        return compile_lock(folder, definition_python, self.tools)

    def bootstrap(self, mirror: str = "", force: bool = False) -> dict[str, str]:
        from .builds.bootstrap import bootstrap_images

        client = docker_client(self.docker_host, timeout=LONG_OPERATION_TIMEOUT)
        try:
            return bootstrap_images(client, self.docker.settings, mirror=mirror, force=force)
        finally:
            client.close()

    # -- export and import ----------------------------------------------------------------------

    def export(self, name: str, version: str, target: Path) -> Path:
        """Write a version (record, lock, Dockerfile, image archive) to a folder under `target`."""
        from .transfer import export_version

        record = self.catalog.get(name, version)
        settings = self.docker.settings
        if record.backend != "docker":
            return export_version(
                self.catalog, record, target, None, settings.kernel_uid, settings.kernel_gid
            )
        client = docker_client(self.docker_host, timeout=LONG_OPERATION_TIMEOUT)
        try:
            return export_version(
                self.catalog, record, target, client, settings.kernel_uid, settings.kernel_gid
            )
        finally:
            client.close()

    def import_(self, folder: Path) -> EnvironmentVersion:
        """Add an exported version: the same version ID as on the machine it came from."""
        from .transfer import load_image, read_export

        record, lock_text = read_export(Path(folder))
        self.catalog.store_lock(lock_text)
        if record.backend == "docker":
            client = docker_client(self.docker_host, timeout=LONG_OPERATION_TIMEOUT)
            try:
                load_image(Path(folder), record, client)
            finally:
                client.close()
        else:
            self.local.materialise(record)
        stored = self.catalog.add(record)
        self.write_kernelspecs()
        return stored

    # -- snapshots -----------------------------------------------------------------------------

    def snapshot_local(
        self, parent: EnvironmentVersion, overlay: Path, commands: list[str]
    ) -> EnvironmentVersion:
        """A new local version: the parent plus what the runtime installed into its overlay."""
        lock_text = self.local.freeze(overlay)
        record = EnvironmentVersion(
            name=parent.name,
            version=local_version_id(parent.recipe, lock_text),
            backend="local",
            recipe=parent.recipe,
            lock_sha256=self.catalog.store_lock(lock_text),
            parent=parent.version,
            changes=commands + package_changes(self.catalog.lock_text(parent), lock_text),
        )
        self.local.materialise_snapshot(parent, overlay, record)
        return self.catalog.add(record)

    def snapshot_docker(
        self, parent: EnvironmentVersion, container_id: str, commands: list[str]
    ) -> EnvironmentVersion:
        """A new image version: the runtime's container committed, with its parent recorded."""
        image_id, image_ref, lock_text = self.docker.snapshot(container_id, parent)
        record = EnvironmentVersion(
            name=parent.name,
            version=image_id,
            backend="docker",
            recipe=parent.recipe,
            lock_sha256=self.catalog.store_lock(lock_text),
            parent=parent.version,
            image=image_ref,
            changes=commands + package_changes(self.catalog.lock_text(parent), lock_text),
        )
        return self.catalog.add(record)

    # -- reading -------------------------------------------------------------------------------

    def list_environments(self) -> list[dict[str, Any]]:
        """Every environment with its versions (newest first) and whether its definition exists."""
        out = []
        for name in self.names():
            try:
                definition: EnvironmentDefinition | None = self.definition(name)
                problem = ""
            except NJError as err:
                definition, problem = None, err.message
            out.append(
                {
                    "name": name,
                    "display_name": definition.display_name if definition else name,
                    "description": definition.description if definition else "",
                    "definition": problem or ("ok" if definition else "missing"),
                    "current_local_version": definition.local_version() if definition else None,
                    # Why the local backend cannot run it on this server ("" when it can).
                    "local_problem": local_problem(name, definition.recipe()) if definition else "",
                    "versions": [v.to_json() for v in self.catalog.versions(name)],
                }
            )
        return out

    def local_problem(self, name: str) -> str:
        """Why the local backend cannot run environment `name` on this server: "" when it can,
        or when there is no such definition (that has its own error)."""
        try:
            definition = self.definition(name)
        except NJError:
            return ""
        return local_problem(name, definition.recipe())

    def docker_available(self) -> bool:
        try:
            docker_client(self.docker_host, timeout=3).close()
            return True
        except NJError:
            return False

    # -- kernelspecs ---------------------------------------------------------------------------

    def backend_for(self, name: str, docker_up: bool | None = None) -> str:
        """Which provisioner `nj-<name>` uses: Docker when preferred and ready, else local."""
        if self.backend_preference == "local":
            return "local"
        has_image = self.catalog.latest(name, "docker") is not None
        if self.backend_preference == "docker":
            return "docker"
        if not has_image:
            return "local"
        if docker_up is None:
            docker_up = self.docker_available()
        return "docker" if docker_up else "local"

    def write_kernelspecs(self, docker_up: bool | None = None) -> list[str]:
        """(Re)write `nj-<name>` for every valid definition; remove specs of vanished ones."""
        self.kernelspec_dir.mkdir(parents=True, exist_ok=True)
        written = []
        if docker_up is None and self.backend_preference == "auto":
            docker_up = self.docker_available()
        for name in self.names():
            try:
                definition = self.definition(name)
            except NJError as err:
                log.warning("nj: skipping environment %s: %s", name, err.message)
                continue
            backend = self.backend_for(name, docker_up)
            if backend == "local" and local_problem(name, definition.recipe()):
                # Not offered: its kernel is a program this server lacks (R). The environment
                # list says why, and so does a build or a runtime that names it.
                continue
            latest = self.catalog.current(name, backend)
            label = f"{latest.short}" if latest else "not built yet"
            spec = {
                "argv": definition.kernel,
                "display_name": f"{definition.display_name} @ {label}"
                + (" (docker)" if backend == "docker" else ""),
                "language": definition.language,
                # A container kernel is interrupted over its control channel: a signal that
                # reaches it while it boots (before it handles SIGINT) kills it, while a message
                # waits in the socket until the kernel reads it.
                "interrupt_mode": "message" if backend == "docker" else "signal",
                "env": {},
                "metadata": {
                    "kernel_provisioner": {
                        "provisioner_name": f"nj-{backend}",
                        "config": {
                            "environment": name,
                            # Only what this spec runs: the provisioner takes everything
                            # else from the server's RuntimeService, so nothing is copied.
                            "version": latest.version if latest else "",
                        },
                    },
                    "nj": {"environment": name, "backend": backend},
                },
            }
            folder = self.kernelspec_dir / f"{KERNELSPEC_PREFIX}{name}"
            folder.mkdir(exist_ok=True)
            _write_json(folder / "kernel.json", spec)
            written.append(folder.name)
        for stale in self.kernelspec_dir.glob(f"{KERNELSPEC_PREFIX}*"):
            if stale.name not in written:
                shutil.rmtree(stale, ignore_errors=True)
        return written

    # -- for the server (off the event loop) ---------------------------------------------------

    async def alist(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.list_environments)

    async def abuild(self, name: str, backend: str) -> EnvironmentVersion:
        """Build off the event loop; events are emitted from the loop, where listeners run."""
        self.emit("build-started", name, backend)
        started = time.monotonic()
        try:
            with follow_build(self._log_emitter(name, backend)):
                record = await asyncio.to_thread(self.build, name, backend)
        except NJError as err:
            self.emit(
                "build-failed",
                name,
                backend,
                reason=err.reason,
                message=err.message[:500],
                seconds=time.monotonic() - started,
            )
            raise
        self.emit(
            "build-finished",
            name,
            backend,
            version=record.version,
            seconds=time.monotonic() - started,
        )
        return record

    def _log_emitter(self, name: str, backend: str) -> Callable[[str], None]:
        """A build-log sink for worker threads: lines are sent as `build-log` events from the
        event loop, batched (the lines printed while the loop was busy go in one event)."""
        loop = asyncio.get_running_loop()
        pending: list[str] = []
        lock = threading.Lock()

        def flush() -> None:
            with lock:
                lines = pending[:]
                pending.clear()
            if lines:
                self.emit("build-log", name, backend, lines=lines)

        def sink(line: str) -> None:
            with lock:
                pending.append(line[:MAX_LOG_LINE])
                first = len(pending) == 1
            if first:
                loop.call_soon_threadsafe(flush)

        return sink


def _packages(lock_text: str) -> dict[str, str]:
    """{normalised name: version or URL} from a lock or `pip freeze` output."""
    found = {}
    for line in lock_text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*(\S+)|@\s*(\S+))", line)
        if match:
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            found[name] = match.group(2) or match.group(3)
    return found


def package_changes(before: str, after: str) -> list[str]:
    """What a runtime changed, in words: `+ name==1.0`, `- name==2.0`, `name 1.0 -> 2.0`."""
    old, new = _packages(before), _packages(after)
    changes = [f"+ {n}=={new[n]}" for n in sorted(new.keys() - old.keys())]
    changes += [f"- {n}=={old[n]}" for n in sorted(old.keys() - new.keys())]
    changes += [
        f"{n} {old[n]} -> {new[n]}" for n in sorted(old.keys() & new.keys()) if old[n] != new[n]
    ]
    return changes


def _valid_name(name: str) -> bool:
    try:
        check_name(name)
        return True
    except NJError:
        return False


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)
