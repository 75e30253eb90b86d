"""Local backend: a version materialised as a uv venv from its lock, plus lock compilation.

uv keeps one cache for every build (its default user cache), so a second venv from the same or a
similar lock links files from the cache instead of downloading or unpacking them again.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...base import NJError
from ..catalog import EnvironmentCatalog
from ..model import INPUT_FILE, LOCK_FILE, EnvironmentVersion
from .buildlog import report_line

log = logging.getLogger(__name__)

READY_MARKER = ".nj-ready"
# Built-in locks target the platform the container images run on and most servers use.
LOCK_PLATFORM = "x86_64-manylinux_2_28"


def find_uv() -> str:
    """The uv executable: the one installed with jupyter-nj, else the one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    found = shutil.which("uv")
    if not found:
        raise NJError(
            409, "uv-missing", "uv is not installed: `pip install uv` on the Jupyter server."
        )
    return found


@dataclass(frozen=True)
class BuildTools:
    """What every build needs from the server's configuration."""

    uv: str
    ca_bundle: str = ""
    wheelhouse: str = ""

    def env(self) -> dict[str, str]:
        """The environment for uv: the server's, minus another venv, plus the CA bundle."""
        dropped = {"VIRTUAL_ENV", "PYTHONPATH", "FORCE_COLOR", "CLICOLOR_FORCE"}
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env["NO_COLOR"] = "1"  # the build log is read in the panel and in error messages
        if self.ca_bundle:
            env["SSL_CERT_FILE"] = self.ca_bundle
        return env

    def find_links(self) -> list[str]:
        return ["--find-links", self.wheelhouse] if self.wheelhouse else []


def run_logged(cmd: Sequence[str], env: dict[str, str], what: str, cwd: Path | None = None) -> str:
    """Run a build step, reporting each line it prints (`buildlog`); on failure a 422 with the
    end of its log (never the environment)."""
    log.info("nj: %s: %s", what, " ".join(cmd))
    try:
        proc = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except FileNotFoundError:
        raise NJError(
            409, "tool-missing", f"{what} needs {cmd[0]!r}, which is not installed on the server."
        ) from None
    output: list[str] = []
    assert proc.stdout is not None
    with proc:
        for line in proc.stdout:
            output.append(line)
            report_line(line)
    text = "".join(output)
    if proc.returncode != 0:
        raise NJError(
            422,
            "build-failed",
            f"{what} failed (exit {proc.returncode}). End of the build log:\n{text[-3000:]}",
        )
    return text


# What `local_problem` found per `[local] requires` command: installing R while the server runs
# is rare, so a server checks once (a restart sees a new install).
_REQUIREMENT_CHECKS: dict[tuple[str, ...], str] = {}
_REQUIREMENT_LOCK = threading.Lock()


def local_problem(name: str, recipe: dict[str, Any]) -> str:
    """Why the local backend cannot run this environment on this server, or "" when it can.

    Blocking (it may run the `[local] requires` command once). An environment whose kernel is
    a program of the server's own (R) names a command that succeeds only where it is installed.
    """
    local = recipe.get("local") or {}
    command = tuple(local.get("requires") or ())
    if not command:
        return ""
    with _REQUIREMENT_LOCK:
        if command not in _REQUIREMENT_CHECKS:
            _REQUIREMENT_CHECKS[command] = _run_requirement(command)
        failure = _REQUIREMENT_CHECKS[command]
    if not failure:
        return ""
    install = local.get("install") or f"install {command[0]} on the server"
    return (
        f"The local backend runs environment {name!r} with the server's own {command[0]}, and "
        f"this server cannot ({failure}): {install}."
    )


