"""Definitions, content-identified versions and the catalog (no kernels, no Docker)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyter_nj.base import NJError
from jupyter_nj.runtimes.catalog import EnvironmentCatalog
from jupyter_nj.runtimes.model import (
    EnvironmentDefinition,
    EnvironmentVersion,
    check_name,
)
from jupyter_nj.runtimes.pins import read_pin, write_pin

from .conftest import BUILTIN


@pytest.mark.parametrize("name", ["python", "bash", "pytorch", "pytorch-cuda"])
def test_builtin_definitions_load_with_committed_locks(name: str) -> None:
    definition = EnvironmentDefinition.load(BUILTIN / name)
    assert definition.name == name
    assert "--hash=sha256:" in definition.lock_text
    assert "{connection_file}" in definition.kernel
    assert definition.local_version().startswith("sha256:")


def test_local_version_is_the_hash_of_the_lock(tmp_path: Path) -> None:
    folder = tmp_path / "python"
    shutil.copytree(BUILTIN / "python", folder)
    first = EnvironmentDefinition.load(folder).local_version()
    assert EnvironmentDefinition.load(folder).local_version() == first  # same inputs, same id
    spec = folder / "environment.toml"
    spec.write_text(spec.read_text().replace("Python 3 (data)", "Renamed"))
    assert EnvironmentDefinition.load(folder).local_version() == first  # cosmetic change
    lock = folder / "requirements.lock"
    lock.write_text(lock.read_text().replace("numpy==", "numpy>="))
    assert EnvironmentDefinition.load(folder).local_version() != first


@pytest.mark.parametrize("name", ["", "Python", "a/b", "../etc", "x" * 41, "-lead", "sp ace"])
def test_odd_names_are_refused(name: str) -> None:
    with pytest.raises(NJError) as err:
        check_name(name)
    assert err.value.status == 400


@pytest.mark.parametrize(
    ("toml", "lock", "complaint"),
    [
        ("name = [", True, "not valid TOML"),
        ('name = "other"\nkernel = ["x", "{connection_file}"]', True, "must match"),
        ('kernel = "python"', True, "`kernel` must be a non-empty list"),
        ('kernel = ["python", "-m", "ipykernel"]', True, "{connection_file}"),
        ('kernel = ["x", "{connection_file}"]\napt = ["rm -rf /"]', True, "`apt`"),
        ('kernel = ["x", "{connection_file}"]', False, "requirements.lock is missing"),
    ],
)
def test_malformed_definitions_say_what_to_fix(
    tmp_path: Path, toml: str, lock: bool, complaint: str
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "environment.toml").write_text(toml)
    if lock:
        (folder / "requirements.lock").write_text("")
    with pytest.raises(NJError) as err:
        EnvironmentDefinition.load(folder)
    assert err.value.status == 422
    assert complaint in err.value.message


def _record(name: str, version: str, created: str) -> EnvironmentVersion:
    return EnvironmentVersion(
        name=name,
        version="sha256:" + version,
        backend="local",
        recipe={"python": "3.11", "kernel": ["python"], "apt": []},
        lock_sha256="0" * 64,
        created=created,
    )


def test_catalog_finds_versions_by_prefix_and_newest_first(tmp_path: Path) -> None:
    catalog = EnvironmentCatalog(tmp_path)
    old = catalog.add(_record("env", "a" * 64, "2026-01-01T00:00:00+00:00"))
    new = catalog.add(_record("env", "a" * 7 + "c" * 57, "2026-02-01T00:00:00+00:00"))
    assert [v.version for v in catalog.versions("env")] == [new.version, old.version]
    assert catalog.latest("env") == new
    assert catalog.get("env", "aaaaaaac").version == new.version
    assert catalog.get("env", "sha256:" + "a" * 64).version == old.version
    with pytest.raises(NJError) as ambiguous:
        catalog.get("env", "aaaaaaa")
    assert ambiguous.value.status == 400
    with pytest.raises(NJError) as missing:
        catalog.get("env", "1234567")
    assert missing.value.status == 404
    assert "jupyter nj env build env" in missing.value.message
    with pytest.raises(NJError) as bad:
        catalog.get("env", "../../x")
    assert bad.value.status == 400


def test_records_are_immutable(tmp_path: Path) -> None:
    catalog = EnvironmentCatalog(tmp_path)
    first = catalog.add(_record("env", "d" * 64, "2026-01-01T00:00:00+00:00"))
    again = _record("env", "d" * 64, "2027-01-01T00:00:00+00:00")
    assert catalog.add(again).created == first.created


def test_pin_round_trips_through_notebook_metadata() -> None:
    notebook: dict = {"metadata": {"kernelspec": {"name": "nj-python"}}}
    assert read_pin(notebook) is None
    write_pin(notebook, _record("python", "e" * 64, "2026-01-01T00:00:00+00:00"))
    assert notebook["metadata"]["nj"]["runtimes"]["main"] == {
        "environment": "python",
        "version": "sha256:" + "e" * 64,
        "backend": "local",
    }
    assert read_pin(notebook) == notebook["metadata"]["nj"]["runtimes"]["main"]


def test_build_log_lines_lose_colour_escapes_and_chunk_boundaries() -> None:
    from jupyter_nj.runtimes.builds.buildlog import follow_build, report_line, split_lines

    seen: list[str] = []
    with follow_build(seen.append):
        for line in split_lines([b" \x1b[32m+\x1b[39m bash-", b"kernel==0.10.0\nsec", b"ond"]):
            report_line(line)
    report_line("after the build: nobody follows")
    assert seen == [" + bash-kernel==0.10.0", "second"]


def test_two_processes_never_make_one_venv_at_once(tmp_path: Path) -> None:
    """Servers sharing the user's catalog take the version's venv lock: the second waits."""
    import subprocess
    import sys
    import time

    version = "sha256:" + "ab" * 32
    hold = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from jupyter_nj.runtimes.catalog import EnvironmentCatalog\n"
        f"with EnvironmentCatalog(Path({str(tmp_path)!r})).venv_lock({version!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(1.5)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with EnvironmentCatalog(tmp_path).venv_lock(version):
            waited = time.monotonic() - started
            assert holder.poll() is not None or waited > 0.5, "entered while the other held it"
    finally:
        holder.wait(timeout=30)
    assert waited > 0.5
    assert holder.returncode == 0
