"""Export and import of environment versions: the same version on another machine.

An export folder holds the version record, its lock, a Dockerfile that rebuilds it without
jupyter-nj, and for Docker versions the image archive (`docker save`). Loading that archive gives
back the same image ID, so importing yields exactly the same version; a local version is
materialised again from its lock and must hash to the same ID.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from ..base import NJError
from .builds.docker import ENV_PREFIX, HOME, IMAGE_PATH
from .catalog import EnvironmentCatalog
from .model import EnvironmentVersion, check_name, check_version, local_version_id, sha256_hex

RECORD_FILE = "record.json"
LOCK_FILE = "requirements.lock"
IMAGE_FILE = "image.tar"
DOCKERFILE = "Dockerfile"


def dockerfile_for(record: EnvironmentVersion, uid: int, gid: int) -> str:
    """A Dockerfile that rebuilds the version from public parts (Debian + the lock)."""
    recipe = record.recipe
    apt = " ".join(
        shlex.quote(p)
        for p in ["python3", "python3-venv", "ca-certificates"] + list(recipe.get("apt", []))
    )
    kernel = json.dumps(recipe["kernel"])
    return f"""# {record.name}@{record.short} ({record.backend}), exported by jupyter-nj.
# The image archive next to this file is the exact version (`docker load -i {IMAGE_FILE}`);
# this file rebuilds an equivalent image from Debian bookworm and {LOCK_FILE}.
FROM debian:bookworm
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {apt} \\
 && rm -rf /var/lib/apt/lists/*
COPY {LOCK_FILE} /tmp/{LOCK_FILE}
RUN python3 -m venv {ENV_PREFIX} \\
 && {ENV_PREFIX}/bin/pip install --no-cache-dir -r /tmp/{LOCK_FILE} \\
 && mkdir -p {HOME} && chown -R {uid}:{gid} {ENV_PREFIX} {HOME}
ENV PATH={IMAGE_PATH} VIRTUAL_ENV={ENV_PREFIX} HOME={HOME} LANG=C.UTF-8
USER {uid}:{gid}
WORKDIR {HOME}
CMD {kernel}
"""


def export_version(
    catalog: EnvironmentCatalog,
    record: EnvironmentVersion,
    target: Path,
    client: Any | None,
    uid: int,
    gid: int,
) -> Path:
    """Write `<target>/<name>-<short>/`; Docker versions need `client` for the image archive."""
    folder = Path(target) / f"{record.name}-{record.short}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECORD_FILE).write_text(json.dumps(record.to_json(), indent=2, sort_keys=True))
    (folder / LOCK_FILE).write_text(catalog.lock_text(record), encoding="utf-8")
    (folder / DOCKERFILE).write_text(dockerfile_for(record, uid, gid), encoding="utf-8")
    if record.backend == "docker":
        from docker.errors import ImageNotFound

        assert client is not None
        try:
            image = client.images.get(record.version)
        except ImageNotFound:
            raise NJError(
                404,
                "image-missing",
                f"The image of {record.name}@{record.short} is not in this engine.",
            ) from None
        with (folder / IMAGE_FILE).open("wb") as out:
            for chunk in image.save(named=False):
                out.write(chunk)
    return folder


def read_export(folder: Path) -> tuple[EnvironmentVersion, str]:
    """The record and lock of an export folder, checked for consistency."""
    try:
        data = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
        lock_text = (folder / LOCK_FILE).read_text(encoding="utf-8")
        record = EnvironmentVersion.from_json(data)
    except (OSError, ValueError, TypeError) as err:
        raise NJError(
            422, "bad-export", f"{folder} is not an environment export ({type(err).__name__})."
        ) from None
    check_name(record.name)
    check_version(record.version)
    if sha256_hex(lock_text.encode("utf-8")) != record.lock_sha256:
        raise NJError(422, "bad-export", f"The lock in {folder} does not match its record.")
    if record.backend == "local" and local_version_id(record.recipe, lock_text) != record.version:
        raise NJError(422, "bad-export", f"The local version in {folder} does not match its lock.")
    return record, lock_text


def load_image(folder: Path, record: EnvironmentVersion, client: Any) -> None:
    """Load the archive and prove it is the recorded version (same image ID)."""
    archive = folder / IMAGE_FILE
    if not archive.exists():
        raise NJError(422, "bad-export", f"{folder} has no {IMAGE_FILE} for a Docker version.")
    with archive.open("rb") as source:
        loaded = client.images.load(source)
    ids = {image.id for image in loaded}
    if record.version not in ids:
        raise NJError(
            422,
            "bad-export",
            f"The image archive holds {sorted(ids)}, not {record.name}@{record.short}.",
        )
    if record.image:
        repo, _, tag = record.image.partition(":")
        client.images.get(record.version).tag(repo, tag or "latest")
