"""The installed package is what a user gets from `pip install`: Jupyter finds and enables it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jupyter_nj

JUPYTER = str(Path(sys.executable).parent / "jupyter")


def jupyter(*args: str) -> str:
    result = subprocess.run(
        [JUPYTER, *args], capture_output=True, text=True, timeout=120, check=True
    )
    # Both commands write their listing to stderr; colour codes are stripped for matching.
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)


def test_server_extension_is_auto_enabled_and_validates() -> None:
    listing = jupyter("server", "extension", "list")
    assert re.search(r"jupyter_nj\s+enabled", listing), listing
    assert re.search(rf"jupyter_nj {re.escape(jupyter_nj.__version__)}\s+OK", listing), listing


def test_collaboration_is_on_by_default() -> None:
    listing = jupyter("server", "extension", "list")
    assert re.search(r"jupyter_server_ydoc\s+enabled", listing), listing


def test_labextension_is_installed_enabled_and_ok() -> None:
    listing = jupyter("labextension", "list")
    assert re.search(rf"jupyter-nj v{re.escape(jupyter_nj.__version__)}\s+enabled\s+OK", listing), (
        listing
    )


def test_labextension_paths_point_at_a_built_extension() -> None:
    (entry,) = jupyter_nj._jupyter_labextension_paths()
    built = Path(jupyter_nj.__file__).parent / entry["src"]
    package = json.loads((built / "package.json").read_text())
    assert package["name"] == entry["dest"] == "jupyter-nj"
    assert package["version"] == jupyter_nj.__version__
    assert (built / "static" / "style.js").exists()
    # The settings schema of the status plugin ships with the prebuilt extension.
    assert (built / "schemas" / "jupyter-nj" / "status.json").exists()
