"""History benchmarks, side by side with the anchor (a whole-.ipynb `git add` + `git commit`).

Run from the repository root:  python -m benchmarks.history [--quick] [--no-write]

`--quick` uses fewer versions (for a smoke run); without `--no-write` the results table replaces
the `## History` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from jupyter_nj.history.diff import DiffService
from jupyter_nj.history.recorder import HistoryRecorder
from jupyter_nj.history.store import HistoryStore, notebook_model

MARKER = "NJ_BENCH_MARKER"
ROOT = Path(__file__).resolve().parents[2]


def generated_notebook(cells: int, images: int, text_lines: int, image_kb: int = 60) -> bytes:
    """A realistic notebook: code cells with text outputs and a few random PNG-sized images."""
    rng = random.Random(cells * 1000 + images)
    nb = new_notebook()
    image_every = max(1, cells // images) if images else 0
    for i in range(cells):
        source = f"result_{i} = compute({i})\nprint(result_{i})"
        if i == 3:
            source += f"  # {MARKER}"
        outputs = [
            new_output(
                "stream",
                name="stdout",
                text="".join(f"{i:03d}: value {rng.random():.12f}\n" for _ in range(text_lines)),
            )
        ]
        if (
            image_every
            and i % image_every == 0
            and len([c for c in nb.cells if "image/png" in json.dumps(c["outputs"])]) < images
        ):
            png = base64.b64encode(rng.randbytes(image_kb * 1024)).decode()
            outputs.append(
                new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})
            )
        cell = new_code_cell(source=source, outputs=outputs, execution_count=i + 1)
        nb.cells.append(cell)
    return (nbformat.writes(nb) + "\n").encode()


def edited(base: bytes, n: int) -> bytes:
    """The notebook with one cell's source changed (the n-th edit), outputs untouched."""
    return base.replace(MARKER.encode(), f"{MARKER} edit {n}".encode(), 1)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def spread_ms(values: list[float]) -> dict[str, float]:
    """min / median / max of timings (seconds) in milliseconds."""
    return {
        "min": min(values) * 1000,
        "median": statistics.median(values) * 1000,
        "max": max(values) * 1000,
        "n": len(values),
    }


def fmt_spread(s: dict[str, float], digits: int = 1) -> str:
    """`median ms (min-max, n)`: the spread of every figure, not one number."""
    return (
        f"{s['median']:.{digits}f} ms ({s['min']:.{digits}f}-{s['max']:.{digits}f}, n={s['n']:.0f})"
    )


class SavedVersion:
    """One version as a save hands it over: the contents-API model and the bytes on disk."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.model = notebook_model(data)  # a fresh parse, as each save brings new objects


def commit_saved(store: HistoryStore, hid: str, saved: SavedVersion) -> None:
    """What the recorder does with a save: split the model, check it against the file, commit."""
    split = store.split_notebook(hid, saved.model)
    content = split if split is not None and split.matches(saved.data) else saved.data
    store.commit(hid, "nb.ipynb", content)


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def git(repo: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, **kwargs
    )


class Anchor:
    """What jupyterlab-git does per save: write the file, `git add`, `git commit`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        git(path, "init", "-q")
        git(path, "config", "user.name", "bench")
        git(path, "config", "user.email", "bench@example.invalid")
        git(path, "config", "commit.gpgsign", "false")

    def save(self, data: bytes) -> float:
        start = time.perf_counter()
        (self.path / "nb.ipynb").write_bytes(data)
        git(self.path, "add", "nb.ipynb")
        git(self.path, "commit", "-q", "-m", "save")
        return time.perf_counter() - start


