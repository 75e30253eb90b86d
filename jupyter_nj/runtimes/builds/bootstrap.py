"""Base images made on this machine, with no image registry.

`nj-base:bookworm` is a minimal Debian root filesystem (debootstrap --variant=minbase) imported
into the engine. `nj-runtime-base:bookworm` adds Python 3, CA certificates and uv on top; every
environment image is built on it, so environment builds never run apt unless they ask for extra
Debian packages.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ...base import NJError
from .docker import BuildSettings, run_build_container

log = logging.getLogger(__name__)

BASE_IMAGE = "nj-base:bookworm"
RUNTIME_BASE_IMAGE = "nj-runtime-base:bookworm"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"

RUNTIME_BASE_SCRIPT = """
set -eu
apt-get -o Acquire::https::CAInfo=/nj-build/ca.crt update
DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::https::CAInfo=/nj-build/ca.crt \
    install -y --no-install-recommends python3 ca-certificates
rm -rf /var/lib/apt/lists/*
install -m 0755 /nj-build/uv /usr/local/bin/uv
"""


def host_debian_mirror(sources_dir: Path = Path("/etc/apt/sources.list.d")) -> str:
    """The Debian mirror apt on this host is configured with, else the public one."""
    candidates = [*sorted(sources_dir.glob("*.sources")), Path("/etc/apt/sources.list")]
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for match in re.finditer(
            r"(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.MULTILINE
        ):
            uri = match.group(1)
            if "security" not in uri and uri.rstrip("/").endswith("/debian"):
                return uri
    return DEFAULT_MIRROR


def image_or_none(client: Any, ref: str) -> Any:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(ref)
    except ImageNotFound:
        return None


def bootstrap_images(
    client: Any, settings: BuildSettings, mirror: str = "", force: bool = False
) -> dict[str, str]:
    """Make both base images when missing (or always with `force`); returns their image IDs."""
    base = image_or_none(client, BASE_IMAGE)
    if base is None or force:
        base = _import_debootstrap_rootfs(client, mirror or host_debian_mirror())
    runtime = image_or_none(client, RUNTIME_BASE_IMAGE)
    if runtime is None or force:
        repo, tag = RUNTIME_BASE_IMAGE.split(":")
        runtime = run_build_container(
            client,
            settings,
            image=BASE_IMAGE,
            script=RUNTIME_BASE_SCRIPT,
            files={},
            what="installing Python and uv into the runtime base image",
            commit_as=(repo, tag),
            commit_conf={"Labels": {"org.jupyter-nj.role": "runtime-base"}},
        )
    return {BASE_IMAGE: base.id, RUNTIME_BASE_IMAGE: runtime.id}


def _import_debootstrap_rootfs(client: Any, mirror: str) -> Any:
    if shutil.which("debootstrap") is None:
        raise NJError(
            409,
            "debootstrap-missing",
            "Making a base image without a registry needs debootstrap on the server "
            "(`apt-get install debootstrap`), run as root.",
        )
    work = Path(tempfile.mkdtemp(prefix="nj-bootstrap-"))
    try:
        rootfs = work / "rootfs"
        log.info("nj: debootstrap %s from %s", SUITE, mirror)
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(rootfs), mirror],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise NJError(
                422,
                "bootstrap-failed",
                f"debootstrap failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}",
            )
        tarball = work / "rootfs.tar"
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True
        )
        repo, tag = BASE_IMAGE.split(":")
        client.api.import_image(
            src=str(tarball),
            repository=repo,
            tag=tag,
            changes=['CMD ["/bin/bash"]', "ENV LANG=C.UTF-8"],
        )
        return client.images.get(BASE_IMAGE)
    finally:
        shutil.rmtree(work, ignore_errors=True)
