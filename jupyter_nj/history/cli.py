"""`jupyter nj history log|show|restore|diff|label PATH ...`: the history store without a server.

Files are found by the path their history last recorded (renames made through a running server
are followed). A restore writes the file through a contents manager, as the server would, and
records the new version itself. When a server has the file open in a real-time room, prefer the
History panel: the room sees a restore from here as a change made outside it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ..base import NJError, resolve_api_path
from .store import HistoryError

# What a user can cause (unknown path or version, unreadable file): a message, not a traceback.
EXPECTED = (NJError, HistoryError, OSError, ValueError)


def register_history_commands(sub: Any) -> None:
    history = sub.add_parser("history", help="versions of a file: log, show, restore, diff, label")
    commands = history.add_subparsers(dest="history_command", required=True)

    log = commands.add_parser("log", help="list versions, newest first")
    log.add_argument("path", help="file path relative to the server root")
    log.add_argument("-n", "--limit", type=int, default=50, help="how many versions (default 50)")
    log.add_argument("--before", default=None, help="list versions older than this one")
    log.add_argument("--json", action="store_true", help="print JSON for machines")
    log.set_defaults(func=cmd_log)

    show = commands.add_parser("show", help="print a version's content")
    show.add_argument("path")
    show.add_argument("version", help="version id (a unique prefix is enough)")
    show.add_argument("-o", "--output", default=None, help="write the content to this file")
    show.add_argument(
        "--results-to", default=None, help="also extract the captured results folder here"
    )
    show.set_defaults(func=cmd_show)

    restore = commands.add_parser("restore", help="make a version the file's content again")
    restore.add_argument("path")
    restore.add_argument("version")
    restore.set_defaults(func=cmd_restore)

    diff = commands.add_parser("diff", help="nbdime diff of two versions, or a version and now")
    diff.add_argument("path")
    diff.add_argument("base", help="version id")
    diff.add_argument("remote", nargs="?", default="current", help="version id or `current`")
    diff.add_argument("--ignore-outputs", action="store_true", help="compare inputs only")
    diff.add_argument("--json", action="store_true", help="print nbdime's diff JSON")
    diff.set_defaults(func=cmd_diff)

    label = commands.add_parser("label", help="label a version (no text removes the label)")
    label.add_argument("path")
    label.add_argument("version")
    label.add_argument("text", nargs="?", default="")
    label.set_defaults(func=cmd_label)


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from ..cli import load_nj_app
    from .store import HistoryStore

    app = load_nj_app(args.root_dir)
    return app, HistoryStore(Path(app.nj_data_path) / "history.git")


def _history(store: Any, root: str, path: str) -> tuple[str, str]:
    from .contents import normalize_api_path

    api_path = normalize_api_path(path)
    resolve_api_path(root, api_path)
    history_id = store.find_history(None, api_path)
    if history_id is None:
        raise NJError(404, "not-found", f"No history for {api_path!r}.")
    return api_path, history_id


def _fail(err: Exception) -> int:
    print(f"error: {getattr(err, 'message', None) or err}", file=sys.stderr)
    return 2


def cmd_log(args: argparse.Namespace) -> int:
    app, store = _open(args)
    try:
        api_path, hid = _history(store, app.root_dir, args.path)
        versions, cursor = store.versions(hid, args.limit, args.before)
    except EXPECTED as err:
        return _fail(err)
    if args.json:
        print(
            json.dumps(
                {"path": api_path, "versions": [v.to_json() for v in versions], "next": cursor},
                indent=2,
            )
        )
        return 0
    for v in versions:
        when = datetime.fromtimestamp(v.created).strftime("%Y-%m-%d %H:%M:%S")
        marks = "".join(
            [
                " [checkpoint]" if v.checkpoint else "",
                f" [{v.label}]" if v.label else "",
                " [before the remix]" if v.before_remix else "",
            ]
        )
        who = ", ".join(v.author_display_names)
        print(f"{v.id[:12]}  {when}  {who:<16} {v.size:>9} B  {v.path}{marks}")
    if cursor:
        print(f"... more: --before {cursor[:12]}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    app, store = _open(args)
    try:
        _, hid = _history(store, app.root_dir, args.path)
        version = store.version(hid, args.version)
        data = store.content(version.id)
        if args.results_to:
            dest = Path(args.results_to)
            for result in store.results(version.id):
                target = (dest / result.path).resolve()
                if dest.resolve() not in target.parents:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(store.result_bytes(version.id, result.path))
    except EXPECTED as err:
        return _fail(err)
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from jupyter_server.services.contents.filemanager import FileContentsManager

    from .contents import contents_model

    app, store = _open(args)
    try:
        api_path, hid = _history(store, app.root_dir, args.path)
        version = store.version(hid, args.version)
        data = store.content(version.id)
        contents = FileContentsManager(root_dir=app.root_dir)
        contents.save(contents_model(api_path, data), api_path)
        os_path = resolve_api_path(app.root_dir, api_path)
        new = store.commit(
            hid,
            api_path,
            os_path.read_bytes(),
            authors=[getpass.getuser()],
            message=f"Restore {api_path} to {version.id[:12]}",
            restored_from=version.id,
        )
    except EXPECTED as err:
        return _fail(err)
    print(f"restored {api_path} to {version.id[:12]}" + (f" as {new.id[:12]}" if new else ""))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .contents import content_fields
    from .diff import compute_diff
    from .store import notebook_kind

    app, store = _open(args)
    try:
        api_path, hid = _history(store, app.root_dir, args.path)
        notebook = notebook_kind(api_path)
        sides: list[tuple[str, Any]] = []
        for ref in (args.base, args.remote):
            if ref == "current":
                data = resolve_api_path(app.root_dir, api_path).read_bytes()
                fields = content_fields(api_path, data)
                sides.append(("content", fields["content"]))
            else:
                sides.append(("version", store.version(hid, ref).id))
        diff = compute_diff(str(store.path), sides[0], sides[1], notebook, args.ignore_outputs)
        base = (
            content_fields(api_path, store.content(sides[0][1]))["content"]
            if sides[0][0] == "version"
            else sides[0][1]
        )
    except EXPECTED as err:
        return _fail(err)
    if args.json or not notebook:
        print(json.dumps(diff, indent=2))
        return 0
    import nbformat
    from nbdime.prettyprint import PrettyPrintConfig, pretty_print_diff

    from .diff import to_diff_entries

    pretty_print_diff(
        nbformat.from_dict(base), to_diff_entries(diff), "", PrettyPrintConfig(out=sys.stdout)
    )
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    app, store = _open(args)
    try:
        _, hid = _history(store, app.root_dir, args.path)
        version = store.set_label(hid, store.version(hid, args.version).id, args.text)
    except EXPECTED as err:
        return _fail(err)
    print(
        f"{version.id[:12]} " + (f"labelled {version.label!r}" if version.label else "unlabelled")
    )
    return 0


__all__ = ["register_history_commands"]


def version_fields(app: Any, path: str, version: str) -> dict[str, Any]:
    """One version's `format` and `content` (as the REST API gives them), read from the store
    with no server: what `jupyter nj export --version` reads (NJApp.read_notebook_version)."""
    from .contents import content_fields
    from .store import HistoryStore, UnknownVersion

    store = HistoryStore(Path(app.nj_data_path) / "history.git")
    try:
        api_path, hid = _history(store, app.root_dir, path)
        try:
            found = store.version(hid, version)
        except UnknownVersion as err:
            raise NJError(
                404, "unknown-version", f"{err} (file {api_path!r}); list versions to pick one."
            ) from None
        return content_fields(api_path, store.content(found.id))
    finally:
        store.close()


def record_file(app: Any, path: str, message: str) -> str | None:
    """Record the file at `path` as its newest version, with no server (a file the command
    line wrote: an import). Returns the version id, or None when nothing changed."""
    from .contents import normalize_api_path
    from .store import HistoryStore

    api_path = normalize_api_path(path)
    os_path = resolve_api_path(app.root_dir, api_path)
    store = HistoryStore(Path(app.nj_data_path) / "history.git")
    try:
        hid = store.history_for(None, api_path)
        new = store.commit(
            hid, api_path, os_path.read_bytes(), authors=[getpass.getuser()], message=message
        )
    finally:
        store.close()
    return new.id if new else None
