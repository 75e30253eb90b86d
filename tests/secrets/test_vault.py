"""The Vault backend's own concerns against real OpenBao: auth methods, token renewal, namespaces,
and clear errors when the server is unreachable, sealed, or refuses the token."""

from __future__ import annotations

import time
import uuid
import warnings
from typing import Any

import hvac
import pytest

from jupyter_nj.secrets.backends import BackendUnavailable
from jupyter_nj.secrets.backends.vault import VaultSecretsBackend
from jupyter_nj.secrets.model import SecretMetadata

from ..services import free_loopback_port, service_missing, start_openbao_dev_server
from .conftest import vault_backend_for

pytestmark = pytest.mark.openbao

META = SecretMetadata(owner="alice")


@pytest.fixture
def root(openbao: Any) -> Any:
    client = hvac.Client(url=openbao.url, token=openbao.token)
    yield client
    client.adapter.close()


def policy_for(prefix: str) -> str:
    return f"""
path "secret/data/{prefix}/*" {{ capabilities = ["create", "read", "update", "delete"] }}
path "secret/metadata/{prefix}/*" {{ capabilities = ["create", "read", "update", "delete"] }}
path "secret/metadata/{prefix}" {{ capabilities = ["list"] }}
"""


def test_no_hvac_deprecation_warning_in_any_operation(openbao: Any) -> None:
    backend = vault_backend_for(openbao)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backend.create("WARN_CHECK", "value-one", META)
        backend.update("WARN_CHECK", "value-two", META)
        backend.update("WARN_CHECK", None, META)
        assert backend.read_value("WARN_CHECK") == "value-two"
        backend.list_records()
        backend.delete("WARN_CHECK")
        backend.renew_token_if_needed()
    backend.close()


def test_approle_login_works_and_logs_in_again_after_revocation(openbao: Any, root: Any) -> None:
    mount = f"approle-{uuid.uuid4().hex[:8]}"
    prefix = f"nj-tests/{uuid.uuid4().hex[:12]}"
    root.sys.enable_auth_method("approle", path=mount)
    root.sys.create_or_update_policy(name=mount, policy=policy_for(prefix))
    root.auth.approle.create_or_update_approle(
        "jupyter", token_policies=[mount], token_ttl="1h", mount_point=mount
    )
    role_id = root.auth.approle.read_role_id("jupyter", mount_point=mount)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("jupyter", mount_point=mount)["data"][
        "secret_id"
    ]
    backend = vault_backend_for(
        openbao,
        token="",
        auth_method="approle",
        auth_mount=mount,
        role_id=role_id,
        secret_id=secret_id,
        path_prefix=prefix,
    )
    backend.create("APPROLE_SECRET", "approle-value", META)
    assert backend.read_value("APPROLE_SECRET") == "approle-value"
    # The server's token is revoked behind its back: the next call logs in again by itself.
    assert backend._client is not None
    root.auth.token.revoke(backend._client.token)
    assert backend.read_value("APPROLE_SECRET") == "approle-value"
    # It is not the root token that did the work: outside its policy it is refused.
    other = vault_backend_for(
        openbao,
        token="",
        auth_method="approle",
        auth_mount=mount,
        role_id=role_id,
        secret_id=secret_id,
        path_prefix="elsewhere",
    )
    with pytest.raises(BackendUnavailable) as caught:
        other.read_value("APPROLE_SECRET")
    assert caught.value.reason == "vault-token-rejected"
    backend.close()
    other.close()


