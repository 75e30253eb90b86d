"""JupyterHub with jupyter-nj in every user's server (docs/jupyterhub.md).

Copy this file (or load it from a site file with `load_subconfig`) and start the hub with
`jupyterhub -f jupyterhub_config.py`. What a site always chooses itself, set after loading it:
the authenticator, the spawner, the public address. Everything else here is what jupyter-nj
needs from the hub and what it was tested with (tests/hub/).

Environment variables read here (all optional):
  NJ_HUB_STATE_DIR      the hub's database, cookie secret and proxy pid file
                        (default /srv/jupyterhub; created 0700)
  NJ_HUB_IDLE_TIMEOUT   seconds without activity before the idle culler stops a server (3600)
  NJ_HUB_CULL_EVERY     seconds between two passes of the idle culler (600)
  NJ_HUB_AUTH_CACHE_SECONDS  seconds a server trusts the hub's answer about a token (60)
  NJ_HUB_PAGES_PORT     loopback port of the jupyter-nj hub service, `nj-pages` (8950)
  NJ_HUB_VAULT_ADDR     Vault/OpenBao address for secrets across users; only the jupyter-nj
                        hub service gets it (and the token), never a user's server
  NJ_HUB_VAULT_TOKEN    the hub service's Vault token (AppRole instead: a
                        jupyter_server_config file on its config path, docs/jupyterhub.md)
  NJ_HUB_VAULT_NAMESPACE  its Vault Enterprise / OpenBao namespace
  NJ_HUB_VAULT_PATH_PREFIX  the secrets' folder in the KV mount (jupyter-nj)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (defined by the config loader)

here = Path(__file__).resolve().parent

# --- the hub's own state --------------------------------------------------------------------

state_dir = Path(os.environ.get("NJ_HUB_STATE_DIR", "/srv/jupyterhub"))
state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.db_url = f"sqlite:///{state_dir / 'jupyterhub.sqlite'}"
# The hub writes the cookie secret there on first start (0600) and reuses it, so logins survive
# a restart of the hub.
c.JupyterHub.cookie_secret_file = str(state_dir / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state_dir / "jupyterhub-proxy.pid")

# --- the proxy ------------------------------------------------------------------------------

# `npm ci` in this folder (package.json pins configurable-http-proxy) puts the proxy next to this
# file; otherwise it must be on PATH (`npm install -g configurable-http-proxy`).
local_proxy = here / "node_modules" / ".bin" / "configurable-http-proxy"
if local_proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(local_proxy)]

# --- each user's server: JupyterLab with jupyter-nj -------------------------------------------

# jupyterhub-singleuser runs jupyter_server; jupyter-nj, JupyterLab and jupyter-collaboration
# enable themselves through jupyter_server_config.d of the environment they are installed in,
# so the spawner only has to start the command of that environment. Servers started as local
# processes run the hub's own environment's, whatever PATH the hub was started with; container
# spawners keep their image's command.
singleuser = Path(sys.executable).with_name("jupyterhub-singleuser")
if singleuser.exists():
    c.LocalProcessSpawner.cmd = [str(singleuser)]
c.Spawner.default_url = "/lab"

# The server's own token (JUPYTERHUB_API_TOKEN) reports activity, which is what the idle culler
# reads, and manages its owner's shares: an edit link (docs/sharing.md) is a hub share code for
# this server, which jupyter-nj's Authorizer then narrows to one notebook. Who is asking, and
# their groups (the secrets pillar's sharing), come from the hub's model of the requester, read
# with the requester's own token. Listing user and group names (`list:users`, `list:groups`,
# which include `read:users:name` and `read:groups:name`) is what the lab's Secrets panel and
# Share dialog offer as choices, and what a share with a user or group by name needs (the hub
# checks `read:users:name` / `read:groups:name` on the token that shares). A server's token gets
# only the scopes its owner holds: the `user` role below grants these.
# Using the jupyter-nj hub service (secrets across users) needs access to it; the hub adds the
# user's name and groups to every token, and the service reads those with this very token.
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "shares!user",
    "list:users",
    "list:groups",
    "access:services!service=nj-pages",
]

# Tokens the server's OAuth client hands to browsers: none beyond what JupyterHub always
# includes, namely access to this one server and the identify scopes (`read:users:name!user`,
# `read:users:groups!user`). The groups scope is what lets jupyter-nj see hub groups.
c.Spawner.oauth_client_allowed_scopes = []

# A server keeps the hub's answer about a token (who it is, its groups, whether it may enter)
# this many seconds. A new share, a revoked one, a group membership change (and so who may read
# a secret shared with a group) reach running servers within this time; the hub's default is
# 300 s.
hub_auth_cache_seconds = int(os.environ.get("NJ_HUB_AUTH_CACHE_SECONDS", "60"))
c.Spawner.args = [f"--HubOAuth.cache_max_age={hub_auth_cache_seconds}"]

# --- roles ----------------------------------------------------------------------------------

c.JupyterHub.load_roles = [
    {
        # Users may share their own servers with other users and groups (JupyterHub's sharing:
        # access to the whole server, for live co-editing). Reading and listing user and group
        # names is what sharing with a name needs (and what the lab offers as choices); it lets
        # users see which names exist, nothing more of another user.
        "name": "user",
        # Access to the jupyter-nj hub service is what a server's token needs for secrets
        # (a token's scopes are always cut down to its owner's).
        "scopes": [
            "self",
            "shares!user",
            "read:users:name",
            "read:groups:name",
            "list:users",
            "list:groups",
            "access:services!service=nj-pages",
        ],
    },
    {
        # What jupyterhub-idle-culler needs to find idle servers and stop them, and nothing to
        # delete users or read their files.
        "name": "idle-culler",
        "description": "Find servers without activity and stop them",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
]

# --- services -------------------------------------------------------------------------------

idle_timeout = int(os.environ.get("NJ_HUB_IDLE_TIMEOUT", "3600"))
cull_every = int(os.environ.get("NJ_HUB_CULL_EVERY", "600"))
c.JupyterHub.services = [
    {
        # Managed by the hub (started and stopped with it, given its own token and the hub's
        # API address). It stops servers, not users.
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={idle_timeout}",
            f"--cull-every={cull_every}",
        ],
    },
]

# --- the jupyter-nj hub service: publications, draft links, secrets across users -----------

# The hub culls idle servers, and their pages at /user/<name>/nj/p/ go with them. Every user's
# server publishes into one shared store, and the `nj-pages` service (one process, started and
# stopped by the hub) serves it at /services/nj-pages/nj/p/<owner>/<slug>/<n>, for anyone with
# the URL (the hub's proxy sends /services/nj-pages/ to it without a login; add
# `--access authenticated` to the command for hub users only). The store must let each user's
# server write (docs/jupyterhub.md says how to lay it out for system users).
publications = Path(os.environ.get("NJ_HUB_PUBLICATIONS", str(state_dir / "publications")))
publications.mkdir(parents=True, exist_ok=True)
# Draft links too: each user's server keeps a snapshot of every active draft link's page in
# this store (rendered at each save, deleted when the link is revoked or expires), and the same
# service answers /services/nj-pages/nj/l/<token> from it, so a draft link answers while its
# author's server is culled. Mode 1733: every server may make its own folders in it (named by
# token digests), nobody but the owner of the store may list it (docs/jupyterhub.md).
drafts = Path(os.environ.get("NJ_HUB_DRAFTS", str(state_dir / "drafts")))
drafts.mkdir(parents=True, exist_ok=True)
drafts.chmod(0o1733)
pages_port = int(os.environ.get("NJ_HUB_PAGES_PORT", "8950"))
# The same process holds the Vault credentials for secrets across users: users' servers ask it
# with their own hub token (secrets_backend "hub", chosen by NJ_SECRETS_HUB_URL below) and it
# answers only what the hub says that user, with their groups of the moment, may read. No
# user's server gets a Vault token: a spawner passes only its env_keep and `environment`.
vault_environment = {
    variable: os.environ[f"NJ_HUB_{variable}"]
    for variable in ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE")
    if os.environ.get(f"NJ_HUB_{variable}")
}
# The KV folder of the secrets (NJ_HUB_VAULT_PATH_PREFIX; default `jupyter-nj`).
vault_path_prefix = (
    ["--vault-path-prefix", os.environ["NJ_HUB_VAULT_PATH_PREFIX"]]
    if os.environ.get("NJ_HUB_VAULT_PATH_PREFIX")
    else []
)
c.JupyterHub.services.append(
    {
        "name": "nj-pages",
        "url": f"http://127.0.0.1:{pages_port}",
        "command": [
            sys.executable,
            "-m",
            "jupyter_nj.cli",
            "hub-service",
            "--publish-dir",
            str(publications),
            "--drafts-dir",
            str(drafts),
            *vault_path_prefix,
        ],
        "environment": vault_environment,
        "display": False,
    }
)
# Straight to the service, not through the proxy: the service answers on loopback.
c.Spawner.environment = {
    "NJ_SECRETS_HUB_URL": f"http://127.0.0.1:{pages_port}/services/nj-pages/",
}
c.Spawner.args.extend(
    [
        f"--NJApp.publish_dir={publications}",
        "--NJApp.publish_base_url=/services/nj-pages/",
        # A published page's Remix goes to the reader's own server.
        "--NJApp.publish_remix_url=/hub/user-redirect/nj/p/{owner}/{slug}/{number}/remix",
        f"--NJApp.drafts_dir={drafts}",
        "--NJApp.drafts_base_url=/services/nj-pages/",
    ]
)

# Servers (and their kernels) stop with the hub, so none is left running without a hub to reach
# it. False keeps them across a hub restart (an upgrade, say); the spawner then finds them again
# from the hub's database, which the local process spawner does by their process ids.
c.JupyterHub.cleanup_servers = True
