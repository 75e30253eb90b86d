"""jupytext's contents manager, built before the server builds its contents manager.

jupytext (a dependency of this pillar) ships a server extension, `jupyterlab_jupytext`, that is
enabled on install. When it loads, after jupyter-nj (extensions load in name order), it derives a
class from `ServerApp.contents_manager_class` and *replaces* the server's contents manager with a
new instance, so the hooks jupyter-nj put on the first one (link guard, secrets' redaction,
history's save hooks and checkpoints) would be gone and saves would stop becoming versions.

jupytext's loader does nothing when the configured class is already one of its own (it checks
for the `formats` trait). So, at link time, before the server builds its contents manager,
jupyter-nj derives that class itself with jupytext's public builders: the server builds one
jupytext contents manager, jupyter-nj hooks it, and jupytext's loader leaves it in place.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

JUPYTEXT_EXTENSION = "jupyterlab_jupytext"


def jupytext_extension_enabled(serverapp: Any) -> bool:
    enabled = dict(getattr(serverapp, "jpserver_extensions", {}) or {})
    manager = getattr(serverapp, "extension_manager", None)
    for name, package in (getattr(manager, "extensions", None) or {}).items():
        enabled.setdefault(name, getattr(package, "enabled", False))
    return bool(enabled.get(JUPYTEXT_EXTENSION))


def use_jupytext_contents_manager(serverapp: Any, log: logging.Logger | Any) -> bool:
    """Make `serverapp.contents_manager_class` jupytext's, when jupytext's server extension is
    enabled and the class is not jupytext's yet. Returns whether it changed the class."""
    if not jupytext_extension_enabled(serverapp):
        return False
    base = serverapp.contents_manager_class
    if hasattr(base, "formats"):
        return False  # jupytext's already (configured by the site)
    try:
        from jupytext import (
            build_async_jupytext_contents_manager_class,
            build_sync_jupytext_contents_manager_class,
        )
    except ImportError:
        return False
    if inspect.iscoroutinefunction(base.get):
        derived = build_async_jupytext_contents_manager_class(base)
    else:
        derived = build_sync_jupytext_contents_manager_class(base)
    serverapp.contents_manager_class = derived
    log.info(
        "jupyter-nj: using jupytext's contents manager (derived from %s) from the start, so "
        "jupytext's server extension does not replace the one jupyter-nj hooks.",
        base.__name__,
    )
    return True
