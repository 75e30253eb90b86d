"""Import and export against a real server: jupytext formats in, history versions out."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..history.conftest import flush, history, make_notebook, save_notebook
from .conftest import (
    MARKDOWN,
    MYST,
    PERCENT,
    RMD,
    expect_error,
    export_file,
    import_file,
    sources,
)


def read_notebook(root: Path, path: str) -> dict[str, Any]:
    return json.loads((root / path).read_text())


@pytest.mark.parametrize(
    ("name", "text", "fmt", "code"),
    [
        ("doc.md", MARKDOWN, "md", "x = 1 + 1\nprint(x)"),
        ("doc.md", MYST, "myst", "y = 2 * 21"),
        ("doc.Rmd", RMD, "rmd", "summary(cars)"),
        ("doc.py", PERCENT, "py", "total = sum(range(10))\nprint(total)"),
    ],
    ids=["markdown", "myst", "rmd", "percent"],
)
async def test_a_text_file_round_trips_through_a_notebook(
    jp_fetch: Any, jp_root_dir: Path, jp_serverapp: Any, name: str, text: str, fmt: str, code: str
) -> None:
    (jp_root_dir / name).write_text(text)
    answer = await import_file(jp_fetch, name)
    assert answer["path"] == "doc.ipynb"
    assert answer["format"] == fmt
    nb = read_notebook(jp_root_dir, "doc.ipynb")
    nbformat.validate(nbformat.from_dict(nb))
    assert ("code", code) in sources(nb)
    # The import was a save like any other: history has the new notebook as a version.
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "doc.ipynb"))["versions"]
    assert len(versions) == 1

    exported = await export_file(jp_fetch, "doc.ipynb", format=fmt)
    suffix = Path(name).suffix
    assert f'filename="doc{suffix}"' in exported.headers["Content-Disposition"]
    assert "attachment" in exported.headers["Content-Disposition"]
    text_out = exported.body.decode()
    assert code in text_out
    # Exported text reads back as the same cells.
    (jp_root_dir / f"again{suffix}").write_text(text_out)
    await import_file(jp_fetch, f"again{suffix}", {"to": "again.ipynb"})
    assert sources(read_notebook(jp_root_dir, "again.ipynb")) == sources(nb)


async def test_a_jupytext_markdown_file_comes_back_as_it_was(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    (jp_root_dir / "doc.md").write_text(MARKDOWN)
    await import_file(jp_fetch, "doc.md")
    exported = (await export_file(jp_fetch, "doc.ipynb", format="md")).body.decode()
    # Everything after the header, byte for byte; the header gains jupytext's format note.
    assert exported.endswith(MARKDOWN.split("---\n", 2)[2])
    assert "kernelspec:" in exported and "format_name: markdown" in exported


async def test_an_older_version_exports_its_own_content(
    jp_fetch: Any, jp_root_dir: Path, jp_serverapp: Any
) -> None:
    await save_notebook(jp_fetch, "nb.ipynb", make_notebook("first draft"))
    await flush(jp_serverapp)
    await save_notebook(jp_fetch, "nb.ipynb", make_notebook("final text"))
    await flush(jp_serverapp)
    versions = (await history(jp_fetch, "nb.ipynb"))["versions"]
    assert len(versions) == 2
    older = versions[-1]["id"]

    old = await export_file(jp_fetch, "nb.ipynb", version=older, format="py")
    now = await export_file(jp_fetch, "nb.ipynb", format="py")
    assert "first draft" in old.body.decode() and "final text" not in old.body.decode()
    assert "final text" in now.body.decode()
    assert f'filename="nb-{older[:8]}.py"' in old.headers["Content-Disposition"]
    assert old.headers["Content-Type"].startswith("text/x-python")
    # The default format is jupytext Markdown; MyST and R Markdown are there too.
    for fmt, marker in (("", "```python"), ("myst", "```{code-cell}"), ("rmd", "```{python")):
        params = {"version": older, **({"format": fmt} if fmt else {})}
        body = (await export_file(jp_fetch, "nb.ipynb", **params)).body.decode()
        assert marker in body and "first draft" in body


async def test_an_import_names_its_target_and_refuses_to_overwrite_unless_asked(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / "doc.py").write_text(PERCENT)
    answer = await import_file(jp_fetch, "doc.py", {"to": "sub/analysis.ipynb"})
    assert answer["path"] == "sub/analysis.ipynb"
    before = (jp_root_dir / "sub/analysis.ipynb").read_bytes()

    (jp_root_dir / "doc.py").write_text(PERCENT.replace("range(10)", "range(20)"))
    body = await expect_error(import_file(jp_fetch, "doc.py", {"to": "sub/analysis.ipynb"}), 409)
    assert body["reason"] == "exists" and "overwrite" in body["message"]
    assert (jp_root_dir / "sub/analysis.ipynb").read_bytes() == before

    await import_file(jp_fetch, "doc.py", {"to": "sub/analysis.ipynb", "overwrite": True})
    assert "range(20)" in (jp_root_dir / "sub/analysis.ipynb").read_text()


def listing(root: Path) -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(root):  # links are not followed
        for name in dirs + files:
            path = Path(folder, name)
            if ".ipynb_checkpoints" not in str(path):
                found.add(str(path.relative_to(root)))
    return found


async def test_bad_imports_are_4xx_and_write_nothing(jp_fetch: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "doc.md").write_text(MARKDOWN)
    (jp_root_dir / "broken.md").write_text("---\njupyter:\n  kernelspec: [unclosed\n---\n\n# x\n")
    (jp_root_dir / "broken-myst.md").write_text(
        "```{code-cell} ipython3\n---\ntags: [a\n---\nprint(1)\n```\n"
    )
    (jp_root_dir / "latin1.md").write_bytes("caf\xe9\n".encode("latin-1"))
    (jp_root_dir / "big.md").write_text("x" * (64 * 1024 + 1))
    (jp_root_dir / "notes.txt").write_text("plain")
    (jp_root_dir / "folder.md").mkdir()
    # A link inside the root to a file outside it (what a runtime could plant).
    outside = jp_root_dir.parent / "outside.md"
    outside.write_text(MARKDOWN)
    (jp_root_dir / "link.md").symlink_to(outside)
    (jp_root_dir / "escape").symlink_to(jp_root_dir.parent)
    before = listing(jp_root_dir)

    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("missing.md", {}, 404, "not-found"),
        ("broken.md", {}, 400, "bad-source"),
        ("broken-myst.md", {}, 400, "bad-source"),
        ("latin1.md", {}, 400, ""),
        ("big.md", {}, 413, "too-large"),
        ("notes.txt", {}, 400, "unsupported-format"),
        ("doc.md", {"to": "doc.txt"}, 400, "bad-target"),
        ("doc.md", {"to": "../outside.ipynb"}, 404, "not-found"),
        # API paths are relative to the root, leading slash or not.
        ("doc.md", {"to": "/etc/outside.ipynb"}, 404, "no-folder"),
        ("doc.md", {"to": "sub/../../outside.ipynb"}, 404, "not-found"),
        ("doc.md", {"to": "nowhere/doc.ipynb"}, 404, "no-folder"),
        ("doc.md", {"to": 7}, 400, "bad-body"),
        ("doc.md", {"overwrite": "yes"}, 400, "bad-body"),
        ("doc.md", {"format": "py"}, 400, "unsupported-format"),
        ("doc.md", {"format": "docx"}, 400, "unknown-format"),
        ("..%2F..%2Fetc%2Fpasswd.md", {}, 404, "not-found"),
        ("link.md", {}, 404, "not-found"),
        ("doc.md", {"to": "escape/written.ipynb"}, 404, "not-found"),
        ("folder.md", {}, 400, ""),
    ]
    for path, body, code, reason in cases:
        answer = await expect_error(import_file(jp_fetch, path, body), code)
        if reason:
            assert answer["reason"] == reason, (path, body, answer)
    # jupytext's own reason reaches the caller.
    answer = await expect_error(import_file(jp_fetch, "broken.md"), 400)
    assert "ParserError" in answer["message"]
    answer = await expect_error(import_file(jp_fetch, "broken-myst.md"), 400)
    assert "MystMetadataParsingError" in answer["message"]
    # A body that is not JSON.
    with pytest.raises(Exception) as info:
        await jp_fetch("nj", "api", "import", "doc.md", method="POST", body="{not json")
    assert getattr(info.value, "code", None) == 400
    assert listing(jp_root_dir) == before
    assert not (jp_root_dir.parent / "written.ipynb").exists()


async def test_bad_exports_are_4xx(jp_fetch: Any, jp_root_dir: Path, jp_serverapp: Any) -> None:
    await save_notebook(jp_fetch, "nb.ipynb", make_notebook("one"))
    await flush(jp_serverapp)
    (jp_root_dir / "notes.md").write_text("# notes")
    (jp_root_dir / "broken.ipynb").write_text("{ not a notebook")

    body = await expect_error(export_file(jp_fetch, "nb.ipynb", version="0badc0de" * 5), 404)
    assert body["reason"] == "unknown-version" and "version" in body["message"]
    body = await expect_error(export_file(jp_fetch, "nb.ipynb", format="docx"), 400)
    assert body["reason"] == "unknown-format" and "md, myst, rmd, py" in body["message"]
    await expect_error(export_file(jp_fetch, "missing.ipynb"), 404)
    await expect_error(export_file(jp_fetch, "notes.md"), 400)
    await expect_error(export_file(jp_fetch, "broken.ipynb"), 400)
    await expect_error(export_file(jp_fetch, "..%2Foutside.ipynb"), 404)
    await expect_error(export_file(jp_fetch, "missing.ipynb", version="abc"), 404)


async def test_an_export_of_the_current_file_reads_the_saved_notebook(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    await save_notebook(jp_fetch, "nb.ipynb", make_notebook("saved now"))
    exported = await export_file(jp_fetch, "nb.ipynb", format="md")
    assert 'filename="nb.md"' in exported.headers["Content-Disposition"]
    assert "saved now" in exported.body.decode()
    await asyncio.sleep(0)
