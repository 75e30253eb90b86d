"""Where jupyter-nj keeps its data for one server: outside the contents root, keyed by the root.

The server root is what runtimes see: a Docker runtime mounts its notebook's folder read-write, so
anything the server trusts must not live under it. jupyter-nj's data (the history store, the
environment catalog, the kernelspecs it writes) therefore lives in a per-server folder under the
Jupyter data dir, named after the root it serves: `<jupyter data dir>/nj/servers/<name>-<hash>`.
The command line finds the same folder from the same root.

Servers of earlier releases kept it at `<root>/.nj`; the first start moves it here, whole.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir

LEGACY_FOLDER = ".nj"
# Local venvs hold absolute paths (script shebangs, pyvenv.cfg): they cannot move with the data.
# They are a cache, made again from their lock on the next kernel start.
NOT_MOVED = ("environments/venvs", "environments/runtimes")


def default_data_dir(root_dir: str | os.PathLike[str]) -> Path:
    """The data folder of the server whose contents root is `root_dir`."""
    root = Path(root_dir).resolve()
    digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", root.name or "root")[:40]
    return Path(jupyter_data_dir()) / "nj" / "servers" / f"{name}-{digest}"


def migrate_legacy_data(
    root_dir: str | os.PathLike[str], target: Path, log: logging.Logger
) -> bool:
    """Move `<root>/.nj` (the layout of earlier releases) to `target`, once.

    Nothing happens when `target` already exists (its data wins: a `.nj` that appears in the root
    later may have been planted by a runtime and is never trusted), or when `<root>/.nj` is not a
    real folder (a symlink is never followed). The move is a rename where both are on one file
    system; otherwise a copy into a temporary sibling of `target`, renamed into place once
    complete, after which the old folder is removed: an interrupted move leaves the old folder
    whole and is done again at the next start. Returns whether data was moved.
    """
    legacy = Path(root_dir) / LEGACY_FOLDER
    if target.exists() or legacy.is_symlink() or not legacy.is_dir():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    for cache in NOT_MOVED:
        shutil.rmtree(legacy / cache, ignore_errors=True)
    try:
        os.rename(legacy, target)
    except OSError:
        partial = target.with_name(target.name + ".moving")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(legacy, partial, symlinks=True)
        os.rename(partial, target)
        shutil.rmtree(legacy)
    log.warning(
        "jupyter-nj: moved its data from %s to %s, out of the folder runtimes can write "
        "(set NJApp.nj_dir to choose another place)",
        legacy,
        target,
    )
    return True
