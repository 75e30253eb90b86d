"""What a container runtime can reach on the host, and what it never can.

A Docker runtime mounts its notebook's folder read-write at the same path (a pooled one, the whole
server root), so that the notebook can write next to itself. Whatever the server executes or
trusts must stay out of its reach whatever uid the kernel has (with the `jovyan` layout the kernel
owns the folder): jupyter-nj's data (history, environment catalog, kernelspecs), Jupyter's config,
data and runtime folders (kernelspecs, the notebook trust database, the server's token), IPython's
start-up folder, the server's Python, the environment definitions builds run, the CA bundle and
wheelhouse builds trust. Permissions cannot do that, so mounts do:

- a *hidden* folder inside a mounted one is covered by an empty, read-only tmpfs: the runtime can
  neither read, write, rename nor remove it (a mount point is busy);
- a *read-only* folder or file is bound onto itself read-only;
- every folder between the mounted one and a covered path is bound onto itself too, so that no
  rename of a parent can move the covered path away on the host and put a forged one in its place;
- a folder that is, or holds, the server user's home is mounted read-only, with every dot-file
  and dot-folder of the home hidden: login shells run whatever appears there (`.bash_profile`),
  and a mount cannot stop a new file from appearing; the runtime is told so (a warning).

Hard links cannot cross mounts (EXDEV), and a symlink only names a path, which inside the
container leads to the cover or to nothing. The server's own readers (the contents API, history)
refuse links that leave the root: see `jupyter_nj/links.py`.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_config_path, jupyter_path, jupyter_runtime_dir


class BoundaryError(RuntimeError):
    """A runtime cannot be given this folder without exposing what the server trusts."""


@dataclass(frozen=True)
class RuntimeBoundary:
    """The paths a runtime must not write (`hidden` it must not even see).

    `hidden` and `read_only_folders` are folders, made (empty, as the server's user) when they
    are missing inside a runtime's folder, so that the runtime cannot make them; `read_only`
    paths (files too) are covered only when they exist.
    """

    hidden: tuple[str, ...]
    read_only: tuple[str, ...] = ()
    read_only_folders: tuple[str, ...] = ()
    home: str = ""


def server_boundary(
    nj_dir: str | os.PathLike[str],
    read_only: Iterable[str | os.PathLike[str]] = (),
    read_only_folders: Iterable[str | os.PathLike[str]] = (),
    catalog: str | os.PathLike[str] = "",
) -> RuntimeBoundary:
    """The boundary of this server process: its data, the environment catalog, Jupyter's and
    Python's folders, and what its builds trust (environment definitions as
    `read_only_folders`)."""
    hidden = [
        os.fspath(nj_dir),
        *([os.fspath(catalog)] if catalog else []),
        jupyter_runtime_dir(),
        *jupyter_config_path(),
        *jupyter_path(),
        os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython"),
        site.getuserbase(),
        sys.prefix,
        sys.exec_prefix,
    ]
    return RuntimeBoundary(
        hidden=_unique(hidden),
        read_only=_unique(os.fspath(p) for p in read_only if os.fspath(p)),
        read_only_folders=_unique(os.fspath(p) for p in read_only_folders if os.fspath(p)),
        home=os.path.realpath(os.path.expanduser("~")),
    )


@dataclass
class MountPlan:
    """The mounts that give a runtime `folder`, and what the user should know about them."""

    mounts: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_folder_mounts(folder: str, boundary: RuntimeBoundary) -> MountPlan:
    """Mounts for a runtime that sees `folder` (read-write where the boundary allows).

    Blocking (stats and, where a covered folder does not exist yet, mkdir as the server's user:
    a mount point the engine made would belong to root). Raises `BoundaryError` when `folder`
    itself lies inside a hidden path.
    """
    from .builds.docker import bind_mount

    work = Path(os.path.realpath(folder))
    hidden = [Path(os.path.realpath(p)) for p in boundary.hidden]
    for path in hidden:
        if _within(work, path):
            raise BoundaryError(
                f"The notebook's folder {str(work)!r} is inside {str(path)!r}, which jupyter-nj "
                "keeps out of every runtime's reach (server data, Jupyter or Python folders). "
                "Move the notebook to another folder of the server root."
            )
    plan = MountPlan()
    home = Path(boundary.home) if boundary.home else None
    holds_home = home is not None and _within(home, work)
    protected = (*boundary.read_only, *boundary.read_only_folders)
    read_only = holds_home or any(_within(work, Path(p)) for p in protected)
    plan.mounts.append(bind_mount(str(work), str(work), read_only=read_only))
    if holds_home:
        assert home is not None
        plan.warnings.append(
            f"This runtime's folder {str(work)!r} is your home directory or holds it, so the "
            "runtime sees it read-only (files written there could run at your next login) and "
            "cannot see its dot-files. Keep notebooks in a sub-folder to let them write next to "
            "themselves."
        )
        hidden.extend(_dot_entries(home))
    # What to cover inside the folder; a path inside another covered one is covered with it.
    covers: dict[Path, bool] = {}  # path -> hidden (else read-only)
    for path in sorted(p for p in hidden if p != work and _within(p, work)):
        if not any(_within(path, done) for done, hide in covers.items() if hide):
            covers[path] = True
    made_when_missing = {*hidden, *(Path(os.path.realpath(p)) for p in boundary.read_only_folders)}
    if not read_only:
        for name in sorted(protected):
            path = Path(os.path.realpath(name))
            if path != work and _within(path, work) and not any(_within(path, c) for c in covers):
                covers[path] = False
    # Folders already mounted onto themselves (covers included): each is mounted once.
    mounted = set(covers)
    for path, hide in sorted(covers.items()):
        if not path.exists() and not path.is_symlink():
            if path not in made_when_missing:
                continue  # a file that is not there yet: nothing to protect
            path.mkdir(parents=True, exist_ok=True)
        _cover(plan, work, path, hide=hide, skip=mounted)
    return plan


def _cover(plan: MountPlan, work: Path, path: Path, *, hide: bool, skip: set[Path]) -> None:
    """Cover `path` (inside `work`), binding each folder between them onto itself first."""
    from docker.types import Mount

    from .builds.docker import bind_mount

    for parent in reversed(path.relative_to(work).parents):
        step = work / parent
        if step != work and step not in skip:
            skip.add(step)
            plan.mounts.append(bind_mount(str(step), str(step)))
    if hide and path.is_dir() and not path.is_symlink():
        plan.mounts.append(Mount(str(path), None, type="tmpfs", read_only=True))
    elif hide:
        plan.mounts.append(bind_mount(os.devnull, str(path), read_only=True))
    else:
        plan.mounts.append(bind_mount(str(path), str(path), read_only=True))


def _dot_entries(home: Path) -> list[Path]:
    try:
        return sorted(home / name for name in os.listdir(home) if name.startswith("."))
    except OSError:
        return []


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _unique(paths: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for path in paths:
        if path:
            seen.setdefault(os.path.abspath(path), None)
    return tuple(seen)
