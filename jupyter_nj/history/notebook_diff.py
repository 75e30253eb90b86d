"""nbdime's `diff_notebooks`, result for result, without the work on cells that did not change.

nbdime aligns the cells of two notebooks with a multilevel longest-common-subsequence: first by
cell id, then, in each stretch the ids leave unaligned, by ever looser content predicates. Each
level fills a full N x M comparison grid in Python, and every aligned pair is then diffed in
depth, so one changed line in 400 cells costs about as much as 400 changed cells.

This module runs the same algorithm with three shortcuts, each one exact for nbdime's grid walk:

1. A common suffix (pairs that the level's predicate accepts, from the end) is taken before the
   grid is filled. nbdime's walk back from the last corner takes a matching pair whenever it sees
   one, and what it does next depends only on the grid of what precedes: the same pairs.
2. A common prefix is taken at the cell-id level when each of its ids occurs once on each side of
   the stretch. With A[0] ~ B[0] the LCS lengths of all longer prefixes are one more than those
   of the rest, so the walk makes the same moves on the rest; and since A[0]'s id matches no
   other B and B[0]'s no other A, the walk can only end by pairing A[0] with B[0].
3. A pair of aligned cells equal in content is not diffed: nbdime's diff of equal values is
   empty. Equality is Python's `==`, which is what nbdime's own leaves use, except for NaN (a
   NaN object shared by both sides is `==` to itself, yet nbdime reports it changed), so the
   shortcut is off for a notebook that holds a float NaN.

The stretches left over go to nbdime's own grid (`bruteforce_compute_snakes`) and the aligned,
unequal pairs to nbdime's own cell differ, so what comes back is nbdime's diff. When nbdime's
configuration for `/cells` is not the one this mirrors, nbdime runs unchanged.
`tests/history/test_notebook_diff.py` compares the two on nbdime's own test notebooks and on
generated edits (inserts, deletes, moves, changed sources, outputs, metadata, missing ids).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

Snake = tuple[int, int, int]
Rect = tuple[int, int, int, int]


def diff_notebooks(a: Any, b: Any) -> list[Any]:
    """The diff `nbdime.diff_notebooks(a, b)` returns, computed faster when few cells changed."""
    from nbdime.diffing import notebooks as nbd
    from nbdime.diffing.config import DiffConfig
    from nbdime.diffing.generic import diff, diff_sequence_multilevel

    predicates = list(nbd.notebook_predicates["/cells"])
    expected = [
        nbd.compare_cell_approximate,
        nbd.compare_cell_moderate,
        nbd.compare_cell_strict,
        nbd.compare_cell_by_ids,
    ]
    if (
        not isinstance(a, dict)
        or not isinstance(b, dict)
        or nbd.notebook_differs["/cells"] is not diff_sequence_multilevel
        or predicates != expected
        or not (_well_formed(a.get("cells")) and _well_formed(b.get("cells")))
    ):
        return nbd.diff_notebooks(a, b)
    equal_is_unchanged = not (_holds_nan(a) or _holds_nan(b))
    config = DiffConfig(
        predicates=nbd.notebook_predicates,
        differs=_CellsOverride(nbd.notebook_differs, _cells_differ(predicates, equal_is_unchanged)),
        # nbdime keeps these only on its config object (`/cells/*/id` is atomic).
        atomic_paths=getattr(nbd.notebook_config, "_atomic_paths", {"/cells/*/id": True}),
    )
    return diff(a, b, path="", config=config)


class _CellsOverride(dict[str, Any]):
    """nbdime's differs as they are configured at this moment, with ours for `/cells`.

    A view, not a copy: `defaultdict2.copy()` drops the entries `set_notebook_diff_targets`
    wrote (such as ignoring outputs).
    """

    def __init__(self, differs: Any, cells: Callable[..., list[Any]]) -> None:
        super().__init__()
        self._differs = differs
        self._cells = cells

    def __getitem__(self, path: str) -> Any:
        return self._cells if path == "/cells" else self._differs[path]


def _well_formed(cells: Any) -> bool:
    """Cells nbdime's predicates read without failing (otherwise nbdime runs, and fails, alone)."""
    if not isinstance(cells, list):
        return False
    for cell in cells:
        if not isinstance(cell, dict) or "cell_type" not in cell or "source" not in cell:
            return False
        if cell["cell_type"] == "code" and not isinstance(cell.get("outputs"), list):
            return False
    return True


