"""Fixtures for the secrets tests: both real backends, a server per backend, several users.

The Vault backend runs against the real OpenBao dev server (`openbao` fixture); each test gets a
fresh path prefix inside it, so tests never see each other's secrets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.identity import IdentityProvider, User

from jupyter_nj.secrets.backends import SecretsBackend
from jupyter_nj.secrets.backends.local import LocalSecretsBackend
from jupyter_nj.secrets.backends.vault import VaultConfig, VaultSecretsBackend

BACKENDS = ["openbao", "local"]


def vault_backend_for(openbao: Any, **overrides: Any) -> VaultSecretsBackend:
    config = VaultConfig(
        url=openbao.url,
        token=openbao.token,
        path_prefix=f"nj-tests/{uuid.uuid4().hex[:12]}",
        timeout=5,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return VaultSecretsBackend(config)


@pytest.fixture(params=BACKENDS)
def backend_kind(request: Any) -> str:
    return str(request.param)


@pytest.fixture
def backend(backend_kind: str, request: Any, tmp_path: Path) -> Iterator[SecretsBackend]:
    """The same behaviour suite runs against each real backend."""
    store: SecretsBackend
    if backend_kind == "openbao":
        store = vault_backend_for(request.getfixturevalue("openbao"))
    else:
        store = LocalSecretsBackend(tmp_path / "store" / "secrets.enc", tmp_path / "k" / "key")
    yield store
    store.close()


def nj_config_for(backend_kind: str, request: Any, tmp_path: Path) -> dict[str, Any]:
    if backend_kind == "openbao":
        bao = request.getfixturevalue("openbao")
        return {
            "secrets_backend": "vault",
            "vault_url": bao.url,
            "vault_token": bao.token,
            "vault_path_prefix": f"nj-tests/{uuid.uuid4().hex[:12]}",
        }
    return {"secrets_backend": "local", "secrets_local_dir": str(tmp_path / "secrets-store")}


# -- several users on one server ----------------------------------------------------------------
#
# jupyter_server's own token login cannot tell people apart, so multi-user tests plug in an
# identity provider, the same extension point JupyterHub uses: each user has a token, and a user
# whose token starts with "hub-" arrives as JupyterHub's single-user servers deliver users (a
# `hub_user` model carrying the hub's groups).

USER_TOKENS = {
    "alice-token": "alice",
    "bob-token": "bob",
    "carol-token": "carol",
    "hub-dave-token": "dave",
}
HUB_GROUPS: dict[str, list[str]] = {"dave": ["hub-team"]}


@dataclass
class HubStyleUser(User):
    hub_user: dict[str, Any] = field(default_factory=dict)


class TokenPerUserIdentityProvider(IdentityProvider):
    def get_user(self, handler: Any) -> Any:
        header = handler.request.headers.get("Authorization", "")
        token = header[len("token ") :].strip() if header.startswith("token ") else ""
        name = USER_TOKENS.get(token)
        if name is None:
            return super().get_user(handler)
        # As a token login does: API calls with a token need no XSRF cookie.
        handler._token_authenticated = True
        if token.startswith("hub-"):
            return HubStyleUser(
                username=name, hub_user={"name": name, "groups": HUB_GROUPS.get(name, [])}
            )
        return User(username=name)


def as_user(name: str) -> dict[str, str]:
    token = next(t for t, n in USER_TOKENS.items() if n == name)
    return {"Authorization": f"token {token}"}


def multi_user_server_config(
    backend_kind: str, request: Any, tmp_path: Path, **nj: Any
) -> dict[str, Any]:
    """A server on `backend_kind` whose users sign in with their own tokens (`as_user`)."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True},
            "allow_unauthenticated_access": False,
            "identity_provider_class": TokenPerUserIdentityProvider,
        },
        "NJApp": {**nj_config_for(backend_kind, request, tmp_path), **nj},
    }