def write_versions(name: str, base: bytes, count: int, tmp: Path) -> dict[str, Any]:
    """Ours vs the anchor: commit time at 10 and at `count` versions, growth per version."""
    store = HistoryStore(tmp / f"{name}-store" / "history.git")
    hid = store.history_for("bench-file", "nb.ipynb")
    growth = []
    size_at_1000 = None
    repack_times = []
    objects = store.path / "objects"
    for n in range(count):
        data = edited(base, n)
        measure_growth = n in range(1, 11) or n in range(count - 10, count)
        before = dir_size(objects) if measure_growth else 0
        commit_saved(store, hid, SavedVersion(data))
        if measure_growth:
            growth.append(dir_size(objects) - before)
        if (n + 1) % 500 == 0:
            # What the recorder's background repack does every `history_repack_every` versions.
            t = time.perf_counter()
            store.repack()
            repack_times.append(time.perf_counter() - t)
        if n + 1 == 1000:
            size_at_1000 = dir_size(store.path)
    # Commit time at `count` versions against a store with 10, measured alternately so that the
    # load on the machine affects both alike.
    small = HistoryStore(tmp / f"{name}-small" / "history.git")
    small_hid = small.history_for("bench-file", "nb.ipynb")
    for n in range(10):
        commit_saved(small, small_hid, SavedVersion(edited(base, n)))
    early, late = [], []
    for n in range(count, count + 40):
        saved = SavedVersion(edited(base, n))
        start = time.perf_counter()
        commit_saved(small, small_hid, saved)
        early.append(time.perf_counter() - start)
        start = time.perf_counter()
        commit_saved(store, hid, saved)
        late.append(time.perf_counter() - start)
    small.close()
    shutil.rmtree(small.path.parent, ignore_errors=True)
    # Listing the newest 50 of `count` versions, and the next page.
    listings = []
    for _ in range(50):
        t = time.perf_counter()
        page, cursor = store.versions(hid, 50)
        store.versions(hid, 50, cursor)
        listings.append((time.perf_counter() - t) / 2)
    # Reassembly of one version (what `?version=` costs).
    reads = []
    for _ in range(10):
        t = time.perf_counter()
        assert store.content(page[0].id) == edited(base, count + 39)
        reads.append(time.perf_counter() - t)
    result = {
        "versions": count,
        "commit_ms_at_10": median_ms(early),
        "commit_ms_at_end": median_ms(late),
        "commit_at_10": spread_ms(early),
        "commit_at_end": spread_ms(late),
        "growth_bytes": statistics.median(growth),
        "list50_ms": median_ms(listings),
        "list50": spread_ms(listings),
        "read_ms": median_ms(reads),
        "read": spread_ms(reads),
        "size_at_1000": size_at_1000,
        "size_end": dir_size(store.path),
        "repack_s": statistics.median(repack_times) if repack_times else None,
    }
    store.close()
    shutil.rmtree(store.path.parent, ignore_errors=True)
    return result


def anchor_versions(name: str, base: bytes, count: int, tmp: Path) -> dict[str, Any]:
    anchor = Anchor(tmp / f"{name}-anchor")
    early, late, growth = [], [], []
    gitdir = anchor.path / ".git"
    for n in range(count):
        before = dir_size(gitdir) if n in range(1, 11) else 0
        elapsed = anchor.save(edited(base, n))
        if 1 <= n <= 10:
            early.append(elapsed)
            growth.append(dir_size(gitdir) - before)
        if n >= count - 10:
            late.append(elapsed)
    result = {
        "versions": count,
        "commit_ms_at_10": median_ms(early),
        "commit_ms_at_end": median_ms(late),
        "commit_at_10": spread_ms(early),
        "commit_at_end": spread_ms(late),
        "growth_bytes": statistics.median(growth),
        "size_end": dir_size(gitdir),
    }
    shutil.rmtree(anchor.path, ignore_errors=True)
    return result


