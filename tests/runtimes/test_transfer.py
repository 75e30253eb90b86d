"""Export a version and import it elsewhere: the same version ID comes back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docker
import pytest

from jupyter_nj.base import NJError
from jupyter_nj.runtimes.config import RuntimesConfig
from jupyter_nj.runtimes.manager import EnvironmentManager


def fresh_manager(definitions_dir: Path, data: Path) -> EnvironmentManager:
    config = RuntimesConfig(environment_paths=[str(definitions_dir)])
    manager: EnvironmentManager = config.build_environment_manager(str(data), data / "nj", "")
    return manager


def test_local_version_exports_and_imports_as_the_same_version(
    definitions_dir: Path, tmp_path: Path
) -> None:
    source = fresh_manager(definitions_dir, tmp_path / "source")
    record = source.build("mini", "local")
    folder = source.export("mini", record.short, tmp_path / "out")
    assert {p.name for p in folder.iterdir()} == {"record.json", "requirements.lock", "Dockerfile"}
    assert (
        "pip install --no-cache-dir -r /tmp/requirements.lock"
        in (folder / "Dockerfile").read_text()
    )

    target = fresh_manager(definitions_dir, tmp_path / "target")
    imported = target.import_(folder)
    assert imported.version == record.version
    assert target.local.is_materialised(imported)

    lock = folder / "requirements.lock"
    lock.write_text(lock.read_text() + "# tampered\n")
    with pytest.raises(NJError) as err:
        fresh_manager(definitions_dir, tmp_path / "third").import_(folder)
    assert err.value.status == 422 and "does not match" in err.value.message


def test_bad_export_folders_are_refused(definitions_dir: Path, tmp_path: Path) -> None:
    manager = fresh_manager(definitions_dir, tmp_path / "m")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "record.json").write_text(json.dumps({"name": "../x"}))
    (tmp_path / "junk" / "requirements.lock").write_text("")
    with pytest.raises(NJError) as err:
        manager.import_(tmp_path / "junk")
    assert err.value.status in {400, 422}


@pytest.mark.docker
def test_docker_version_exports_and_imports_as_the_same_image(
    docker_mini: dict[str, Any],
    docker_client: Any,
    definitions_dir: Path,
    nj_session_dir: Path,
    tmp_path: Path,
) -> None:
    source = fresh_manager(definitions_dir, nj_session_dir)
    # The session's catalog lives at <session>/data; use it directly.
    source.catalog.root = nj_session_dir / "data" / "environments"
    folder = source.export("mini", docker_mini["version"], tmp_path / "out")
    assert (folder / "image.tar").stat().st_size > 10_000_000

    # The image leaves this engine, as if the export travelled to another machine (snapshots
    # other tests committed on top of it must go first: Docker keeps parents of live images).
    # Removing a large image can take a while on a busy machine: a patient client.
    slow = docker.from_env(timeout=600)
    try:
        for image in slow.images.list(all=True):
            if image.attrs.get("Parent") == docker_mini["version"]:
                slow.images.remove(image.id, force=True)
        slow.images.remove(docker_mini["version"], force=True)
    finally:
        slow.close()
    target = fresh_manager(definitions_dir, tmp_path / "target")
    imported = target.import_(folder)
    assert imported.version == docker_mini["version"]
    assert imported.parent == docker_mini["parent"] and imported.backend == "docker"
    image = docker_client.images.get(docker_mini["version"])
    assert docker_mini["image"] in image.tags