def test_userpass_login_works(openbao: Any, root: Any) -> None:
    mount = f"userpass-{uuid.uuid4().hex[:8]}"
    prefix = f"nj-tests/{uuid.uuid4().hex[:12]}"
    root.sys.enable_auth_method("userpass", path=mount)
    root.sys.create_or_update_policy(name=mount, policy=policy_for(prefix))
    root.auth.userpass.create_or_update_user(
        "jupyter", password="pw-" + uuid.uuid4().hex, policies=[mount], mount_point=mount
    )
    password = "pw-" + uuid.uuid4().hex
    root.auth.userpass.update_password_on_user("jupyter", password, mount_point=mount)
    backend = vault_backend_for(
        openbao,
        token="",
        auth_method="userpass",
        auth_mount=mount,
        username="jupyter",
        password=password,
        path_prefix=prefix,
    )
    backend.create("USERPASS_SECRET", "userpass-value", META)
    assert backend.read_value("USERPASS_SECRET") == "userpass-value"
    backend.close()


def test_background_thread_renews_an_expiring_token(openbao: Any, root: Any) -> None:
    token = root.auth.token.create(policies=["default"], ttl="10m", renewable=True)["auth"][
        "client_token"
    ]
    backend = vault_backend_for(
        openbao, token=token, renew_check_interval=0.2, renew_below_seconds=3600
    )
    before = root.auth.token.lookup(token)["data"]
    assert not before.get("last_renewal_time")
    backend.start()
    deadline = time.monotonic() + 10
    renewed = False
    while time.monotonic() < deadline and not renewed:
        time.sleep(0.2)
        renewed = bool(root.auth.token.lookup(token)["data"].get("last_renewal_time"))
    backend.close()
    assert renewed, "the renewal thread did not renew the token"


def test_a_root_token_needs_no_renewal(openbao: Any) -> None:
    backend = vault_backend_for(openbao)
    assert backend.renew_token_if_needed() == "not-expiring"
    backend.close()


def test_revoked_token_gives_a_clear_503_without_the_token(openbao: Any, root: Any) -> None:
    token = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    backend = vault_backend_for(openbao, token=token)
    root.auth.token.revoke(token)
    with pytest.raises(BackendUnavailable) as caught:
        backend.list_records()
    assert caught.value.status == 503
    assert caught.value.reason == "vault-token-rejected"
    assert token not in caught.value.message
    backend.close()


def test_unreachable_vault_gives_a_clear_503() -> None:
    from jupyter_nj.secrets.backends.vault import VaultConfig

    backend = VaultSecretsBackend(
        VaultConfig(url=f"http://127.0.0.1:{free_loopback_port()}", token="t", timeout=2)
    )
    with pytest.raises(BackendUnavailable) as caught:
        backend.read_value("ANY")
    assert caught.value.reason == "vault-unreachable"
    assert "not reachable" in caught.value.message


def test_sealed_vault_gives_a_clear_503() -> None:
    try:
        server = start_openbao_dev_server()
    except Exception as err:
        service_missing("a second OpenBao dev server", str(err))
    try:
        backend = vault_backend_for(server)
        backend.create("BEFORE_SEAL", "sealed-value", META)
        client = hvac.Client(url=server.url, token=server.token)
        client.sys.seal()
        with pytest.raises(BackendUnavailable) as caught:
            backend.read_value("BEFORE_SEAL")
        assert caught.value.reason == "vault-sealed"
        assert "sealed-value" not in caught.value.message
        backend.close()
        client.adapter.close()
    finally:
        server.stop()


def test_namespaces_keep_secrets_apart(openbao: Any, root: Any) -> None:
    namespace = f"team{uuid.uuid4().hex[:8]}"
    root.sys.create_namespace(path=namespace)
    inside = hvac.Client(url=openbao.url, token=openbao.token, namespace=namespace)
    inside.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    inside.adapter.close()
    in_namespace = vault_backend_for(openbao, namespace=namespace, path_prefix="shared-prefix")
    at_root = vault_backend_for(openbao, path_prefix="shared-prefix")
    in_namespace.create("NS_SECRET", "namespaced-value", META)
    assert in_namespace.read_value("NS_SECRET") == "namespaced-value"
    assert at_root.read_value("NS_SECRET") is None
    assert namespace in in_namespace.describe()
    in_namespace.close()
    at_root.close()