def anchor_listing(count: int, tmp: Path) -> dict[str, float]:
    """`git log -n 50 -- nb.ipynb` in a repository with `count` commits of the file."""
    repo = tmp / "anchor-log"
    repo.mkdir()
    git(repo, "init", "-q")
    stream = []
    for n in range(count):
        blob = f"version {n}\n".encode()
        msg = b"save"
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"committer bench <b@e> {1700000000 + n} +0000\n".encode())
        stream.append(f"data {len(msg)}\n".encode() + msg + b"\n")
        stream.append(f"M 100644 inline nb.ipynb\ndata {len(blob)}\n".encode() + blob + b"\n")
    git(repo, "fast-import", "--quiet", input=b"".join(stream))
    timings = []
    for _ in range(10):
        t = time.perf_counter()
        git(repo, "log", "-n", "50", "--format=%H %at %an %s", "main", "--", "nb.ipynb")
        timings.append(time.perf_counter() - t)
    shutil.rmtree(repo, ignore_errors=True)
    return spread_ms(timings)


def save_overhead(base: bytes, tmp: Path, saves: int = 40, phases: int = 5) -> dict[str, Any]:
    """Time a real contents-manager save adds with versioning on, and event-loop lag.

    Phases with and without history alternate (`phases` times each) so machine load hits both
    alike; each phase gives one p99 lag, and the figure is the spread of those.
    """
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

    root = tmp / "save-root"
    root.mkdir(parents=True)
    nb = json.loads(base)
    hook_times: list[float] = []

    def timed_hook(hook: Callable[..., None]) -> Callable[..., None]:
        def run(**kwargs: Any) -> None:
            start = time.perf_counter()
            hook(**kwargs)
            hook_times.append(time.perf_counter() - start)

        return run

    async def run(with_history: bool) -> tuple[list[float], float]:
        cm = AsyncLargeFileManager(root_dir=str(root))
        recorder = None
        if with_history:
            store = HistoryStore(tmp / f"save-store-{time.time_ns()}" / "history.git")
            recorder = HistoryRecorder(store, quiet_period=0.0)
            cm.register_pre_save_hook(timed_hook(recorder.pre_save_hook))
            cm.register_post_save_hook(timed_hook(recorder.post_save_hook))
            recorder.start()
        lags: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            # How late a 5 ms timer fires: a blocked event loop shows up here.
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append(time.perf_counter() - t - 0.005)

        tick = asyncio.create_task(ticker())
        durations = []
        for i in range(saves):
            nb["cells"][3]["source"] = f"edit {i}"
            start = time.perf_counter()
            await cm.save({"type": "notebook", "content": nb}, "bench.ipynb")
            durations.append(time.perf_counter() - start)
            # Saves come no faster than a collaborative room makes them; meanwhile the worker
            # writes the version (quiet period 0: one version per save, the worst case).
            await asyncio.sleep(0.25)
        if recorder is not None:
            await asyncio.wrap_future(recorder.flush())
            recorder.stop()
        stop.set()
        await tick
        lags.sort()
        return durations, lags[int(len(lags) * 0.99)] if lags else 0.0

    plain: list[float] = []
    versioned: list[float] = []
    plain_lag: list[float] = []
    versioned_lag: list[float] = []
    for _ in range(phases):
        durations, lag = asyncio.run(run(False))
        plain += durations
        plain_lag.append(lag)
        durations, lag = asyncio.run(run(True))
        versioned += durations
        versioned_lag.append(lag)
    return {
        "save_ms_plain": median_ms(plain),
        "save_ms_versioned": median_ms(versioned),
        "added_ms": median_ms(versioned) - median_ms(plain),
        "hook_ms": median_ms(hook_times) * 2,  # pre + post per save
        "loop_lag_ms_plain": statistics.median(plain_lag) * 1000,
        "loop_lag_ms_versioned": statistics.median(versioned_lag) * 1000,
        "lag_plain": spread_ms(plain_lag),
        "lag_versioned": spread_ms(versioned_lag),
        "save_plain": spread_ms(plain),
        "save_versioned": spread_ms(versioned),
    }


