"""A notebook as git objects: one inputs blob and one blob per output, written once.

A version of a notebook is stored as `notebook.json` (the notebook with every code cell's outputs
removed) and `outputs/<cell key>/<n>` (one blob per output). Most saves change a cell's source and
leave almost every output as it was, so the cost of a version should follow what changed, not the
size of the notebook. `NotebookSplitter` gets there by remembering, per history, the outputs of the
previous version next to the blob and the text they became: an output equal to the one at the same
place last time reuses both, without being serialised or hashed again. Comparing is a walk over a
few small dicts ending in string comparisons (memcmp), so a 5 MB notebook of unchanged images costs
well under a millisecond. Outputs that moved or came back are found in a content cache (keyed by a
digest of their JSON), and only outputs never seen before are encoded and written.

The bytes a version stands for are those nbformat writes for the notebook (what jupyter_server
saves): the inputs text with each cell's outputs text spliced back in. `SplitNotebook.assemble()`
builds them, so a caller holding the saved file can check the split is exact before using it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pygit2

from .objects import BLOB_MODE, TREE_MODE, ObjectWriter

_VALID_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# How a cell's emptied outputs read in the canonical inputs text (cell keys sit at indent 3).
OUTPUTS_MARKER = b'\n   "outputs": []'
# Canonical text of outputs seen recently (any history), to skip re-encoding ones that come back.
OUTPUT_CACHE_BYTES = 64 * 1024 * 1024
# Histories whose previous outputs are remembered (each holds references to its strings).
REMEMBERED_HISTORIES = 32
# Canonical text of cells (outputs emptied) seen recently, to skip re-encoding unchanged cells.
CELL_TEXT_CACHE_BYTES = 32 * 1024 * 1024
# How the canonical text of a notebook with no cells begins (`cells` sorts first in nbformat 4).
_NO_CELLS = b'{\n "cells": [],'


def canonical_notebook_bytes(nb: Any) -> bytes:
    """The bytes nbformat (and so jupyter_server) writes for a notebook dict in split-lines form."""
    text = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False, separators=(",", ": "))
    return (text + "\n").encode("utf-8")


def cell_keys(cells: Sequence[Any]) -> list[str]:
    """A stable tree-entry name per cell: its id, or `#<index>` when the id is missing or reused.

    `#` cannot appear in an nbformat cell id, so the two forms never collide.
    """
    seen: set[str] = set()
    keys = []
    for index, cell in enumerate(cells):
        cell_id = cell.get("id") if isinstance(cell, dict) else None
        if isinstance(cell_id, str) and _VALID_CELL_ID.match(cell_id) and cell_id not in seen:
            seen.add(cell_id)
            keys.append(cell_id)
        else:
            keys.append(f"#{index}")
    return keys


def frozen(value: Any) -> Any:
    """A hashable, comparable image of a JSON value, equal only for values that dump alike.

    Strings stay themselves (compared by memcmp, never copied); other scalars carry their type and
    repr, because `True == 1 == 1.0` and `0.0 == -0.0` in Python but not in JSON text.
    """
    if type(value) is str:
        return value
    if isinstance(value, dict):
        return ("{", tuple(sorted((k, frozen(v)) for k, v in value.items())))
    if isinstance(value, list):
        if set(map(type, value)) <= {str}:
            # Lines of text, the common case: the same image, without a Python call per line.
            return ("[", tuple(value))
        return ("[", tuple(frozen(v) for v in value))
    return (type(value).__name__, repr(value))


@dataclass(frozen=True)
class _StoredOutput:
    image: Any  # frozen(output) of the contents-API (joined lines) form
    oid: pygit2.Oid
    text: bytes  # the output's canonical text inside a notebook (indented, split lines)


@dataclass(frozen=True)
class _StoredCell:
    image: tuple[Any, ...]
    outputs: tuple[_StoredOutput, ...]
    tree: pygit2.Oid
    text: bytes  # the cell's whole `"outputs"` value as it reads in the notebook


@dataclass(eq=False)
class SplitNotebook:
    """A notebook version as objects already in the store, ready to be committed."""

    inputs: bytes  # the canonical text of `notebook.json`
    inputs_blob: pygit2.Oid
    outputs_tree: pygit2.Oid | None
    # One entry per cell with an "outputs" key, in order: its outputs text, or None when empty.
    pieces: list[bytes | None] = field(repr=False)
    size: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SplitNotebook):
            return NotImplemented
        return (self.inputs_blob, self.outputs_tree) == (other.inputs_blob, other.outputs_tree)

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return self.size

    def assemble(self) -> bytes:
        """The exact bytes nbformat writes for this notebook."""
        return b"".join(self._segments())

    def matches(self, data: bytes) -> bool:
        """Whether `data` is exactly `assemble()`, compared in place (no 5 MB copy)."""
        if len(data) != self.size:
            return False
        position = 0
        for segment in self._segments():
            if not data.startswith(segment, position):
                return False
            position += len(segment)
        return position == len(data)

    def _segments(self) -> Iterator[bytes]:
        inputs = self.inputs
        position = 0
        for piece in self.pieces:
            end = inputs.index(OUTPUTS_MARKER, position) + len(OUTPUTS_MARKER)
            if piece is None:
                yield inputs[position:end]
            else:
                yield inputs[position : end - 2]
                yield piece
            position = end
        yield inputs[position:]


def _split_output_text(output: Any) -> tuple[bytes, bytes]:
    """(blob bytes, canonical text inside a notebook) of one contents-API output.

    nbformat's own `split_lines` decides which strings become lists of lines, so the text is
    exactly what it writes.
    """
    from nbformat import from_dict
    from nbformat.v4.rwbase import split_lines

    holder = from_dict({"cells": [{"cell_type": "code", "outputs": [output]}]})
    split = split_lines(holder).cells[0].outputs[0]
    blob = json.dumps(split, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text = json.dumps(split, sort_keys=True, indent=1, ensure_ascii=False, separators=(",", ": "))
    return blob.encode("utf-8"), "\n".join("    " + line for line in text.split("\n")).encode()


def _canonical_inputs(notebook: dict[str, Any]) -> bytes:
    """nbformat's write steps (split lines, drop transient fields), then its canonical text."""
    from nbformat import from_dict
    from nbformat.v4.rwbase import split_lines, strip_transient

    # from_dict builds new containers (strings are shared), so nbformat's own write steps can
    # run on it without touching the caller's notebook.
    return canonical_notebook_bytes(strip_transient(split_lines(from_dict(notebook))))


