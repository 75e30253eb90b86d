"""Diffs run in a worker process with a time limit and a cache, and match nbdime's own."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbdime import diff_notebooks

from jupyter_nj.history.diff import DiffService, DiffTimeout
from jupyter_nj.history.store import HistoryStore

from .conftest import make_notebook


def nb_bytes(nb: dict) -> bytes:
    return (nbformat.writes(nbformat.from_dict(nb)) + "\n").encode()


def without_ids(nb: dict) -> dict:
    """A notebook nbdime must align by content (no cell ids): the slow, quadratic case."""
    nb = {**nb, "nbformat_minor": 4}
    nb["cells"] = [{k: v for k, v in c.items() if k != "id"} for c in nb["cells"]]
    return nb


async def test_process_diff_matches_nbdime_is_cached_and_times_out(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.git")
    hid = store.history_for("f", "nb.ipynb")
    a, b = make_notebook("a", cells=20), make_notebook("b", cells=20)
    b["cells"][3]["source"] = "changed"
    va = store.commit(hid, "nb.ipynb", nb_bytes(a))
    vb = store.commit(hid, "nb.ipynb", nb_bytes(b))
    assert va is not None and vb is not None
    service = DiffService(str(store.path), executor="process", timeout=60)
    try:
        diff = await service.diff(("version", va.id), ("version", vb.id), notebook=True)
        expected = diff_notebooks(nbformat.from_dict(a), nbformat.from_dict(b))
        assert diff == expected
        start = time.perf_counter()
        again = await service.diff(("version", va.id), ("version", vb.id), notebook=True)
        assert again == diff and time.perf_counter() - start < 0.05

        # A diff that runs past the limit is stopped, and the next diff still works.
        # 400 cells without ids, every one edited: about 1.5 s of nbdime on a quiet 2-core machine,
        # far past the 0.2 s limit (150 cells took 0.21 s, too close to the limit to be reliable).
        big_a = without_ids(make_notebook("x", cells=400))
        big_b = without_ids(make_notebook("y", cells=400))
        for cell in big_b["cells"]:
            cell["source"] = cell["source"] + " edited"
        service.timeout = 0.2
        with pytest.raises(DiffTimeout):
            await service.diff(("content", big_a), ("content", big_b), notebook=True)
        service.timeout = 60
        inputs_only = await service.diff(
            ("version", va.id), ("version", vb.id), notebook=True, ignore_outputs=True
        )
        assert inputs_only and "outputs" not in str(inputs_only)
    finally:
        service.close()
