"""Publishing benchmark, side by side with `jupyter nbconvert --to html` on the same file.

Run from the repository root:

    python -m benchmarks.sharing.bench_publish [--rounds 5] [--requests 200] [--no-write]

A real `jupyter server` with jupyter-nj (its own root, data folder and publication store, on a
loopback port) and the ~5 MB notebook of the history benchmark (40 code cells with text
outputs, 40 images of 90 KB). Each round, alternating, times:

- ours: `POST /nj/api/publish/{path}` answered: the version recorded, its notebook rendered to a
  page with nbconvert's lab template, the edition written (what a user waits for);
- ours, render only: the rendering step in this process (`render_notebook_html`);
- anchor: `jupyter nbconvert --to html` on the same file, as a user runs it.

Then, with the page served once: `--requests` logged-out GETs of the edition's URL (kept-alive
connection), the page cached and immutable, against the same bytes served as a plain file by
jupyter_server's `/files/` handler. Without `--no-write` the table replaces the
`## Sharing: publishing` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import requests

from benchmarks.history.__main__ import generated_notebook

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Sharing: publishing"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    root: Path, data: Path, token: str, *extra: str
) -> tuple[subprocess.Popen[bytes], str]:
    """A `jupyter server` with jupyter-nj on a loopback port; `extra`: more command-line options."""
    port = free_port()
    env = {**os.environ, "JUPYTER_DATA_DIR": str(data / "jupyter")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--ServerApp.open_browser=False",
            f"--NJApp.nj_dir={data / 'nj'}",
            "--NJApp.history_quiet_period=0",
            "--allow-root",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/api/status", params={"token": token}, timeout=2).ok:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def timed(call: Any) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def spread(values: list[float], unit: float = 1.0, digits: int = 2) -> str:
    values = [v * unit for v in values]
    return f"{statistics.median(values):.{digits}f} (min {min(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    from jupyter_nj.sharing.publications import RERUN_STYLE
    from jupyter_nj.sharing.render import render_notebook_html

    scratch = Path(tempfile.mkdtemp(prefix="nj-bench-publish-"))
    root, data = scratch / "root", scratch / "data"
    root.mkdir()
    data.mkdir()
    notebook_bytes = generated_notebook(40, images=40, text_lines=200, image_kb=90)
    (root / "big.ipynb").write_bytes(notebook_bytes)
    # As the server reads it (multi-line strings joined), which is what it renders.
    notebook = json.loads(json.dumps(nbformat.reads(notebook_bytes.decode(), as_version=4)))
    token = secrets.token_hex(16)
    proc, url = start_server(root, data, token)
    auth = {"Authorization": f"token {token}"}
    rows: dict[str, list[float]] = {"ours": [], "render": [], "anchor": []}
    try:
        session = requests.Session()
        edition: dict[str, Any] = {}

        def publish() -> None:
            nonlocal edition
            response = session.post(
                f"{url}/nj/api/publish/big.ipynb", json={"slug": "big"}, headers=auth, timeout=300
            )
            response.raise_for_status()
            edition = response.json()

        def anchor() -> None:
            subprocess.run(
                [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "big.ipynb"],
                cwd=root,
                check=True,
                capture_output=True,
            )

        def render() -> None:
            render_notebook_html(notebook, "<div>header</div>", RERUN_STYLE)

        publish()  # warm-up: imports, the exporter's templates, the first version
        anchor()
        for n in range(args.rounds):
            order = [("ours", publish), ("render", render), ("anchor", anchor)]
            for name, call in order[n % 3 :] + order[: n % 3]:
                rows[name].append(timed(call))

        page_url = url + edition["url"]
        page = requests.get(page_url, timeout=30)
        page.raise_for_status()
        (root / "page-copy.html").write_bytes(page.content)
        stranger = requests.Session()
        served = []
        for _ in range(args.requests):
            served.append(timed(lambda: stranger.get(page_url, timeout=30).raise_for_status()))
        # A reader's browser coming back: it asks with the page's ETag (the page says no-cache).
        revisits = []
        etag = page.headers["ETag"]
        for _ in range(args.requests):
            revisits.append(
                timed(lambda: stranger.get(page_url, headers={"If-None-Match": etag}, timeout=30))
            )
        files = []
        for _ in range(args.requests):
            files.append(
                timed(
                    lambda: session.get(
                        f"{url}/files/page-copy.html", headers=auth, timeout=30
                    ).raise_for_status()
                )
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)

    ratio = statistics.median(rows["ours"]) / statistics.median(rows["anchor"])
    served.sort()
    files.sort()
    revisits.sort()
    p95 = served[int(len(served) * 0.95) - 1]
    lines = [
        SECTION,
        "",
        (
            f"`python -m benchmarks.sharing.bench_publish --rounds {args.rounds} --requests "
            f"{args.requests}` on {os.cpu_count()} cores, Python {platform.python_version()}; the "
            f"notebook is {len(notebook_bytes) / 1e6:.2f} MB (40 code cells, 40 images of 90 KB). "
            "Seconds, median of the rounds (fastest in brackets); the anchor and ours alternate."
        ),
        "",
        "| what | seconds |",
        "|---|---|",
        (
            f"| ours: `POST /nj/api/publish` answered (version, render, edition written) | "
            f"{spread(rows['ours'])} |"
        ),
        f"| ours, render step only (in the server's process) | {spread(rows['render'])} |",
        f"| anchor: `jupyter nbconvert --to html` | {spread(rows['anchor'])} |",
        f"| **ratio ours / anchor** (target ≤ 1.0×) | **{ratio:.2f}×** |",
        "",
        (
            f"Serving the published page again ({len(page.content) / 1e6:.2f} MB, logged out, "
            f"{args.requests} requests on one kept-alive connection), milliseconds:"
        ),
        "",
        "| what | median | p95 |",
        "|---|---|---|",
        (
            f"| ours: `GET /nj/p/<owner>/<slug>/<n>` (cached, immutable; target ≤ 10 ms) | "
            f"{statistics.median(served) * 1000:.1f} | {p95 * 1000:.1f} |"
        ),
        (
            "| ours, a reader's browser again (`If-None-Match`, answered 304) | "
            f"{statistics.median(revisits) * 1000:.1f} | "
            f"{revisits[int(len(revisits) * 0.95) - 1] * 1000:.1f} |"
        ),
        (
            f"| anchor: the same bytes as a file, `GET /files/page-copy.html` | "
            f"{statistics.median(files) * 1000:.1f} | "
            f"{files[int(len(files) * 0.95) - 1] * 1000:.1f} |"
        ),
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section(SECTION, table)


def write_section(section: str, table: str) -> None:
    """Replace the `section` of docs/benchmarks.md (its heading line) with `table`, or add it."""
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8")
    if section in text:
        start = text.index(section)
        end = text.find("\n## ", start + len(section))
        text = text[:start] + table + (text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + table
    doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
