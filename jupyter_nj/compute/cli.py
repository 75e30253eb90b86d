"""`jupyter nj run NOTEBOOK`: a headless run from the command line.

The run needs what a server gives a notebook (its runtimes' kernels under the server's kernel
manager, attached secrets, redaction of the saved result, history), so the command starts a Jupyter
server in its own process, rooted where the notebook is, with jupyter-nj and no HTTP port, and
runs the notebook through that server's RunManager (runner.py) exactly as `POST /nj/api/runs`
does. The same server serves papermill's `nj` engine (papermill_engine.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ..base import NJError
from .runner import Run


@contextlib.asynccontextmanager
async def embedded_server(root: Path) -> AsyncIterator[Any]:
    """A Jupyter server rooted at `root`, in this process, with jupyter-nj and no HTTP port;
    yields its NJApp. Every kernel it started is shut down when the block ends."""
    from jupyter_server.serverapp import ServerApp
    from traitlets.config import Config

    config = Config()
    config.ServerApp.root_dir = str(root)
    config.ServerApp.open_browser = False
    # The command reports progress and failures itself (a runtime that cannot start is the
    # run's error, not a traceback in the server log).
    config.ServerApp.log_level = "CRITICAL"
    # Only what a run needs: jupyter-nj, and file ids so its history follows moves.
    config.ServerApp.jpserver_extensions = {"jupyter_nj": True, "jupyter_server_fileid": True}
    # A run never diffs: no diff worker process (a second Python importing nbdime beside the
    # run, on the same cores, and waited for at exit).
    config.NJApp.history_diff_executor = "thread"
    serverapp = ServerApp(config=config)
    # Ctrl-C stays the command's.
    serverapp.init_signal = lambda: None  # type: ignore[method-assign]
    serverapp.initialize(argv=[], find_extensions=False, new_httpserver=False)
    nj = serverapp.web_app.settings.get("nj_app")
    if nj is None or nj.run_manager is None:
        raise NJError(
            503,
            "compute-off",
            "This configuration gives no headless runs (another kernel manager is configured).",
        )
    try:
        yield nj
    finally:
        await serverapp._cleanup()


def _root_for(notebook: Path, root_dir: str | None) -> Path:
    if root_dir:
        return Path(root_dir).resolve()
    cwd = Path.cwd().resolve()
    return cwd if cwd in notebook.parents else notebook.parent


def _parameter(value: str) -> Any:
    """`-p n 3` passes 3, `-p s text` passes "text": values are YAML-ish, as in papermill."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class Progress:
    """A bar with the current cell and runtime on a terminal, plain lines otherwise."""

    def __init__(self, stream: Any = sys.stderr) -> None:
        self.stream = stream
        self.bar: Any = None
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def __call__(self, run: Run, action: str) -> None:
        where = f"cell {run.cell + 1} on {run.runtime}" if run.cell is not None else ""
        if self.tty:
            from tqdm import tqdm

            if self.bar is None and run.cells:
                self.bar = tqdm(total=run.cells, unit="cell", file=self.stream)
            if self.bar is not None:
                self.bar.n = run.done
                self.bar.set_description(where or run.state)
                self.bar.refresh()
                if action == "run-finished":
                    self.bar.close()
            return
        if action == "cell-started":
            print(f"[{run.done + 1}/{run.cells}] {where}", file=self.stream, flush=True)
        elif action == "run-finished":
            print(f"run {run.state}", file=self.stream, flush=True)


async def run_headless(
    notebook: Path,
    output: Path | None,
    parameters: dict[str, Any],
    timeout: float | None,
    root_dir: str | None = None,
    progress: Any = None,
) -> Run:
    notebook = notebook.resolve()
    root = _root_for(notebook, root_dir)
    try:
        path = notebook.relative_to(root).as_posix()
        out = output.resolve().relative_to(root).as_posix() if output else None
    except ValueError:
        raise NJError(
            400,
            "outside-root",
            f"The notebook and its output must be inside {root} (pass --root-dir).",
        ) from None
    async with embedded_server(root) as nj:
        run = nj.run_manager.start(path, parameters, out, timeout, progress=progress)
        return await nj.run_manager.wait(run.id)


def cmd_run(args: argparse.Namespace) -> int:
    parameters = {name: _parameter(value) for name, value in args.parameter or []}
    notebook = Path(args.notebook)
    if not notebook.is_file():
        print(f"error: no notebook at {notebook}", file=sys.stderr)
        return 2
    try:
        run = asyncio.run(
            run_headless(
                notebook,
                Path(args.output) if args.output else None,
                parameters,
                args.timeout,
                args.root_dir,
                progress=None if args.json else Progress(),
            )
        )
    except NJError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(run.to_json(), indent=2))
    if run.state != "succeeded":
        if not args.json:
            print(f"error: {(run.error or {}).get('message', 'the run failed')}", file=sys.stderr)
        return 1
    if not args.json:
        print(
            f"{run.output}: ran {run.done} cells"
            + (f", version {run.version[:12]}" if run.version else "")
        )
    return 0


def register_compute_commands(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run a notebook headless, every cell on its runtime",
        description="Start every runtime the notebook uses at its pinned version, run its cells "
        "in order, save the executed notebook (as a version labelled as a run) and exit "
        "non-zero naming the cell and runtime that failed.",
    )
    run.add_argument("notebook", help="the .ipynb to run")
    run.add_argument("-o", "--output", help="where to save the executed notebook (default: itself)")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a parameter, injected papermill's way after the cell tagged `parameters`",
    )
    run.add_argument("--timeout", type=float, default=None, help="seconds each cell may take")
    run.add_argument("--json", action="store_true", help="print the run as JSON")
    run.set_defaults(func=cmd_run)