def diff_benchmark(tmp: Path) -> dict[str, Any]:
    """A 400-cell notebook, one source line changed: our diff vs nbdime's diff_notebooks."""
    from nbdime import diff_notebooks

    base = generated_notebook(400, images=10, text_lines=20)
    remote = edited(base, 1)
    store = HistoryStore(tmp / "diff-store" / "history.git")
    hid = store.history_for("d", "nb.ipynb")
    a = store.commit(hid, "nb.ipynb", base)
    b = store.commit(hid, "nb.ipynb", remote)
    assert a is not None and b is not None
    nb_a, nb_b = nbformat.reads(base.decode(), 4), nbformat.reads(remote.decode(), 4)
    direct: list[float] = []

    with_reading: list[float] = []

    def nbdime_direct() -> None:
        t = time.perf_counter()
        diff_notebooks(nb_a, nb_b)
        direct.append(time.perf_counter() - t)
        # What nbdime's own diff handler does: read both files, then diff.
        t = time.perf_counter()
        diff_notebooks(nbformat.reads(base.decode(), 4), nbformat.reads(remote.decode(), 4))
        with_reading.append(time.perf_counter() - t)

    async def ours() -> tuple[float, list[float], float]:
        service = DiffService(str(store.path), executor="process", timeout=120)
        # First call includes the worker process start (the server starts it at launch).
        t = time.perf_counter()
        await service.diff(("version", a.id), ("version", b.id), notebook=True)
        first = time.perf_counter() - t
        warm = []
        for _ in range(5):
            # Alternate with nbdime's own call so that machine load hits both alike.
            nbdime_direct()
            service._cache.clear()
            t = time.perf_counter()
            await service.diff(("version", a.id), ("version", b.id), notebook=True)
            warm.append(time.perf_counter() - t)
        t = time.perf_counter()
        await service.diff(("version", a.id), ("version", b.id), notebook=True)
        cached = time.perf_counter() - t
        service.close()
        return first, warm, cached

    first, warm, cached = asyncio.run(ours())
    return {
        "size_mb": len(base) / 1e6,
        "nbdime_ms": median_ms(direct),
        "nbdime_read_ms": median_ms(with_reading),
        "ours_first_ms": first * 1000,
        "ours_warm_ms": statistics.median(warm) * 1000,
        "ours_warm": spread_ms(warm),
        "nbdime": spread_ms(direct),
        "nbdime_read": spread_ms(with_reading),
        "ours_cached_ms": cached * 1000,
    }


def fmt_kb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1024:,.1f} KB"


def fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.1f} MB"


def machine() -> str:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    git_version = subprocess.run(
        ["git", "--version"], check=False, capture_output=True, text=True
    ).stdout
    import pygit2

    return (
        f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python "
        f"{platform.python_version()}, {git_version.strip()}, pygit2 {pygit2.__version__} "
        f"(libgit2 {pygit2.LIBGIT2_VERSION})"
    )


