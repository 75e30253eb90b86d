"""Build the wheel and check it carries what `pip install jupyter-nj` users need with no extra step:
the prebuilt lab plugin, its install.json, and the config file that enables the server extension."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REQUIRED = [
    "jupyter_nj/__init__.py",
    "jupyter_nj/_version.py",
    "jupyter_nj-{v}.data/data/etc/jupyter/jupyter_server_config.d/jupyter_nj.json",
    "jupyter_nj-{v}.data/data/share/jupyter/labextensions/jupyter-nj/package.json",
    "jupyter_nj-{v}.data/data/share/jupyter/labextensions/jupyter-nj/install.json",
    "jupyter_nj-{v}.data/data/share/jupyter/labextensions/jupyter-nj/static/style.js",
    "jupyter_nj-{v}.data/data/share/jupyter/labextensions/jupyter-nj/schemas/jupyter-nj/status.json",
    # The File menu and file browser entries of import and export are placed by this schema.
    "jupyter_nj-{v}.data/data/share/jupyter/labextensions/jupyter-nj/schemas/jupyter-nj/sharing.json",
]


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    uv = Path(sys.executable).parent / "uv"
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [str(uv), "build", "--wheel", "--python", sys.executable, "--out-dir", out, str(root)],
            check=True,
            capture_output=True,
        )
        (wheel,) = Path(out).glob("jupyter_nj-*.whl")
        version = wheel.name.split("-")[1]
        names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name.format(v=version) for name in REQUIRED if name.format(v=version) not in names]
    if missing:
        print(f"check-wheel: {wheel.name} lacks: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"check-wheel: {wheel.name} carries the lab plugin and the auto-enable config")
    return 0


if __name__ == "__main__":
    sys.exit(main())
