"""The secrets pillar's configuration (traits mixed into NJApp) and the function that builds a
`SecretsManager` from it, for the server and for the CLI alike.

The traits are declared here and mixed into `NJApp`, so they are set as `c.NJApp.<name>` like
every other jupyter-nj option; the Vault address, token, namespace and TLS verification are
NJApp's own `vault_url`, `vault_token`, `vault_namespace` and `vault_verify`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets import Dict, Enum, Float, HasTraits, Int, List, Unicode

from .backends import SecretsBackend
from .backends.hub import HubSecretsBackend, HubServiceConfig
from .backends.local import LocalSecretsBackend, default_store_dir
from .backends.vault import AUTH_METHODS, VaultConfig, VaultSecretsBackend
from .manager import IDENTITY_MODES, IdentityResolver, SecretsManager, default_server_owner
from .redaction import Redactor


class SecretsTraits(HasTraits):
    secrets_backend = Enum(
        ["auto", "hub", "vault", "local"],
        default_value="auto",
        config=True,
        help="""Where secrets are kept: "hub" (the jupyter-nj hub service at
        NJApp.secrets_hub_url, which holds the Vault credentials; this server holds none),
        "vault" (Vault/OpenBao at NJApp.vault_url), "local" (an encrypted file per OS user
        under the Jupyter data directory), or "auto": the hub service when its address is
        configured, else Vault when a Vault address is (trait or VAULT_ADDR/BAO_ADDR), else the
        local store.""",
    )
    secrets_hub_url = Unicode(
        config=True,
        help="""Base URL of the jupyter-nj hub service, its prefix included
        (`http://127.0.0.1:8950/services/nj-pages/`), which a server under JupyterHub asks for
        secrets with its own hub token (JUPYTERHUB_API_TOKEN). Empty means the
        NJ_SECRETS_HUB_URL environment variable (the deploy config sets it), then none.""",
    )
    secrets_hub_timeout = Float(
        10.0, config=True, help="Seconds one request to the hub service may take."
    )
    vault_kv_mount = Unicode(
        "secret",
        config=True,
        help="Mount path of the KV version 2 secrets engine that holds the secrets.",
    )
    vault_path_prefix = Unicode(
        "jupyter-nj",
        config=True,
        help="Folder inside the KV mount under which each secret is one entry (`<prefix>/NAME`).",
    )
    vault_auth_method = Enum(
        list(AUTH_METHODS),
        default_value="token",
        config=True,
        help="""How the server authenticates to Vault: "token" (NJApp.vault_token), "approle"
        (vault_role_id + vault_secret_id) or "userpass" (vault_username + vault_password).""",
    )
    vault_auth_mount = Unicode(
        "",
        config=True,
        help="Mount path of the AppRole or userpass auth method. Empty means its default name.",
    )
    vault_role_id = Unicode("", config=True, help="AppRole role id (vault_auth_method=approle).")
    vault_secret_id = Unicode(
        "", config=True, help="AppRole secret id (vault_auth_method=approle). Never logged."
    )
    vault_username = Unicode("", config=True, help="userpass user (vault_auth_method=userpass).")
    vault_password = Unicode(
        "", config=True, help="userpass password (vault_auth_method=userpass). Never logged."
    )
    vault_client_cert = Unicode(
        "", config=True, help="Path of a TLS client certificate (PEM) for Vault; empty for none."
    )
    vault_client_key = Unicode(
        "", config=True, help="Path of the private key (PEM) of vault_client_cert."
    )
    vault_timeout = Float(
        10.0, config=True, help="Seconds one request to Vault may take before it is abandoned."
    )
    vault_token_renew_interval = Float(
        60.0,
        config=True,
        help="Seconds between two checks of the server's Vault token lifetime (renewal thread).",
    )
    vault_token_renew_below = Float(
        600.0,
        config=True,
        help="""Renew the token (or log in again with AppRole/userpass) once its remaining
        lifetime, in seconds, falls below this.""",
    )
    secrets_local_dir = Unicode(
        "",
        config=True,
        help="Folder of the local encrypted store. Empty means `<jupyter data dir>/nj`.",
    )
    secrets_local_key_file = Unicode(
        "",
        config=True,
        help="""Path of the local store's key file, kept apart from the data so that the two can
        live on different volumes. Empty means `secrets.key` beside the store.""",
    )
    secrets_user = Unicode(
        "",
        config=True,
        help="""Who owns the secrets on a single-user server (jupyter_server's own token or
        password login, whose browser sessions are anonymous). Empty means the OS user.""",
    )
    secrets_groups = Dict(
        key_trait=Unicode(),
        value_trait=List(Unicode()),
        default_value={},
        config=True,
        help="""Groups for sharing on a server without JupyterHub: group name -> member user
        names, e.g. {"team-a": ["alice", "bob"]}. Read on every check: a removed member loses
        access at once. Under JupyterHub the hub's groups are added to these.""",
    )
    secrets_identity = Enum(
        list(IDENTITY_MODES),
        default_value="auto",
        config=True,
        help="""Whose secrets a request acts on: "server-owner" (always NJApp.secrets_user),
        "identity-provider" (the user name the server's identity provider reports), or "auto":
        the hub user under JupyterHub, the server owner with jupyter_server's own login, the
        identity provider's user otherwise.""",
    )
    secrets_max_value_bytes = Int(
        65536, config=True, help="Largest secret value accepted, in bytes of UTF-8."
    )
    secrets_redaction_min_length = Int(
        4,
        config=True,
        help="""Values shorter than this many characters are not redacted (replacing a 2-letter
        value everywhere would mangle notebooks). Documented as a limit in docs/secrets.md.""",
    )
    secrets_runtime_credential_ttl = Float(
        86400.0,
        config=True,
        help="""Seconds a runtime's kernel-scoped secrets credential stays valid at most; it is
        revoked earlier when its kernel stops.""",
    )
    secrets_runtime_dir = Unicode(
        "",
        config=True,
        help="""Folder holding the Unix socket through which runtimes read secrets and the
        kernel-side client; it is mounted into containers. Empty means a fresh short folder in
        the system temporary directory.""",
    )