def _run_requirement(command: tuple[str, ...]) -> str:
    """ "" when the command succeeds, else what went wrong, briefly."""
    try:
        proc = subprocess.run(
            list(command),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        return f"{command[0]} is not installed"
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"`{' '.join(command)}` did not run: {type(err).__name__}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return f"`{' '.join(command)}` failed: {last[:200]}"
    return ""


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


class LocalBackend:
    """Materialises versions as venvs under the catalog. Blocking: call it from a thread."""

    def __init__(self, catalog: EnvironmentCatalog, tools: BuildTools) -> None:
        self.catalog = catalog
        self.tools = tools

    def is_materialised(self, record: EnvironmentVersion) -> bool:
        return (self.catalog.venv_path(record.version) / READY_MARKER).exists()

    def materialise(self, record: EnvironmentVersion) -> Path:
        """The venv of a version, created from its lock when it is not there yet."""
        problem = local_problem(record.name, record.recipe)
        if problem:
            raise NJError(409, "not-available-locally", problem)
        venv = self.catalog.venv_path(record.version)
        if (venv / READY_MARKER).exists():
            return venv
        with self.catalog.venv_lock(record.version):
            if (venv / READY_MARKER).exists():  # made by another server meanwhile
                return venv
            if venv.exists():
                # A build that died half-way; venvs are not relocatable, so start again in place.
                shutil.rmtree(venv)
            try:
                self._install_lock(record, venv)
            except BaseException:
                shutil.rmtree(venv, ignore_errors=True)
                raise
            (venv / READY_MARKER).write_text(record.version + "\n", encoding="utf-8")
        return venv

    def _install_lock(self, record: EnvironmentVersion, venv: Path) -> None:
        lock = self.catalog.lock_path(record.lock_sha256)
        self.catalog.lock_text(record)  # a clear error when the lock is gone
        env = self.tools.env()
        run_logged(
            [self.tools.uv, "venv", "--quiet", "--python", record.recipe["python"], str(venv)],
            env,
            f"creating the venv for {record.name}@{record.short}",
        )
        run_logged(
            [
                self.tools.uv,
                "pip",
                "sync",
                "--python",
                str(venv_python(venv)),
                *self.tools.find_links(),
                str(lock),
            ],
            env,
            f"installing the lock of {record.name}@{record.short}",
        )

    def overlay(self, record: EnvironmentVersion, base: Path, target: Path) -> Path:
        """A private venv for one runtime, layered over the version's shared venv.

        The version's venv is shared by every kernel of that version and must never change, so
        `pip install` in a cell lands here instead: the overlay's site-packages come first on
        sys.path and a .pth file adds the version's site-packages after them.
        """
        run_logged(
            [self.tools.uv, "venv", "--quiet", "--python", str(venv_python(base)), str(target)],
            self.tools.env(),
            f"creating a runtime of {record.name}@{record.short}",
        )
        base_site = _site_packages(base)
        (_site_packages(target) / "_nj_environment.pth").write_text(f"{base_site}\n")
        python = venv_python(target)
        for script in ("pip", "pip3"):
            # The version's own `pip` script would install into the shared venv.
            path = target / "bin" / script
            path.write_text(f'#!/bin/sh\nexec "{python}" -m pip "$@"\n')
            path.chmod(0o755)
        return target

    def freeze(self, venv: Path) -> str:
        """Every package a venv's Python sees (overlay and version), as requirement lines."""
        return run_logged(
            [str(venv_python(venv)), "-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
            self.tools.env(),
            "listing installed packages",
        )

    def materialise_snapshot(
        self, parent: EnvironmentVersion, overlay: Path, record: EnvironmentVersion
    ) -> Path:
        """The venv of a snapshot: the parent's lock again, then what the runtime added on top.

        The parent's packages come from uv's cache (seconds); the overlay's are copied, after
        removing any parent package the runtime upgraded, so each package exists once.
        """
        venv = self.catalog.venv_path(record.version)
        with self.catalog.venv_lock(record.version):
            if (venv / READY_MARKER).exists():
                return venv
            shutil.rmtree(venv, ignore_errors=True)  # a snapshot that died half-way
            return self._make_snapshot_venv(parent, overlay, record, venv)

    def _make_snapshot_venv(
        self, parent: EnvironmentVersion, overlay: Path, record: EnvironmentVersion, venv: Path
    ) -> Path:
        try:
            self._install_lock(parent, venv)
            site = _site_packages(venv)
            added = [
                p for p in _site_packages(overlay).iterdir() if p.name != "_nj_environment.pth"
            ]
            replaced = sorted(
                {_dist_name(p) for p in added if p.name.endswith(".dist-info")}
                & {_dist_name(p) for p in site.glob("*.dist-info")}
            )
            if replaced:
                run_logged(
                    [self.tools.uv, "pip", "uninstall", "--python", str(venv_python(venv))]
                    + replaced,
                    self.tools.env(),
                    "removing packages the runtime upgraded",
                )
            for item in added:
                if item.is_dir():
                    shutil.copytree(item, site / item.name, symlinks=True, dirs_exist_ok=True)
                else:
                    shutil.copy2(item, site / item.name)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        (venv / READY_MARKER).write_text(record.version + "\n", encoding="utf-8")
        return venv


def _dist_name(dist_info: Path) -> str:
    """Normalised project name of a `name-version.dist-info` folder."""
    return re.sub(r"[-_.]+", "-", dist_info.name.rsplit("-", 1)[0]).lower()


def _site_packages(venv: Path) -> Path:
    found = sorted((venv / "lib").glob("python3*/site-packages"))
    if not found:
        raise NJError(409, "broken-venv", f"{venv} has no site-packages folder.")
    return found[0]


def compile_lock(folder: Path, python: str, tools: BuildTools) -> Path:
    """Resolve `requirements.in` into a hashed `requirements.lock` next to it."""
    name = folder.name
    if not (folder / INPUT_FILE).exists():
        raise NJError(422, "bad-definition", f"{name!r} has no {INPUT_FILE} to lock.")
    run_logged(
        [
            tools.uv,
            "pip",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--python-version",
            python,
            "--python-platform",
            LOCK_PLATFORM,
            "--custom-compile-command",
            f"jupyter nj env lock {name}",
            *tools.find_links(),
            INPUT_FILE,
            "-o",
            LOCK_FILE,
        ],
        tools.env(),
        f"locking {name}",
        cwd=folder,
    )
    return folder / LOCK_FILE
