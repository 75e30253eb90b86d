"""jupyter-nj: reproducible, versioned, collaborative notebooks for Jupyter."""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - a source tree that was never built
    import warnings

    warnings.warn(
        "jupyter_nj was imported from a source tree that was never built: run `make setup`.",
        stacklevel=2,
    )
    __version__ = "dev"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import NJApp

    return [{"module": "jupyter_nj", "app": NJApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-nj"}]
