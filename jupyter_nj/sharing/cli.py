"""`jupyter nj import SRC [--to DEST]`, `jupyter nj export PATH [--version V] [--format F]` and
`jupyter nj remix PATH [--version V] [--to P]`.

With no server: the import writes through a file contents manager and records the new notebook
in history itself; the export reads versions from the history store; the remix writes the new
history, the results folder and the file through the history store.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ..base import NJError
from .formats import EXPORT_FORMATS

EXPECTED = (NJError, OSError, ValueError)


def register_sharing_commands(sub: Any) -> None:
    imp = sub.add_parser("import", help="turn a .md, .Rmd or percent .py file into a notebook")
    imp.add_argument("source", help="text file, relative to the server root")
    imp.add_argument("--to", default=None, help="notebook to write (default: same stem, .ipynb)")
    imp.add_argument("--overwrite", action="store_true", help="replace the target if it exists")
    imp.add_argument(
        "--format", default=None, choices=sorted(EXPORT_FORMATS), help="read the source as"
    )
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="write a notebook, or one of its versions, as text")
    exp.add_argument("path", help="notebook, relative to the server root")
    exp.add_argument("--version", default=None, help="history version id (default: the file now)")
    exp.add_argument(
        "--format", default="md", choices=sorted(EXPORT_FORMATS), help="text format (default md)"
    )
    exp.add_argument("-o", "--output", default=None, help="write here instead of standard output")
    exp.set_defaults(func=cmd_export)

    rmx = sub.add_parser(
        "remix",
        help="copy a notebook with its environment pins, results folder and history",
    )
    rmx.add_argument("path", help="notebook, relative to the server root")
    rmx.add_argument("--version", default="current", help='history version id (default "current")')
    rmx.add_argument("--to", default=None, help="notebook to write (default: <stem>-remix.ipynb)")
    rmx.set_defaults(func=cmd_remix)


def _manager(args: argparse.Namespace) -> tuple[Any, Any]:
    from jupyter_server.services.contents.filemanager import FileContentsManager

    from ..cli import load_nj_app
    from ..documents import LiveDocuments

    app = load_nj_app(args.root_dir)
    contents = FileContentsManager(root_dir=app.root_dir)
    documents = LiveDocuments(contents_manager=contents)
    return app, app.build_sharing_manager(documents)


def _fail(err: Exception) -> int:
    print(f"error: {getattr(err, 'message', None) or err}", file=sys.stderr)
    return 2


def cmd_import(args: argparse.Namespace) -> int:
    app, manager = _manager(args)
    try:
        result = asyncio.run(
            manager.import_notebook(
                args.source, to=args.to, overwrite=args.overwrite, fmt=args.format
            )
        )
        version = app.record_offline_write(result["path"], f"Import of {result['source']}")
    except EXPECTED as err:
        return _fail(err)
    print(
        f"imported {result['source']} ({result['format']}) as {result['path']}, "
        f"{result['cells']} cells" + (f", version {version[:12]}" if version else "")
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    _, manager = _manager(args)
    try:
        exported = asyncio.run(
            manager.export_notebook(args.path, version=args.version, fmt=args.format)
        )
        if args.output:
            Path(args.output).write_text(exported.text, encoding="utf-8")
    except EXPECTED as err:
        return _fail(err)
    if not args.output:
        sys.stdout.write(exported.text)
        sys.stdout.flush()
    return 0


def cmd_remix(args: argparse.Namespace) -> int:
    _, manager = _manager(args)
    try:
        result = asyncio.run(manager.remix(args.path, version=args.version, to=args.to))
    except EXPECTED as err:
        return _fail(err)
    origin = result["from"]
    print(
        f"remixed {origin['path']} at version {origin['version'][:12]} as {result['path']} "
        f"(version {result['version']['id'][:12]})"
    )
    if result["secrets"]:
        print(
            "attached secrets (names only; you need access of your own): "
            + ", ".join(result["secrets"])
        )
    return 0
