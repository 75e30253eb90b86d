"""A Docker runtime attacks what the server runs and records, and every attack fails.

The kernel's uid owns the server root (as with the `jovyan` layout, where server and kernels are
the same user). From a real container kernel, a notebook tries to rewrite a kernelspec the
server will launch, forge or delete history, rewrite an environment record, and reach them
through a symlink, a hard link, a rename over them and `rm -rf`. Afterwards: jupyter-nj's data is
byte for byte what it was, `git fsck` is clean, the next kernel start runs in its container, and
the pin resolves to the same image.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_nj.runtimes.provisioner import ROLE_LABEL, SERVER_LABEL

from ..services import fsck_is_clean, git_fsck
from .conftest import start_session_kernel, warm_pool, write_notebook

pytestmark = pytest.mark.docker

KERNEL_UID, KERNEL_GID = 1000, 100
FORGED_SPEC = json.dumps(
    {
        "argv": ["/bin/sh", "-c", "touch /tmp/nj-escaped"],
        "display_name": "escaped",
        "language": "python",
        "metadata": {"kernel_provisioner": {"provisioner_name": "local-provisioner"}},
    }
)

# Kernel-side: each attempt and what the kernel answered (an errno name, or done).
ATTEMPTS = r"""
import errno, json, os, shutil
results = {}
def attempt(name, action):
    try:
        action()
        results[name] = "done"
    except OSError as err:
        results[name] = errno.errorcode.get(err.errno, str(err.errno))
def write(path, text):
    with open(path, "w") as handle:
        handle.write(text)
"""

# Runs in the container kernel, after ATTEMPTS.
ATTACK = (
    ATTEMPTS
    + r"""
nj, root, record = NJ, ROOT, RECORD
spec = os.path.join(nj, "kernels", "nj-mini", "kernel.json")
def through_symlink():
    os.symlink(nj, os.path.join(root, "into-data"))
    write(os.path.join(root, "into-data", "kernels", "nj-mini", "kernel.json"), FORGED)
def rename_over():
    os.makedirs(os.path.join(root, "forged", "kernels"), exist_ok=True)
    os.rename(os.path.join(root, "forged"), nj)
attempt("rewrite kernelspec", lambda: write(spec, FORGED))
attempt("forge history HEAD", lambda: write(os.path.join(nj, "history.git", "HEAD"), "x"))
attempt("delete history", lambda: shutil.rmtree(os.path.join(nj, "history.git")))
attempt("rewrite environment record", lambda: write(record, "{}"))
attempt("write through a symlink", through_symlink)
attempt("hard link", lambda: os.link(spec, os.path.join(root, "hard-link")))
attempt("rename over", rename_over)
attempt("rename away", lambda: os.rename(nj, os.path.join(root, "moved-away")))
for parent in PARENTS:
    attempt("rename parent " + parent, lambda: os.rename(parent, parent + "-moved"))
attempt("rm -rf", lambda: shutil.rmtree(nj))
attempt("create in data", lambda: write(os.path.join(nj, "planted"), "x"))
# The kernel's private folder: the server writes these files again at a restart.
from ipykernel.connect import get_connection_file
private = os.path.dirname(get_connection_file())
def swap_for_link(name):
    os.replace(os.path.join(private, name), os.path.join(private, "s", name))
    os.symlink(spec, os.path.join(private, name))
attempt("swap env.sh for a link", lambda: swap_for_link("env.sh"))
attempt("rewrite the connection file", lambda: write(get_connection_file(), "{}"))
print(json.dumps(results))
"""
)


def owned_by_kernel(path: Path) -> None:
    """Hand `path` to the kernel's uid (a server running as that uid owns it already)."""
    if os.geteuid() == 0:
        os.chown(path, KERNEL_UID, KERNEL_GID)


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file and link under `folder`: its bytes' hash (or link target) and mode."""
    seen = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        st = path.lstat()
        if path.is_symlink():
            seen[rel] = f"link:{os.readlink(path)}"
        elif path.is_file():
            seen[rel] = f"{hashlib.sha256(path.read_bytes()).hexdigest()}:{st.st_mode:o}"
        else:
            seen[rel] = f"dir:{st.st_mode:o}"
    return seen


def kernel_containers(docker_client: Any, server_data: str) -> list[Any]:
    return list(
        docker_client.containers.list(
            all=True, filters={"label": [f"{ROLE_LABEL}=kernel", f"{SERVER_LABEL}={server_data}"]}
        )
    )


@pytest.fixture
def runtime_backend() -> str:
    return "docker"


@pytest.fixture(params=["default", ".nj", "srv/nj-data", "pooled/.nj"])
def data_layout(request: pytest.FixtureRequest) -> str:
    """Where jupyter-nj's data is: its default (out of the root), or put in the root by an
    operator, directly or below a folder a runtime could rename; `pooled/` runs the attack from
    a warm-pool container, which mounts the whole root."""
    return str(request.param)


