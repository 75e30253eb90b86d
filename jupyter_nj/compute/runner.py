"""Headless runs: a notebook executed from start to end with no browser, every cell on its runtime.

One implementation serves the REST API (`POST /nj/api/runs`), the lab's "Run in the Background",
`jupyter nj run` (which starts a server in its own process for it, see cli.py) and papermill's
`nj` engine (papermill_engine.py):

- every runtime the notebook's cells use is started first, at its pinned version (one start
  failing names them all, and how to build or import what is missing);
- papermill's conventions for parameters: a cell tagged `injected-parameters` after the cell
  tagged `parameters` (or first), written in the language of that cell's runtime;
- cells run in notebook order through nbclient, each on its runtime's kernel client;
- the executed notebook is saved through the contents manager, so it is redacted like any save
  and becomes a version of its file, labelled as a run;
- progress goes out as jupyter events (`RUN_EVENT_SCHEMA_ID`) and to an optional callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.utils import ensure_async

from ..base import NJError, resolve_api_path
from ..runtimes.provisioner import HEADLESS_RUN_VARIABLE
from .groups import NotebookRuntimes, RuntimeUnavailable
from .model import MAIN, cell_runtime, declared_runtimes, kernelspec_of, start_failure

log = logging.getLogger(__name__)

RUN_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_nj/runs/v1"
RUN_EVENT_SCHEMA_PATH = Path(__file__).parent / "events" / "runs.yaml"


@dataclass
class Run:
    """One headless run, as REST reports it."""

    id: str
    path: str
    output: str
    parameters: dict[str, Any]
    state: str = "queued"  # queued, running, succeeded, failed
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cells: int = 0  # code cells to run
    done: int = 0  # code cells run so far
    cell: int | None = None  # index (in the notebook) of the cell running or failed
    runtime: str | None = None
    error: dict[str, Any] | None = None
    version: str | None = None  # the version of `output` the run saved

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class CellFailed(Exception):
    def __init__(self, index: int, runtime: str, ename: str, evalue: str) -> None:
        super().__init__(f"cell {index + 1} on runtime {runtime!r} failed: {ename}: {evalue}")
        self.index, self.runtime, self.ename, self.evalue = index, runtime, ename, evalue


Progress = Callable[[Run, str], None]


class RunManager:
    """The server's headless runs (one instance, a declared trait of NJApp)."""

    def __init__(
        self,
        kernel_manager: Any,
        runtimes: NotebookRuntimes,
        contents_manager: Any,
        root_dir: str,
        label_version: Callable[[str, str], Awaitable[dict[str, Any] | None]] | None = None,
        event_logger: Any = None,
    ) -> None:
        self.kernel_manager = kernel_manager
        self.runtimes = runtimes
        self.contents_manager = contents_manager
        self.root_dir = root_dir
        # From the app (history): label the newest version of a path.
        self.label_version = label_version
        self.event_logger = event_logger
        if event_logger is not None:
            event_logger.register_event_schema(RUN_EVENT_SCHEMA_PATH)
        self.runs: dict[str, Run] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # -- REST operations ---------------------------------------------------------------------

    def start(
        self,
        path: Any,
        parameters: dict[str, Any] | None = None,
        output: str | None = None,
        timeout: float | None = None,
        progress: Progress | None = None,
        notebook: Any = None,
    ) -> Run:
        """Start a run of the notebook at `path`. With `notebook` (a NotebookNode, papermill's
        engine), that document is run in place instead, as the notebook at `path`, and neither
        parameterized nor saved here: the caller does both."""
        path = self._notebook_path(path, "path")
        output = self._notebook_path(output, "output") if output else path
        if parameters is not None and not isinstance(parameters, dict):
            raise NJError(400, "bad-parameters", "`parameters` must be an object: {name: value}.")
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise NJError(400, "bad-timeout", "`timeout` is seconds per cell, a number above 0.")
        run = Run(uuid.uuid4().hex, path, output, dict(parameters or {}))
        self.runs[run.id] = run
        task = asyncio.ensure_future(self._execute(run, timeout, progress, notebook))
        self._tasks[run.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run.id, None))
        return run

    def get(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise NJError(404, "unknown-run", f"There is no run {run_id!r} on this server.")
        return run

    async def wait(self, run_id: str) -> Run:
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.shield(task)
        return self.get(run_id)

    async def stop(self) -> None:
        """Server shutdown: end the runs still going (their kernels go with the server)."""
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=30)

    def _notebook_path(self, path: Any, name: str) -> str:
        if not isinstance(path, str) or not path.strip("/").endswith(".ipynb"):
            raise NJError(400, f"bad-{name}", f"`{name}` must name a notebook (`a/b.ipynb`).")
        resolve_api_path(self.root_dir, path)  # refuses paths that leave the root
        return path.strip("/")

    # -- running -------------------------------------------------------------------------------

    def _emit(self, run: Run, action: str, progress: Progress | None) -> None:
        if progress is not None:
            with contextlib.suppress(Exception):
                progress(run, action)
        if self.event_logger is not None:
            data = {
                "action": action,
                "run": run.id,
                "path": run.path,
                "output": run.output,
                "state": run.state,
                "cells": run.cells,
                "done": run.done,
            }
            if run.cell is not None:
                data["cell"] = run.cell
            if run.runtime:
                data["runtime"] = run.runtime
            if run.error:
                data["message"] = str(run.error.get("message", ""))
            try:
                self.event_logger.emit(schema_id=RUN_EVENT_SCHEMA_ID, data=data)
            except Exception:
                log.debug("jupyter-nj: run event not emitted", exc_info=True)

    async def _execute(
        self, run: Run, timeout: float | None, progress: Progress | None, given: Any = None
    ) -> None:
        run.state = "running"
        self._emit(run, "run-started", progress)
        # The state a poller sees changes only once the result is saved (and labelled).
        outcome = "failed"
        nb: Any = None
        kernels: dict[str, str] = {}
        clients: dict[str, Any] = {}
        try:
            if given is not None:
                nb = given
            else:
                nb = await self._read(run.path)
                self._parameterize(nb, run.parameters)
            used = self._runtimes_used(nb)
            run.cells = sum(1 for cell in nb.cells if cell.cell_type == "code")
            kernels = await self._start_runtimes(run.path, nb, used)
            clients = await self._connect(kernels)
            await self._run_cells(run, nb, kernels, clients, timeout, progress)
            outcome = "succeeded"
        except CellFailed as err:
            outcome = "failed"
            run.error = {
                "message": str(err),
                "cell": err.index,
                "runtime": err.runtime,
                "ename": err.ename,
                "evalue": err.evalue,
            }
        except (NJError, RuntimeUnavailable) as err:
            outcome = "failed"
            run.error = {"message": getattr(err, "message", None) or str(err)}
        except asyncio.CancelledError:
            outcome = "failed"
            run.error = {"message": "The run was stopped (the server shut down)."}
            raise
        except Exception as err:
            log.exception("jupyter-nj: run %s failed", run.id)
            outcome = "failed"
            run.error = {"message": f"The run failed: {err}"}
        finally:
            for client in clients.values():
                with contextlib.suppress(Exception):
                    client.stop_channels()
            main = kernels.get(MAIN)
            if main is not None and main in self.kernel_manager:
                # The notebook's other runtimes follow its kernel (groups.py).
                with contextlib.suppress(Exception):
                    await self.kernel_manager.shutdown_kernel(main)
            if main is not None:
                self.runtimes.disown(main)
            if nb is not None and given is None and kernels:
                outcome = await self._save(run, nb, outcome)
            run.finished = time.time()
            run.state = outcome
            self._emit(run, "run-finished", progress)

    async def _read(self, path: str) -> Any:
        """The notebook as its collaborators see it now (the open room, with edits the room
        has not saved yet), else the saved file."""
        documents = getattr(self.runtimes, "documents", None)
        if documents is not None:
            try:
                content = await documents.notebook_content(path)
            except NJError as err:
                raise NJError(
                    404 if err.status_code == 404 else 400,
                    "unreadable-notebook",
                    f"Cannot read the notebook {path}: {err.message}",
                ) from None
            return nbformat.from_dict(content)
        cm = self.contents_manager
        try:
            model = await ensure_async(cm.get(path, content=True, type="notebook"))
        except Exception as err:  # noqa: BLE001  a missing or unreadable notebook
            code = getattr(err, "status_code", 400)
            raise NJError(
                404 if code == 404 else 400,
                "unreadable-notebook",
                f"Cannot read the notebook {path}: {getattr(err, 'log_message', None) or err}",
            ) from None
        return nbformat.from_dict(model["content"])

    def _parameterize(self, nb: Any, parameters: dict[str, Any]) -> None:
        """papermill's injection, in the language of the parameters cell's runtime."""
        if not parameters:
            return
        from papermill.parameterize import parameterize_notebook

        tagged = next(
            (c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None
        )
        runtime = cell_runtime(tagged.metadata) if tagged is not None else MAIN
        language = self._language_of(nb, runtime)
        kernel_name = nb.metadata.get("kernelspec", {}).get("name") or "python3"
        # papermill reads `tags` and `metadata.papermill` unguarded (its loader adds them).
        untagged = [cell for cell in nb.cells if "tags" not in cell.metadata]
        for cell in untagged:
            cell.metadata["tags"] = []
        nb.metadata.setdefault("papermill", {})
        injected = parameterize_notebook(nb, parameters, kernel_name=kernel_name, language=language)
        nb.cells = injected.cells
        nb.metadata = injected.metadata
        for cell in untagged:
            if not cell.metadata.get("tags"):
                cell.metadata.pop("tags", None)
        for cell in nb.cells:
            if "injected-parameters" in cell.metadata.get("tags", []) and runtime != MAIN:
                cell.metadata.setdefault("nj", {})["runtime"] = runtime

    def _language_of(self, nb: Any, runtime: str) -> str:
        environment = self._environment_of(nb, runtime)
        if environment:
            with contextlib.suppress(Exception):
                spec = self.kernel_manager.kernel_spec_manager.get_kernel_spec(
                    kernelspec_of(environment)
                )
                return str(spec.language)
        return str(nb.metadata.get("kernelspec", {}).get("language") or "python")

    def _environment_of(self, nb: Any, runtime: str) -> str:
        return declared_runtimes(nb.metadata).get(runtime, {}).get("environment", "")

    def _runtimes_used(self, nb: Any) -> list[str]:
        used = [MAIN]
        for cell in nb.cells:
            if cell.cell_type == "code":
                name = cell_runtime(cell.metadata)
                if name not in used:
                    used.append(name)
        return used

    async def _start_runtimes(self, path: str, nb: Any, used: list[str]) -> dict[str, str]:
        """Every runtime the cells use, started before the first cell runs."""
        environment = self._environment_of(nb, MAIN)
        kernel_name = (
            kernelspec_of(environment)
            if environment
            else nb.metadata.get("kernelspec", {}).get("name")
        )
        if not kernel_name:
            raise NJError(
                400,
                "no-kernel",
                f"{path} names no kernel: pin it to an environment (metadata.nj.runtimes.main) "
                "or give it a kernelspec.",
            )
        env = {**os.environ, "JPY_SESSION_NAME": path, HEADLESS_RUN_VARIABLE: "1"}
        try:
            main = await self.kernel_manager.start_kernel(
                kernel_name=kernel_name, path=posixpath.dirname(path), env=env
            )
        except Exception as err:  # noqa: BLE001  the start's reason is the message
            raise NJError(
                409,
                "runtime-unavailable",
                f"The main runtime ({kernel_name}) could not start: {start_failure(err)}",
            ) from None
        self.runtimes.adopt(main, path)
        kernels = {MAIN: main}
        others = [name for name in used if name != MAIN]
        started = await asyncio.gather(
            *(self.runtimes.kernel_for(main, name) for name in others), return_exceptions=True
        )
        problems = []
        for name, result in zip(others, started, strict=True):
            if isinstance(result, BaseException):
                problems.append(str(result))
            else:
                kernels[name] = result.kernel_id
        if problems:
            await self.kernel_manager.shutdown_kernel(main)
            self.runtimes.disown(main)
            raise RuntimeUnavailable(" ".join(problems))
        return kernels

    async def _connect(self, kernels: dict[str, str]) -> dict[str, Any]:
        clients = {}
        for name, kernel_id in kernels.items():
            client = self.kernel_manager.get_kernel(kernel_id).client()
            client.start_channels()
            clients[name] = client
        await asyncio.gather(*(c.wait_for_ready(timeout=120) for c in clients.values()))
        return clients

    async def _run_cells(
        self,
        run: Run,
        nb: Any,
        kernels: dict[str, str],
        clients: dict[str, Any],
        timeout: float | None,
        progress: Progress | None,
    ) -> None:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        executor = NotebookClient(
            nb,
            timeout=timeout,
            allow_errors=False,
            record_timing=True,
            resources={"metadata": {"path": str(Path(self.root_dir, run.path).parent)}},
        )
        executor.reset_execution_trackers()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            runtime = cell_runtime(cell.metadata)
            run.cell, run.runtime = index, runtime
            self._emit(run, "cell-started", progress)
            executor.km = self.kernel_manager.get_kernel(kernels[runtime])
            executor.kc = clients[runtime]
            try:
                await executor.async_execute_cell(cell, index, store_history=True)
            except CellExecutionError as err:
                raise CellFailed(index, runtime, err.ename, err.evalue) from None
            run.done += 1
            self._emit(run, "cell-finished", progress)
        run.cell = run.runtime = None

    async def _save(self, run: Run, nb: Any, outcome: str) -> str:
        """The executed notebook, saved like any save (redacted, versioned), and labelled."""
        nb.metadata.setdefault("nj", {})["run"] = {
            "id": run.id,
            "state": outcome,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        model = {"type": "notebook", "format": "json", "content": nb}
        try:
            await ensure_async(self.contents_manager.save(model, run.output))
        except Exception as err:  # noqa: BLE001  the run's outcome stays; the save is reported
            log.warning("jupyter-nj: run %s could not save %s: %s", run.id, run.output, err)
            message = f"The executed notebook could not be saved to {run.output}: {err}"
            run.error = {**(run.error or {}), "save": message}
            if outcome == "succeeded":
                run.error["message"] = message
            return "failed"
        if self.label_version is None:
            return outcome
        ok = "ok" if outcome == "succeeded" else "failed"
        label = f"run {time.strftime('%Y-%m-%d %H:%M', time.localtime())} ({ok})"
        try:
            version = await self.label_version(run.output, label)
        except NJError as err:
            log.warning("jupyter-nj: run %s: could not label its version: %s", run.id, err.message)
            return outcome
        run.version = version["id"] if version else None
        return outcome
