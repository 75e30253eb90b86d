"""The embedded store's own promises: encrypted, 0600, key apart, never silently re-keyed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from jupyter_nj.secrets.backends import BackendUnavailable
from jupyter_nj.secrets.backends.local import LocalSecretsBackend
from jupyter_nj.secrets.model import SecretMetadata

META = SecretMetadata(description="db password", owner="alice", shared_groups=("ops",))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make(tmp_path: Path) -> LocalSecretsBackend:
    return LocalSecretsBackend(tmp_path / "data" / "secrets.enc", tmp_path / "keys" / "secrets.key")


def test_store_and_key_are_private_separate_files_without_plaintext(tmp_path: Path) -> None:
    store = make(tmp_path)
    store.create("DB_PASSWORD", "plain-text-password-123", META)
    assert store.store_path.parent != store.key_path.parent
    assert mode(store.store_path) == 0o600
    assert mode(store.key_path) == 0o600
    assert mode(store.store_path.parent) == 0o700
    raw = store.store_path.read_bytes()
    for clear in (b"plain-text-password-123", b"DB_PASSWORD", b"db password", b"alice"):
        assert clear not in raw
    assert store.key_path.read_bytes().strip() not in raw


def test_a_widened_mode_is_tightened_again(tmp_path: Path) -> None:
    store = make(tmp_path)
    store.create("A_KEY", "value-aaaa", META)
    store.store_path.chmod(0o644)
    store.key_path.chmod(0o644)
    assert store.read_value("A_KEY") == "value-aaaa"
    assert mode(store.store_path) == 0o600
    assert mode(store.key_path) == 0o600


def test_a_second_process_sees_changes_at_once(tmp_path: Path) -> None:
    server_side, cli_side = make(tmp_path), make(tmp_path)
    cli_side.create("SHARED", "from-the-cli", META)
    assert server_side.read_value("SHARED") == "from-the-cli"
    server_side.update("SHARED", "from-the-server", META)
    assert cli_side.read_value("SHARED") == "from-the-server"


def test_missing_key_with_existing_data_is_refused_and_data_kept(tmp_path: Path) -> None:
    store = make(tmp_path)
    store.create("KEEP", "keep-this-value", META)
    before = store.store_path.read_bytes()
    store.key_path.unlink()
    with pytest.raises(BackendUnavailable) as caught:
        store.list_records()
    assert caught.value.reason == "local-key-missing"
    assert caught.value.status == 503
    assert not store.key_path.exists(), "a new key must not be made over existing data"
    assert store.store_path.read_bytes() == before


def test_wrong_key_is_refused_and_data_kept(tmp_path: Path) -> None:
    store = make(tmp_path)
    store.create("KEEP", "keep-this-value", META)
    before = store.store_path.read_bytes()
    other = make(tmp_path / "other")
    other.create("X_KEY", "other-value", META)
    store.key_path.write_bytes(other.key_path.read_bytes())
    with pytest.raises(BackendUnavailable) as caught:
        store.create("NEW_ONE", "new-value", META)
    assert caught.value.reason == "local-key-mismatch"
    assert "keep-this-value" not in caught.value.message
    assert store.store_path.read_bytes() == before
