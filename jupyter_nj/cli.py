"""`jupyter nj ...`: the command line. Each pillar adds its own subcommands here.

Configuration is read from the files the server reads (jupyter_server_config.{py,json} in Jupyter's
config path), so `c.NJApp.vault_url = ...` applies to both.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
