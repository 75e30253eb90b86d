"""`jupyter nj secrets list|set|delete|share|attach`: the same store and rules as the server.

The command line acts as the server's owner (`NJApp.secrets_user`, by default the OS user), with
the configuration the server reads. `set` takes the value from standard input when it is piped,
or from a hidden prompt: never from an argument, which would land in the shell history and in
the process list.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

from ..base import NJError


def register_secrets_commands(sub: Any) -> None:
    secrets = sub.add_parser(
        "secrets", help="secrets: list, set, delete, share, attach to a notebook"
    )
    commands = secrets.add_subparsers(dest="secrets_command", required=True)

    listing = commands.add_parser("list", help="secrets you own or that are shared with you")
    listing.add_argument("--json", action="store_true", help="print JSON for machines")
    listing.set_defaults(func=cmd_list)

    setter = commands.add_parser(
        "set",
        help="create or change a secret; the value comes from stdin or a hidden prompt",
    )
    setter.add_argument("name", help="letters, digits and underscores, not starting with a digit")
    setter.add_argument("-d", "--description", default=None, help="what the secret is for")
    setter.add_argument(
        "--keep-value",
        action="store_true",
        help="change only the description of an existing secret, not its value",
    )
    setter.set_defaults(func=cmd_set)

    delete = commands.add_parser("delete", help="delete a secret you own (all its versions)")
    delete.add_argument("name")
    delete.set_defaults(func=cmd_delete)

    share = commands.add_parser("share", help="share a secret you own with users or groups")
    share.add_argument("name")
    share.add_argument("--user", action="append", default=[], help="share with this user")
    share.add_argument("--group", action="append", default=[], help="share with this group")
    share.add_argument("--remove-user", action="append", default=[], help="stop sharing")
    share.add_argument("--remove-group", action="append", default=[], help="stop sharing")
    share.set_defaults(func=cmd_share)

    attach = commands.add_parser(
        "attach", help="attach secrets to a notebook by name (metadata.nj.secrets)"
    )
    attach.add_argument("notebook", help="notebook path relative to the server root")
    attach.add_argument("names", nargs="*", help="secret names to attach")
    attach.add_argument("--detach", action="store_true", help="detach the names instead")
    attach.set_defaults(func=cmd_attach)


def _manager(args: argparse.Namespace) -> Any:
    from jupyter_events import EventLogger
    from jupyter_server.services.contents.filemanager import FileContentsManager

    from ..cli import load_nj_app
    from .config import build_secrets_manager

    app = load_nj_app(args.root_dir)
    return build_secrets_manager(
        app,
        contents_manager=FileContentsManager(root_dir=app.root_dir),
        # Audit events go wherever the server's configuration sends them (EventLogger.handlers).
        event_logger=EventLogger(config=app.config),
    )


def _run(args: argparse.Namespace, action: Any) -> int:
    manager = _manager(args)
    principal = manager.identity.principal_for_name(manager.identity.name_of(None))
    try:
        return int(asyncio.run(action(manager, principal)) or 0)
    except NJError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 1
    finally:
        manager.backend.close()


def read_value(name: str) -> str:
    """The value from piped stdin (one trailing newline dropped), or a hidden prompt."""
    if not sys.stdin.isatty():
        value = sys.stdin.read()
        return value.removesuffix("\n")
    first = getpass.getpass(f"Value for {name} (input hidden): ")
    second = getpass.getpass("Same value again: ")
    if first != second:
        raise NJError(400, "mismatch", "The two values differ; nothing was changed.")
    return first


def cmd_list(args: argparse.Namespace) -> int:
    async def action(manager: Any, principal: Any) -> int:
        listing = await manager.list_secrets(principal)
        if args.json:
            print(json.dumps(listing, indent=2))
            return 0
        print(f"{len(listing['secrets'])} secret(s) for {listing['user']} in {listing['backend']}")
        for secret in listing["secrets"]:
            shared = secret["shared_with"]
            with_whom = (
                ", ".join([*shared["users"], *(f"group:{g}" for g in shared["groups"])]) or "nobody"
            )
            print(f"  {secret['name']}  owner={secret['owner']}  shared with {with_whom}")
            if secret["description"]:
                print(f"      {secret['description']}")
        return 0

    return _run(args, action)


def cmd_set(args: argparse.Namespace) -> int:
    async def action(manager: Any, principal: Any) -> int:
        body: dict[str, Any] = {}
        if args.description is not None:
            body["description"] = args.description
        if not args.keep_value:
            body["value"] = read_value(args.name)
        record, created = await manager.put_secret(principal, args.name, body)
        verb = "created" if created else "updated"
        print(f"{verb} {record['name']} (version {record['version']})")
        return 0

    return _run(args, action)


def cmd_delete(args: argparse.Namespace) -> int:
    async def action(manager: Any, principal: Any) -> int:
        await manager.delete_secret(principal, args.name)
        print(f"deleted {args.name}")
        return 0

    return _run(args, action)


def cmd_share(args: argparse.Namespace) -> int:
    async def action(manager: Any, principal: Any) -> int:
        current = (await manager.get_secret(principal, args.name))["shared_with"]
        users = (set(current["users"]) | set(args.user)) - set(args.remove_user)
        groups = (set(current["groups"]) | set(args.group)) - set(args.remove_group)
        record, _ = await manager.put_secret(
            principal,
            args.name,
            {"shared_with": {"users": sorted(users), "groups": sorted(groups)}},
        )
        shared = record["shared_with"]
        print(
            f"{record['name']} is shared with users {shared['users'] or '-'} "
            f"and groups {shared['groups'] or '-'}"
        )
        return 0

    return _run(args, action)


def cmd_attach(args: argparse.Namespace) -> int:
    async def action(manager: Any, principal: Any) -> int:
        current = [
            s["name"] for s in (await manager.attachments(principal, args.notebook))["secrets"]
        ]
        if args.detach:
            wanted = [n for n in current if n not in set(args.names)]
        else:
            wanted = current + [n for n in args.names if n not in current]
        result = await manager.set_attachments(principal, args.notebook, wanted)
        names = [f"{s['name']} ({s['status']})" for s in result["secrets"]]
        print(f"{result['path']}: {', '.join(names) or 'no secrets attached'}")
        return 0

    return _run(args, action)
