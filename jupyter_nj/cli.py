"""`jupyter nj ...`: the command line. Each pillar adds its own subcommands here.

Configuration is read from the files the server reads (jupyter_server_config.{py,json} in Jupyter's
config path), so `c.NJApp.vault_url = ...` applies to both.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import types
from collections.abc import Sequence
from typing import Any

from jupyter_core.application import JupyterApp


def load_nj_app(root_dir: str | None) -> Any:
    """An NJApp configured from the server's config files, rooted at `root_dir`."""
    from .app import NJApp

    if root_dir:
        os.chdir(root_dir)
    reader = JupyterApp()
    reader.config_file_name = "jupyter_server_config"
    reader.load_config_file(suppress_errors=False)
    app = NJApp(config=reader.config)
    app.adopt_legacy_data()
    return app


def cmd_status(args: argparse.Namespace) -> int:
    app = load_nj_app(args.root_dir)
    report = app.build_status_manager().status_sync()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"jupyter-nj {report['version']}")
        for backend in report["backends"]:
            mark = "up  " if backend["live"] else "down"
            print(f"  [{mark}] {backend['label']}: {backend['detail']}")
            if not backend["live"] and backend.get("hint"):
                print(f"         -> {backend['hint']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jupyter nj", description="jupyter-nj command line.")
    parser.add_argument("--root-dir", default=None, help="server root (default: current folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    status = sub.add_parser("status", help="which jupyter-nj backends are live")
    status.add_argument("--json", action="store_true", help="print JSON for machines")
    status.set_defaults(func=cmd_status)

    from .runtimes.cli import register_environment_commands

    register_environment_commands(sub)

    from .history.cli import register_history_commands

    register_history_commands(sub)

    from .secrets.cli import register_secrets_commands

    register_secrets_commands(sub)

    from .compute.cli import register_compute_commands

    register_compute_commands(sub)
    from .sharing.cli import register_sharing_commands

    register_sharing_commands(sub)
    from .hub_service import register_hub_service_commands

    register_hub_service_commands(sub)
    return parser


def defer_iri_grammars() -> None:
    """Load jsonschema's IRI checker (`rfc3987_syntax`) when something first checks an IRI.

    jsonschema imports it eagerly, and its import compiles some 40 Lark grammars: about 2 s of
    every command's start on a small machine (python-jsonschema/jsonschema#1428), though no
    Jupyter schema has an IRI field. A stand-in module takes its place until then, so a
    check that does come gives the same answer, only later. Nothing changes in a process that
    imported jsonschema already (the server, tests calling `main`).
    """
    name = "rfc3987_syntax"
    if name in sys.modules or "jsonschema" in sys.modules or not importlib.util.find_spec(name):
        return
    stand_in = types.ModuleType(name)
    real: list[Any] = []

    def is_valid_syntax(rule: str, value: str) -> bool:
        if not real:
            del sys.modules[name]
            real.append(importlib.import_module(name))
        return bool(real[0].is_valid_syntax(rule, value))

    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[name] = stand_in


def main(argv: Sequence[str] | None = None) -> int:
    defer_iri_grammars()
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
