"""Build the users' server image for DockerSpawner from this checkout (docs/jupyterhub.md).

    python deploy/jupyterhub/singleuser/build_image.py [--tag nj-singleuser:latest]

Needs the runtime base image (`jupyter nj env bootstrap` makes it, no registry involved), uv
beside this Python, and the package index (the image's installs reach it through the CA bundle
given, so a TLS-inspecting proxy works). The context holds:

- the jupyter-nj wheel built from this checkout (`uv build`; the lab plugin must be built, as
  `make` does, or hatch runs npm);
- requirements.txt: jupyter-nj's dependencies and the hub's own `jupyterhub` release (its
  `jupyterhub-singleuser` must match the hub), resolved for the base image's Python, with
  jupyter_server, JupyterLab and jupyter-collaboration at this environment's versions; the
  install layer stays cached until the resolution changes;
- the CA bundle, used by the build's installs only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEFAULT_TAG = "nj-singleuser:latest"
DEFAULT_BASE = "nj-runtime-base:bookworm"
# Pinned in the image to this environment's versions: what the hub's tests run the servers with.
SERVER_PACKAGES = ("jupyter_server", "jupyterlab", "jupyter-collaboration")


def uv_command() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("build_image: uv is needed (`pip install uv`)")
    return found


def image_python(base: str) -> str:
    """The base image's Python version: wheels are chosen for it (bookworm has 3.11.2, older than
    what some releases this Python runs need)."""
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", base, "python3", "-c"]
        + ["import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def pinned_requirements(uv: str, out: Path, python: str) -> None:
    """jupyter-nj's dependencies plus the hub's jupyterhub release, resolved for the image's
    Python, with the server packages pinned to the versions this environment runs."""
    pins = [f"{name}=={version(name)}" for name in ("jupyterhub", *SERVER_PACKAGES)]
    wanted = out / "requirements.in"
    wanted.write_text("\n".join(pins) + "\n", encoding="utf-8")
    machine = {"arm64": "aarch64"}.get(platform.machine(), platform.machine())
    subprocess.run(
        [
            uv,
            "pip",
            "compile",
            "--quiet",
            "--no-header",
            "--no-annotate",
            "--python-version",
            python,
        ]
        + ["--python-platform", f"{machine}-manylinux_2_36"]
        + ["--output-file", str(out / "requirements.txt"), str(REPO / "pyproject.toml")]
        + [str(wanted)],
        check=True,
    )
    wanted.unlink()


def build_context(context: Path, ca_bundle: Path, base: str) -> None:
    uv = uv_command()
    subprocess.run(
        [uv, "build", "--wheel", "--quiet", "--python", sys.executable, "--out-dir", context]
        + [str(REPO)],
        check=True,
    )
    pinned_requirements(uv, context, image_python(base))
    shutil.copyfile(ca_bundle, context / "ca.crt")
    shutil.copyfile(HERE / "Dockerfile", context / "Dockerfile")
    # Read by the image's kernel environment build only (JUPYTER_CONFIG_DIR of that step).
    config = context / "build-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"NJApp": {"build_ca_bundle": "/nj-build/ca.crt"}}), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag ({DEFAULT_TAG})")
    parser.add_argument("--base", default=DEFAULT_BASE, help=f"base image ({DEFAULT_BASE})")
    parser.add_argument(
        "--ca-bundle",
        default=os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt",
        help="CA bundle (PEM) the build's installs trust (default: SSL_CERT_FILE, else the "
        "system bundle)",
    )
    args = parser.parse_args(argv)
    ca_bundle = Path(args.ca_bundle)
    if not ca_bundle.is_file():
        parser.error(f"--ca-bundle {ca_bundle} is not a file: give the PEM bundle to trust")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nj-singleuser-") as folder:
        context = Path(folder)
        build_context(context, ca_bundle, args.base)
        prepared = time.monotonic()
        subprocess.run(
            ["docker", "build", "--quiet", "--tag", args.tag]
            + ["--build-arg", f"BASE_IMAGE={args.base}", str(context)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    done = time.monotonic()
    print(
        f"build_image: {args.tag} built in {done - started:.0f} s "
        f"(context {prepared - started:.0f} s, docker build {done - prepared:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
