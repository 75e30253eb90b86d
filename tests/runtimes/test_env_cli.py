"""`jupyter nj env ...` run as a user runs it: through the command line's own entry point, with
its own config and data folders, and checked by what it leaves behind (the catalog, the engine,
the files it writes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_nj.cli import main
from jupyter_nj.data_dir import default_data_dir, user_catalog_dir
from jupyter_nj.runtimes.config import RuntimesConfig
from jupyter_nj.runtimes.manager import EnvironmentManager


@pytest.fixture
def user(tmp_path: Path, monkeypatch: Any, definitions_dir: Path) -> Path:
    """A project folder and a user whose Jupyter folders are all fresh and temporary; the server
    config names the test definitions, as a user's jupyter_server_config.json would."""
    root = tmp_path / "project"
    root.mkdir()
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.delenv("JUPYTER_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    write_server_config(config, {"environment_paths": [str(definitions_dir)]})
    return root


def write_server_config(config: Path, nj: dict[str, Any]) -> None:
    (config / "jupyter_server_config.json").write_text(json.dumps({"NJApp": nj}))


def env(root: Path, *args: str) -> int:
    return main(["--root-dir", str(root), "env", *args])


def catalog_of(root: Path, definitions: Path) -> EnvironmentManager:
    """The catalog the command line wrote (the user's), read back without the command line."""
    config = RuntimesConfig(environment_paths=[str(definitions)])
    manager: EnvironmentManager = config.build_environment_manager(
        str(root), default_data_dir(root), "", user_catalog_dir()
    )
    return manager


def test_env_build_adds_a_local_version_that_env_list_shows(
    user: Path, definitions_dir: Path, capsys: Any
) -> None:
    assert env(user, "list", "--json") == 0
    before = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert before["mini"]["versions"] == [] and before["mini"]["definition"] == "ok"

    assert env(user, "build", "mini", "--backend", "local", "--quiet") == 0
    out = capsys.readouterr().out
    versions = catalog_of(user, definitions_dir).catalog.versions("mini")
    assert len(versions) == 1 and versions[0].backend == "local"
    record = versions[0]
    assert f"mini@{record.short} (local) ready" in out and record.version in out
    assert catalog_of(user, definitions_dir).local.is_materialised(record)
    # The data stays out of the project folder, under the user's Jupyter data dir.
    assert not (user / ".nj").exists()

    assert env(user, "list", "--json") == 0
    listed = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert [v["version"] for v in listed["mini"]["versions"]] == [record.version]
    assert env(user, "list") == 0
    assert f"  {record.short}  local" in capsys.readouterr().out


def test_a_version_built_in_one_project_runs_a_notebook_pinned_to_it_in_another(
    user: Path, tmp_path: Path, definitions_dir: Path, capsys: Any
) -> None:
    """The catalog is the user's: a notebook moved to another folder, or opened by a server
    started elsewhere, still finds the version it is pinned to, with no second build."""
    assert env(user, "build", "mini", "--backend", "local", "--quiet") == 0
    capsys.readouterr()
    (record,) = catalog_of(user, definitions_dir).catalog.versions("mini")
    assert user_catalog_dir() == tmp_path / "data" / "nj" / "environments"
    assert (user_catalog_dir() / "records" / "mini").is_dir()
    assert not (default_data_dir(user) / "environments").exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert env(elsewhere, "list", "--json") == 0
    listed = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert [v["version"] for v in listed["mini"]["versions"]] == [record.version]

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "nj-mini", "language": "python", "display_name": "Mini"}
    nb.metadata["nj"] = {
        "runtimes": {"main": {"environment": "mini", "version": record.version, "backend": "local"}}
    }
    nb.cells = [nbformat.v4.new_code_cell("import sys; print(*sys.path, sep=chr(10))")]
    nbformat.write(nb, str(elsewhere / "moved.ipynb"))
    ran = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "nj", "run", "moved.ipynb"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    done = nbformat.read(str(elsewhere / "moved.ipynb"), as_version=4)
    printed = done.cells[0].outputs[0]["text"].split()
    # The kernel imports from the pinned version's venv in the user's catalog (under its overlay).
    venv = catalog_of(user, definitions_dir).catalog.venv_path(record.version).resolve()
    assert any(venv in Path(entry).resolve().parents for entry in printed), printed
    assert done.metadata["nj"]["runtimes"]["main"]["version"] == record.version


def test_env_build_of_an_unknown_environment_is_a_clear_error(user: Path, capsys: Any) -> None:
    assert env(user, "build", "no-such-env", "--quiet") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no-such-env" in err and "Traceback" not in err


