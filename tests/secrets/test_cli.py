"""`jupyter nj secrets ...` as a user runs it: a real process, the server's config files."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_nj.cli import main

from .conftest import nj_config_for

pytestmark = pytest.mark.openbao

VALUE = "cli-value-7d1f0c9a'quote"


@pytest.fixture
def run_cli(
    backend_kind: str, request: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> Any:
    """Runs `jupyter nj secrets ...` in this process (main() with the server's config files);
    `run_cli.subprocess(...)` runs the installed command in a real process."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    nj = nj_config_for(backend_kind, request, tmp_path)
    nj["secrets_user"] = "alice"
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({"NJApp": nj}))
    root = tmp_path / "root"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env.update(JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # main() changes into --root-dir; come back afterwards

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["--root-dir", str(root), "secrets", *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    def in_subprocess(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jupyter_nj.cli", "--root-dir", str(root), "secrets", *args],
            input=stdin,
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    run.root = root  # type: ignore[attr-defined]
    run.subprocess = in_subprocess  # type: ignore[attr-defined]
    return run


def test_cli_set_list_share_attach_delete(run_cli: Any) -> None:
    created = run_cli("set", "CLI_TOKEN", "-d", "from the command line", stdin=VALUE + "\n")
    assert created.returncode == 0, created.stderr
    assert "created CLI_TOKEN (version 1)" in created.stdout

    rotated = run_cli("set", "CLI_TOKEN", stdin=VALUE + "-2")
    assert "updated CLI_TOKEN (version 2)" in rotated.stdout

    shared = run_cli("share", "CLI_TOKEN", "--user", "bob", "--group", "ops")
    assert shared.returncode == 0, shared.stderr
    assert "['bob']" in shared.stdout and "['ops']" in shared.stdout
    unshared = run_cli("share", "CLI_TOKEN", "--remove-user", "bob")
    assert "users -" in unshared.stdout

    listing = json.loads(run_cli("list", "--json").stdout)
    assert listing["user"] == "alice"
    [secret] = listing["secrets"]
    assert secret["name"] == "CLI_TOKEN" and secret["description"] == "from the command line"
    assert secret["shared_with"] == {"users": [], "groups": ["ops"]}

    nbformat.write(nbformat.v4.new_notebook(), run_cli.root / "nb.ipynb")
    attached = run_cli("attach", "nb.ipynb", "CLI_TOKEN")
    assert attached.returncode == 0, attached.stderr
    assert "CLI_TOKEN (ok)" in attached.stdout
    on_disk = json.loads((run_cli.root / "nb.ipynb").read_text())
    assert on_disk["metadata"]["nj"]["secrets"] == ["CLI_TOKEN"]
    detached = run_cli("attach", "nb.ipynb", "CLI_TOKEN", "--detach")
    assert "no secrets attached" in detached.stdout

    deleted = run_cli("delete", "CLI_TOKEN")
    assert deleted.returncode == 0 and "deleted CLI_TOKEN" in deleted.stdout
    assert json.loads(run_cli("list", "--json").stdout)["secrets"] == []

    everything = "".join(
        p.stdout + p.stderr
        for p in (created, rotated, shared, unshared, attached, detached, deleted)
    )
    assert "7d1f0c9a" not in everything


def test_cli_never_takes_the_value_as_an_argument_and_reports_errors(run_cli: Any) -> None:
    as_argument = run_cli.subprocess("set", "CLI_TOKEN", VALUE)
    assert as_argument.returncode == 2, as_argument.stderr  # argparse refuses the extra argument
    piped = run_cli.subprocess("set", "PIPED", stdin=VALUE)
    assert piped.returncode == 0 and "created PIPED" in piped.stdout, piped.stderr
    bad = run_cli("set", "bad-name", stdin=VALUE)
    assert bad.returncode == 1
    assert "not allowed" in bad.stderr and "7d1f0c9a" not in bad.stderr
    missing = run_cli("delete", "NOT_THERE")
    assert missing.returncode == 1 and "NOT_THERE" in missing.stderr
