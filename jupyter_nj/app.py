"""NJApp: the jupyter-nj server extension. The one place that knows every pillar.

It holds every configurable trait, builds one manager per pillar, and collects their handlers.
Pillars meet only through what this module passes between them.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Float, Unicode, Union, default

from . import __version__
from .status import BackendStatus, StatusManager
from .status.handlers import StatusHandler
from .status.probes import probe_docker, probe_history_store, probe_vault

API_PREFIX = "nj/api"


class NJApp(ExtensionApp):
    """Jupyter Server extension for jupyter-nj."""

    name = "jupyter_nj"
    app_name = "jupyter-nj"
    description = "Pinned runtimes, automatic history, secrets and collaboration for Jupyter."
    load_other_extensions = True

    nj_dir = Unicode(
        "",
        config=True,
        help="""Folder where jupyter-nj keeps its data for this server (history store, environment
        catalog). Empty means `<server root>/.nj`.""",
    )

    docker_host = Unicode(
        "",
        config=True,
        help="""Docker engine to run runtimes on, as a docker SDK base URL
        (`unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`). Empty means the DOCKER_HOST
        environment variable, then the default socket.""",
    )

    vault_url = Unicode(
        "",
        config=True,
        help="""Address of the Vault or OpenBao server that holds secrets
        (`https://vault.example.org:8200`). Empty means VAULT_ADDR, then BAO_ADDR; if all are
        empty, secrets use the embedded encrypted store.""",
    )

    vault_token = Unicode(
        "",
        config=True,
        help="""Token the server uses to reach Vault/OpenBao. Empty means VAULT_TOKEN, then
        BAO_TOKEN. Never logged.""",
    )

    vault_namespace = Unicode(
        "",
        config=True,
        help="Vault Enterprise / OpenBao namespace. Empty means VAULT_NAMESPACE, then none.",
    )

    vault_verify = Union(
        [Bool(), Unicode()],
        default_value=True,
        config=True,
        help="""TLS verification for Vault: True (system CAs), False (no verification: testing
        only), or the path of a CA bundle.""",
    )

    status_probe_timeout = Float(
        3.0,
        config=True,
        help="Seconds each backend has to answer a status check before it is reported down.",
    )

    @default("vault_url")
    def _default_vault_url(self) -> str:
        return os.environ.get("VAULT_ADDR") or os.environ.get("BAO_ADDR") or ""

    @default("vault_token")
    def _default_vault_token(self) -> str:
        return os.environ.get("VAULT_TOKEN") or os.environ.get("BAO_TOKEN") or ""

    @default("vault_namespace")
    def _default_vault_namespace(self) -> str:
        return os.environ.get("VAULT_NAMESPACE") or ""

    # -- wiring ----------------------------------------------------------------------------

    @property
    def root_dir(self) -> str:
        """The server root (the folder the contents API serves), or the working directory."""
        if self.serverapp is not None:
            return str(self.serverapp.root_dir)
        return os.getcwd()

    @property
    def nj_data_path(self) -> Path:
        return Path(self.nj_dir) if self.nj_dir else Path(self.root_dir) / ".nj"

    def build_status_manager(self, serverapp: Any = None) -> StatusManager:
        timeout = self.status_probe_timeout
        probes = {
            "docker": partial(probe_docker, self.docker_host, timeout),
            "vault": partial(
                probe_vault,
                self.vault_url,
                self.vault_token,
                self.vault_namespace,
                self.vault_verify,
                timeout,
            ),
            "history": partial(probe_history_store, str(self.nj_data_path)),
            "collaboration": partial(_probe_collaboration, serverapp),
        }
        return StatusManager(__version__, probes, timeout=timeout + 1)

    def initialize_settings(self) -> None:
        self.status_manager = self.build_status_manager(self.serverapp)
        self.settings.update({"nj_app": self})

    def initialize_handlers(self) -> None:
        self.handlers.extend([(url_path_join("/", API_PREFIX, "status"), StatusHandler)])


def _probe_collaboration(serverapp: Any) -> BackendStatus:
    label = "Real-time collaboration"
    if serverapp is None:
        try:
            import jupyter_server_ydoc  # noqa: F401
        except ImportError:
            return BackendStatus(
                name="collaboration",
                label=label,
                live=False,
                detail="not installed",
                hint="pip install jupyter-collaboration",
            )
        return BackendStatus(
            name="collaboration",
            label=label,
            live=True,
            detail="jupyter-collaboration is installed and enabled by default",
        )
    enabled = serverapp.jpserver_extensions.get("jupyter_server_ydoc", False)
    return BackendStatus(
        name="collaboration",
        label=label,
        live=bool(enabled),
        detail="on: documents are edited through shared real-time rooms"
        if enabled
        else "off: jupyter_server_ydoc is disabled",
        hint=""
        if enabled
        else "Enable it with `jupyter server extension enable jupyter_server_ydoc`.",
    )
