"""The runtimes of each notebook: its own kernel (`main`) and the kernels its cells chose.

A notebook's kernel is started by jupyter_server as usual (a session). The other runtimes its
cells name (`metadata.nj.runtime`) are kernels this module starts on demand, on the server's
kernel manager, one per (notebook kernel, runtime name): each an ordinary `nj-<environment>`
kernel, pinned, culled and listed like any other, so provisioners, secrets, limits and the
boundary apply to it unchanged. They follow the notebook's kernel: restarting, interrupting or
shutting that down does the same to them (the kernel manager calls in, see runtimes/kernels.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jupyter_client.kernelspec import NoSuchKernel

from ..base import NJError
from ..runtimes.pins import pin_notebook
from ..runtimes.provisioner import BACKEND_VARIABLE, BACKENDS, RUNTIME_VARIABLE
from .model import (
    MAIN,
    cell_runtime,
    check_runtime_name,
    declared_runtimes,
    kernelspec_of,
    start_failure,
)

log = logging.getLogger(__name__)


class RuntimeUnavailable(Exception):
    """A cell's runtime cannot run it; the message says which runtime and what to do."""


@dataclass
class Companion:
    """A runtime of a notebook other than its own kernel."""

    primary: str  # the notebook's kernel
    name: str
    kernel_id: str
    notebook: str