@pytest.fixture
def nj_config(
    nj_config: dict[str, Any], data_layout: str, jp_root_dir: Path
) -> Iterator[dict[str, Any]]:
    config = dict(nj_config, history_quiet_period=0.0)
    layout = data_layout.removeprefix("pooled/")
    if layout != data_layout:
        config["runtime_pool_size"] = 1
    if layout == "default":
        config.pop("nj_dir")
    else:
        config["nj_dir"] = str(jp_root_dir / layout)
    yield config


@pytest.fixture
def root_owned_by_kernel(jp_root_dir: Path) -> Path:
    owned_by_kernel(jp_root_dir)
    return jp_root_dir


@pytest.fixture
def data_owned_by_kernel() -> Iterator[Any]:
    """Hands jupyter-nj's data to the kernel's uid too, as when server and kernels are one user.

    A server running as root then opens a history store another uid owns, which libgit2 refuses
    unless owner validation is off (for this test only).
    """
    import pygit2

    pygit2.option(pygit2.enums.Option.SET_OWNER_VALIDATION, 0)

    def hand_over(folder: Path) -> None:
        if os.geteuid() == 0:
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, KERNEL_UID, KERNEL_GID, follow_symlinks=False)

    yield hand_over
    pygit2.option(pygit2.enums.Option.SET_OWNER_VALIDATION, 1)


async def built_mini(jp_fetch: Any) -> dict[str, Any]:
    """`mini` built for Docker in this server's catalog (the image is cached by the engine)."""
    response = await jp_fetch(
        "nj", "api", "environments", "mini", "build", method="POST", body='{"backend": "docker"}'
    )
    return dict(json.loads(response.body))


