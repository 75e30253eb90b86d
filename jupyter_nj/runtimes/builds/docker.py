"""Docker backend: environment versions as images, built from recipes in throw-away containers.

A build runs a shell script in a container of the runtime base image with three mounts: the
build inputs (lock, CA bundle, uv) read-only, a named volume holding uv's cache (so a rebuild
downloads and unpacks nothing it has seen before), and optionally a wheelhouse. The container is
then committed. The build's own settings are exported inside the script, never in the container's
configuration, because `docker commit` copies that configuration into the image.

Identity: an image is tagged with the hash of everything that decides its content (runtime base
image ID, recipe, lock, kernel UID/GID, script version). Building the same inputs again finds that
tag and returns the same image ID, so the same inputs give the same version.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.types import Mount

from ...base import NJError
from ..apt import SHIM as APT_SHIM
from ..model import EnvironmentDefinition, EnvironmentVersion, sha256_hex
from .buildlog import report_line, split_lines

log = logging.getLogger(__name__)

ROLE_LABEL = "org.jupyter-nj.role"
ENV_PREFIX = "/opt/nj/env"
HOME = "/home/nj"
IMAGE_PATH = f"{ENV_PREFIX}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUILD_SCRIPT_VERSION = "nj-docker-3"
UV_CACHE_VOLUME = "nj-uv-cache"

# Exported inside every build script: the CA bundle for apt, pip and uv, and uv's cache.
BUILD_PRELUDE = """
set -eu
export SSL_CERT_FILE=/nj-build/ca.crt PIP_CERT=/nj-build/ca.crt REQUESTS_CA_BUNDLE=/nj-build/ca.crt
export UV_CACHE_DIR=/nj-cache/uv UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never NO_COLOR=1
"""


@dataclass(frozen=True)
class BuildSettings:
    """Server configuration that image builds need."""

    uv: str
    ca_bundle: str
    wheelhouse: str = ""
    kernel_uid: int = 1000
    kernel_gid: int = 100
    uv_cache_volume: str = UV_CACHE_VOLUME


# Builds, image archives and commits of large images can take many minutes on a slow disk; the
# docker SDK applies its timeout to each HTTP read, including the wait for a build to finish.
LONG_OPERATION_TIMEOUT = 3600


def docker_client(docker_host: str = "", timeout: int = 60) -> Any:
    """A client for the configured engine, or a 503 that says the engine is not reachable."""
    try:
        import docker
        from docker.errors import DockerException

        client = (
            docker.DockerClient(base_url=docker_host, timeout=timeout)
            if docker_host
            else docker.from_env(timeout=timeout)
        )
        client.ping()
        return client
    except (DockerException, OSError) as err:
        raise NJError(
            503,
            "docker-unavailable",
            f"The Docker engine is not reachable ({type(err).__name__}). Start it (or set "
            "NJApp.docker_host), or use the local backend, which needs no Docker.",
        ) from None


def run_build_container(
    client: Any,
    settings: BuildSettings,
    *,
    image: str,
    script: str,
    files: dict[str, str],
    what: str,
    commit_as: tuple[str, str],
    commit_conf: dict[str, Any],
) -> Any:
    """Run `script` as root in a container of `image`, then commit it; returns the image."""
    context = Path(tempfile.mkdtemp(prefix="nj-build-"))
    container = None
    try:
        shutil.copyfile(settings.ca_bundle, context / "ca.crt")
        shutil.copyfile(settings.uv, context / "uv")
        for name, text in files.items():
            (context / name).write_text(text, encoding="utf-8")
        context.chmod(0o755)
        # `mounts`, not `volumes`: the SDK records `volumes` targets as VOLUME entries in the
        # container's configuration, which a commit would copy into the image.
        mounts = [
            bind_mount(str(context), "/nj-build", read_only=True),
            Mount("/nj-cache", settings.uv_cache_volume, type="volume"),
        ]
        if settings.wheelhouse:
            mounts.append(bind_mount(settings.wheelhouse, "/nj-wheels", read_only=True))
        container = client.containers.run(
            image,
            ["/bin/sh", "-c", BUILD_PRELUDE + script],
            detach=True,
            user="0:0",
            mounts=mounts,
            labels={ROLE_LABEL: "build"},
        )
        # Follow the step's output as it runs. The stream ends when the container exits, and
        # can end before the engine has logged the last lines: those are read once it has.
        reported = 0
        for line in split_lines(container.logs(stream=True, follow=True)):
            report_line(line)
            reported += 1
        result = container.wait()
        for line in list(split_lines([container.logs()]))[reported:]:
            report_line(line)
        if result.get("StatusCode") != 0:
            tail = container.logs(tail=60).decode("utf-8", "replace")
            raise NJError(
                422,
                "build-failed",
                f"{what} failed (exit {result.get('StatusCode')}). End of the build log:\n{tail}",
            )
        conf: dict[str, Any] = {
            "Env": [f"PATH={IMAGE_PATH}", "LANG=C.UTF-8"],
            "Cmd": ["/bin/bash"],
            "User": "",
            "WorkingDir": "/",
        }
        conf.update(commit_conf)
        labels = dict(commit_conf.get("Labels", {}))
        labels.setdefault(ROLE_LABEL, "image")
        conf["Labels"] = labels
        repo, tag = commit_as
        return container.commit(repository=repo, tag=tag, conf=conf)
    finally:
        if container is not None:
            container.remove(force=True)
        shutil.rmtree(context, ignore_errors=True)


def bind_mount(source: str, target: str, read_only: bool = False) -> Mount:
    return Mount(target, source, type="bind", read_only=read_only)


def image_repository(name: str) -> str:
    return f"nj-env/{name}"


class DockerBackend:
    """Builds environment versions as images. Blocking (docker SDK): call it from a thread."""

    def __init__(self, settings: BuildSettings, docker_host: str = "") -> None:
        self.settings = settings
        self.docker_host = docker_host

    def client(self) -> Any:
        return docker_client(self.docker_host, timeout=LONG_OPERATION_TIMEOUT)

    def build_key(self, client: Any, definition: EnvironmentDefinition, base_id: str) -> str:
        material = {
            "format": BUILD_SCRIPT_VERSION,
            "base": base_id,
            "recipe": definition.recipe(),
            "lock": sha256_hex(definition.lock_text.encode("utf-8")),
            "uid": self.settings.kernel_uid,
            "gid": self.settings.kernel_gid,
            "wheelhouse": bool(self.settings.wheelhouse),
        }
        return sha256_hex(json.dumps(material, sort_keys=True).encode("utf-8"))

    def build(
        self,
        definition: EnvironmentDefinition,
        lock_sha256: str,
        parent: str | None = None,
        reuse: bool = True,
    ) -> EnvironmentVersion:
        """The image for a definition; `reuse=False` builds again even when the tag exists."""
        from .bootstrap import RUNTIME_BASE_IMAGE, image_or_none

        client = self.client()
        try:
            base = image_or_none(client, RUNTIME_BASE_IMAGE)
            if base is None:
                raise NJError(
                    409,
                    "no-base-image",
                    f"The base image {RUNTIME_BASE_IMAGE} is missing: run "
                    "`jupyter nj env bootstrap` once on this machine (it needs no registry).",
                )
            key = self.build_key(client, definition, base.id)
            repo, tag = image_repository(definition.name), key[:16]
            image = image_or_none(client, f"{repo}:{tag}") if reuse else None
            if image is None:
                image = run_build_container(
                    client,
                    self.settings,
                    image=base.id,
                    script=self._script(definition),
                    files={"requirements.lock": definition.lock_text, "apt-shim": APT_SHIM},
                    what=f"building {definition.name} (docker)",
                    commit_as=(repo, tag),
                    commit_conf=self._image_conf(definition, key),
                )
            return EnvironmentVersion(
                name=definition.name,
                version=image.id,
                backend="docker",
                recipe=definition.recipe(),
                lock_sha256=lock_sha256,
                parent=parent,
                image=f"{repo}:{tag}",
            )
        finally:
            client.close()

    def _script(self, definition: EnvironmentDefinition) -> str:
        uid, gid = self.settings.kernel_uid, self.settings.kernel_gid
        find_links = "--find-links /nj-wheels" if self.settings.wheelhouse else ""
        apt = ""
        if definition.apt:
            packages = " ".join(shlex.quote(p) for p in definition.apt)
            apt = (
                "apt-get -o Acquire::https::CAInfo=/nj-build/ca.crt update\n"
                "DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::https::CAInfo=/nj-build/ca.crt"
                f" install -y --no-install-recommends {packages}\n"
                "rm -rf /var/lib/apt/lists/*\n"
            )
        # Bytecode is compiled here, once, so that every kernel start imports from .pyc files.
        return (
            apt
            + f"uv venv --quiet --python /usr/bin/python3 {ENV_PREFIX}\n"
            + f"uv pip sync --compile-bytecode --python {ENV_PREFIX}/bin/python {find_links} "
            + "/nj-build/requirements.lock\n"
            + f"mkdir -p {HOME}\n"
            # apt for the unprivileged kernel: asks the server (see jupyter_nj/runtimes/apt.py).
            + "install -m 0755 /nj-build/apt-shim /usr/local/bin/apt-get\n"
            + "install -m 0755 /nj-build/apt-shim /usr/local/bin/apt\n"
            # The kernel's own user owns the venv, so `pip install` in a cell needs no root.
            + f"chown -R {uid}:{gid} {ENV_PREFIX} {HOME}\n"
        )

    def _image_conf(self, definition: EnvironmentDefinition, key: str) -> dict[str, Any]:
        return self._image_conf_for(definition.name, definition.kernel, key)

    def _image_conf_for(self, name: str, kernel: list[str], key: str) -> dict[str, Any]:
        return {
            "Env": [
                f"PATH={IMAGE_PATH}",
                f"VIRTUAL_ENV={ENV_PREFIX}",
                f"HOME={HOME}",
                "LANG=C.UTF-8",
            ],
            "User": f"{self.settings.kernel_uid}:{self.settings.kernel_gid}",
            "WorkingDir": HOME,
            "Cmd": kernel,
            "Labels": {
                ROLE_LABEL: "environment",
                "org.jupyter-nj.environment": name,
                "org.jupyter-nj.build-key": key,
            },
        }

    def snapshot(self, container_id: str, parent: EnvironmentVersion) -> tuple[str, str, str]:
        """Commit a running runtime as an image: (image ID, image reference, frozen packages).

        Only the container's writable layer is captured: the notebook folder, the per-kernel
        folder (connection file, the kernel's variables) and the CA bundle are mounts and stay
        out, and kernel variables never were in the container's configuration. Caches are
        dropped first so a snapshot after one small install stays small.
        """
        from docker.errors import NotFound

        client = self.client()
        try:
            try:
                container = client.containers.get(container_id)
            except NotFound:
                raise NJError(
                    409, "runtime-gone", "The runtime's container is gone; restart the kernel."
                ) from None
            container.exec_run(["sh", "-c", f"rm -rf {HOME}/.cache /tmp/pip-* || true"], user="0")
            frozen = container.exec_run(
                [f"{ENV_PREFIX}/bin/python", "-m", "pip", "freeze", "--all"],
                environment={"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
            )
            if frozen.exit_code != 0:
                raise NJError(
                    409, "snapshot-failed", "Could not list the runtime's packages (pip freeze)."
                )
            conf = self._image_conf_for(parent.name, parent.recipe["kernel"], "")
            conf["Labels"].update(
                {
                    "org.jupyter-nj.parent": parent.version,
                    # Overwrite the kernel container's own labels, which commit would copy.
                    "org.jupyter-nj.kernel-id": "",
                    "org.jupyter-nj.notebook": "",
                    "org.jupyter-nj.version": "",
                    "org.jupyter-nj.server": "",
                }
            )
            image = container.commit(conf=conf)
            repo, tag = image_repository(parent.name), f"snap-{image.id[7:23]}"
            image.tag(repo, tag)
            return str(image.id), f"{repo}:{tag}", frozen.output.decode("utf-8", "replace")
        finally:
            client.close()

    def image_present(self, record: EnvironmentVersion) -> bool:
        from .bootstrap import image_or_none

        client = self.client()
        try:
            return image_or_none(client, record.version) is not None
        finally:
            client.close()