def timed(label: str, fn: Callable[[], Any]) -> Any:
    print(f"... {label}", file=sys.stderr, flush=True)
    t = time.perf_counter()
    value = fn()
    print(f"    {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer versions (smoke run)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    many = 1000 if args.quick else 10_000
    anchor_count = 100 if args.quick else 300
    big_count = 200 if args.quick else 1000
    tmp = Path(tempfile.mkdtemp(prefix="nj-history-bench-"))
    try:
        nb1 = generated_notebook(40, images=6, text_lines=400)
        nb5 = generated_notebook(40, images=40, text_lines=200, image_kb=90)
        rows: dict[str, Any] = {"nb1_size": len(nb1), "nb5_size": len(nb5)}
        rows["ours1"] = timed(f"ours, ~1 MB x {many}", lambda: write_versions("n1", nb1, many, tmp))
        rows["anchor1"] = timed(
            f"anchor, ~1 MB x {anchor_count}", lambda: anchor_versions("a1", nb1, anchor_count, tmp)
        )
        rows["ours5"] = timed(
            f"ours, ~5 MB x {big_count}", lambda: write_versions("n5", nb5, big_count, tmp)
        )
        rows["anchor5"] = timed("anchor, ~5 MB x 50", lambda: anchor_versions("a5", nb5, 50, tmp))
        rows["anchor_list"] = timed("anchor listing", lambda: anchor_listing(many, tmp))
        saves = 20 if args.quick else 40
        rows["save1"] = timed("save overhead ~1 MB", lambda: save_overhead(nb1, tmp / "s1", saves))
        rows["save5"] = timed(
            "save overhead ~5 MB", lambda: save_overhead(nb5, tmp / "s5", saves * 3 // 4)
        )
        rows["diff"] = timed("diff 400 cells", lambda: diff_benchmark(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = render(rows, machine())
    print(table)
    if not args.no_write:
        write_section(ROOT / "docs" / "benchmarks.md", table)
        print("updated docs/benchmarks.md", file=sys.stderr)
    return 0


def render(r: dict[str, Any], machine_line: str) -> str:
    o1, a1, o5, a5 = r["ours1"], r["anchor1"], r["ours5"], r["anchor5"]
    s1, s5, d = r["save1"], r["save5"], r["diff"]

    def ratio(anchor: float, ours: float) -> str:
        return f"{anchor / ours:,.0f}x" if ours > 0 else "-"

    rows = [
        (
            "time added to a save (median, real contents-manager save)",
            "~1 MB",
            (
                f"{s1['added_ms']:+.2f} ms (save {s1['save_ms_plain']:.1f} -> "
                f"{s1['save_ms_versioned']:.1f} ms; the two hooks: {s1['hook_ms'] * 1000:.0f} us)"
            ),
            "the commit runs inside the save (next rows)",
            "<= 1 ms",
        ),
        (
            "time added to a save (median)",
            "~5 MB",
            (
                f"{s5['added_ms']:+.2f} ms (save {s5['save_ms_plain']:.1f} -> "
                f"{s5['save_ms_versioned']:.1f} ms; the two hooks: {s5['hook_ms'] * 1000:.0f} us)"
            ),
            "",
            "<= 1 ms",
        ),
        (
            "event-loop lag (p99 of a 5 ms timer) while saving and writing versions",
            "~1 MB / ~5 MB",
            (
                f"~1 MB: {fmt_spread(s1['lag_versioned'])}, no history "
                f"{fmt_spread(s1['lag_plain'])}; ~5 MB: {fmt_spread(s5['lag_versioned'])}, "
                f"no history {fmt_spread(s5['lag_plain'])} (one p99 per phase)"
            ),
            (
                f"ratio of medians {s1['lag_versioned']['median'] / s1['lag_plain']['median']:.2f}"
                f" / {s5['lag_versioned']['median'] / s5['lag_plain']['median']:.2f}"
            ),
            "<= 1.1x history off",
        ),
        (
            "write one version at 10 versions (from the save's model; 40 saves)",
            "~1 MB",
            fmt_spread(o1["commit_at_10"]),
            (
                f"{fmt_spread(a1['commit_at_10'])} "
                f"({ratio(a1['commit_ms_at_10'], o1['commit_ms_at_10'])} ours)"
            ),
            "<= 10 ms",
        ),
        (
            (
                f"write one version at {o1['versions']:,} versions (median of 40, alternating with "
                "the row above)"
            ),
            "~1 MB",
            fmt_spread(o1["commit_at_end"]),
            f"{fmt_spread(a1['commit_at_end'])} at {a1['versions']} versions",
            "<= 10 ms",
        ),
        (
            f"write one version at 10 / {o5['versions']:,} versions",
            "~5 MB",
            f"{fmt_spread(o5['commit_at_10'])} / {fmt_spread(o5['commit_at_end'])}",
            (
                f"{fmt_spread(a5['commit_at_10'])} / {fmt_spread(a5['commit_at_end'])} "
                f"(at {a5['versions']} versions)"
            ),
            "<= 15 ms",
        ),
        (
            "store growth per version, no gc (median)",
            "~1 MB",
            fmt_kb(o1["growth_bytes"]),
            f"{fmt_kb(a1['growth_bytes'])} ({ratio(a1['growth_bytes'], o1['growth_bytes'])})",
            "<= 10 KB",
        ),
        (
            "store growth per version, no gc (median)",
            "~5 MB",
            fmt_kb(o5["growth_bytes"]),
            f"{fmt_kb(a5['growth_bytes'])} ({ratio(a5['growth_bytes'], o5['growth_bytes'])})",
            "",
        ),
        (
            f"list the newest 50 (and the next page) of {o1['versions']:,} versions",
            "~1 MB",
            fmt_spread(o1["list50"], 2),
            (
                f"{fmt_spread(r['anchor_list'])} (`git log -n 50 -- nb.ipynb`, "
                f"{o1['versions']:,} commits)"
            ),
            "<= 50 ms",
        ),
        (
            "read one version back (reassemble the exact bytes)",
            "~1 MB / ~5 MB",
            f"{fmt_spread(o1['read'])} / {fmt_spread(o5['read'])}",
            "",
            "",
        ),
        (
            "store size after 1,000 versions (repack every 500)",
            "~1 MB",
            fmt_mb(o1["size_at_1000"]),
            f"{fmt_mb(a1['size_end'])} after {a1['versions']} versions (loose, no gc)",
            "report",
        ),
        (
            f"store size after {o1['versions']:,} versions",
            "~1 MB",
            f"{fmt_mb(o1['size_end'])} (each repack {o1['repack_s'] or 0:.1f} s, in background)",
            "",
            "",
        ),
        (
            f"diff two versions of a 400-cell notebook ({d['size_mb']:.1f} MB), one line changed",
            "400 cells",
            (
                f"{fmt_spread(d['ours_warm'])} in the worker process, versions loaded (first "
                f"call, with its start: {d['ours_first_ms']:.0f} ms; cached: "
                f"{d['ours_cached_ms']:.2f} ms)"
            ),
            (
                f"nbdime `diff_notebooks`: {fmt_spread(d['nbdime'])} on parsed notebooks "
                f"({d['ours_warm_ms'] / d['nbdime_ms']:.2f}x), {fmt_spread(d['nbdime_read'])} "
                "reading both files first (as its handler)"
            ),
            "<= 0.2x nbdime",
        ),
    ]
    intro = [
        "## History",
        "",
        (
            "`python -m benchmarks.history` (from the repository root; `--quick` for a smoke "
            "run). Anchor: what jupyterlab-git does per save, `git add` + `git commit` of the "
            "whole .ipynb with the git CLI in a scratch repository. Ours: what the recorder does "
            "with a save: `HistoryStore.split_notebook` of the contents-API model (outputs "
            "equal to the previous version's reuse their blobs), a byte-for-byte check against "
            "the saved file, then `HistoryStore.commit` (loose git objects; no index, no work "
            "tree). Every figure is `median (min-max, n = repetitions)`."
        ),
        "",
        (
            f"Machine: {machine_line}; measured {time.strftime('%Y-%m-%d')}, page cache warm, "
            "other work running on the machine (absolute times vary; the ratios are the point)."
        ),
        "",
        (
            f"Notebooks: ~1 MB = {r['nb1_size'] / 1e6:.2f} MB (40 code cells, text outputs, "
            f"6 x 60 KB PNGs); ~5 MB = {r['nb5_size'] / 1e6:.2f} MB (40 code cells, longer text "
            "outputs, 40 x 90 KB PNGs). Each new version changes one cell's source, not the "
            "outputs."
        ),
        "",
        "| figure | notebook | ours | anchor | target |",
        "|---|---|---|---|---|",
    ]
    return "\n".join(intro + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find("## History")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