async def saved_version(jp_fetch: Any, path: str) -> None:
    """Save `path` through the contents API and wait until history has its version."""
    body = json.dumps({"type": "notebook", "format": "json", "content": _notebook()})
    await jp_fetch("api", "contents", path, method="PUT", body=body)
    for _ in range(600):
        listing = json.loads((await jp_fetch("nj", "api", "history", path)).body)
        if listing["versions"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the save never became a version")


def _notebook() -> dict[str, Any]:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print('kept')"))
    return dict(nb)


async def a_waiting_pool_container(
    jp_fetch: Any, jp_serverapp: Any, root: Path, docker_client: Any, pin: dict[str, str]
) -> str:
    """Start (and stop) one kernel, so the pool fills; the id of the container now waiting.

    Its notebook is pinned already, so its start writes nothing (a first start pins)."""
    write_notebook(root, "warm-up.ipynb", pin=pin)
    first = await start_session_kernel(jp_fetch, jp_serverapp, "warm-up.ipynb", "nj-mini")
    await first.shutdown()
    for _ in range(900):
        ready = [r for runtimes in warm_pool(jp_serverapp).ready.values() for r in runtimes]
        if ready:
            return ready[0].container_id
        await asyncio.sleep(0.1)
    raise AssertionError("the warm pool never filled")


async def drained_pool(docker_client: Any, pool: Any) -> None:
    for _ in range(900):
        with pool.lock:
            if not any(pool.starting.values()):
                break
        await asyncio.sleep(0.1)
    await asyncio.to_thread(
        pool.drain, lambda r: docker_client.containers.get(r.container_id).remove(force=True)
    )


async def test_a_container_runtime_cannot_touch_what_the_server_runs_or_records(
    docker_mini: dict[str, Any],
    docker_client: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    nj_app: Any,
    root_owned_by_kernel: Path,
    data_owned_by_kernel: Any,
    data_layout: str,
) -> None:
    root = root_owned_by_kernel
    nj = Path(nj_app.nj_data_path)
    if data_layout == "default":
        assert root.resolve() not in nj.resolve().parents, "data must default to outside the root"
    record = await built_mini(jp_fetch)
    pin = {"environment": "mini", "version": record["version"], "backend": "docker"}
    write_notebook(root, "attack.ipynb", pin=pin)
    owned_by_kernel(root / "attack.ipynb")
    await saved_version(jp_fetch, "kept.ipynb")
    # The catalog: the user's by default (outside the data folder), else in it.
    catalog = Path(nj_app.environment_catalog_path)
    data_owned_by_kernel(nj)
    data_owned_by_kernel(catalog)
    record_path = next((catalog / "records" / "mini").glob("*.json"))
    spec_before = (nj / "kernels" / "nj-mini" / "kernel.json").read_text()
    before = fingerprint(nj), fingerprint(catalog)

    parents = [str(p) for p in (nj.parent,) if p != root and root in p.parents]
    pooled = data_layout.startswith("pooled/")
    if pooled:
        waiting = await a_waiting_pool_container(jp_fetch, jp_serverapp, root, docker_client, pin)
    session = await start_session_kernel(jp_fetch, jp_serverapp, "attack.ipynb", "nj-mini")
    try:
        if pooled:
            claimed = docker_client.containers.get(f"nj-kernel-{session.kernel_id}")
            assert claimed.id == waiting, "the attack must run in the pooled container"
        code = (
            ATTACK.replace("NJ, ROOT, RECORD", f"{str(nj)!r}, {str(root)!r}, {str(record_path)!r}")
            .replace("FORGED)", f"{FORGED_SPEC!r})")
            .replace("PARENTS", repr(parents))
        )
        status, out, _ = await session.run(code)
        assert status == "ok", out
        results = json.loads(out.strip().splitlines()[-1])
    finally:
        await session.shutdown()

    succeeded = {name: how for name, how in results.items() if how == "done"}
    assert not succeeded, f"attacks that worked from the container: {succeeded}"
    assert (fingerprint(nj), fingerprint(catalog)) == before
    assert (nj / "kernels" / "nj-mini" / "kernel.json").read_text() == spec_before
    fsck = await asyncio.to_thread(git_fsck, nj / "history.git")
    assert fsck_is_clean(fsck), fsck.stdout + fsck.stderr

    # The server does not follow the link the runtime planted, for reads or for writes.
    for method, body in (
        ("GET", None),
        ("PUT", json.dumps({"type": "file", "format": "text", "content": FORGED_SPEC})),
    ):
        with pytest.raises(HTTPClientError) as refused:
            await jp_fetch(
                "api",
                "contents",
                "into-data/kernels/nj-mini/kernel.json",
                method=method,
                body=body,
            )
        assert refused.value.code in (403, 404), method
    assert (fingerprint(nj), fingerprint(catalog)) == before

    # The next start of the same kernelspec runs in a container, on the image the pin names.
    again = await start_session_kernel(jp_fetch, jp_serverapp, "attack.ipynb", "nj-mini")
    try:
        status, out, _ = await again.run("import os; print(os.path.exists('/.dockerenv'))")
        assert (status, out.strip()) == ("ok", "True")
        runtime = json.loads((await jp_fetch("nj", "api", "runtimes", again.kernel_id)).body)
        assert runtime["version"]["version"] == record["version"]
        assert runtime["version"]["image"] == record["image"]
    finally:
        await again.shutdown()
    assert not Path("/tmp/nj-escaped").exists()
    for _ in range(300):
        if not kernel_containers(docker_client, str(nj)):
            break
        await asyncio.sleep(0.1)
    if pooled:
        await drained_pool(docker_client, warm_pool(jp_serverapp))
    assert not kernel_containers(docker_client, str(nj))


HOME_ATTACK = (
    ATTEMPTS
    + r"""
home = HOME
attempt("new login script", lambda: write(os.path.join(home, ".bash_profile"), "touch /tmp/x"))
attempt("jupyter config", lambda: write(
    os.path.join(home, ".jupyter", "jupyter_server_config.py"), "c.X = 1"))
attempt("kernelspec in the user's data dir", lambda: os.makedirs(
    os.path.join(home, ".local", "share", "jupyter", "kernels", "evil")))
attempt("next to the notebook", lambda: write(os.path.join(home, "out.txt"), "x"))
with open(os.path.join(home, ".bashrc")) as handle:
    results["read .bashrc"] = "done" if handle.read() else "hidden"
print(json.dumps(results))
"""
)


@pytest.mark.parametrize("data_layout", ["default"])
async def test_a_runtime_whose_folder_is_the_home_cannot_write_what_the_user_runs(
    docker_mini: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    root_owned_by_kernel: Path,
    monkeypatch: pytest.MonkeyPatch,
    data_layout: str,
) -> None:
    home = root_owned_by_kernel
    monkeypatch.setenv("HOME", str(home))  # the server root is the server user's home
    (home / ".jupyter").mkdir()
    (home / ".jupyter" / "jupyter_server_config.py").write_text("# the user's\n")
    (home / ".bashrc").write_text("# the user's\n")
    for path in (home / ".jupyter", home / ".jupyter" / "jupyter_server_config.py"):
        owned_by_kernel(path)
    await built_mini(jp_fetch)
    write_notebook(home, "nb.ipynb")
    before = {k: v for k, v in fingerprint(home).items() if k != "nb.ipynb"}
    session = await start_session_kernel(jp_fetch, jp_serverapp, "nb.ipynb", "nj-mini")
    try:
        status, out, _ = await session.run(HOME_ATTACK.replace("HOME", repr(str(home)), 1))
        assert status == "ok", out
        results = json.loads(out.strip().splitlines()[-1])
        runtime = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
    finally:
        await session.shutdown()
    assert {name for name, how in results.items() if how == "done"} == set(), results
    after = {k: v for k, v in fingerprint(home).items() if k != "nb.ipynb"}
    # Nothing changed, except empty folders the server made to cover (IPython's, say).
    made = {k for k in after.keys() - before.keys() if not any((home / k).iterdir())}
    assert {k: v for k, v in after.items() if k not in made} == before
    assert any("home directory" in warning for warning in runtime["warnings"])
