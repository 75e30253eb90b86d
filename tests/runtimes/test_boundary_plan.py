"""How a runtime's folder becomes mounts (runtimes/boundary.py), without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_nj.runtimes.boundary import BoundaryError, RuntimeBoundary, plan_folder_mounts


def targets(plan: object) -> dict[str, tuple[str, bool]]:
    mounts = plan.mounts  # type: ignore[attr-defined]
    found = [(m["Target"], (m["Type"], bool(m.get("ReadOnly")))) for m in mounts]
    assert len({t for t, _ in found}) == len(found), "each path is mounted once"
    return dict(found)


def test_covered_paths_are_hidden_pinned_and_made_when_missing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "srv" / "data" / "inner").mkdir(parents=True)
    (work / "environments").mkdir()
    boundary = RuntimeBoundary(
        hidden=(
            str(work / "srv" / "data"),
            str(work / "srv" / "data" / "inner"),
            str(work / "cfg"),
        ),
        read_only=(str(work / "environments"), str(work / "missing-bundle.crt")),
        read_only_folders=(str(work / "missing-definitions"),),
        home=str(tmp_path / "home"),
    )
    mounts = targets(plan_folder_mounts(str(work), boundary))
    assert mounts == {
        str(work): ("bind", False),
        str(work / "srv"): ("bind", False),  # pinned: renaming it would move the data away
        str(work / "srv" / "data"): ("tmpfs", True),  # its inner folder goes with it
        str(work / "cfg"): ("tmpfs", True),
        str(work / "environments"): ("bind", True),
        str(work / "missing-definitions"): ("bind", True),
    }
    # Folders are made by the server, so that a runtime cannot make (and fill) them.
    assert (work / "cfg").is_dir() and (work / "missing-definitions").is_dir()
    assert not (work / "missing-bundle.crt").exists()


def test_a_folder_inside_what_runtimes_must_not_reach_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "notebooks").mkdir(parents=True)
    with pytest.raises(BoundaryError, match="Move the notebook"):
        plan_folder_mounts(str(data / "notebooks"), RuntimeBoundary(hidden=(str(data),)))


def test_a_folder_holding_the_home_is_read_only_with_its_dot_files_hidden(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".profile").write_text("# mine")
    (home / "projects").mkdir()
    plan = plan_folder_mounts(str(tmp_path), RuntimeBoundary(hidden=(), home=str(home)))
    mounts = targets(plan)
    assert mounts[str(tmp_path)] == ("bind", True)
    assert mounts[str(home / ".ssh")] == ("tmpfs", True)
    assert mounts[str(home / ".profile")] == ("bind", True)  # /dev/null in its place
    assert str(home / "projects") not in mounts
    assert plan.warnings and "home directory" in plan.warnings[0]
    # A sub-folder of the home is an ordinary folder.
    assert targets(
        plan_folder_mounts(str(home / "projects"), RuntimeBoundary(hidden=(), home=str(home)))
    )[str(home / "projects")] == ("bind", False)
