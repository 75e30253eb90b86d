"""SecretsManager on both real backends: validation, sharing, audit events, no value in errors."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from jupyter_events import EventLogger
from jupyter_server.services.contents.filemanager import AsyncFileContentsManager

from jupyter_nj.base import NJError
from jupyter_nj.secrets.backends import SecretsBackend
from jupyter_nj.secrets.manager import IdentityResolver, SecretsManager
from jupyter_nj.secrets.model import Principal

pytestmark = pytest.mark.openbao

VALUE = "hunter2-correct-horse-battery-staple"


class Harness:
    def __init__(self, backend: SecretsBackend, root: Path) -> None:
        self.groups: dict[str, list[str]] = {"team-a": ["bob"], "team-b": []}
        self.audit = io.StringIO()
        handler = logging.StreamHandler(self.audit)
        self.event_logger = EventLogger(handlers=[handler])
        self.manager = SecretsManager(
            backend,
            identity=IdentityResolver(
                server_owner=lambda: "owner", configured_groups=lambda: self.groups
            ),
            contents_manager=AsyncFileContentsManager(root_dir=str(root)),
            event_logger=self.event_logger,
            max_value_bytes=1024,
        )

    def who(self, name: str) -> Principal:
        return self.manager.identity.principal_for_name(name)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.getvalue().splitlines() if line]


@pytest.fixture
def harness(backend: SecretsBackend, tmp_path: Path) -> Harness:
    root = tmp_path / "root"
    root.mkdir()
    return Harness(backend, root)


async def expect_error(coro: Any, status: int, reason: str) -> NJError:
    with pytest.raises(NJError) as caught:
        await coro
    assert (caught.value.status, caught.value.reason) == (status, reason), caught.value.message
    assert VALUE not in caught.value.message
    return caught.value


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("1STARTS_WITH_DIGIT", "bad-name"),
        ("has-dash", "bad-name"),
        ("has space", "bad-name"),
        ("dots.are.out", "bad-name"),
        ("ünicode", "bad-name"),
        ("A" * 129, "bad-name"),
        ("", "bad-name"),
        ("LD_PRELOAD", "reserved-name"),
        ("PYTHONSTARTUP", "reserved-name"),
        ("PATH", "reserved-name"),
        ("NJ_SECRETS_TOKEN", "reserved-name"),
    ],
)
async def test_bad_names_are_refused_with_a_400(harness: Harness, name: str, reason: str) -> None:
    await expect_error(
        harness.manager.put_secret(harness.who("alice"), name, {"value": VALUE}), 400, reason
    )


async def test_a_name_at_the_length_cap_is_accepted(harness: Harness) -> None:
    record, created = await harness.manager.put_secret(
        harness.who("alice"), "A" * 128, {"value": VALUE}
    )
    assert created and record["name"] == "A" * 128


async def test_values_are_checked_without_echoing_them(harness: Harness) -> None:
    alice = harness.who("alice")
    error = await expect_error(
        harness.manager.put_secret(alice, "BIG", {"value": VALUE * 100}), 413, "value-too-large"
    )
    assert "1024" in error.message
    await expect_error(harness.manager.put_secret(alice, "NUM", {"value": 42}), 400, "bad-value")
    await expect_error(harness.manager.put_secret(alice, "EMPTY", {"value": ""}), 400, "bad-value")
    await expect_error(
        harness.manager.put_secret(alice, "NEW", {"description": "no value"}), 400, "value-required"
    )
    await expect_error(
        harness.manager.put_secret(alice, "X_KEY", {"value": VALUE, "colour": "red"}),
        400,
        "bad-field",
    )
    await expect_error(
        harness.manager.put_secret(
            alice, "X_KEY", {"value": VALUE, "shared_with": {"users": ["has space"]}}
        ),
        400,
        "bad-sharing",
    )
    assert (await harness.manager.list_secrets(alice))["secrets"] == []


async def test_group_sharing_reaches_members_only_and_removal_is_immediate(
    harness: Harness,
) -> None:
    m = harness.manager
    record, created = await m.put_secret(
        harness.who("alice"),
        "TEAM_TOKEN",
        {"value": VALUE, "description": "CI token", "shared_with": {"groups": ["team-a"]}},
    )
    assert created
    assert record["owner"] == "alice"
    assert record["can_manage"] is True
    assert "value" not in record and VALUE not in json.dumps(record)

    bob_view = await m.get_secret(harness.who("bob"), "TEAM_TOKEN")
    assert bob_view["can_manage"] is False
    assert [s["name"] for s in (await m.list_secrets(harness.who("bob")))["secrets"]] == [
        "TEAM_TOKEN"
    ]
    # carol is in no group: the secret does not exist for her.
    assert (await m.list_secrets(harness.who("carol")))["secrets"] == []
    await expect_error(m.get_secret(harness.who("carol"), "TEAM_TOKEN"), 404, "secret-not-found")

    harness.groups["team-a"].remove("bob")
    await expect_error(m.get_secret(harness.who("bob"), "TEAM_TOKEN"), 404, "secret-not-found")
    harness.groups["team-a"].append("bob")
    assert (await m.get_secret(harness.who("bob"), "TEAM_TOKEN"))["name"] == "TEAM_TOKEN"

    # Unsharing takes effect at once too.
    await m.put_secret(harness.who("alice"), "TEAM_TOKEN", {"shared_with": {"groups": []}})
    await expect_error(m.get_secret(harness.who("bob"), "TEAM_TOKEN"), 404, "secret-not-found")


async def test_only_the_owner_changes_or_deletes(harness: Harness) -> None:
    m = harness.manager
    await m.put_secret(
        harness.who("alice"), "OWNED", {"value": VALUE, "shared_with": {"users": ["bob"]}}
    )
    await expect_error(
        m.put_secret(harness.who("bob"), "OWNED", {"value": "bob-was-here"}), 403, "not-owner"
    )
    await expect_error(
        m.put_secret(harness.who("carol"), "OWNED", {"value": "carol-too"}), 409, "secret-exists"
    )
    await expect_error(m.delete_secret(harness.who("bob"), "OWNED"), 403, "not-owner")
    await expect_error(m.delete_secret(harness.who("carol"), "OWNED"), 404, "secret-not-found")
    assert m.backend.read_value("OWNED") == VALUE
    await m.delete_secret(harness.who("alice"), "OWNED")
    assert m.backend.get_record("OWNED") is None


async def test_audit_events_carry_metadata_and_never_values(harness: Harness) -> None:
    m = harness.manager
    alice = harness.who("alice")
    await m.put_secret(alice, "AUDITED", {"value": VALUE})
    await m.put_secret(alice, "AUDITED", {"value": VALUE + "-rotated"})
    await m.put_secret(alice, "AUDITED", {"shared_with": {"users": ["bob"], "groups": ["ops"]}})
    await expect_error(m.delete_secret(harness.who("bob"), "AUDITED"), 403, "not-owner")
    await m.delete_secret(alice, "AUDITED")
    events = harness.events()
    summary = [(e["action"], e["user"], e["outcome"]) for e in events]
    assert summary == [
        ("create", "alice", "allowed"),
        ("update", "alice", "allowed"),
        ("share", "alice", "allowed"),
        ("delete", "bob", "denied"),
        ("delete", "alice", "allowed"),
    ]
    share = events[2]
    assert share["shared_users"] == ["bob"] and share["shared_groups"] == ["ops"]
    assert all(e["secret"] == "AUDITED" and e["backend"] == m.backend.kind for e in events)
    assert VALUE not in harness.audit.getvalue()


async def test_runtime_without_a_usable_socket_still_gets_env_secrets(
    backend: SecretsBackend, tmp_path: Path
) -> None:
    import nbformat

    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"nj": {"secrets": ["ENV_ONLY"]}})
    nbformat.write(nb, root / "nb.ipynb")
    # Unix socket paths are limited to about 100 bytes: this folder cannot hold one.
    too_long = tmp_path / ("x" * 120)
    manager = SecretsManager(
        backend,
        identity=IdentityResolver(server_owner=lambda: "owner", configured_groups=dict),
        contents_manager=AsyncFileContentsManager(root_dir=str(root)),
        socket_folder=too_long,
    )
    await manager.put_secret(
        manager.identity.principal_for_name("owner"), "ENV_ONLY", {"value": VALUE}
    )
    runtime = await manager.runtime_environment("nb.ipynb")
    assert runtime.injected == ["ENV_ONLY"] and runtime.env["ENV_ONLY"] == VALUE
    assert runtime.skipped == {"secrets.get": "no-socket"}
    assert "NJ_SECRETS_TOKEN" not in runtime.env and runtime.python_path == ""
    assert "PYTHONPATH" not in runtime.apply_to({})
    await manager.stop()