class NotebookRuntimes:
    """Every notebook's runtimes on this server (one instance, a declared trait of NJApp)."""

    def __init__(
        self,
        kernel_manager: Any,
        documents: Any,
        notebook_of: Callable[[str], Awaitable[str | None]],
        why_not_offered: Callable[[str], str] | None = None,
    ) -> None:
        self.kernel_manager = kernel_manager
        self.documents = documents
        # The API path of the notebook whose kernel has this id (its session), or None.
        self.notebook_of = notebook_of
        # Why this server offers no kernel of an environment although it knows it (blocking):
        # the local backend cannot run it here (R not installed), or "".
        self.why_not_offered = why_not_offered
        self._companions: dict[str, dict[str, Companion]] = {}
        self._by_kernel: dict[str, Companion] = {}
        self._starting: dict[tuple[str, str], asyncio.Task[Companion]] = {}
        # The websocket connections routing cells of each notebook kernel (routing.py): told when
        # a runtime restarts, since the request it was running then never gets its reply.
        self._watchers: dict[str, weakref.WeakSet[Any]] = {}
        # Notebook kernels with no session (headless runs, runner.py): their notebook.
        self._adopted: dict[str, str] = {}

    def adopt(self, kernel_id: str, notebook: str) -> None:
        """Kernel `kernel_id` runs `notebook` although no session says so (a headless run)."""
        self._adopted[kernel_id] = notebook

    def disown(self, kernel_id: str) -> None:
        self._adopted.pop(kernel_id, None)

    async def _notebook(self, primary: str) -> str | None:
        return self._adopted.get(primary) or await self.notebook_of(primary)

    # -- finding and starting a runtime --------------------------------------------------------

    def companions(self, primary: str) -> dict[str, Companion]:
        """The started runtimes of the notebook whose kernel is `primary` (not `main`)."""
        group = self._companions.get(primary, {})
        for companion in list(group.values()):
            if companion.kernel_id not in self.kernel_manager:
                # Shut down or culled behind our back: started again on the next cell.
                self._forget(companion)
        return dict(self._companions.get(primary, {}))

    def is_companion(self, kernel_id: str) -> bool:
        return kernel_id in self._by_kernel

    def starting(self, primary: str, name: str) -> bool:
        return (primary, name) in self._starting

    async def kernel_for(self, primary: str, name: str) -> Companion:
        """The runtime `name` of the notebook whose kernel is `primary`, started when needed.

        Concurrent callers for one runtime share one start. Raises RuntimeUnavailable.
        """
        check_runtime_name(name)
        if name == MAIN:
            raise ValueError("main is the notebook's own kernel")
        existing = self.companions(primary).get(name)
        if existing is not None:
            return existing
        key = (primary, name)
        task = self._starting.get(key)
        if task is None:
            task = asyncio.ensure_future(self._start(primary, name))
            self._starting[key] = task
            task.add_done_callback(lambda _: self._starting.pop(key, None))
        return await asyncio.shield(task)

    async def declaration(self, primary: str, name: str) -> tuple[str, dict[str, str]]:
        """The notebook of kernel `primary` and its declaration of runtime `name`."""
        notebook = await self._notebook(primary)
        if not notebook:
            raise RuntimeUnavailable(
                f"This kernel belongs to no notebook, so it has no runtime {name!r}: open the "
                "notebook in JupyterLab (a session) and run the cell there."
            )
        try:
            _, metadata = await self.documents.notebook_metadata(notebook)
        except NJError as err:
            raise RuntimeUnavailable(
                f"The notebook {notebook} could not be read ({err.message})."
            ) from None
        declared = declared_runtimes(metadata).get(name)
        if declared is None:
            raise RuntimeUnavailable(
                f"This cell runs on runtime {name!r}, which {posixpath.basename(notebook)} does "
                f"not declare. Add it (the cell's runtime menu: Add runtime…, or "
                f'metadata.nj.runtimes.{name} = {{"environment": "bash"}}), or set the cell '
                "back to the main runtime."
            )
        return notebook, declared

    async def _start(self, primary: str, name: str) -> Companion:
        notebook, declared = await self.declaration(primary, name)
        environment = declared["environment"]
        kernel_name = kernelspec_of(environment)
        env = {**os.environ, "JPY_SESSION_NAME": notebook, RUNTIME_VARIABLE: name}
        if declared.get("backend") in BACKENDS:
            env[BACKEND_VARIABLE] = declared["backend"]
        try:
            kernel_id = await self.kernel_manager.start_kernel(
                kernel_name=kernel_name, path=posixpath.dirname(notebook), env=env
            )
        except NoSuchKernel:
            reason = ""
            if self.why_not_offered is not None:
                reason = await asyncio.to_thread(self.why_not_offered, environment)
            if reason:
                raise RuntimeUnavailable(
                    f"Runtime {name!r} cannot start: {reason} Then run the cell again."
                ) from None
            raise RuntimeUnavailable(
                f"Runtime {name!r} runs environment {environment!r}, which this server does not "
                f"have: build it (`jupyter nj env build {environment}`, or the Environments "
                "panel) or import it (`jupyter nj env import`), then run the cell again."
            ) from None
        except Exception as err:  # noqa: BLE001  the start's own reason is the message
            raise RuntimeUnavailable(
                f"Runtime {name!r} ({environment}) could not start: {start_failure(err)}"
            ) from None
        if primary not in self.kernel_manager:
            # The notebook's kernel was shut down while this one started: nothing uses it.
            with contextlib.suppress(Exception):
                await self.kernel_manager.shutdown_kernel(kernel_id)
            raise RuntimeUnavailable("The notebook's kernel was shut down.")
        companion = Companion(primary, name, kernel_id, notebook)
        self._companions.setdefault(primary, {})[name] = companion
        self._by_kernel[kernel_id] = companion
        if not declared.get("version"):
            await self._pin_first_start(companion)
        log.info("jupyter-nj: runtime %s of %s is kernel %s", name, notebook, kernel_id)
        return companion

    async def _pin_first_start(self, companion: Companion) -> None:
        """A runtime declared without a version is pinned to the one it started on."""
        km = self.kernel_manager.get_kernel(companion.kernel_id)
        record = getattr(getattr(km, "provisioner", None), "record", None)
        if record is None:
            return
        try:
            await pin_notebook(self.documents, companion.notebook, record, slot=companion.name)
        except NJError as err:
            log.warning("jupyter-nj: could not pin runtime %s: %s", companion.name, err.message)

    def _forget(self, companion: Companion) -> None:
        group = self._companions.get(companion.primary, {})
        if group.get(companion.name) is companion:
            del group[companion.name]
        if not group:
            self._companions.pop(companion.primary, None)
        self._by_kernel.pop(companion.kernel_id, None)

    # -- following the notebook's kernel (called by the kernel manager) ------------------------

    def watch(self, primary: str, connection: Any) -> None:
        self._watchers.setdefault(primary, weakref.WeakSet()).add(connection)

    def _tell_restarted(self, primary: str, name: str) -> None:
        for connection in list(self._watchers.get(primary, ())):
            try:
                connection.runtime_restarted(name)
            except Exception:
                log.debug("jupyter-nj: connection gone", exc_info=True)

    async def _settle_starts(self, primary: str) -> None:
        starts = [task for (p, _), task in self._starting.items() if p == primary]
        if starts:
            await asyncio.wait(starts)

    async def kernel_shut_down(self, kernel_id: str) -> None:
        """A kernel was shut down: a notebook's kernel takes its runtimes with it."""
        companion = self._by_kernel.get(kernel_id)
        if companion is not None:
            self._forget(companion)
            self._tell_restarted(companion.primary, companion.name)
            return
        self._watchers.pop(kernel_id, None)
        await self._settle_starts(kernel_id)
        group = self._companions.pop(kernel_id, {})
        for companion in group.values():
            self._by_kernel.pop(companion.kernel_id, None)
        await asyncio.gather(
            *(
                self._quietly(self.kernel_manager.shutdown_kernel, c.kernel_id)
                for c in group.values()
            )
        )

    async def kernel_restarted(self, kernel_id: str) -> None:
        """The notebook's kernel restarted: so do its runtimes (Restart and run all)."""
        companion = self._by_kernel.get(kernel_id)
        if companion is not None:
            self._tell_restarted(companion.primary, companion.name)
            return
        self._tell_restarted(kernel_id, MAIN)
        await self._settle_starts(kernel_id)
        await asyncio.gather(
            *(
                self._quietly(self.kernel_manager.restart_kernel, c.kernel_id)
                for c in self.companions(kernel_id).values()
            )
        )

    async def kernel_interrupted(self, kernel_id: str) -> None:
        """Interrupt reaches the runtime that runs the cell, whichever it is."""
        await asyncio.gather(
            *(
                self._quietly(self.kernel_manager.interrupt_kernel, c.kernel_id)
                for c in self.companions(kernel_id).values()
            )
        )

    async def _quietly(self, operation: Callable[[str], Any], kernel_id: str) -> None:
        try:
            await operation(kernel_id)
        except Exception as err:  # noqa: BLE001  one runtime's failure must not stop the others
            log.warning("jupyter-nj: runtime kernel %s: %s", kernel_id, err)

    async def runtime_of_code(self, primary: str, code: str) -> str:
        """The runtime of the cell whose source is `code` in the notebook of kernel `primary`,
        as collaborators see it now (JupyterLab's completion and inspection requests carry the
        cell's source, not its metadata). `main` when no cell matches."""
        notebook = await self._notebook(primary)
        if not notebook:
            return MAIN
        try:
            content = await self.documents.notebook_content(notebook)
        except NJError:
            return MAIN
        for cell in content.get("cells", []):
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            if cell.get("cell_type") == "code" and source == code:
                return cell_runtime(cell.get("metadata"))
        return MAIN

    # -- what a notebook's runtimes are doing ---------------------------------------------------

    async def describe(self, primary: str) -> dict[str, Any]:
        """Every runtime the notebook of kernel `primary` declares, with its state."""
        notebook = await self._notebook(primary)
        declared: dict[str, dict[str, str]] = {}
        if notebook:
            with contextlib.suppress(NJError):
                _, metadata = await self.documents.notebook_metadata(notebook)
                declared = declared_runtimes(metadata)
        started = self.companions(primary)
        runtimes = [self._state(MAIN, declared.get(MAIN, {}), primary)]
        for name in sorted(set(declared) | set(started)):
            if name == MAIN:
                continue
            companion = started.get(name)
            if companion is not None:
                runtimes.append(self._state(name, declared.get(name, {}), companion.kernel_id))
            else:
                runtimes.append(
                    {
                        "name": name,
                        **declared.get(name, {}),
                        "kernel_id": None,
                        "state": "starting" if self.starting(primary, name) else "not started",
                    }
                )
        return {"notebook": notebook, "kernel_id": primary, "runtimes": runtimes}

    def _state(self, name: str, declared: dict[str, str], kernel_id: str) -> dict[str, Any]:
        try:
            km = self.kernel_manager.get_kernel(kernel_id)
        except KeyError:
            return {"name": name, **declared, "kernel_id": None, "state": "not started"}
        provisioner = getattr(km, "provisioner", None)
        record = getattr(provisioner, "record", None)
        spec = getattr(km, "kernel_spec", None)
        return {
            "name": name,
            **declared,
            "environment": getattr(provisioner, "environment", "") or declared.get("environment"),
            "version": record.version if record is not None else declared.get("version"),
            "language": getattr(spec, "language", "") if spec is not None else "",
            "kernel_id": kernel_id,
            "state": getattr(km, "execution_state", "unknown"),
        }

    async def control(self, primary: str, name: str, action: str) -> dict[str, Any]:
        """Start, restart, interrupt or stop one runtime of the notebook (`main` too)."""
        check_runtime_name(name)
        if primary not in self.kernel_manager:
            raise NJError(404, "unknown-kernel", f"There is no kernel {primary!r}.")
        km = self.kernel_manager
        if action not in {"start", "restart", "interrupt", "stop"}:
            raise NJError(
                400, "bad-action", f"Unknown action {action!r}: start, restart, interrupt or stop."
            )
        if name == MAIN:
            kernel_id: str | None = primary
        else:
            companion = self.companions(primary).get(name)
            kernel_id = companion.kernel_id if companion else None
        if action == "start":
            if kernel_id is None:
                try:
                    kernel_id = (await self.kernel_for(primary, name)).kernel_id
                except RuntimeUnavailable as err:
                    raise NJError(409, "runtime-unavailable", str(err)) from None
        elif kernel_id is None:
            raise NJError(409, "not-started", f"Runtime {name!r} has not started yet.")
        elif action == "restart":
            await km.restart_kernel(kernel_id)
        elif action == "interrupt":
            await km.interrupt_kernel(kernel_id)
        elif action == "stop":
            if name == MAIN:
                raise NJError(
                    400,
                    "stop-main",
                    "The main runtime is the notebook's kernel: shut it down as a kernel "
                    "(Kernel > Shut Down Kernel), which stops every runtime of the notebook.",
                )
            await km.shutdown_kernel(kernel_id)
        else:
            raise NJError(
                400, "bad-action", f"Unknown action {action!r}: start, restart, interrupt or stop."
            )
        return await self.describe(primary)


async def notebook_of_kernel(session_manager: Any, kernel_id: str) -> str | None:
    """The API path of the notebook the session of kernel `kernel_id` is for."""
    try:
        sessions = await session_manager.list_sessions()
    except Exception:  # noqa: BLE001  no sessions: no notebook
        return None
    for session in sessions:
        if session.get("kernel", {}).get("id") == kernel_id and session.get("type") in {
            "notebook",
            None,
        }:
            path = session.get("path")
            if isinstance(path, str) and path.endswith(".ipynb"):
                return path
    return None
