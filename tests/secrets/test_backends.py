"""One behaviour suite, run against the real OpenBao dev server and the local encrypted store."""

from __future__ import annotations

import threading

import pytest

from jupyter_nj.secrets.backends import SecretExists, SecretsBackend
from jupyter_nj.secrets.model import SecretMetadata, SecretNotFound

pytestmark = pytest.mark.openbao

META = SecretMetadata(
    description="API key for the weather service",
    owner="alice",
    shared_users=("bob",),
    shared_groups=("team-a", "team-b"),
)


def test_a_created_secret_reads_back_with_its_metadata(backend: SecretsBackend) -> None:
    record = backend.create("WEATHER_KEY", "v4lue-ünïcode-🔑", META)
    assert record.name == "WEATHER_KEY"
    assert record.metadata == META
    assert record.version == 1
    assert record.created
    assert backend.read_value("WEATHER_KEY") == "v4lue-ünïcode-🔑"
    again = backend.get_record("WEATHER_KEY")
    assert again is not None and again.metadata == META


def test_listing_returns_metadata_of_every_secret_sorted(backend: SecretsBackend) -> None:
    assert backend.list_records() == []
    backend.create("B_KEY", "value-b", META)
    backend.create("A_KEY", "value-a", SecretMetadata(owner="bob"))
    records = backend.list_records()
    assert [r.name for r in records] == ["A_KEY", "B_KEY"]
    assert records[0].metadata.owner == "bob"
    assert records[1].metadata.shared_groups == ("team-a", "team-b")


def test_creating_an_existing_name_is_refused_and_keeps_the_old_value(
    backend: SecretsBackend,
) -> None:
    backend.create("TOKEN", "first-value", META)
    with pytest.raises(SecretExists) as caught:
        backend.create("TOKEN", "second-value", SecretMetadata(owner="mallory"))
    assert caught.value.status == 409
    assert "second-value" not in caught.value.message
    assert backend.read_value("TOKEN") == "first-value"
    record = backend.get_record("TOKEN")
    assert record is not None and record.metadata.owner == "alice"


def test_update_changes_value_and_version(backend: SecretsBackend) -> None:
    backend.create("TOKEN", "first-value", META)
    record = backend.update("TOKEN", "second-value", META)
    assert record.version == 2
    assert backend.read_value("TOKEN") == "second-value"


def test_metadata_only_update_keeps_the_value(backend: SecretsBackend) -> None:
    backend.create("TOKEN", "kept-value", META)
    unshared = SecretMetadata(description="new", owner="alice")
    record = backend.update("TOKEN", None, unshared)
    assert record.metadata == unshared
    assert record.version == 1
    assert backend.read_value("TOKEN") == "kept-value"
    cleared = backend.update("TOKEN", None, SecretMetadata(owner="alice"))
    assert cleared.metadata == SecretMetadata(owner="alice")


def test_updating_a_missing_secret_is_not_found(backend: SecretsBackend) -> None:
    with pytest.raises(SecretNotFound):
        backend.update("NOPE", "x-value", META)


def test_delete_removes_value_and_metadata(backend: SecretsBackend) -> None:
    backend.create("TOKEN", "doomed-value", META)
    assert backend.delete("TOKEN") is True
    assert backend.get_record("TOKEN") is None
    assert backend.read_value("TOKEN") is None
    assert backend.list_records() == []
    assert backend.delete("TOKEN") is False
    # The name is free again.
    backend.create("TOKEN", "reborn-value", SecretMetadata(owner="bob"))
    assert backend.read_value("TOKEN") == "reborn-value"


def test_missing_secret_reads_as_none(backend: SecretsBackend) -> None:
    assert backend.get_record("MISSING") is None
    assert backend.read_value("MISSING") is None


def test_a_large_multiline_value_round_trips(backend: SecretsBackend) -> None:
    pem = "-----BEGIN KEY-----\n" + ("QUJD" * 16 + "\n") * 200 + "-----END KEY-----\n"
    backend.create("PEM_KEY", pem, META)
    assert backend.read_value("PEM_KEY") == pem


def test_concurrent_creators_of_one_name_cannot_both_win(backend: SecretsBackend) -> None:
    outcomes: list[str] = []

    def create(owner: str) -> None:
        try:
            backend.create("RACE", f"value-of-{owner}", SecretMetadata(owner=owner))
            outcomes.append(owner)
        except SecretExists:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(f"user{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1, outcomes
    record = backend.get_record("RACE")
    assert record is not None and record.metadata.owner == winners[0]
    assert backend.read_value("RACE") == f"value-of-{winners[0]}"


def test_read_secret_gives_the_record_and_the_value_only_to_who_may_read(
    backend: SecretsBackend,
) -> None:
    meta = SecretMetadata(owner="alice", shared_groups=("lab",), description="db")
    backend.create("PAIRED", "paired-value", meta)
    record, value = backend.read_secret("PAIRED", lambda r: r.metadata.owner == "alice")
    assert value == "paired-value"
    assert record is not None and record.metadata == meta and record.version == 1
    record, value = backend.read_secret("PAIRED", lambda r: False)
    assert record is not None and record.metadata.owner == "alice" and value is None
    backend.update("PAIRED", "second-value", meta)
    assert backend.read_secret("PAIRED", lambda r: True)[1] == "second-value"
    assert backend.read_secret("NO_SUCH_ONE", lambda r: True) == (None, None)
