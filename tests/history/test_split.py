"""The split's notebook text is exactly nbformat's, however it is assembled.

The inputs text is assembled from a per-cell cache; it must equal the text written in one go for
every notebook (nbdime's test notebooks, in the form the contents API hands to a save), after
edits, and when a caller mutates and saves the same dicts again.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbdime
import nbformat
import pytest
from nbformat.v4.rwbase import rejoin_lines

from jupyter_nj.history.objects import ObjectWriter
from jupyter_nj.history.split import NotebookSplitter, frozen, inputs_whole
from jupyter_nj.history.store import HistoryStore

from .conftest import make_notebook

NBDIME_FILES = sorted((Path(nbdime.__file__).parent / "tests" / "files").glob("*.ipynb"))


def contents_form(path: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = nbformat.read(path, as_version=4)
    return json.loads(json.dumps(rejoin_lines(nb)))


@pytest.fixture
def splitter(tmp_path: Path) -> Iterator[NotebookSplitter]:
    store = HistoryStore(tmp_path / "h.git")
    yield NotebookSplitter(ObjectWriter(store.path))
    store.close()


@pytest.mark.parametrize("path", NBDIME_FILES, ids=lambda p: p.name)
def test_inputs_equal_nbformats_text_for_nbdimes_notebooks(
    path: Path, splitter: NotebookSplitter
) -> None:
    nb = contents_form(path)
    if not all("metadata" in cell for cell in nb["cells"]):
        pytest.skip("not a notebook nbformat 4 writes as cells")  # split falls back to bytes
    expected = inputs_whole(nb, nb["cells"])
    assert splitter._inputs(nb, nb["cells"]) == expected
    # Again, now from the cache.
    assert splitter._inputs(nb, nb["cells"]) == expected


def test_an_edit_to_a_dict_the_caller_reuses_is_seen(splitter: NotebookSplitter) -> None:
    nb = make_notebook("one", cells=5)
    first = splitter._inputs(nb, nb["cells"])
    # The same dict objects, mutated in place and saved again (as a caller may do).
    nb["cells"][2]["source"] = "x = 'changed'"
    nb["cells"][4]["metadata"]["tags"] = ["new"]
    second = splitter._inputs(nb, nb["cells"])
    assert second != first
    assert second == inputs_whole(copy.deepcopy(nb), copy.deepcopy(nb["cells"]))
    nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    assert splitter._inputs(nb, nb["cells"]) == inputs_whole(nb, nb["cells"])


def test_values_python_calls_equal_but_json_writes_differently_are_kept_apart() -> None:
    assert frozen({"a": 1}) != frozen({"a": True}) != frozen({"a": 1.0})
    assert frozen(["x", "y"]) == frozen(["x", "y"]) != frozen(["x", 1])
    assert frozen([0.0]) != frozen([-0.0])
