"""NJApp: the jupyter-nj server extension. The one place that knows every pillar.

It holds every configurable trait, builds one manager per pillar, and collects their handlers.
Pillars meet only through what this module passes between them.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Float, Instance, Unicode, Union, default

from . import __version__
from .base import NJError
from .compute.groups import NotebookRuntimes, notebook_of_kernel
from .compute.handlers import default_handlers as compute_handlers
from .compute.routing import install_runtime_routing
from .compute.runner import RunManager
from .data_dir import (
    LEGACY_FOLDER,
    default_data_dir,
    merge_catalog,
    migrate_legacy_data,
    user_catalog_dir,
    user_publications_dir,
)
from .documents import LiveDocuments
from .history.config import HistoryTraits
from .history.handlers import default_handlers as history_handlers
from .history.manager import CONTENTS_EVENTS, HistoryManager
from .history.setup import start_history, stop_history
from .links import LinkGuard, install_link_guard
from .runtimes.activity import BusyKernelActivity
from .runtimes.boundary import RuntimeBoundary, server_boundary
from .runtimes.config import RuntimesConfig
from .runtimes.gpus.config import GpuTraits
from .runtimes.gpus.handlers import default_handlers as gpus_handlers
from .runtimes.gpus.probe import probe_gpus
from .runtimes.handlers import default_handlers as runtimes_handlers
from .runtimes.kernels import NJMappingKernelManager, use_settling_kernel_managers
from .runtimes.manager import KERNELSPEC_PREFIX, EnvironmentManager
from .runtimes.service import RuntimeService
from .secrets.config import SecretsTraits, build_secrets_manager, secrets_hub_url
from .secrets.handlers import default_handlers as secrets_handlers
from .secrets.manager import SecretsManager, default_server_owner
from .secrets.redaction import install_log_redaction, uninstall_log_redaction
from .secrets.websocket import install_websocket_redaction
from .sharing.config import SharingTraits
from .sharing.contents import use_jupytext_contents_manager
from .sharing.drafts import DraftSnapshots
from .sharing.guests import HubShares, use_guest_authorizer
from .sharing.handlers import default_handlers as sharing_handlers
from .sharing.handlers import page_handlers as sharing_pages
from .sharing.links import DraftLinks, DraftLinkService
from .sharing.manager import SharingManager
from .sharing.principals import PrincipalDirectory
from .sharing.publications import Publications
from .sharing.publishing import PublishingService
from .status import BackendStatus, StatusManager
from .status.handlers import default_handlers as status_handlers
from .status.probes import probe_docker, probe_history_store, probe_secrets_hub, probe_vault

API_PREFIX = "nj/api"


class NJApp(RuntimesConfig, GpuTraits, SecretsTraits, HistoryTraits, SharingTraits, ExtensionApp):
    """Jupyter Server extension for jupyter-nj."""

    name = "jupyter_nj"
    app_name = "jupyter-nj"
    description = "Pinned runtimes, automatic history, secrets and collaboration for Jupyter."
    load_other_extensions = True

    nj_dir = Unicode(
        "",
        config=True,
        help="""Folder where jupyter-nj keeps its data for this server (history store, environment
        catalog, the kernelspecs it writes). Empty means a folder of its own under the Jupyter data
        dir, named after the server root (`<jupyter data dir>/nj/servers/<root name>-<hash>`).
        Keep it outside the server root: runtimes can write the root. If it is inside anyway,
        container runtimes get an empty, read-only folder in its place.""",
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

    follow_links_out_of_root = Bool(
        False,
        config=True,
        help="""False: the contents API refuses (403) to read or write through a link that leads
        out of the server root or into jupyter-nj's data, because runtimes can plant links in the
        folders they write. True: jupyter_server's own behaviour (links are followed); only for
        sites that trust every runtime.""",
    )

    # -- the pillars' managers, built in initialize_settings (None: that pillar is off) ----------

    status_manager = Instance(StatusManager, allow_none=True)
    documents = Instance(LiveDocuments, allow_none=True)
    secrets_manager = Instance(SecretsManager, allow_none=True)
    history_manager = Instance(HistoryManager, allow_none=True)
    history_unavailable = Unicode(
        "History is turned off on this server (NJApp.history_enabled).",
        help="Why history_manager is None, as the 503 of the history routes says it.",
    )
    runtime_service = Instance(RuntimeService, allow_none=True)
    environment_manager = Instance(EnvironmentManager, allow_none=True)
    notebook_runtimes = Instance(NotebookRuntimes, allow_none=True)
    run_manager = Instance(RunManager, allow_none=True)
    sharing_manager = Instance(SharingManager, allow_none=True)

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
        return Path(self.nj_dir) if self.nj_dir else default_data_dir(self.root_dir)

    @property
    def environment_catalog_path(self) -> Path:
        """The environment catalog: NJApp.environment_catalog_dir, else the data folder's when
        NJApp.nj_dir is set, else the user's (shared by every server of the user)."""
        if self.environment_catalog_dir:
            return Path(self.environment_catalog_dir)
        if self.nj_dir:
            return Path(self.nj_dir) / "environments"
        return user_catalog_dir()

    @property
    def publications_path(self) -> Path:
        """Where publications are kept: NJApp.publish_dir, else the data folder's when
        NJApp.nj_dir is set, else the user's (shared by every server of the user)."""
        if self.publish_dir:
            return Path(self.publish_dir)
        if self.nj_dir:
            return Path(self.nj_dir) / "publications"
        return user_publications_dir()

    def adopt_legacy_data(self) -> None:
        """Move `<root>/.nj`, where earlier releases kept the data, to its own folder (once),
        and merge the per-server catalog of earlier releases into the user's."""
        if self.nj_dir:
            return
        try:
            migrate_legacy_data(self.root_dir, self.nj_data_path, self.log)
        except OSError as err:
            self.log.error(
                "jupyter-nj: could not move %s to %s (%s); the old folder is left as it "
                "was. Move it by hand or set NJApp.nj_dir.",
                Path(self.root_dir) / LEGACY_FOLDER,
                self.nj_data_path,
                err,
            )
        old_catalog = self.nj_data_path / "environments"
        if self.environment_catalog_dir or not old_catalog.exists():
            return
        try:
            merge_catalog(old_catalog, self.environment_catalog_path, self.log)
        except OSError as err:
            self.log.error(
                "jupyter-nj: could not merge %s into the user's catalog %s (%s); its versions "
                "are not offered until it is. Move its records/ and locks/ by hand or set "
                "NJApp.environment_catalog_dir to it.",
                old_catalog,
                self.environment_catalog_path,
                err,
            )

    def build_status_manager(self, serverapp: Any = None) -> StatusManager:
        timeout = self.status_probe_timeout
        probes: dict[str, Callable[[], BackendStatus]] = {
            "docker": partial(probe_docker, self.docker_host, timeout),
            "vault": partial(
                probe_vault,
                self.vault_url,
                self.vault_token,
                self.vault_namespace,
                self.vault_verify,
                timeout,
                getattr(self, "vault_auth_method", "token"),
            ),
            "history": partial(probe_history_store, str(self.nj_data_path)),
            "collaboration": partial(_probe_collaboration, serverapp),
            # The runtimes pillar is built after the status manager: read it at each probe.
            "gpus": self._probe_gpus,
        }
        if self.runtime_engine == "kubernetes":
            from .runtimes.engines.kubernetes import probe as probe_kubernetes

            probes["kubernetes"] = partial(
                probe_kubernetes,
                self.runtime_kubernetes_config,
                self.runtime_kubernetes_context,
                self.runtime_kubernetes_namespace,
                timeout,
            )
        hub_url = secrets_hub_url(self)
        if hub_url:
            # Under a hub this server reaches no Vault: its secrets are the hub service's.
            del probes["vault"]
            probes["secrets-hub"] = partial(probe_secrets_hub, hub_url, timeout)
        return StatusManager(__version__, probes, timeout=timeout + 1)

    def _probe_gpus(self) -> BackendStatus:
        service = self.runtime_service
        return probe_gpus(service.gpus if service is not None else None, self.build_gpu_inventory)

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        super()._link_jupyter_server_extension(serverapp)
        # Before the server builds its kernel manager: container kernels must survive a
        # shutdown during a restart (see runtimes/kernels.py).
        use_settling_kernel_managers(serverapp, self.log)
        # Before the server builds its contents manager: jupytext's extension would replace it
        # after jupyter-nj hooked it (see use_jupytext_contents_manager).
        use_jupytext_contents_manager(serverapp, self.log)
        # Before the server builds its Authorizer: edit links' guests reach one document only.
        use_guest_authorizer(serverapp, self.log)

    # True once initialize_settings ran: in a server, not on the command line.
    _serving = False

    def initialize_settings(self) -> None:
        self._serving = True
        self.adopt_legacy_data()
        if self.serverapp is not None:
            self._hooked_contents_manager = self.serverapp.contents_manager
        if self.serverapp is not None and not self.follow_links_out_of_root:
            # First of the pre-save hooks: a refused save must not reach history's capture.
            install_link_guard(self.serverapp.contents_manager, self._link_guard())
        self.status_manager = self.build_status_manager(self.serverapp)
        # Every pillar that writes into notebooks goes through the open real-time rooms.
        self.documents = LiveDocuments(self.serverapp)
        # Before secrets: redaction wraps the routing connection, so a cell's runtime's
        # messages are redacted like the notebook kernel's.
        self.init_compute()
        secrets = self.init_secrets()
        # After secrets: its pre-save hook redacts the content that history then captures, so
        # history redacts again only what reaches it without a save (live rooms, checkpoints).
        self.history_manager = start_history(
            self, redact=secrets.redact, saves_redacted=self.serverapp is not None
        )
        self.runtime_service = self.build_runtime_service(
            self.root_dir,
            self.nj_data_path,
            self.docker_host,
            self.environment_catalog_path,
            boundary=self.runtime_boundary,
            secrets=self.runtime_secrets,
            documents=self.documents,
            results_folder=self.history_results_folder,
            gpus=self.build_gpu_manager(),
        )
        self.environment_manager = self.runtime_service.manager
        if self.serverapp is not None and self.runtime_service.gpus is not None:
            self.runtime_service.gpus.attach(
                self.serverapp.kernel_manager, getattr(self.serverapp, "event_logger", None)
            )
        self.runtime_service.start(self.serverapp)
        self.use_default_environment()
        if self.notebook_runtimes is not None and self.serverapp is not None:
            history = self.history_manager
            self.run_manager = RunManager(
                self.serverapp.kernel_manager,
                self.notebook_runtimes,
                self.serverapp.contents_manager,
                self.root_dir,
                label_version=history.label_latest if history is not None else None,
                event_logger=getattr(self.serverapp, "event_logger", None),
            )
        web_app = getattr(self.serverapp, "web_app", None)
        if self.serverapp is not None and web_app is not None:
            # The server's last activity (what JupyterHub's idle culler reads) counts busy
            # kernels too, not only their messages.
            self.busy_activity = BusyKernelActivity(
                self.serverapp.kernel_manager, web_app.settings, self.runtime_busy_activity_interval
            )
            self.busy_activity.start()
        self.sharing_manager = self.build_sharing_manager(self.documents)
        if self.serverapp is not None and self.sharing_manager.links.snapshots is not None:
            # After history's: a save is recorded first, then the draft snapshots follow it.
            self.serverapp.contents_manager.register_post_save_hook(
                self.sharing_manager.links.post_save_hook
            )
            event_logger = getattr(self.serverapp, "event_logger", None)
            if event_logger is not None:
                event_logger.add_listener(
                    schema_id=CONTENTS_EVENTS,
                    listener=self.sharing_manager.links.on_contents_event,
                )
        self.settings.update({"nj_app": self})

    def _link_guard(self) -> LinkGuard:
        return LinkGuard(self.root_dir, lambda: self.runtime_boundary().hidden)

    _hooked_contents_manager: Any = None
    busy_activity: BusyKernelActivity | None = None

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # Every extension has loaded by now: one of them may have replaced the contents manager
        # that initialize_settings hooked.
        self.rehook_contents_manager()
        service = self.runtime_service
        if service is not None and service.gpus is not None:
            # Here, not in initialize_settings: the loop needs the running event loop.
            service.gpus.ensure_culling()
        if self.busy_activity is not None:
            self.busy_activity.start()
        links = getattr(self.sharing_manager, "links", None)
        if links is not None:
            # Draft snapshots refresh on this loop, whichever thread a save's hook runs in.
            links.loop = asyncio.get_running_loop()

    def rehook_contents_manager(self) -> bool:
        """Hook the server's contents manager again if another extension replaced it after
        initialize_settings (the link guard, secrets' redaction and history's save hooks and
        checkpoints live on the instance, so saves through a new one would bypass them all).
        Returns whether it had to."""
        serverapp = self.serverapp
        cm = getattr(serverapp, "contents_manager", None)
        if cm is None or self._hooked_contents_manager is None:
            return False
        if cm is self._hooked_contents_manager:
            return False
        self.log.warning(
            "jupyter-nj: the contents manager was replaced by another extension (%s, was %s); "
            "hooking the new one so saves keep reaching history.",
            type(cm).__name__,
            type(self._hooked_contents_manager).__name__,
        )
        if not self.follow_links_out_of_root:
            install_link_guard(cm, self._link_guard())
        if self.secrets_manager is not None:
            cm.register_pre_save_hook(self.secrets_manager.redactor.pre_save_hook)
            self.secrets_manager.contents_manager = cm
        if self.history_manager is not None:
            self.history_manager.hook_contents_manager(cm)
        if self.run_manager is not None:
            self.run_manager.contents_manager = cm
        sharing = self.sharing_manager
        if sharing is not None and getattr(sharing.links, "snapshots", None) is not None:
            cm.register_post_save_hook(sharing.links.post_save_hook)
        self._hooked_contents_manager = cm
        return True

    def initialize_handlers(self) -> None:
        # Each pillar's handlers.py ends in `default_handlers`, patterns relative to /nj/api.
        for pillar_handlers in (
            status_handlers,
            secrets_handlers,
            runtimes_handlers,
            gpus_handlers,
            compute_handlers,
            history_handlers,
            sharing_handlers,
        ):
            self.handlers.extend(
                (url_path_join("/", API_PREFIX, pattern), handler)
                for pattern, handler in pillar_handlers
            )
        # Pages outside the API: the draft page, the only route that answers without a login.
        self.handlers.extend(
            (url_path_join("/", pattern), handler) for pattern, handler in sharing_pages
        )

    def init_compute(self) -> None:
        """Several runtimes per notebook (compute/): cells routed on the kernel websocket to the
        runtime they name, whose kernels follow the notebook's (restart, interrupt, shut down).
        Needs jupyter-nj's kernel manager (runtimes/kernels.py) to follow them."""
        serverapp = self.serverapp
        if serverapp is None or not isinstance(serverapp.kernel_manager, NJMappingKernelManager):
            return
        self.notebook_runtimes = NotebookRuntimes(
            serverapp.kernel_manager,
            self.documents,
            partial(notebook_of_kernel, serverapp.session_manager),
            self.why_not_offered,
        )
        serverapp.kernel_manager.followers = self.notebook_runtimes
        install_runtime_routing(self.settings)

    def use_default_environment(self) -> None:
        """Make `nj-<default_environment>` the kernel new notebooks start on, unless the user
        chose a default kernel or the environment is not offered here."""
        serverapp = self.serverapp
        if serverapp is None or not self.default_environment:
            return
        if "default_kernel_name" in serverapp.config.get("MappingKernelManager", {}):
            return
        name = f"{KERNELSPEC_PREFIX}{self.default_environment}"
        assert self.environment_manager is not None
        spec_file = Path(self.environment_manager.kernelspec_dir) / name / "kernel.json"
        try:
            spec = json.loads(spec_file.read_text(encoding="utf-8"))
            built = bool(spec["metadata"]["kernel_provisioner"]["config"]["version"])
        except (OSError, ValueError, KeyError, TypeError):
            built = False
        if built:
            # Only a built one: a kernel of an environment not built yet fails to start.
            serverapp.kernel_manager.default_kernel_name = name
        else:
            self.log.info(
                "jupyter-nj: the default environment %r is not built (`jupyter nj env build "
                "%s`); new notebooks start on %s",
                self.default_environment,
                self.default_environment,
                serverapp.kernel_manager.default_kernel_name,
            )

    def why_not_offered(self, environment: str) -> str:
        """Why this server offers no kernel of `environment` although it knows it, or ""
        (read when a runtime starts: the runtimes pillar is set up after compute)."""
        manager = self.environment_manager
        return manager.local_problem(environment) if manager is not None else ""

    def init_secrets(self) -> SecretsManager:
        """Secrets manager, plus redaction of saved files and of the server log.

        Its `redact` is the callable to hand to other pillars (history).
        """
        manager = self.secrets_manager = build_secrets_manager(
            self, self.serverapp, documents=self.documents
        )
        redactor = manager.redactor
        if self.serverapp is not None:
            self.serverapp.contents_manager.register_pre_save_hook(redactor.pre_save_hook)
            install_websocket_redaction(self.settings)
        install_log_redaction(redactor)
        manager.start()
        return manager

    def runtime_boundary(self) -> RuntimeBoundary:
        """What container runtimes must never write, or see (runtimes/boundary.py).

        The provisioners ask for it at each start (through the RuntimeService):
        jupyter-nj's data, Jupyter's and Python's folders, and what builds trust (definitions,
        wheelhouse, CA bundle) read-only.
        """
        if self._runtime_boundary is None:
            manager = self.environment_manager
            definitions = manager.definition_dirs if manager is not None else []
            self._runtime_boundary = server_boundary(
                self.nj_data_path,
                catalog=self.environment_catalog_path,
                read_only=[self.build_wheelhouse, self.build_ca_bundle],
                read_only_folders=definitions,
            )
        return self._runtime_boundary

    _runtime_boundary: RuntimeBoundary | None = None

    async def runtime_secrets(self, notebook_path: str, kernel_id: str) -> Any:
        """What a starting runtime needs for the secrets attached to its notebook.

        The runtimes pillar calls this (through the RuntimeService) instead of importing
        secrets. Returns a `RuntimeSecrets` (see docs/secrets.md), or None when the
        secrets pillar is off. It never raises for an unavailable store: the runtime then starts
        without those secrets.
        """
        manager = self.secrets_manager
        if manager is None:
            return None
        return await manager.runtime_environment(notebook_path, user=None, kernel_id=kernel_id)

    def build_sharing_manager(self, documents: LiveDocuments) -> SharingManager:
        """Import and export, reading versions through `read_notebook_version`; draft links,
        kept in this server's data folder and redacted by the secrets pillar."""
        secrets = self.secrets_manager
        # One client of the hub's API (with this server's token) for share codes, named shares
        # and the names they offer; None off a hub.
        hub = HubShares() if os.environ.get("JUPYTERHUB_API_URL") else None
        links = DraftLinkService(
            DraftLinks(self.nj_data_path / "links.json"),
            documents,
            redact=secrets.redact if secrets is not None else None,
            render_timeout=self.sharing_render_timeout,
            refresh_seconds=self.sharing_draft_refresh,
            hub=hub,
            lab_url=url_path_join(
                self.serverapp.base_url if self.serverapp is not None else "/", "lab", "tree"
            ),
            snapshots=DraftSnapshots(Path(self.drafts_dir)) if self.drafts_dir else None,
            snapshot_delay=self.drafts_snapshot_delay,
        )
        publishing = PublishingService(
            Publications(self.publications_path),
            self.snapshot_notebook_version,
            describe_environment=self.describe_environment,
            contains_secret=secrets.redactor.contains_live_value if secrets is not None else None,
            rerun=self.rerun_notebook if self.run_manager is not None else None,
            render_timeout=self.sharing_render_timeout,
            max_size=self.publish_max_size,
            remix_url=self.publish_remix_url,
        )
        return SharingManager(
            self.root_dir,
            documents,
            self.read_notebook_version,
            remix_version=self.remix_notebook_version,
            max_import_size=self.sharing_max_import_size,
            links=links,
            publishing=publishing,
            principals=PrincipalDirectory(lambda: self.secrets_groups, self.server_owner, hub=hub),
            results_folder=self.history_results_folder if self.history_enabled else "",
            owner_of=self.user_name,
        )

    def server_owner(self) -> str:
        """Whose server this is: the hub's user under JupyterHub, else NJApp.secrets_user,
        else the OS user."""
        return os.environ.get("JUPYTERHUB_USER") or self.secrets_user or default_server_owner()

    def narrows_guests(self) -> bool:
        """Whether users other than the owner reach only what edit links grant (guests.py)."""
        if self.guest_access == "auto":
            return bool(os.environ.get("JUPYTERHUB_USER"))
        return bool(self.guest_access == "edit-links")

    def user_name(self, user: Any) -> str:
        """Who a request's user is, as publications (and their owners' URLs) name them: the
        hub's user name under JupyterHub, the server's owner on a single-user server (the
        secrets pillar's identity rules, docs/secrets.md)."""
        if self.secrets_manager is not None:
            return self.secrets_manager.identity.name_of(user)
        hub_user = getattr(user, "hub_user", None)
        if isinstance(hub_user, dict) and hub_user.get("name"):
            return str(hub_user["name"])
        return default_server_owner()

    async def snapshot_notebook_version(
        self, path: str, version: str, results_zip: Path
    ) -> dict[str, Any]:
        """History's part of a publication: a version, its notebook and its results zip.
        Through the HistoryManager in a server; on the command line through one built for it."""
        manager = self.history_manager
        if manager is not None:
            return await manager.snapshot(path, version, results_zip)
        if self._serving or not self.history_enabled:
            raise NJError(503, "history-unavailable", self.history_unavailable)
        from .history.manager import build_history_manager

        offline = build_history_manager(self, redact=self.history_redact)
        offline.start()
        try:
            return await offline.snapshot(path, version, results_zip)
        finally:
            await asyncio.to_thread(offline.stop)
            offline.store.close()

    def describe_environment(self, name: str, version: str) -> dict[str, Any] | None:
        """A pinned environment version as a publication shows it: its record and its lock
        (blocking; the catalog's files). 404 when this user's catalog does not hold it."""
        from .runtimes.catalog import EnvironmentCatalog

        catalog = EnvironmentCatalog(self.environment_catalog_path)
        record = catalog.get(name, version)
        return {
            "version": record.version,
            "short": record.short,
            "backend": record.backend,
            "image": record.image,
            "created": record.created,
            "lock_sha256": record.lock_sha256,
            "lock_text": catalog.lock_text(record),
        }

    async def rerun_notebook(self, path: str, notebook: dict[str, Any]) -> dict[str, Any]:
        """Compute's part of a publication's re-run: the notebook executed headless on its
        pinned runtimes, as the notebook at `path` (not saved)."""
        import nbformat

        manager = self.run_manager
        if manager is None:
            raise NJError(503, "runs-unavailable", "Headless runs are off on this server.")
        node = nbformat.from_dict(notebook)
        run = manager.start(path, notebook=node)
        run = await manager.wait(run.id)
        error = (run.error or {}).get("message") if run.state != "succeeded" else None
        return {"notebook": json.loads(json.dumps(node)), "error": error}

    async def remix_notebook_version(
        self, path: str, version: str, to: str, stamp: Any
    ) -> dict[str, Any]:
        """History's part of a remix (sharing pillar): the new history that starts from the
        original's version, the copy of its results folder, the new file. Through the
        HistoryManager in a server; on the command line through one built for the call."""
        manager = self.history_manager
        if manager is not None:
            return await manager.remix(path, version, to, stamp)
        if self._serving or not self.history_enabled:
            raise NJError(503, "history-unavailable", self.history_unavailable)
        import getpass

        from .history.manager import build_history_manager

        offline = build_history_manager(self, redact=self.history_redact)
        offline.start()
        try:
            user = getpass.getuser()
            return await offline.remix(path, version, to, stamp, authors={user: user})
        finally:
            await asyncio.to_thread(offline.stop)
            offline.store.close()

    async def read_notebook_version(self, path: str, version: str) -> dict[str, Any]:
        """One recorded version of a notebook, as nbformat JSON: what the sharing pillar
        exports, read from history (through its manager in a server, from its store on the
        command line). 404 for an unknown version, 503 when history is off."""
        manager = self.history_manager
        if manager is not None:
            body = await manager.get_version(path, version)
        elif not self._serving and self.history_enabled:
            from .history.cli import version_fields

            body = await asyncio.to_thread(version_fields, self, path, version)
        else:
            raise NJError(503, "history-unavailable", self.history_unavailable)
        if body.get("format") != "json":
            raise NJError(
                400, "not-a-notebook", f"Version {version!r} of {path!r} is not a notebook."
            )
        content: dict[str, Any] = body["content"]
        return content

    def record_offline_write(self, path: str, message: str) -> str | None:
        """Record a file the command line wrote (no server, so no save hook saw it) as a
        version in history; None when history is off or nothing changed."""
        if not self.history_enabled:
            return None
        from .history.cli import record_file

        return record_file(self, path, message)

    async def stop_extension(self) -> None:
        if self.busy_activity is not None:
            await self.busy_activity.stop()
        if self.run_manager is not None:
            await self.run_manager.stop()
        if self.runtime_service is not None:
            await self.runtime_service.stop()
        stop_history(self)
        manager = self.secrets_manager
        if manager is not None:
            await manager.stop()
            uninstall_log_redaction(manager.redactor)


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
