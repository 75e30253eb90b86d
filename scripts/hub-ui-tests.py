"""Browser tests of JupyterLab under a real JupyterHub: ui-tests/hub/*.spec.ts in Chromium.

Starts the hub of tests/hub/ (configurable-http-proxy, alice's and bob's servers, every server
narrowing guests; bob in group `lab`) with this checkout's lab extension ahead of the installed
one, runs Playwright with ui-tests/playwright.hub.config.js against it, and stops everything.

    PATH=.venv/bin:$PATH python scripts/hub-ui-tests.py [playwright arguments]

NJ_HUB_TEST_PORTS chooses the loopback ports, as for the hub tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(arguments: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    from tests.hub.conftest import running_hub
    from tests.hub.test_hub import save_notebook

    build = REPO / "jupyter_nj" / "labextension"
    if not (build / "package.json").exists():
        print("Build the lab extension first (cd labextension && npm run build).", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nj-hub-ui-") as base:
        # JUPYTER_PATH comes first in JupyterLab's search for extensions: this build wins.
        labextensions = Path(base) / "jupyter" / "labextensions"
        labextensions.mkdir(parents=True)
        (labextensions / "jupyter-nj").symlink_to(build)
        (Path(base) / "hub").mkdir()
        os.environ["JUPYTER_PATH"] = str(Path(base) / "jupyter")
        with running_hub(Path(base) / "hub", NJ_HUB_TEST_OPEN_SERVERS="") as hub:
            hub.add_to_group("lab", ["bob"])
            for user in ("alice", "bob"):
                hub.start_server(user)
            # With a kernelspec the lab starts that kernel at once; without one it opens a
            # modal "Select Kernel" dialog, whenever the kernelspecs arrive, over the menus.
            save_notebook(hub, "alice", "x.ipynb", "alice-x-marker", kernel="python3")
            env = {**os.environ, "NJ_HUB_URL": hub.url, "NJ_HUB_PASSWORD": hub.password}
            return subprocess.call(
                ["npx", "playwright", "test", "-c", "playwright.hub.config.js", *arguments],
                cwd=REPO / "ui-tests",
                env=env,
            )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