def vault_config_from(app: Any) -> VaultConfig:
    verify: bool | str = app.vault_verify
    if verify is True:
        # The CLIs' own variable for a private CA, which hvac ignores once verify is given.
        verify = os.environ.get("VAULT_CACERT") or os.environ.get("BAO_CACERT") or True
    return VaultConfig(
        url=app.vault_url,
        token=app.vault_token,
        namespace=app.vault_namespace or os.environ.get("BAO_NAMESPACE", ""),
        verify=verify,
        client_cert=app.vault_client_cert,
        client_key=app.vault_client_key,
        timeout=app.vault_timeout,
        kv_mount=app.vault_kv_mount,
        path_prefix=app.vault_path_prefix,
        auth_method=app.vault_auth_method,
        auth_mount=app.vault_auth_mount,
        role_id=app.vault_role_id,
        secret_id=app.vault_secret_id,
        username=app.vault_username,
        password=app.vault_password,
        renew_check_interval=app.vault_token_renew_interval,
        renew_below_seconds=app.vault_token_renew_below,
    )


def secrets_hub_url(app: Any) -> str:
    """The hub service's address when `app`'s secrets live there, else ""."""
    choice = app.secrets_backend
    if choice not in ("auto", "hub"):
        return ""
    return str(app.secrets_hub_url or os.environ.get("NJ_SECRETS_HUB_URL", ""))


def backend_from(app: Any) -> SecretsBackend:
    choice = app.secrets_backend
    hub_url = secrets_hub_url(app)
    if choice == "hub" or hub_url:
        if not hub_url:
            raise ValueError(
                'NJApp.secrets_backend is "hub" but no hub service address is configured '
                "(NJApp.secrets_hub_url or NJ_SECRETS_HUB_URL)."
            )
        return HubSecretsBackend(
            HubServiceConfig(
                url=hub_url,
                token=os.environ.get("JUPYTERHUB_API_TOKEN", ""),
                timeout=app.secrets_hub_timeout,
            )
        )
    if choice == "vault" or (choice == "auto" and app.vault_url):
        return VaultSecretsBackend(vault_config_from(app))
    folder = Path(app.secrets_local_dir) if app.secrets_local_dir else default_store_dir()
    key = Path(app.secrets_local_key_file) if app.secrets_local_key_file else None
    return LocalSecretsBackend(folder / "secrets.enc", key or folder / "secrets.key")


def build_secrets_manager(
    app: Any,
    serverapp: Any = None,
    contents_manager: Any = None,
    event_logger: Any = None,
    documents: Any = None,
) -> SecretsManager:
    """A SecretsManager configured from `app` (an NJApp). With a serverapp: its contents
    manager, identity provider, event logger and kernel manager are used."""
    identity = IdentityResolver(
        server_owner=lambda: app.secrets_user or default_server_owner(),
        configured_groups=lambda: app.secrets_groups,
        mode=lambda: app.secrets_identity,
        identity_provider=getattr(serverapp, "identity_provider", None),
    )
    kernel_manager = getattr(serverapp, "kernel_manager", None)
    kernel_alive = (lambda kid: kid in kernel_manager) if kernel_manager is not None else None
    return SecretsManager(
        backend_from(app),
        identity=identity,
        redactor=Redactor(min_length=app.secrets_redaction_min_length),
        contents_manager=contents_manager or getattr(serverapp, "contents_manager", None),
        documents=documents,
        event_logger=event_logger or getattr(serverapp, "event_logger", None),
        max_value_bytes=app.secrets_max_value_bytes,
        credential_ttl_seconds=app.secrets_runtime_credential_ttl,
        kernel_alive=kernel_alive,
        socket_folder=Path(app.secrets_runtime_dir) if app.secrets_runtime_dir else None,
    )
