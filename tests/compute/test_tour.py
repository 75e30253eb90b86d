"""The welcome tour (`demo/welcome.ipynb`, what `make lab` opens) stays runnable as shipped: a
valid notebook on the default environment, not pinned to a version (its first start pins it on
the newcomer's machine), every cell on a runtime it declares, and no outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat

from jupyter_nj.compute.model import cell_runtime, declared_runtimes
from jupyter_nj.runtimes.config import RuntimesConfig

TOUR = Path(__file__).resolve().parents[2] / "demo" / "welcome.ipynb"


def test_the_welcome_tour_runs_on_the_default_environment_and_declares_its_runtimes() -> None:
    nb = nbformat.read(str(TOUR), as_version=4)
    nbformat.validate(nb)
    default = RuntimesConfig().default_environment
    assert nb.metadata["kernelspec"]["name"] == f"nj-{default}"
    runtimes = declared_runtimes(nb.metadata)
    assert runtimes["main"] == {"environment": default}
    assert all("version" not in pin for pin in runtimes.values())
    code = [c for c in nb.cells if c.cell_type == "code"]
    used = {cell_runtime(c.metadata) for c in code}
    assert used <= set(runtimes) and len(used) >= 2  # it passes a file between two runtimes
    assert all(not c.outputs and c.execution_count is None for c in code)
    text = "\n".join(c.source for c in nb.cells)
    for step in ("pip install", "Save environment", "NJ_RESULTS", "History", "Secrets"):
        assert step in text, step
