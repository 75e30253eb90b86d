"""The text formats a notebook is imported from and exported to, and the jupytext calls.

Pure and synchronous (jupytext parses and writes in memory): the manager runs these in a worker
thread. Every failure the caller caused is an `NJError` with a 4xx status.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from ..base import NJError


@dataclass(frozen=True)
class TextFormat:
    """One text format: its name in the API, jupytext's name for it, and its file suffix."""

    name: str
    jupytext: str
    suffix: str
    media_type: str
    label: str


EXPORT_FORMATS: dict[str, TextFormat] = {
    fmt.name: fmt
    for fmt in (
        TextFormat("md", "md", ".md", "text/markdown", "Markdown (jupytext)"),
        TextFormat("myst", "md:myst", ".md", "text/markdown", "MyST Markdown"),
        TextFormat("rmd", "Rmd", ".Rmd", "text/x-r-markdown", "R Markdown"),
        TextFormat("py", "py:percent", ".py", "text/x-python", "Python, percent cells"),
    )
}

# Suffixes an import reads (lower case), and the format each one is read as by default. A `.md`
# file is told apart as MyST or jupytext Markdown from its content (see `import_format`).
IMPORT_SUFFIXES = {".md": "md", ".markdown": "md", ".rmd": "rmd", ".py": "py"}


def format_named(name: str | None, default: str = "md") -> TextFormat:
    """The export format called `name` (`md`, `myst`, `rmd`, `py`), or a 400 naming them."""
    key = (name or default).strip().lower()
    fmt = EXPORT_FORMATS.get(key)
    if fmt is None:
        raise NJError(
            400,
            "unknown-format",
            f"Unknown format {name!r}: use one of {', '.join(EXPORT_FORMATS)}.",
        )
    return fmt


def suffix_of(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def import_format(path: str, text: str, requested: str | None = None) -> TextFormat:
    """The format to read `path` as: the one asked for, else the one its suffix and content say.

    A `.md` file written by MyST tools (a `{code-cell}` directive, or a MyST-NB header) is read
    as MyST; any other `.md` as jupytext Markdown.
    """
    suffix = suffix_of(path)
    if suffix not in IMPORT_SUFFIXES:
        raise NJError(
            400,
            "unsupported-format",
            f"{path!r} cannot be imported: import a .md, .Rmd or .py (percent cells) file.",
        )
    if requested:
        fmt = format_named(requested)
        if fmt.suffix.lower() != suffix and not (suffix == ".markdown" and fmt.suffix == ".md"):
            raise NJError(
                400,
                "unsupported-format",
                f"A {suffix} file cannot be read as {fmt.label}.",
            )
        return fmt
    name = IMPORT_SUFFIXES[suffix]
    if name == "md" and looks_like_myst(text):
        name = "myst"
    return EXPORT_FORMATS[name]


def looks_like_myst(text: str) -> bool:
    """Whether Markdown text is MyST: a `{code-cell}` directive or MyST-NB's header."""
    from jupytext.myst import is_myst_available, matches_mystnb

    if not is_myst_available():
        return False
    return "```{code-cell}" in text or bool(matches_mystnb(text, ext=".md"))


def text_to_notebook(text: str, fmt: TextFormat) -> dict[str, Any]:
    """The notebook that jupytext reads from `text`, as plain nbformat JSON, or a 400 with
    jupytext's reason when the text cannot be read as that format."""
    import jupytext
    import nbformat

    try:
        notebook = jupytext.reads(text, fmt=fmt.jupytext)
        # The notebook is an .ipynb now, no longer a text representation.
        jupytext_metadata = notebook.metadata.get("jupytext")
        if isinstance(jupytext_metadata, dict):
            jupytext_metadata.pop("text_representation", None)
            if not jupytext_metadata:
                del notebook.metadata["jupytext"]
        nbformat.validate(notebook)
    except NJError:
        raise
    except Exception as err:  # noqa: BLE001 (jupytext raises many types for text it cannot read)
        raise NJError(
            400,
            "bad-source",
            f"The file cannot be read as {fmt.label}: {type(err).__name__}: {err}".rstrip(),
        ) from None
    return _plain(notebook)


def notebook_to_text(notebook: dict[str, Any], fmt: TextFormat) -> str:
    """`notebook` (nbformat JSON) written as `fmt` by jupytext, or a 400 for a broken notebook."""
    import jupytext
    import nbformat

    try:
        node = nbformat.from_dict(notebook)
        text: str = jupytext.writes(node, fmt=fmt.jupytext)
    except Exception as err:  # noqa: BLE001 (nbformat and jupytext raise many types)
        raise NJError(
            400,
            "bad-notebook",
            f"The notebook cannot be written as {fmt.label}: {type(err).__name__}: {err}",
        ) from None
    return text


def export_filename(path: str, fmt: TextFormat, version: str | None = None) -> str:
    """The download's file name: the notebook's stem, the short version id, the suffix."""
    stem = posixpath.splitext(posixpath.basename(path))[0] or "notebook"
    if version:
        stem = f"{stem}-{version[:8]}"
    return stem + fmt.suffix


def default_import_target(path: str) -> str:
    """Where an import writes when no target is named: the same folder and stem, `.ipynb`."""
    return posixpath.splitext(path)[0] + ".ipynb"


def _plain(notebook: Any) -> dict[str, Any]:
    import json

    result: dict[str, Any] = json.loads(json.dumps(notebook))
    return result
