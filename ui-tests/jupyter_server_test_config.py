"""Jupyter server configuration for the browser tests. Never use it in production: it turns
authentication off so Playwright can drive the page (the pytest suite covers authentication)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any, cast

from jupyterlab.galata import configure_jupyter_server

c = cast(Any, globals()["c"])
configure_jupyter_server(c)
c.ServerApp.port = int(os.environ.get("NJ_UI_TESTS_PORT", "8899"))
# Galata's default root is a fresh temporary folder per run, which is what the tests want.
c.ServerApp.jpserver_extensions = {"jupyter_nj": True}
# And a fresh environment catalog, not the user's: each run builds what it uses, and a version a
# run saved is never the newest version of the next run (nor of another run beside it).
# The same for publications: a run publishes into a store of its own.
run_data = tempfile.mkdtemp(prefix="nj-ui-catalog-")
# Removed when the server exits (Playwright stops it with SIGTERM, a normal shutdown).
atexit.register(shutil.rmtree, run_data, ignore_errors=True)
c.NJApp.environment_catalog_dir = os.path.join(run_data, "environments")
c.NJApp.publish_dir = os.path.join(run_data, "publications")
# Groups for sharing without a hub, which the Secrets form offers (principals.spec.ts). The
# server's owner is in none, so the panel's "You are ..." line is as the other tests expect.
c.NJApp.secrets_groups = {"lab": ["bob"], "analysts": ["carol"]}
# CI machines run everything as root; the server refuses that unless told it is intended.
c.ServerApp.allow_root = True