def _holds_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, dict):
        return any(_holds_nan(v) for v in value.values() if not isinstance(v, str))
    if isinstance(value, list):
        return any(_holds_nan(v) for v in value if not isinstance(v, str))
    return False


def _cells_differ(
    compares: Sequence[Callable[[Any, Any], bool]], equal_is_unchanged: bool
) -> Callable[..., list[Any]]:
    def diff_cells(a: list[Any], b: list[Any], path: str = "", config: Any = None) -> list[Any]:
        snakes = _multilevel_snakes(a, b, compares, (0, 0, len(a), len(b)), len(compares) - 1)
        return _diff_from_snakes(a, b, snakes, path, config, equal_is_unchanged)

    return diff_cells


def _multilevel_snakes(
    a: list[Any],
    b: list[Any],
    compares: Sequence[Callable[[Any, Any], bool]],
    rect: Rect,
    level: int,
) -> list[Snake]:
    """Aligned runs (i, j, n): this level's, and the lower levels' inside the stretches between.

    nbdime merges runs that touch; the diff built from them does not depend on that.
    """
    snakes = _snakes(a, b, compares[level], rect, by_ids=level == len(compares) - 1)
    if level == 0:
        return snakes
    found: list[Snake] = []
    i0, j0, i1, j1 = rect
    for i, j, n in [*snakes, (i1, j1, 0)]:
        if i > i0 and j > j0:
            found += _multilevel_snakes(a, b, compares, (i0, j0, i, j), level - 1)
        if n:
            found.append((i, j, n))
        i0, j0 = i + n, j + n
    return found


def _snakes(
    a: list[Any], b: list[Any], compare: Callable[[Any, Any], bool], rect: Rect, by_ids: bool
) -> list[Snake]:
    """nbdime's brute-force snakes of one rectangle, with the common ends taken first."""
    from nbdime.diffing.seq_bruteforce import bruteforce_compute_snakes

    i0, j0, i1, j1 = rect
    suffix = 0
    while i1 - suffix > i0 and j1 - suffix > j0 and compare(a[i1 - suffix - 1], b[j1 - suffix - 1]):
        suffix += 1
    i1, j1 = i1 - suffix, j1 - suffix
    prefix = _unique_id_prefix(a, b, (i0, j0, i1, j1)) if by_ids else 0
    snakes: list[Snake] = [(i0, j0, prefix)] if prefix else []
    i0, j0 = i0 + prefix, j0 + prefix
    if i1 > i0 and j1 > j0:
        inner = bruteforce_compute_snakes(a[i0:i1], b[j0:j1], compare)
        snakes += [(i + i0, j + j0, n) for i, j, n in inner]
    if suffix:
        snakes.append((i1, j1, suffix))
    return snakes


def _unique_id_prefix(a: list[Any], b: list[Any], rect: Rect) -> int:
    """How many leading pairs share an id that occurs once on each side of the rectangle."""
    i0, j0, i1, j1 = rect
    try:
        ids_a = Counter(c["id"] for c in a[i0:i1] if "id" in c)
        ids_b = Counter(c["id"] for c in b[j0:j1] if "id" in c)
    except TypeError:  # an unhashable id: no shortcut
        return 0
    n = 0
    while i0 + n < i1 and j0 + n < j1:
        x, y = a[i0 + n], b[j0 + n]
        if not ("id" in x and "id" in y and x["id"] == y["id"]):
            break
        if ids_a[x["id"]] != 1 or ids_b[y["id"]] != 1:
            break
        n += 1
    return n


def _diff_from_snakes(
    a: list[Any],
    b: list[Any],
    snakes: list[Snake],
    path: str,
    config: Any,
    equal_is_unchanged: bool,
) -> list[Any]:
    """The sequence diff nbdime builds from aligned runs, skipping pairs equal in content."""
    from nbdime.diff_format import SequenceDiffBuilder

    subpath = f"{path}/*"
    differ = config.differs[subpath]
    builder = SequenceDiffBuilder()
    i0, j0 = 0, 0
    for i, j, n in [*snakes, (len(a), len(b), 0)]:
        if i > i0:
            builder.removerange(i0, i - i0)
        if j > j0:
            builder.addrange(i0, b[j0:j])
        for k in range(n):
            x, y = a[i + k], b[j + k]
            if equal_is_unchanged and x == y:
                continue
            entry = differ(x, y, path=subpath, config=config)
            if entry:
                builder.patch(i + k, entry)
        i0, j0 = i + n, j + n
    return builder.validated()