def test_env_lock_writes_a_hashed_lock_from_requirements_in(
    user: Path, tmp_path: Path, definitions_dir: Path, capsys: Any
) -> None:
    definitions = tmp_path / "definitions"
    shutil.copytree(definitions_dir / "mini", definitions / "tiny")
    tiny = definitions / "tiny"
    toml = tiny / "environment.toml"
    toml.write_text(toml.read_text().replace('"mini"', '"tiny"', 1))
    (tiny / "requirements.lock").unlink()
    (tiny / "requirements.in").write_text("iniconfig\n")
    write_server_config(tmp_path / "config", {"environment_paths": [str(definitions)]})

    assert env(user, "lock", "tiny") == 0
    assert f"wrote {tiny / 'requirements.lock'}" in capsys.readouterr().out
    lock = (tiny / "requirements.lock").read_text()
    assert "iniconfig==" in lock and "--hash=sha256:" in lock
    assert "jupyter nj env lock tiny" in lock

    (tiny / "requirements.in").unlink()
    assert env(user, "lock", "tiny") == 1
    assert "has no requirements.in to lock" in capsys.readouterr().err


def test_env_export_and_import_carry_a_local_version_to_another_user(
    user: Path, tmp_path: Path, definitions_dir: Path, capsys: Any, monkeypatch: Any
) -> None:
    assert env(user, "build", "mini", "--quiet") == 0
    record = catalog_of(user, definitions_dir).catalog.versions("mini")[0]
    capsys.readouterr()

    assert env(user, "export", "mini") == 1
    assert "Name the version" in capsys.readouterr().err
    out_dir = tmp_path / "out"
    assert env(user, "export", f"mini@{record.short}", "--output", str(out_dir)) == 0
    exported = [p for p in out_dir.iterdir() if p.is_dir()]
    assert len(exported) == 1 and f"to {exported[0]}" in capsys.readouterr().out
    assert {p.name for p in exported[0].iterdir()} == {
        "record.json",
        "requirements.lock",
        "Dockerfile",
    }

    # Another user on another machine: fresh data dir, no versions yet.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "other-data"))
    assert catalog_of(user, definitions_dir).catalog.versions("mini") == []
    assert env(user, "import", str(exported[0])) == 0
    assert record.version in capsys.readouterr().out
    imported = catalog_of(user, definitions_dir).catalog.versions("mini")
    assert [v.version for v in imported] == [record.version]
    assert catalog_of(user, definitions_dir).local.is_materialised(imported[0])


@pytest.mark.docker
def test_env_export_and_import_carry_a_docker_version(
    user: Path,
    tmp_path: Path,
    definitions_dir: Path,
    nj_session_dir: Path,
    docker_mini: dict[str, Any],
    docker_client: Any,
    capsys: Any,
) -> None:
    config = tmp_path / "config"
    # The session's catalog, where `docker_mini` was built.
    write_server_config(
        config,
        {"environment_paths": [str(definitions_dir)], "nj_dir": str(nj_session_dir / "data")},
    )
    short = docker_mini["short"]
    out_dir = tmp_path / "out"
    assert env(user, "export", f"mini@{short}", "--output", str(out_dir)) == 0
    capsys.readouterr()
    (exported,) = [p for p in out_dir.iterdir() if p.is_dir()]
    assert (exported / "image.tar").stat().st_size > 10_000_000
    assert json.loads((exported / "record.json").read_text())["version"] == docker_mini["version"]

    target = tmp_path / "target-data"
    write_server_config(
        config, {"environment_paths": [str(definitions_dir)], "nj_dir": str(target)}
    )
    assert env(user, "import", str(exported)) == 0
    assert docker_mini["version"] in capsys.readouterr().out
    manager = RuntimesConfig(environment_paths=[str(definitions_dir)]).build_environment_manager(
        str(user), target, ""
    )
    (imported,) = manager.catalog.versions("mini")
    assert imported.version == docker_mini["version"] and imported.backend == "docker"
    assert docker_mini["image"] in docker_client.images.get(docker_mini["version"]).tags


@pytest.mark.docker
def test_env_bootstrap_with_base_images_present_changes_nothing(
    user: Path, docker_mini: dict[str, Any], docker_client: Any, capsys: Any
) -> None:
    from jupyter_nj.runtimes.builds.bootstrap import BASE_IMAGE, RUNTIME_BASE_IMAGE

    present = {ref: docker_client.images.get(ref).id for ref in (BASE_IMAGE, RUNTIME_BASE_IMAGE)}
    assert env(user, "bootstrap") == 0
    lines = capsys.readouterr().out.splitlines()
    assert {tuple(line.split()) for line in lines[:2]} == set(present.items())
    assert lines[2].startswith("base images ready")
    assert {ref: docker_client.images.get(ref).id for ref in present} == present


def test_env_snapshot_with_no_server_running_is_a_clear_error(user: Path, capsys: Any) -> None:
    assert env(user, "snapshot", "some-kernel-id") == 1
    err = capsys.readouterr().err
    assert f"No running Jupyter server serves {user.resolve()}" in err and "--url" in err
