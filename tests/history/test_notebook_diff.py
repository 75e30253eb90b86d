"""The fast notebook diff returns exactly what nbdime's `diff_notebooks` returns.

Compared on nbdime's own test notebooks (every pair of versions of each one, with and without
cell ids, with outputs diffed and ignored) and on generated edit sequences, then checked to skip
the work it claims to skip.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbdime
import nbformat
import pytest
from nbdime.diffing import seq_bruteforce
from nbdime.diffing.notebooks import diff_notebooks as nbdime_diff
from nbdime.diffing.notebooks import set_notebook_diff_targets
from nbformat.v4.rwbase import rejoin_lines

from jupyter_nj.history.notebook_diff import diff_notebooks

NBDIME_FILES = Path(nbdime.__file__).parent / "tests" / "files"


def nbdime_test_pairs() -> list[tuple[str, str]]:
    """Every ordered pair of versions (`name--x.ipynb`) of each of nbdime's test notebooks."""
    groups: dict[str, list[str]] = {}
    for path in sorted(NBDIME_FILES.glob("*.ipynb")):
        groups.setdefault(path.stem.split("--")[0], []).append(path.name)
    return [pair for names in groups.values() for pair in itertools.product(names, names)]


def load_raw(name: str) -> Any:
    """Lines joined as the contents API gives them, but no ids added where the file has none."""
    nb = nbformat.from_dict(json.loads((NBDIME_FILES / name).read_text(encoding="utf-8")))
    return rejoin_lines(nb)


