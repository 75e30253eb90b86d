"""Diffs run in a worker process with a time limit and a cache, and match nbdime's own."""

from __future__ import annotations

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
        again = await service.diff(("version", va.id), ("version", vb.id), notebook=True)
        assert again is diff  # the cached answer itself: nbdime did not run again

        # A diff that runs past the limit is stopped, and the next diff still works. A limit of
        # zero is past for any diff, however fast the machine.
        service.timeout = 0
        with pytest.raises(DiffTimeout):
            await service.diff(("content", a), ("content", b), notebook=True)
        service.timeout = 60
        inputs_only = await service.diff(
            ("version", va.id), ("version", vb.id), notebook=True, ignore_outputs=True
        )
        assert inputs_only and "outputs" not in str(inputs_only)
    finally:
        service.close()