def inputs_whole(notebook: dict[str, Any], cells: list[dict[str, Any]]) -> bytes:
    """The canonical text of the notebook with every cell's outputs emptied, in one go."""
    emptied = [{**cell, "outputs": []} if "outputs" in cell else cell for cell in cells]
    return _canonical_inputs({**notebook, "cells": emptied})


class NotebookSplitter:
    """Writes notebooks into a repository as inputs + outputs, reusing what is already there."""

    def __init__(self, objects: ObjectWriter) -> None:
        self._objects = objects
        self._previous: OrderedDict[str, dict[str, _StoredCell]] = OrderedDict()
        self._known: OrderedDict[bytes, tuple[pygit2.Oid, bytes]] = OrderedDict()
        self._known_bytes = 0
        # frozen(cell with outputs emptied) -> the cell's canonical text inside a notebook.
        # Keyed by content, never by object identity: a caller may reuse and mutate its dicts.
        self._cell_texts: OrderedDict[Any, bytes] = OrderedDict()
        self._cell_texts_bytes = 0

    def forget(self) -> None:
        self._previous.clear()
        self._known.clear()
        self._known_bytes = 0
        self._cell_texts.clear()
        self._cell_texts_bytes = 0

    def split(self, history_id: str, notebook: Any) -> SplitNotebook | None:
        """Write the objects of a contents-API notebook (lines joined); None if it has no split.

        None means the notebook is not one nbformat 4 writes as cells with outputs (an older
        format, a cell without metadata, outputs on a markdown cell...): store it whole.
        """
        if not isinstance(notebook, dict) or notebook.get("nbformat") != 4:
            return None
        cells = notebook.get("cells")
        if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
            return None
        try:
            inputs = self._inputs(notebook, cells)
        except (AttributeError, KeyError, TypeError, ValueError):
            return None
        previous = self._previous.pop(history_id, {})
        remembered: dict[str, _StoredCell] = {}
        entries: list[tuple[str, int, pygit2.Oid]] = []
        pieces: list[bytes | None] = []
        size = len(inputs)
        for key, cell in zip(cell_keys(cells), cells, strict=True):
            if "outputs" not in cell:
                continue
            outputs = cell["outputs"]
            if cell.get("cell_type") != "code" or not isinstance(outputs, list):
                return None
            if not outputs:
                pieces.append(None)
                continue
            stored = self._cell(outputs, previous.get(key))
            if stored is None:
                return None
            remembered[key] = stored
            entries.append((key, TREE_MODE, stored.tree))
            pieces.append(stored.text)
            size += len(stored.text) - 2
        if inputs.count(OUTPUTS_MARKER) != len(pieces):
            # Something else in the notebook reads like a cell's outputs: no splice is safe.
            return None
        self._previous[history_id] = remembered
        while len(self._previous) > REMEMBERED_HISTORIES:
            self._previous.popitem(last=False)
        tree = self._objects.tree(entries) if entries else None
        return SplitNotebook(inputs, self._objects.blob(inputs), tree, pieces, size)

    def _inputs(self, notebook: dict[str, Any], cells: list[dict[str, Any]]) -> bytes:
        """The canonical text of the notebook with every cell's outputs emptied.

        Assembled from each cell's own canonical text (cached: an edit re-encodes one cell, not
        the notebook) and the text of the rest; `inputs_whole` is the same, written in one go.
        """
        rest = {key: value for key, value in notebook.items() if key != "cells"}
        if not cells or any(key < "cells" for key in rest):
            return inputs_whole(notebook, cells)
        head = _canonical_inputs({**rest, "cells": []})
        if not head.startswith(_NO_CELLS):
            return inputs_whole(notebook, cells)
        body = b",\n".join(self._cell_text(cell) for cell in cells)
        return b'{\n "cells": [\n' + body + b"\n ]," + head[len(_NO_CELLS) :]

    def _cell_text(self, cell: dict[str, Any]) -> bytes:
        emptied = {**cell, "outputs": []} if "outputs" in cell else cell
        image = frozen(emptied)
        text = self._cell_texts.get(image)
        if text is not None:
            self._cell_texts.move_to_end(image)
            return text
        whole = _canonical_inputs({"cells": [emptied], "metadata": {}, "nbformat": 4})
        # The cell sits at indent 2 in the notebook's text; its lines are cut out of a one-cell
        # notebook's text, whose lines around the cell are fixed.
        lines = whole.split(b"\n")
        text = b"\n".join(lines[2 : lines.index(b" ],")])
        self._cell_texts[image] = text
        self._cell_texts_bytes += len(text)
        while self._cell_texts_bytes > CELL_TEXT_CACHE_BYTES and self._cell_texts:
            _, dropped = self._cell_texts.popitem(last=False)
            self._cell_texts_bytes -= len(dropped)
        return text

    def _cell(self, outputs: list[Any], previous: _StoredCell | None) -> _StoredCell | None:
        image = tuple(frozen(output) for output in outputs)
        if previous is not None and previous.image == image:
            return previous
        before = previous.outputs if previous is not None else ()
        stored = []
        for n, (output, output_image) in enumerate(zip(outputs, image, strict=True)):
            if n < len(before) and before[n].image == output_image:
                stored.append(before[n])
                continue
            found = self._output(output)
            if found is None:
                return None
            stored.append(_StoredOutput(output_image, *found))
        tree = self._objects.tree((str(n), BLOB_MODE, one.oid) for n, one in enumerate(stored))
        text = b"[\n" + b",\n".join(one.text for one in stored) + b"\n   ]"
        return _StoredCell(image, tuple(stored), tree, text)

    def _output(self, output: Any) -> tuple[pygit2.Oid, bytes] | None:
        """The blob and canonical text of one output not at its previous place."""
        try:
            compact = json.dumps(output, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        digest = hashlib.blake2b(compact.encode("utf-8"), digest_size=20).digest()
        known = self._known.get(digest)
        if known is not None:
            self._known.move_to_end(digest)
            return known
        try:
            blob, text = _split_output_text(output)
        except (AttributeError, KeyError, TypeError, ValueError):
            return None
        found = (self._objects.blob(blob), text)
        self._known[digest] = found
        self._known_bytes += len(text)
        while self._known_bytes > OUTPUT_CACHE_BYTES and self._known:
            _, (_, dropped) = self._known.popitem(last=False)
            self._known_bytes -= len(dropped)
        return found