def load_nbformat(name: str) -> Any:
    """As the contents manager reads them (nbformat adds the ids a 4.5 notebook lacks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nbformat.read(NBDIME_FILES / name, as_version=4)


@pytest.fixture(params=[True, False], ids=["outputs", "ignore-outputs"])
def outputs_diffed(request: pytest.FixtureRequest) -> Iterator[bool]:
    set_notebook_diff_targets(outputs=request.param)
    yield request.param
    set_notebook_diff_targets()


def assert_same_as_nbdime(a: Any, b: Any) -> None:
    expected = nbdime_diff(copy.deepcopy(a), copy.deepcopy(b))
    assert diff_notebooks(a, b) == expected


def test_nbdime_ships_its_test_notebooks() -> None:
    assert len(nbdime_test_pairs()) > 100


@pytest.mark.parametrize("load", [load_raw, load_nbformat], ids=["as-stored", "nbformat-read"])
def test_every_pair_of_nbdimes_test_notebooks_diffs_as_nbdime(
    load: Any, outputs_diffed: bool
) -> None:
    loaded: dict[str, Any] = {}  # once each: nbformat gives a missing id a random one per read
    mismatches = []
    for x, y in nbdime_test_pairs():
        a, b = (loaded.setdefault(name, load(name)) for name in (x, y))
        if diff_notebooks(a, b) != nbdime_diff(copy.deepcopy(a), copy.deepcopy(b)):
            mismatches.append((x, y))
    assert mismatches == []


# -- generated edits -----------------------------------------------------------------------


def random_cell(rng: random.Random, n: int) -> dict[str, Any]:
    kind = rng.choice(["code", "code", "code", "markdown", "raw"])
    lines = [f"line {rng.randrange(6)} of {n % 7}\n" for _ in range(rng.randrange(0, 5))]
    cell: dict[str, Any] = {
        "cell_type": kind,
        "id": f"cell-{n}",
        "metadata": rng.choice([{}, {"tags": ["a"]}, {"collapsed": True}]),
        "source": "".join(lines),
    }
    if kind == "code":
        cell["execution_count"] = rng.choice([None, n])
        cell["outputs"] = [random_output(rng) for _ in range(rng.randrange(0, 3))]
    return cell


def random_output(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["stream", "display_data", "execute_result", "error"])
    if kind == "stream":
        return {"output_type": "stream", "name": "stdout", "text": f"out {rng.randrange(4)}\n"}
    if kind == "error":
        return {
            "output_type": "error",
            "ename": "ValueError",
            "evalue": str(rng.randrange(3)),
            "traceback": [f"frame {rng.randrange(3)}"],
        }
    data = {"text/plain": f"<value {rng.randrange(4)}>"}
    if rng.random() < 0.3:
        data["image/png"] = rng.choice(["iVBORw0KGgo" * 8, "R0lGODlh" * 10])
    output: dict[str, Any] = {"output_type": kind, "data": data, "metadata": {}}
    if kind == "execute_result":
        output["execution_count"] = rng.randrange(5)
    return output


def random_notebook(rng: random.Random, cells: int) -> dict[str, Any]:
    return {
        "cells": [random_cell(rng, n) for n in range(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def edit(rng: random.Random, nb: dict[str, Any], fresh: Iterator[int]) -> None:
    """One random edit of the kinds people make between two saves."""
    cells = nb["cells"]
    action = rng.choice(
        ["insert", "delete", "move", "source", "source-small", "outputs", "metadata", "clear",
         "duplicate", "drop-id", "type", "notebook-metadata", "rerun"]
    )  # fmt: skip
    if not cells and action != "insert":
        action = "insert"
    at = rng.randrange(len(cells)) if cells else 0
    if action == "insert":
        cells.insert(rng.randrange(len(cells) + 1), random_cell(rng, next(fresh)))
    elif action == "delete":
        del cells[at]
    elif action == "move":
        cells.insert(rng.randrange(len(cells)), cells.pop(at))
    elif action == "source":
        cells[at]["source"] = f"rewritten {next(fresh)}\n"
    elif action == "source-small":
        cells[at]["source"] += "x"
    elif action == "outputs" and cells[at]["cell_type"] == "code":
        cells[at]["outputs"].append(random_output(rng))
    elif action == "metadata":
        cells[at]["metadata"] = {"tags": [f"t{next(fresh)}"]}
    elif action == "clear" and cells[at]["cell_type"] == "code":
        cells[at]["outputs"] = []
        cells[at]["execution_count"] = None
    elif action == "duplicate":
        cells.insert(at, copy.deepcopy(cells[at]))  # a copied cell with the same id
    elif action == "drop-id":
        cells[at].pop("id", None)
    elif action == "type" and cells[at]["cell_type"] == "markdown":
        cells[at]["cell_type"] = "raw"
    elif action == "notebook-metadata":
        nb["metadata"]["language_info"] = {"name": "python", "version": str(next(fresh))}
    elif action == "rerun":
        for cell in cells:
            if cell["cell_type"] == "code":
                cell["execution_count"] = next(fresh)


@pytest.mark.parametrize("seed", range(60))
def test_generated_edits_diff_as_nbdime(seed: int, outputs_diffed: bool) -> None:
    rng = random.Random(seed)
    fresh = itertools.count(1000)
    base = random_notebook(rng, rng.randrange(0, 25))
    if seed % 5 == 0:  # notebooks from before cell ids: aligned by content alone
        base["nbformat_minor"] = 4
        for cell in base["cells"]:
            cell.pop("id", None)
    remote = copy.deepcopy(base)
    for _ in range(rng.randrange(1, 6)):
        edit(rng, remote, fresh)
    a, b = nbformat.from_dict(base), nbformat.from_dict(remote)
    assert_same_as_nbdime(a, b)
    assert_same_as_nbdime(b, a)
    assert_same_as_nbdime(a, copy.deepcopy(a))


def test_a_nan_shared_by_both_sides_is_reported_as_nbdime_reports_it() -> None:
    nb = random_notebook(random.Random(1), 5)
    nb["cells"][2]["metadata"]["score"] = float("nan")
    a = nbformat.from_dict(nb)
    # Both sides hold the same float object: Python finds the cells equal, nbdime does not.
    b = copy.deepcopy(a)
    assert nbdime_diff(copy.deepcopy(a), b) != []
    assert_same_as_nbdime(a, b)


def test_one_changed_cell_in_400_fills_no_comparison_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    base = random_notebook(rng, 400)
    remote = copy.deepcopy(base)
    remote["cells"][200]["source"] = "changed\n"
    remote["cells"].insert(300, random_cell(rng, 5000))
    grid_cells = []
    original = seq_bruteforce.bruteforce_compute_snakes

    def counting(a: Any, b: Any, compare: Any) -> Any:
        grid_cells.append(len(a) * len(b))
        return original(a, b, compare)

    monkeypatch.setattr(seq_bruteforce, "bruteforce_compute_snakes", counting)
    a, b = nbformat.from_dict(base), nbformat.from_dict(remote)
    ours = diff_notebooks(a, b)
    assert sum(grid_cells) < 10  # nbdime fills 400 x 401 at the id level alone
    monkeypatch.setattr(seq_bruteforce, "bruteforce_compute_snakes", original)
    assert ours == nbdime_diff(a, b)
