"""papermill's `nj` engine: `papermill --engine nj in.ipynb out.ipynb -p n 3`.

For people who already script papermill: papermill reads the notebook, injects the parameters
and writes the result, as always; this engine runs the cells, each on its runtime
(`metadata.nj.runtime`) at its pinned version, through the same runner as `jupyter nj run`
(a server in this process, cli.py). papermill's own engine would run every cell on one kernel.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path
from typing import Any

from papermill.engines import Engine

from .cli import embedded_server
from .runner import Run


class NJEngine(Engine):
    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        start_timeout: float = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        input_path = kwargs.get("input_path")
        local = Path(input_path) if isinstance(input_path, (str, Path)) else None
        if local is None or not local.is_file():
            # Not a local file (s3://, stdin): run it as a notebook of the working folder.
            local = Path.cwd() / "papermill-input.ipynb"
        notebook = local.resolve()
        root = Path(kwargs.get("cwd") or Path.cwd()).resolve()
        if root not in notebook.parents:
            root = notebook.parent

        def progress(run: Run, action: str) -> None:
            if run.cell is None:
                return
            cell = nb_man.nb.cells[run.cell]
            if action == "cell-started":
                nb_man.cell_start(cell, run.cell)
            elif action == "cell-finished":
                nb_man.cell_complete(cell, run.cell)

        async def main() -> Run:
            async with embedded_server(root) as nj:
                run = nj.run_manager.start(
                    notebook.relative_to(root).as_posix(),
                    timeout=execution_timeout,
                    progress=progress,
                    notebook=nb_man.nb,
                )
                return await nj.run_manager.wait(run.id)

        # In a thread with its own loop: papermill is synchronous, and may itself be called
        # from a notebook whose loop is running.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            run = pool.submit(asyncio.run, main()).result()
        if run.state != "succeeded" and run.error and run.error.get("cell") is not None:
            index = run.error["cell"]
            nb_man.cell_exception(nb_man.nb.cells[index], cell_index=index)
            nb_man.cell_complete(nb_man.nb.cells[index], cell_index=index)
        elif run.state != "succeeded":
            raise RuntimeError((run.error or {}).get("message", "the run failed"))
        return nb_man.nb
