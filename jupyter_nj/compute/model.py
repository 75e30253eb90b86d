"""Several runtimes in one notebook: where a notebook declares them and a cell chooses one.

- `metadata.nj.runtimes.<name>`: a runtime of the notebook, in the pin format the notebook's own
  kernel (`main`) already uses: `{"environment", "version"?, "backend"?}`. A runtime declared
  without a version is pinned to the version it runs on its first start.
- `metadata.nj.runtime` of a code cell: the name of the runtime that runs it (absent: `main`).

JupyterLab sends every cell's metadata with its execute request (`CodeCell.execute` merges it
into the request's metadata, next to `cellId`), so the server reads the cell's runtime from the
request itself, as every client of the notebook sends it.
"""

from __future__ import annotations

import re
from typing import Any

from ..base import NJError
from ..runtimes.manager import KERNELSPEC_PREFIX

MAIN = "main"
# A runtime name: short, and safe in a URL, an environment variable's value and a file name.
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def check_runtime_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise NJError(
            400,
            "bad-runtime-name",
            f"{name!r} is not a runtime name: use 1-32 lower-case letters, digits, '-' or '_', "
            "starting with a letter (for example `bash` or `r`).",
        )
    return name


def declared_runtimes(metadata: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The well-formed `metadata.nj.runtimes` entries of a notebook's metadata, by name."""
    nj = metadata.get("nj") if isinstance(metadata, dict) else None
    runtimes = nj.get("runtimes") if isinstance(nj, dict) else None
    if not isinstance(runtimes, dict):
        return {}
    declared = {}
    for name, pin in runtimes.items():
        if (
            isinstance(name, str)
            and _NAME.match(name)
            and isinstance(pin, dict)
            and isinstance(pin.get("environment"), str)
        ):
            declared[name] = {
                k: str(v) for k, v in pin.items() if k in {"environment", "version", "backend"}
            }
    return declared


def kernelspec_of(environment: str) -> str:
    """The kernelspec that runs `environment` (runtimes/manager.py writes one per environment)."""
    return f"{KERNELSPEC_PREFIX}{environment}"


def start_failure(err: BaseException) -> str:
    """Why a kernel start failed, as the provisioner or the server said it."""
    return str(getattr(err, "message", None) or getattr(err, "log_message", None) or err)


def cell_runtime(metadata: Any) -> str:
    """The runtime a cell (or an execute request carrying the cell's metadata) names."""
    nj = metadata.get("nj") if isinstance(metadata, dict) else None
    name = nj.get("runtime") if isinstance(nj, dict) else None
    return name if isinstance(name, str) and name else MAIN
