"""The jupyter-nj hub service: one process, started and stopped by JupyterHub, that serves
what must not live in (or depend on) a user's own server.

- publications (sharing/service.py): pages that answer while their author's server is stopped;
- secrets across users (secrets/hub_service.py): the only process holding Vault credentials.
  Users' servers ask it with their hub token (secrets/backends/hub.py).

    jupyter nj hub-service --publish-dir /srv/nj/publications [--port 8950] [--prefix /]

`pages-service` is the same command under its first name. Like app.py for the server, this is
the one place that knows both pillars; each gives its routes as a list.

Run as a JupyterHub service, it takes its address, prefix, name and the hub's API address from
the hub (`JUPYTERHUB_SERVICE_URL`, `JUPYTERHUB_SERVICE_PREFIX`, `JUPYTERHUB_SERVICE_NAME`,
`JUPYTERHUB_API_URL`). Vault is configured as for a server: VAULT_ADDR/BAO_ADDR and
VAULT_TOKEN/BAO_TOKEN in its environment, or `c.NJApp.vault_*` (AppRole, userpass) in a
jupyter_server_config file on its Jupyter config path. Without a Vault address the secrets routes
answer 503 `secrets-off`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tornado import web

log = logging.getLogger("jupyter_nj.hub_service")

COMMANDS = ("hub-service", "pages-service")


def service_secrets_manager(vault_path_prefix: str | None = None) -> Any:
    """A SecretsManager over Vault, configured like a server's (env or NJApp config), with its
    audit events in this process's log; None without a Vault address."""
    from jupyter_core.application import JupyterApp

    from .app import NJApp
    from .secrets.backends.vault import VaultSecretsBackend
    from .secrets.config import vault_config_from
    from .secrets.manager import IdentityResolver, SecretsManager

    reader = JupyterApp()
    reader.config_file_name = "jupyter_server_config"
    reader.load_config_file(suppress_errors=False)
    app = NJApp(config=reader.config)
    if vault_path_prefix is not None:
        app.vault_path_prefix = vault_path_prefix
    if not app.vault_url:
        return None
    from jupyter_events import EventLogger

    audit = logging.getLogger("jupyter_nj.hub_service.audit")
    audit.setLevel(logging.INFO)
    events = EventLogger(handlers=[logging.StreamHandler()])
    return SecretsManager(
        VaultSecretsBackend(vault_config_from(app)),
        # Every request names its principal (the hub's answer); nothing here acts for an owner.
        identity=IdentityResolver(server_owner=lambda: "", configured_groups=dict),
        event_logger=events,
        max_value_bytes=app.secrets_max_value_bytes,
    )


def make_hub_service_app(
    store: Path,
    prefix: str,
    access: str,
    secrets_manager: Any,
    hub_api_url: str,
    service_name: str,
    identity_cache_seconds: float = 0.0,
    drafts: Path | None = None,
) -> web.Application:
    from .secrets.hub_service import HubCallers, secrets_routes
    from .sharing.service import make_app

    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    callers = HubCallers(hub_api_url, service_name, cache_seconds=identity_cache_seconds)
    routes = secrets_routes(prefix, secrets_manager, callers)
    return make_app(store, prefix, access, drafts, routes=routes)


def register_hub_service_commands(sub: Any) -> None:
    for name in COMMANDS:
        svc = sub.add_parser(
            name,
            help="the jupyter-nj JupyterHub service: publications, draft links and secrets "
            "across users" + (" (the same as hub-service)" if name != COMMANDS[0] else ""),
        )
        svc.add_argument("--publish-dir", required=True, help="the publication store to serve")
        svc.add_argument(
            "--drafts-dir",
            default=None,
            help="the draft snapshot store to serve (NJApp.drafts_dir)",
        )
        svc.add_argument("--ip", default=None, help="address to bind (default 127.0.0.1)")
        svc.add_argument("--port", type=int, default=None, help="port (default 8950)")
        svc.add_argument("--prefix", default=None, help="URL prefix (default /)")
        svc.add_argument(
            "--access",
            choices=["public", "authenticated"],
            default="public",
            help="publications: public (anyone with the URL) or authenticated (hub users)",
        )
        svc.add_argument(
            "--vault-path-prefix",
            default=None,
            help="secrets: folder inside the KV mount (default: NJApp.vault_path_prefix)",
        )
        svc.add_argument(
            "--identity-cache-seconds",
            type=float,
            default=0.0,
            help="secrets: seconds the hub's answer about a caller is kept (default 0: asked "
            "on every request, so a group change counts at the next read)",
        )
        svc.set_defaults(func=cmd_hub_service)


def cmd_hub_service(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(name)s %(levelname)s] %(message)s")
    hub_url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", ""))
    ip = args.ip or hub_url.hostname or "127.0.0.1"
    port = args.port or hub_url.port or 8950
    prefix = args.prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    manager = service_secrets_manager(args.vault_path_prefix)
    app = make_hub_service_app(
        Path(args.publish_dir),
        prefix,
        args.access,
        manager,
        os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api"),
        os.environ.get("JUPYTERHUB_SERVICE_NAME", "nj-pages"),
        args.identity_cache_seconds,
        Path(args.drafts_dir) if args.drafts_dir else None,
    )

    async def serve() -> None:
        server = app.listen(port, address=ip)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if manager is not None:
            manager.start()
        secrets = manager.backend.describe() if manager is not None else "off (no Vault address)"
        print(
            f"jupyter-nj hub service: http://{ip}:{port}{prefix} serving {args.publish_dir}; "
            f"secrets: {secrets}",
            flush=True,
        )
        await stop.wait()
        server.stop()
        if manager is not None:
            await manager.stop()

    asyncio.run(serve())
    return 0
