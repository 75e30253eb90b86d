"""Where jupyter-nj keeps its data for one server: outside the contents root, keyed by the root.

The server root is what runtimes see: a Docker runtime mounts its notebook's folder read-write, so
anything the server trusts must not live under it. jupyter-nj's data (the history store, the
environment catalog, the kernelspecs it writes) therefore lives in a per-server folder under the
Jupyter data dir, named after the root it serves: `<jupyter data dir>/nj/servers/<name>-<hash>`.
The command line finds the same folder from the same root.

Servers of earlier releases kept it at `<root>/.nj`; the first start moves it here, whole.

The environment catalog is the exception: built versions are the user's, not one folder's, so by
default it is one per user, `<jupyter data dir>/nj/environments`, and a notebook moved to another
folder (or opened by a server started elsewhere) still finds its pinned versions. Releases that
kept a catalog per server had it at `<server data>/environments`; the first start merges it in.
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


def user_catalog_dir() -> Path:
    """The user's environment catalog, shared by every server and command line of this user."""
    return Path(jupyter_data_dir()) / "nj" / "environments"


def user_publications_dir() -> Path:
    """The user's publications, shared by every server and command line of this user."""
    return Path(jupyter_data_dir()) / "nj" / "publications"


# What a catalog holds that can move: version records (their `current-<backend>` pointers too)
# and locks. Venvs hold absolute paths; they are made again from their lock when next needed.
MERGED = ("records", "locks")


def merge_catalog(old: Path, target: Path, log: logging.Logger) -> int:
    """Move the version records and locks of the catalog at `old` into the one at `target`.

    Records and locks are immutable and named by their content, so a file already in `target`
    is the same file and is kept; a `current-<backend>` pointer already there is the user's
    newer choice and wins too. Each file lands under a temporary name and is renamed into
    place, so an interrupted merge leaves no half file and is finished at the next start; `old`
    is removed once everything is in. A symlink is never followed. Returns the files moved.
    """
    if old.is_symlink() or not old.is_dir() or old.resolve() == target.resolve():
        return 0
    moved = 0
    for part in MERGED:
        base = old / part
        if base.is_symlink() or not base.is_dir():
            continue
        for source in sorted(base.rglob("*")):
            if source.is_symlink() or not source.is_file() or source.name.startswith(".tmp-"):
                continue
            destination = target / source.relative_to(old)
            if destination.exists():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial = destination.with_name(f".tmp-{destination.name}")
            shutil.copyfile(source, partial)
            os.replace(partial, destination)
            moved += 1
    shutil.rmtree(old)
    if moved:
        log.warning(
            "jupyter-nj: moved %d environment record(s) from this server's catalog %s into the "
            "user's catalog %s (set NJApp.environment_catalog_dir to choose another place)",
            moved,
            old,
            target,
        )
    return moved


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
