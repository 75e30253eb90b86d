"""`jupyter nj env ...`: list, build, lock, bootstrap, snapshot, export, import and kernelspecs
from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..base import NJError
from .builds.buildlog import follow_build
from .manager import EnvironmentManager


def _manager(args: argparse.Namespace) -> EnvironmentManager:
    from ..cli import load_nj_app

    app = load_nj_app(args.root_dir)
    manager: EnvironmentManager = app.build_environment_manager(
        app.root_dir, app.nj_data_path, app.docker_host, app.environment_catalog_path
    )
    return manager


def _run(func: Any) -> Any:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except NJError as err:
            print(f"error: {err.message}", file=sys.stderr)
            return 1

    return wrapped


@_run
def cmd_list(args: argparse.Namespace) -> int:
    environments = _manager(args).list_environments()
    if args.json:
        print(json.dumps(environments, indent=2))
        return 0
    for env in environments:
        print(f"{env['name']}: {env['display_name']}  [definition: {env['definition']}]")
        for v in env["versions"]:
            parent = f"  parent {v['parent'][7:19]}" if v.get("parent") else ""
            print(f"  {v['short']}  {v['backend']:6}  {v['created']}{parent}")
    return 0


@_run
def cmd_build(args: argparse.Namespace) -> int:
    started = time.monotonic()
    # The build steps' own output goes to stderr as it comes, so stdout stays the result.
    follower = None if args.quiet else (lambda line: print(f"  | {line}", file=sys.stderr))
    with follow_build(follower):
        record = _manager(args).build(args.name, args.backend)
    seconds = time.monotonic() - started
    print(f"{record.name}@{record.short} ({record.backend}) ready in {seconds:.1f} s")
    print(f"  version {record.version}" + (f"\n  image {record.image}" if record.image else ""))
    return 0


@_run
def cmd_lock(args: argparse.Namespace) -> int:
    print(f"wrote {_manager(args).lock(args.name)}")
    return 0


@_run
def cmd_bootstrap(args: argparse.Namespace) -> int:
    started = time.monotonic()
    images = _manager(args).bootstrap(mirror=args.mirror, force=args.force)
    for ref, image_id in images.items():
        print(f"{ref}  {image_id}")
    print(f"base images ready in {time.monotonic() - started:.1f} s")
    return 0


@_run
def cmd_export(args: argparse.Namespace) -> int:
    name, _, version = args.ref.partition("@")
    if not version:
        raise NJError(400, "bad-version", "Name the version: `jupyter nj env export NAME@VERSION`.")
    folder = _manager(args).export(name, version, Path(args.output))
    print(f"exported {args.ref} to {folder}")
    return 0


@_run
def cmd_import(args: argparse.Namespace) -> int:
    record = _manager(args).import_(Path(args.folder))
    print(f"imported {record.name}@{record.short} ({record.backend})\n  version {record.version}")
    return 0


@_run
def cmd_kernelspecs(args: argparse.Namespace) -> int:
    manager = _manager(args)
    for name in manager.write_kernelspecs():
        print(f"{manager.kernelspec_dir / name}")
    return 0


@_run
def cmd_snapshot(args: argparse.Namespace) -> int:
    """Save a running kernel's runtime through the server that runs it (REST)."""
    import os

    import requests
    from jupyter_server.serverapp import list_running_servers

    url, token = args.url, args.token or os.environ.get("JUPYTER_TOKEN", "")
    if not url:
        root = os.path.realpath(args.root_dir or os.getcwd())
        for server in list_running_servers():
            if os.path.realpath(server.get("root_dir", "")) == root:
                url, token = server["url"], token or server.get("token", "")
                break
        else:
            raise NJError(404, "no-server", f"No running Jupyter server serves {root}; pass --url.")
    body = {"path": args.notebook} if args.notebook else {}
    response = requests.post(
        f"{url.rstrip('/')}/nj/api/runtimes/{args.kernel_id}/snapshot",
        json=body,
        headers={"Authorization": f"token {token}"} if token else {},
        timeout=600,
    )
    data = (
        response.json()
        if response.headers.get("Content-Type", "").startswith("application/json")
        else {}
    )
    if response.status_code >= 400:
        raise NJError(response.status_code, "snapshot-failed", data.get("message", response.reason))
    print(data["message"])
    for change in data["version"]["changes"]:
        print(f"  {change}")
    return 0


def register_environment_commands(sub: Any) -> None:
    env = sub.add_parser(
        "env",
        help=(
            "runtime environments: list, build, lock, bootstrap, snapshot, export, import, "
            "kernelspecs"
        ),
    )
    env_sub = env.add_subparsers(dest="env_command", required=True)

    listing = env_sub.add_parser("list", help="environments and their versions")
    listing.add_argument("--json", action="store_true", help="print JSON for machines")
    listing.set_defaults(func=cmd_list)

    build = env_sub.add_parser("build", help="build the current definition of an environment")
    build.add_argument("name")
    build.add_argument("--backend", choices=["local", "docker"], default="local")
    build.add_argument("--quiet", action="store_true", help="do not print the build log")
    build.set_defaults(func=cmd_build)

    lock = env_sub.add_parser("lock", help="resolve requirements.in into requirements.lock")
    lock.add_argument("name")
    lock.set_defaults(func=cmd_lock)

    bootstrap = env_sub.add_parser(
        "bootstrap", help="make the Debian base images locally (no registry needed; root)"
    )
    bootstrap.add_argument("--mirror", default="", help="Debian mirror (default: apt's own)")
    bootstrap.add_argument("--force", action="store_true", help="rebuild even if present")
    bootstrap.set_defaults(func=cmd_bootstrap)

    snapshot = env_sub.add_parser(
        "snapshot", help="save a running kernel's environment as a new version (re-pins)"
    )
    snapshot.add_argument("kernel_id")
    snapshot.add_argument("--notebook", default="", help="notebook to re-pin (API path)")
    snapshot.add_argument("--url", default="", help="server URL (default: the one serving here)")
    snapshot.add_argument("--token", default="", help="server token (default: JUPYTER_TOKEN)")
    snapshot.set_defaults(func=cmd_snapshot)

    export = env_sub.add_parser(
        "export", help="write a version (image archive, Dockerfile, lock) to a folder"
    )
    export.add_argument("ref", metavar="NAME@VERSION")
    export.add_argument("--output", default=".", help="folder to write into (default: here)")
    export.set_defaults(func=cmd_export)

    importing = env_sub.add_parser("import", help="add an exported version to this server")
    importing.add_argument("folder")
    importing.set_defaults(func=cmd_import)

    specs = env_sub.add_parser("kernelspecs", help="rewrite the nj-<name> kernelspecs")
    specs.set_defaults(func=cmd_kernelspecs)
