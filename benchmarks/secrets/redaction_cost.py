"""What redaction costs on the save path and the kernel websocket.

Prints, for a notebook of a few MB and 20 live secrets, the time the pre-save hook adds, and the
per-message cost of the websocket pre-check against jupyter_client's own unpack of the same
message (the anchor: work the server does for every message anyway in the legacy protocol).

    .venv/bin/python benchmarks/secrets/redaction_cost.py
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import time

import nbformat
from jupyter_client.session import Session

from jupyter_nj.secrets.redaction import Redactor


def best_of(runs: int, action) -> float:  # type: ignore[no-untyped-def]
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    logging.getLogger("jupyter_nj").setLevel(logging.ERROR)  # the hook's "replaced" warnings
    redactor = Redactor()
    values = [f"sk_live_{secrets.token_hex(16)}" for _ in range(20)]
    for i, value in enumerate(values):
        redactor.register(f"SECRET_{i}", value)

    nb = nbformat.v4.new_notebook()
    for i in range(400):
        cell = nbformat.v4.new_code_cell(f"x = {i}\nprint(x)")
        text = "some ordinary output line of moderate length\n" * 200
        if i % 50 == 0:
            text += values[i % 20] + "\n"
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells.append(cell)
    size_mb = len(json.dumps(nb)) / 1e6

    def hook() -> None:
        model = {"type": "notebook", "content": copy.deepcopy(nb)}
        redactor.pre_save_hook(model, "bench.ipynb")

    def copy_only() -> None:
        copy.deepcopy(nb)

    t_hook = best_of(5, hook) - best_of(5, copy_only)
    t_write = best_of(5, lambda: nbformat.writes(nb))
    print(f"notebook {size_mb:.1f} MB, 20 live secrets, 8 outputs holding one")
    print(f"  pre-save redaction     {t_hook * 1000:8.1f} ms")
    print(f"  nbformat.writes (anchor){t_write * 1000:7.1f} ms   ratio {t_hook / t_write:.2f}")

    session = Session(key=b"k")
    clean = session.pack({"name": "stdout", "text": "ordinary output line\n" * 5000})
    t_check = best_of(50, lambda: redactor.may_contain(clean))
    t_unpack = best_of(50, lambda: session.unpack(clean))
    print(f"websocket message {len(clean) / 1e3:.0f} kB without a secret")
    print(f"  pre-check (may_contain) {t_check * 1e6:7.1f} us")
    print(f"  session.unpack (anchor) {t_unpack * 1e6:7.1f} us   ratio {t_check / t_unpack:.2f}")


if __name__ == "__main__":
    main()
