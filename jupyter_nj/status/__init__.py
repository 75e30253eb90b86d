"""Status: which jupyter-nj backends are live, for the status bar and `jupyter nj status`."""

from .manager import BackendStatus, StatusManager

__all__ = ["BackendStatus", "StatusManager"]
