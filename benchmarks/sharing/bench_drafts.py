"""Draft snapshot benchmark: a draft link served by the pages service from the snapshot store,
side by side with the same link's live page on the author's server (what a draft link was
before NJApp.drafts_dir, and still is without it).

Run from the repository root:

    python -m benchmarks.sharing.bench_drafts [--rounds 5] [--requests 200] [--no-write]

Two real `jupyter server`s with jupyter-nj over copies of the ~5 MB notebook of the history
benchmark (40 code cells with text outputs, 40 images of 90 KB): ours with a snapshot store
and `jupyter nj pages-service --drafts-dir` over it (a process of its own, as the hub runs it),
the anchor without. Each round saves the notebook (a changed output) on each server and times:

- ours: from the save's answer until the service serves the new page (the snapshot waits
  `NJApp.drafts_snapshot_delay`, 1 s by default, then renders and writes it);
- anchor: the first GET of the live page after the save (it renders then, for that reader).

Then `--requests` logged-out GETs of the unchanged page from each (kept-alive connection), and
one GET of ours with our server stopped. Without `--no-write` the table replaces the
`## Sharing: draft snapshots` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from benchmarks.history.__main__ import generated_notebook
from benchmarks.sharing.bench_publish import free_port, spread, start_server, timed, write_section

SECTION = "## Sharing: draft snapshots"
PREFIX = "/services/nj-pages/"


def start_service(drafts: Path, publications: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_nj.cli", "pages-service", "--port", str(port)]
        + ["--prefix", PREFIX, "--publish-dir", str(publications), "--drafts-dir", str(drafts)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(base + PREFIX + "health", timeout=2).ok:
                return proc, base
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the pages service did not start")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="nj-bench-drafts-"))
    notebook_bytes = generated_notebook(40, images=40, text_lines=200, image_kb=90)
    notebook = json.loads(notebook_bytes)
    drafts, publications = scratch / "drafts", scratch / "publications"
    token = secrets.token_hex(16)
    auth = {"Authorization": f"token {token}"}
    procs: list[subprocess.Popen[bytes]] = []
    sides: dict[str, dict[str, Any]] = {}
    try:
        for name, extra in (
            ("ours", [f"--NJApp.drafts_dir={drafts}", f"--NJApp.drafts_base_url={PREFIX}"]),
            ("anchor", []),
        ):
            root, data = scratch / name / "root", scratch / name / "data"
            root.mkdir(parents=True)
            data.mkdir()
            (root / "big.ipynb").write_bytes(notebook_bytes)
            proc, url = start_server(root, data, token, *extra)
            procs.append(proc)
            made = requests.post(
                f"{url}/nj/api/links", json={"path": "big.ipynb"}, headers=auth, timeout=300
            )
            made.raise_for_status()
            sides[name] = {"proc": proc, "url": url, "link": made.json()["url"]}
        service, service_url = start_service(drafts, publications)
        procs.append(service)
        ours_page = service_url + sides["ours"]["link"]
        # The anchor's link is under its server's base URL ("/" here).
        anchor_page = sides["anchor"]["url"] + sides["anchor"]["link"]
        reader = requests.Session()

        def save(name: str, n: int) -> None:
            changed = json.loads(json.dumps(notebook))
            changed["cells"][0]["outputs"][0]["text"] = f"round {n}\n"
            reply = requests.put(
                f"{sides[name]['url']}/api/contents/big.ipynb",
                json={"type": "notebook", "format": "json", "content": changed},
                headers=auth,
                timeout=300,
            )
            reply.raise_for_status()

        rows: dict[str, list[float]] = {"ours": [], "anchor": []}
        reader.get(anchor_page, timeout=300).raise_for_status()  # warm-up: nbconvert loaded
        for n in range(args.rounds):
            before = reader.get(ours_page, timeout=60).headers.get("ETag")
            save("ours", n)
            start = time.perf_counter()
            while reader.get(ours_page, timeout=60).headers.get("ETag") == before:
                if time.perf_counter() - start > 120:
                    raise SystemExit("the snapshot did not follow the save")
                time.sleep(0.01)
            rows["ours"].append(time.perf_counter() - start)
            save("anchor", n)
            rows["anchor"].append(
                timed(lambda: reader.get(anchor_page, timeout=300).raise_for_status())
            )

        size = len(reader.get(ours_page, timeout=60).content)
        served: dict[str, list[float]] = {"ours": [], "anchor": []}
        for name, page in (("ours", ours_page), ("anchor", anchor_page)):
            for _ in range(args.requests):
                served[name].append(
                    timed(lambda page=page: reader.get(page, timeout=60).raise_for_status())
                )
        sides["ours"]["proc"].terminate()
        sides["ours"]["proc"].wait(timeout=60)
        stopped = requests.get(ours_page, timeout=60)
        assert stopped.status_code == 200 and b"round" in stopped.content
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f} | {percentile(values, 0.95) * 1000:.1f}"

    lines = [
        SECTION,
        "",
        (
            f"`python -m benchmarks.sharing.bench_drafts --rounds {args.rounds} --requests "
            f"{args.requests}` on {os.cpu_count()} cores, Python {platform.python_version()}; the "
            f"notebook is {len(notebook_bytes) / 1e6:.2f} MB (40 code cells, 40 images of 90 KB), "
            f"its page {size / 1e6:.2f} MB. Ours: the hub's pages service over the snapshot "
            "store (`NJApp.drafts_dir`); anchor: the same link's live page on the author's "
            "server (no store). Seconds after a save, median of the rounds (fastest in brackets):"
        ),
        "",
        "| what | seconds |",
        "|---|---|",
        (
            "| ours: save answered → the service serves the new page (waits "
            f"`drafts_snapshot_delay` = 1 s, renders, writes) | {spread(rows['ours'])} |"
        ),
        (
            "| anchor: the first reader's GET after a save (renders for that reader) | "
            f"{spread(rows['anchor'])} |"
        ),
        "",
        (
            f"Serving the unchanged page ({args.requests} logged-out requests, one kept-alive "
            "connection), milliseconds:"
        ),
        "",
        "| what | median | p95 |",
        "|---|---|---|",
        f"| ours: `GET {PREFIX}nj/l/<token>` (the service, the store) | {ms(served['ours'])} |",
        (
            "| anchor: `GET /nj/l/<token>` on the author's server (cached render) | "
            f"{ms(served['anchor'])} |"
        ),
        "",
        "With the author's server stopped, ours answered 200 with the last save; the anchor has",
        "no server to answer.",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section(SECTION, table)


if __name__ == "__main__":
    main()
