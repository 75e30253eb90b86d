"""`jupyter nj import SRC [--to DEST]`, `jupyter nj export PATH [--version V] [--format F]`,
`jupyter nj remix PATH [--version V] [--to P]`, `jupyter nj links create|list|revoke`,
`jupyter nj publish PATH [--version V] [--slug S]` and `jupyter nj publications list|unpublish`.

With no server: the import writes through a file contents manager and records the new notebook
in history itself; the export reads versions from the history store; the remix writes the new
history, the results folder and the file through the history store; links are written to the
server's link store, which a running server reads again at its next request; publications are
written to the user's publication store, which every server of theirs serves from.
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

    links = sub.add_parser("links", help="draft links: a read-only page of a notebook, no login")
    what = links.add_subparsers(dest="links_command", metavar="COMMAND", required=True)
    create = what.add_parser("create", help="a new link to a notebook (its URL is shown once)")
    create.add_argument("path", help="notebook, relative to the server root")
    create.add_argument(
        "--expires", default=None, help="ISO 8601 time (UTC unless it says), e.g. 2027-01-31T18:00"
    )
    create.add_argument("--days", type=float, default=None, help="expire after this many days")
    create.add_argument("--json", action="store_true", help="print the link as JSON")
    create.add_argument(
        "--edit", action="store_true", help="an edit link: other users co-edit this notebook only"
    )
    create.add_argument("--run", action="store_true", help="(with --edit) they may run code too")
    create.set_defaults(func=cmd_links_create)
    listing = what.add_parser("list", help="the active links (of one notebook)")
    listing.add_argument("path", nargs="?", default=None, help="only this notebook's")
    listing.add_argument("--json", action="store_true", help="print the links as JSON")
    listing.set_defaults(func=cmd_links_list)
    revoke = what.add_parser("revoke", help="end a link now")
    revoke.add_argument("id", help="the link's id (`jupyter nj links list`)")
    revoke.set_defaults(func=cmd_links_revoke)
    rmx = sub.add_parser(
        "remix",
        help="copy a notebook with its environment pins, results folder and history",
    )
    rmx.add_argument("path", help="notebook, relative to the server root")
    rmx.add_argument("--version", default="current", help='history version id (default "current")')
    rmx.add_argument("--to", default=None, help="notebook to write (default: <stem>-remix.ipynb)")
    rmx.set_defaults(func=cmd_remix)

    pub = sub.add_parser("publish", help="publish a notebook version at a permanent URL")
    pub.add_argument("path", help="notebook, relative to the server root")
    pub.add_argument("--version", default="current", help='history version id (default "current")')
    pub.add_argument("--slug", default=None, help="the URL's name (default: from the title)")
    pub.add_argument(
        "--no-results", action="store_true", help="leave the results folder out of the edition"
    )
    pub.add_argument("--json", action="store_true", help="print the edition as JSON")
    pub.set_defaults(func=cmd_publish)

    pubs = sub.add_parser("publications", help="published notebooks: list, unpublish")
    pubs_what = pubs.add_subparsers(dest="what", required=True)
    pub_list = pubs_what.add_parser("list", help="every edition, newest first")
    pub_list.add_argument("--path", default=None, help="only those of this notebook")
    pub_list.add_argument("--json", action="store_true", help="print JSON")
    pub_list.set_defaults(func=cmd_publications_list)
    unpub = pubs_what.add_parser("unpublish", help="end an edition or a whole publication")
    unpub.add_argument("ref", metavar="OWNER/SLUG[/N]")
    unpub.set_defaults(func=cmd_unpublish)


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


def _server_url(root_dir: str) -> str:
    """The URL of the running server that serves `root_dir`, or "" (the link is then shown
    as a path to put after that server's address)."""
    import os

    from jupyter_server.serverapp import list_running_servers

    root = os.path.realpath(root_dir)
    for server in list_running_servers():
        if os.path.realpath(server.get("root_dir", "")) == root:
            return str(server.get("url", "")).rstrip("/")
    return ""


def cmd_links_create(args: argparse.Namespace) -> int:
    import getpass
    import json

    app, manager = _manager(args)
    expires: Any = args.expires
    if args.days is not None:
        expires = args.days * 86400
    if args.run and not args.edit:
        return _fail(ValueError("--run is for edit links (add --edit)."))
    try:
        path = manager.notebook_path(args.path)
        if args.edit:
            link = asyncio.run(
                manager.links.create_edit(path, getpass.getuser(), expires, args.run)
            )
        else:
            link = asyncio.run(manager.links.create(path, getpass.getuser(), expires))
    except EXPECTED as err:
        return _fail(err)
    base = _server_url(app.root_dir)
    if not args.edit and app.drafts_dir and app.drafts_base_url:
        # Read where the snapshots are served (the hub's pages service), as the API answers.
        base = app.drafts_base_url.rstrip("/")
    if not link["url"].startswith("http"):
        link["url"] = base + link["url"] if base else link["url"]
    if args.json:
        print(json.dumps(link, indent=2))
        return 0
    print(f"{link['url']}\n  link {link['id']} to {link['path']}", end="")
    print(f", expires {link['expires']}" if link["expires"] else ", no expiry")
    if not base.startswith("http"):
        print("  (put the server's address before the path; the URL is shown only now)")
    return 0


def cmd_links_list(args: argparse.Namespace) -> int:
    import json

    _, manager = _manager(args)
    try:
        path = manager.notebook_path(args.path) if args.path else None
        links = asyncio.run(manager.links.list(path))
    except EXPECTED as err:
        return _fail(err)
    if args.json:
        print(json.dumps(links, indent=2))
        return 0
    for link in links:
        expiry = f"expires {link['expires']}" if link["expires"] else "no expiry"
        print(
            f"{link['id']}  {link['path']}  {_gives(link)}  by {link['author']}, "
            f"{link['created']}, {expiry}"
        )
    return 0


def _gives(link: dict[str, Any]) -> str:
    """What a link lets its holder do, as the Share dialog words it."""
    if link.get("kind") != "edit":
        return "read-only page"
    gives = "co-edit and run" if link.get("run") else "co-edit"
    for kind, name in (link.get("shared_with") or {}).items():
        gives += f" with {kind} {name}"
    return gives


def cmd_links_revoke(args: argparse.Namespace) -> int:
    _, manager = _manager(args)
    try:
        link = asyncio.run(manager.links.revoke(args.id))
    except EXPECTED as err:
        return _fail(err)
    print(f"revoked {link['id']} ({link['path']}): its page answers 410 from now on")
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


def _owner() -> str:
    from ..secrets.manager import default_server_owner

    return default_server_owner()


def cmd_publish(args: argparse.Namespace) -> int:
    import json

    app, manager = _manager(args)
    try:
        edition = asyncio.run(
            manager.publications.publish(
                manager.notebook_path(args.path),
                _owner(),
                version=args.version,
                slug=args.slug,
                include_results=not args.no_results,
            )
        )
    except EXPECTED as err:
        return _fail(err)
    base = _server_url(app.root_dir)
    for key in ("url", "latest"):
        edition[key] = base + edition[key] if base else edition[key]
    if args.json:
        print(json.dumps(edition, indent=2))
        return 0
    print(f"published {edition['path']} at version {edition['version'][:12]}")
    print(f"  {edition['url']}  (edition {edition['number']}, for ever)")
    print(f"  {edition['latest']}  (the newest edition)")
    if not base:
        print("  (put the address of a server of yours before the path)")
    return 0


def cmd_publications_list(args: argparse.Namespace) -> int:
    import json

    _, manager = _manager(args)
    try:
        path = manager.notebook_path(args.path) if args.path else None
        editions = asyncio.run(manager.publications.find(None, path))
    except EXPECTED as err:
        return _fail(err)
    if args.json:
        print(json.dumps(editions, indent=2))
        return 0
    for e in editions:
        gone = f", unpublished {e['unpublished']}" if e["unpublished"] else ""
        source = f"from {e['path']} @ {e['version'][:12]}"
        print(f"{e['url']}  {e['title']!r} {source}, {e['published']}{gone}")
    return 0


def cmd_unpublish(args: argparse.Namespace) -> int:
    from urllib.parse import unquote

    _, manager = _manager(args)
    parts = [unquote(p) for p in args.ref.strip("/").split("/")]
    if parts[:2] == ["nj", "p"]:
        parts = parts[2:]
    if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2].isdigit()):
        return _fail(ValueError(f"{args.ref!r} is not OWNER/SLUG or OWNER/SLUG/N."))
    number = int(parts[2]) if len(parts) == 3 else None
    try:
        ended = asyncio.run(manager.publications.unpublish(parts[0], parts[1], number, _owner()))
    except EXPECTED as err:
        return _fail(err)
    for e in ended:
        print(f"unpublished {e['url']}: it answers 410 from now on")
    return 0
