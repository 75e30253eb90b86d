"""Loose objects are written while a background repack prunes: the writer never fails."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pygit2

from jupyter_nj.history.objects import ObjectWriter


def test_objects_are_written_while_empty_fan_out_folders_are_pruned(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    writer = ObjectWriter(tmp_path / "r.git")
    objects = tmp_path / "r.git" / "objects"
    stop = threading.Event()

    def prune() -> None:
        # What `git prune-packed` does after a repack: remove fan-out folders left empty.
        while not stop.is_set():
            for name in os.listdir(objects):
                if len(name) == 2:
                    try:
                        os.rmdir(objects / name)
                    except OSError:
                        pass

    pruner = threading.Thread(target=prune)
    pruner.start()
    try:
        written = []
        for n in range(3000):
            oid = writer.blob(f"blob {n}\n".encode())
            written.append(oid)
            # Emptied again, as if packed: the next object in this folder must recreate it.
            os.unlink(objects / str(oid)[:2] / str(oid)[2:])
    finally:
        stop.set()
        pruner.join()
    assert len(written) == 3000
    last = writer.blob(b"kept\n")
    assert repo[last].data == b"kept\n"
