"""How app.py switches history on: build the manager, attach it, stop it."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pygit2

from .manager import HistoryManager, build_history_manager

log = logging.getLogger(__name__)


def start_history(
    app: Any, redact: Any = None, *, saves_redacted: bool = False
) -> HistoryManager | None:
    """Build the HistoryManager from NJApp's traits and hook it into the running server.

    `redact` is the secrets pillar's `redact(content)`, and `saves_redacted` says its pre-save
    hook already applies it to every save; `NJApp.history_redact` overrides both (that callable
    runs on every version here).
    """
    app.history_unavailable = "History is turned off on this server (NJApp.history_enabled)."
    if not app.history_enabled:
        return None
    try:
        manager = build_history_manager(
            app,
            redact=app.history_redact or redact,
            saves_redacted=saves_redacted and not app.history_redact,
        )
    except (OSError, sqlite3.Error, pygit2.GitError) as err:
        # The rest of jupyter-nj (and every save) must keep working without history.
        log.error("history: the store at %s cannot be opened: %s", app.nj_data_path, err)
        app.history_unavailable = (
            f"The history store cannot be opened ({type(err).__name__}: {err}). Fix the folder's "
            "permissions or point NJApp.nj_dir at a writable folder, then restart the server."
        )
        return None
    if app.serverapp is not None:
        manager.attach(app.serverapp, documents=app.documents)
    else:
        manager.start()
    return manager


def stop_history(app: Any) -> None:
    manager = app.history_manager
    if manager is not None:
        manager.stop()
        app.history_manager = None
