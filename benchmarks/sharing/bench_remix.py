"""Remix benchmark, side by side with the anchors: a plain copy, and a local clone of the history.

Run from the repository root:

    python -m benchmarks.sharing.bench_remix [--versions 10000] [--results-mib 1024]
        [--rounds 5] [--dir DIR] [--no-write]

One notebook with `--versions` versions in a real history store and a results folder of
`--results-mib` MiB (8 files of random bytes, captured with its newest version), under a scratch
server root in `--dir` (default: a temporary folder; give one on a reflink filesystem, btrfs or
XFS, to see the reflink figure). Each round, alternating, times:

- ours: `HistoryManager.remix(path, "current", ...)`, what POST /nj/api/remix does after parsing
  (the version recorded as it is now, the new history, the results folder, the new file);
- anchor 1: `cp nb.ipynb copy.ipynb && cp -r nb.results copy.results`;
- anchor 2: `git clone --local --mirror` of the history store (hard links of its objects: what a
  copy of the history with git costs at best).

Each measurement starts after `sync` (nothing dirty in the page cache), and the order of the three
alternates from round to round.

It also reports how many bytes the store grew by with each remix (no blob is copied: only the
new notebook, a tree and a commit) and how the results files were made (reflink, copy, store).
Without `--no-write` the table replaces the `## Sharing: remix` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nbformat.v4 import new_code_cell, new_notebook, new_output

from jupyter_nj.history.manager import HistoryManager
from jupyter_nj.sharing.manager import stamp_remix

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Sharing: remix"


def notebook_dict(n: int) -> dict[str, Any]:
    """The notebook of version `n`: 30 code cells with outputs; one cell's source changes."""
    nb = new_notebook()
    for i in range(30):
        cell = new_code_cell(
            source=f"x_{i} = {i} * {n if i == 3 else 1}",
            outputs=[new_output("stream", name="stdout", text=f"{i}: output\n" * 20)],
            execution_count=i + 1,
        )
        cell["id"] = f"cell-{i}"
        nb.cells.append(cell)
    nb.metadata["nj"] = {"runtimes": {"python": {"environment": "python", "version": "v1"}}}
    return json.loads(json.dumps(nb))


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def filesystem(path: Path) -> str:
    out = subprocess.run(
        ["df", "-T", str(path)], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return out[-1].split()[1] if len(out) > 1 else "?"


def med(values: list[float]) -> str:
    spread = f"{min(values):.3f}-{max(values):.3f}, n={len(values)}"
    return f"{statistics.median(values):.3f} s ({spread})"


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.writelines(os.urandom(1 << 24) for _ in range(size // (1 << 24)))
        f.write(os.urandom(size % (1 << 24)))


def timed_command(command: list[str] | str, cwd: Path) -> float:
    """Seconds a command takes (the anchors)."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, shell=isinstance(command, str))
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="nj-remix-bench-", dir=args.dir))
    root = base / "root"
    root.mkdir()
    manager = HistoryManager(
        base / "history.git",
        str(root),
        quiet_period=0.0,
        max_file_size=1 << 31,
        results_max_file_size=1 << 31,
        results_max_total_size=1 << 34,
        repack_every=0,
        diff_executor="thread",
    )
    manager.start()
    try:
        store = manager.store
        nb_path = root / "nb.ipynb"
        hid = store.history_for(None, "nb.ipynb")
        started = time.perf_counter()
        for n in range(args.versions - 1):
            # What the recorder does with a save's model: split it, commit the objects.
            split = store.split_notebook(hid, notebook_dict(n))
            assert split is not None
            store.commit(hid, "nb.ipynb", split, authors=["ann"])
        history_s = time.perf_counter() - started
        results = root / "nb.results"
        results.mkdir()
        per_file = args.results_mib * (1 << 20) // 8
        for i in range(8):
            write_random(results / f"part-{i}.bin", per_file)
        data = (json.dumps(notebook_dict(args.versions), indent=1, sort_keys=True) + "\n").encode()
        nb_path.write_bytes(data)
        started = time.perf_counter()
        # The newest version with its results folder, as the recorder writes it at a save.
        snapshot = manager.results.snapshot(str(nb_path)) if manager.results else None
        store.commit(hid, "nb.ipynb", data, authors=["ann"], results=snapshot)
        capture_s = time.perf_counter() - started
        assert store.count(hid) == args.versions
        os.sync()

        ours: list[float] = []
        plain: list[float] = []
        clone: list[float] = []
        growth: list[int] = []
        methods: dict[str, Any] = {}
        for r in range(args.rounds):

            async def ours_once(r: int = r) -> None:
                nonlocal methods
                before = du(base / "history.git" / "objects")
                started = time.perf_counter()
                result = await manager.remix(
                    "nb.ipynb",
                    "current",
                    f"remix-{r}.ipynb",
                    lambda nb, o: stamp_remix(nb, o, time.time()),
                    authors={"bob": "Bob"},
                )
                ours.append(time.perf_counter() - started)
                growth.append(du(base / "history.git" / "objects") - before)
                methods = result["results"]["by_method"]
                shutil.rmtree(root / f"remix-{r}.results")

            async def plain_once(r: int = r) -> None:
                command = f"cp nb.ipynb plain-{r}.ipynb && cp -r nb.results plain-{r}.results"
                plain.append(await asyncio.to_thread(timed_command, command, root))
                shutil.rmtree(root / f"plain-{r}.results")

            async def clone_once() -> None:
                command = ["git", "clone", "-q", "--local", "--mirror", "history.git", "c.git"]
                clone.append(await asyncio.to_thread(timed_command, command, base))
                shutil.rmtree(base / "c.git")

            # Each measurement starts with nothing dirty in the page cache, and who goes first
            # alternates from round to round.
            steps = [ours_once, plain_once, clone_once]
            for step in steps if r % 2 == 0 else steps[::-1]:
                os.sync()
                await step()
        return {
            "versions": args.versions,
            "results_mib": args.results_mib,
            "history_s": history_s,
            "capture_s": capture_s,
            "ours": ours,
            "plain": plain,
            "clone": clone,
            "growth": growth,
            "methods": methods,
            "fs": filesystem(root),
        }
    finally:
        manager.stop()
        manager.store.close()
        shutil.rmtree(base, ignore_errors=True)


def table(found: dict[str, Any]) -> str:
    ours, plain, clone = found["ours"], found["plain"], found["clone"]
    ratio_plain = statistics.median(ours) / statistics.median(plain)
    ratio_clone = statistics.median(ours) / statistics.median(clone)
    how = ", ".join(
        f"{m}: {v['files']} files, {v['bytes'] / (1 << 20):.0f} MiB"
        for m, v in found["methods"].items()
    )
    target = "met" if statistics.median(ours) <= 1.0 else "**missed**"
    growth = statistics.median(found["growth"]) / 1024
    lines = [
        SECTION,
        "",
        (
            f"`python -m benchmarks.sharing.bench_remix --versions {found['versions']} "
            f"--results-mib {found['results_mib']} --rounds {len(ours)}` (each timing after "
            f"a sync, the order alternating by round). Machine: {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, {found['fs']} "
            f"filesystem, measured {time.strftime('%Y-%m-%d', time.gmtime())}, other work "
            "running on it."
        ),
        "",
        (
            f"Setup (not timed in the rows): {found['versions']:,} versions written in "
            f"{found['history_s']:.0f} s; the {found['results_mib']} MiB results folder "
            f"captured with the newest version in {found['capture_s']:.1f} s."
        ),
        "",
        "| what | ours | anchor | ratio | target |",
        "|---|---|---|---|---|",
        (
            f"| remix at `current`: {found['versions']:,} versions, {found['results_mib']} MiB "
            f"results | {med(ours)} | `cp` + `cp -r`: {med(plain)} | {ratio_plain:.2f}x | "
            f"<= 1 s: {target} |"
        ),
        (
            f"| the same | | `git clone --local --mirror` of the history: {med(clone)} | "
            f"{ratio_clone:.2f}x | |"
        ),
        f"| git objects added to the store per remix | {growth:.1f} KiB | | | no blob copied |",
        f"| how the results files were made | {how} | | | reflink where the filesystem can |",
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    current = doc.read_text()
    if SECTION in current:
        head, rest = current.split(SECTION, 1)
        next_section = rest.find("\n## ")
        current = head + text + ("\n" + rest[next_section + 1 :] if next_section >= 0 else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    doc.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--results-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where the scratch root goes")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    found = asyncio.run(run(args))
    text = table(found)
    print(text)
    if not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
