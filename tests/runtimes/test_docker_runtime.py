"""The `nj-docker` provisioner against the real Docker engine on this machine."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_nj.runtimes.provisioner import (
    KERNEL_DIR_LABEL,
    KERNEL_ROLE,
    ROLE_LABEL,
    SERVER_LABEL,
    remove_orphan_kernels,
)

from .conftest import (
    KernelSession,
    make_wheel,
    reply_to,
    start_session_kernel,
    write_notebook,
)

pytestmark = pytest.mark.docker


@pytest.fixture
def runtime_backend() -> str:
    return "docker"


def kernel_container(docker_client: Any, kernel_id: str) -> Any:
    found = docker_client.containers.list(
        all=True, filters={"label": f"org.jupyter-nj.kernel-id={kernel_id}"}
    )
    return found[0] if found else None


async def cell_prints(session: KernelSession, msg_id: str, text: str) -> None:
    """Wait until the cell `msg_id` printed `text` (it is running)."""
    while True:
        msg = await session.client.get_iopub_msg(timeout=120)
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "stream"
            and text in msg["content"]["text"]
        ):
            return


def writable_folder(root: Path, name: str) -> Path:
    # The server runs as root here; kernels run as 1000:100 and need to write the notebook folder.
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(folder, 1000, 100)
    return folder


async def test_container_kernel_is_confined_and_sees_the_notebook_folder(
    docker_mini: dict[str, Any],
    docker_client: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NJ_TEST_SERVER_SECRET", "must-not-reach-kernels")
    work = writable_folder(jp_root_dir, "work")
    (work / "data.txt").write_text("from the host")
    write_notebook(jp_root_dir, "work/nb.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "work/nb.ipynb", "nj-mini")
    try:
        status, out, _ = await session.run(
            "import os, json, sys\n"
            "open('from_kernel.txt', 'w').write('hi')\n"
            "open('/results/k.txt', 'w').write(os.environ['NJ_RESULTS'])\n"
            "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'cwd': os.getcwd(),"
            " 'env': sorted(os.environ), 'sock': os.path.exists('/var/run/docker.sock'),"
            " 'data': open('data.txt').read(), 'prefix': sys.prefix}))"
        )
        assert status == "ok", out
        seen = json.loads(out)
        assert (seen["uid"], seen["gid"]) == (1000, 100)
        assert seen["cwd"] == str(work.resolve())
        assert seen["data"] == "from the host"
        assert (work / "from_kernel.txt").read_text() == "hi"
        # The notebook's results folder, at /results and in NJ_RESULTS.
        assert (work / "nb.results" / "k.txt").read_text() == "/results"
        assert seen["sock"] is False
        assert seen["prefix"] == "/opt/nj/env"
        assert "NJ_TEST_SERVER_SECRET" not in seen["env"]
        assert {"SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"} <= set(seen["env"])

        container = kernel_container(docker_client, session.kernel_id)
        attrs = container.attrs
        labels = attrs["Config"]["Labels"]
        assert labels["org.jupyter-nj.environment"] == "mini"
        assert labels["org.jupyter-nj.version"] == docker_mini["version"]
        assert labels["org.jupyter-nj.notebook"] == "work/nb.ipynb"
        assert attrs["Image"] == docker_mini["version"]
        host = attrs["HostConfig"]
        assert host["Memory"] == 1024**3 and host["NanoCpus"] == 10**9
        assert host["CapDrop"] == ["ALL"] and host["Privileged"] is False and host["Init"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert "SYS_ADMIN" not in (host["CapAdd"] or []) and "NET_RAW" not in (host["CapAdd"] or [])
        assert not host.get("PortBindings")
        # The kernel runs as 1000:100 (checked above, from inside); only docker-init is root.
        # Before it, as root, one step only: `/results` made a link into the kernel's folder.
        cmd = attrs["Config"]["Cmd"]
        drop = cmd.index("setpriv")
        assert cmd[drop : drop + 2] == ["setpriv", "--reuid=1000"]
        assert cmd[:drop] == [
            "/bin/sh",
            "-c",
            'ln -sfn "$0" /results 2>/dev/null; exec "$@"',
            f"{labels['org.jupyter-nj.kernel-dir']}/results",
        ]
        assert "--bounding-set=-all" in attrs["Config"]["Cmd"]
        assert not any("NJ_TEST_SERVER_SECRET" in e for e in attrs["Config"]["Env"])
        assert all("docker.sock" not in m["Source"] for m in attrs["Mounts"])
        assert {m["Type"] for m in attrs["Mounts"]} == {"bind"}  # no stray anonymous volumes
        assert not docker_client.images.get(docker_mini["version"]).attrs["Config"]["Volumes"]
        connection = json.loads(Path(session.km.connection_file).read_text())
        assert connection["transport"] == "ipc"  # no TCP port anywhere

        assert await session.km.provisioner.poll() is None
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert info["warnings"] == []

        msg_id = session.client.execute("import time; print('asleep', flush=True); time.sleep(60)")
        await cell_prints(session, msg_id, "asleep")  # the cell runs: now interrupt it
        await jp_serverapp.kernel_manager.interrupt_kernel(session.kernel_id)
        reply = await reply_to(session, msg_id)
        assert reply["content"]["ename"] == "KeyboardInterrupt"

        await jp_serverapp.kernel_manager.restart_kernel(session.kernel_id)
        await session.ready()
        status, _, _ = await session.run("print('after restart')")
        assert status == "ok"
        restarted = kernel_container(docker_client, session.kernel_id)
        assert restarted.id != container.id  # the old container is gone, a new one runs
    finally:
        await session.shutdown()
    assert kernel_container(docker_client, session.kernel_id) is None  # removed on shutdown
    assert not Path(session.km.connection_file).parent.exists()


async def test_a_notebook_folder_the_kernel_cannot_write_is_reported_and_the_kernel_runs(
    docker_mini: dict[str, Any], jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # Read-only for everyone but root, whoever runs the tests; kernels are never root.
    write_notebook(jp_root_dir, "locked/nb.ipynb")
    (jp_root_dir / "locked").chmod(0o555)
    session = await start_session_kernel(jp_fetch, jp_serverapp, "locked/nb.ipynb", "nj-mini")
    try:
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        [warning] = info["warnings"]
        assert "cannot write to the notebook's folder 'locked'" in warning
        assert "runtime_kernel_uid" in warning
        # The warning is right: the kernel runs, and cannot write there.
        status, out, _ = await session.run(
            "try:\n    open('x.txt', 'w')\nexcept PermissionError:\n    print('refused')"
        )
        assert (status, out.strip()) == ("ok", "refused")
    finally:
        await session.shutdown()
        (jp_root_dir / "locked").chmod(0o755)


async def test_install_in_a_container_cell_is_importable_at_once(
    docker_mini: dict[str, Any], jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    work = writable_folder(jp_root_dir, "inst")
    make_wheel(work / "wheels", "nj_probe_pkg")
    write_notebook(jp_root_dir, "inst/nb.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "inst/nb.ipynb", "nj-mini")
    try:
        status, out, _ = await session.run(
            "pip install --no-index --find-links wheels nj_probe_pkg"
        )
        assert status == "ok", out
        status, out, _ = await session.run("import nj_probe_pkg; print(nj_probe_pkg.VALUE)")
        assert (status, out.strip()) == ("ok", "1"), out
    finally:
        await session.shutdown()


async def test_apt_get_in_a_cell_installs_as_root_on_the_kernels_behalf(
    docker_mini: dict[str, Any], jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    writable_folder(jp_root_dir, "apt")
    write_notebook(jp_root_dir, "apt/nb.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "apt/nb.ipynb", "nj-mini")
    try:
        status, out, _ = await session.run("import os; print(os.getuid())")
        assert out.strip() == "1000"  # the kernel itself stays unprivileged
        _, out, _ = await session.run("!apt-get install -y -o APT::Update::Pre-Invoke::=id jq")
        assert "not allowed" in out  # options that could run commands as root are refused
        _, out, _ = await session.run("!apt-get install -y ./evil.deb")
        assert "not a Debian package name" in out
        status, out, _ = await session.run("!apt-get install -y --no-install-recommends jq", 300)
        assert status == "ok", out
        _, out, _ = await session.run("!jq --version; cat /proc/self/status | grep CapEff")
        assert out.strip().startswith("jq-"), out
        assert "CapEff:\t0000000000000000" in out  # the kernel's processes hold no capability
    finally:
        await session.shutdown()


async def test_pinned_image_missing_from_the_engine_is_a_clear_start_error(
    docker_mini: dict[str, Any], jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, nj_app: Any
) -> None:
    from jupyter_nj.runtimes.model import EnvironmentVersion

    known = EnvironmentVersion.from_json(docker_mini)
    gone = EnvironmentVersion(
        name="mini",
        version="sha256:" + "e" * 64,
        backend="docker",
        recipe=known.recipe,
        lock_sha256=known.lock_sha256,
        image="nj-env/mini:gone",
    )
    nj_app.environment_manager.catalog.add(gone)
    pin = {"environment": "mini", "version": gone.version, "backend": "docker"}
    writable_folder(jp_root_dir, "gone")
    write_notebook(jp_root_dir, "gone/nb.ipynb", pin)
    with pytest.raises(HTTPClientError) as err:
        await start_session_kernel(jp_fetch, jp_serverapp, "gone/nb.ipynb", "nj-mini")
    body = err.value.response.body.decode() if err.value.response else ""
    assert "is missing from the Docker engine" in body and "jupyter nj env build mini" in body


async def test_killed_container_is_reported_dead_with_the_reason(
    docker_mini: dict[str, Any],
    docker_client: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    writable_folder(jp_root_dir, "k")
    write_notebook(jp_root_dir, "k/nb.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "k/nb.ipynb", "nj-mini")
    try:
        kernel_container(docker_client, session.kernel_id).kill()
        deadline = time.monotonic() + 20
        status = None
        while status is None and time.monotonic() < deadline:
            status = await session.km.provisioner.poll()
            await asyncio.sleep(0.2)
        assert status is not None
        assert "exited with code 137" in session.km.provisioner.exit_reason
        assert not await session.km.is_alive()
    finally:
        await session.shutdown()


async def test_out_of_memory_kernel_is_reported_dead_with_the_reason(
    docker_mini: dict[str, Any],
    docker_client: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
) -> None:
    writable_folder(jp_root_dir, "oom")
    write_notebook(jp_root_dir, "oom/nb.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "oom/nb.ipynb", "nj-mini")
    try:
        # Past the 1 GiB limit the tests configure; swap is capped at the same value.
        session.client.execute("hog = [bytearray(64 * 2**20) for _ in range(40)]")
        deadline = time.monotonic() + 60
        status = None
        while status is None and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            status = await session.km.provisioner.poll()
        assert status is not None, "the kernel outlived its memory limit"
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert "out of memory" in info["exit_reason"]
    finally:
        await session.shutdown()


def test_orphaned_kernel_containers_are_removed(
    docker_mini: dict[str, Any], docker_client: Any, nj_session_dir: Path
) -> None:
    server_data = str(nj_session_dir / "data")
    folder = tempfile.mkdtemp(prefix="njk-", dir="/tmp")  # as a crashed server leaves it
    ours = docker_client.containers.run(
        docker_mini["version"],
        ["sleep", "300"],
        detach=True,
        labels={ROLE_LABEL: KERNEL_ROLE, SERVER_LABEL: server_data, KERNEL_DIR_LABEL: folder},
    )
    other = docker_client.containers.run(
        docker_mini["version"],
        ["sleep", "300"],
        detach=True,
        labels={ROLE_LABEL: KERNEL_ROLE, SERVER_LABEL: "/another/server"},
    )
    try:
        assert remove_orphan_kernels(docker_client, server_data) == 1
        ids = {c.id for c in docker_client.containers.list(all=True)}
        assert ours.id not in ids and other.id in ids  # another server's kernels are left alone
        assert not os.path.exists(folder)
    finally:
        other.remove(force=True)


def test_docker_build_is_cached_by_content(
    docker_mini: dict[str, Any], definitions_dir: Path, nj_session_dir: Path
) -> None:
    from jupyter_nj.runtimes.config import RuntimesConfig

    manager = RuntimesConfig(environment_paths=[str(definitions_dir)]).build_environment_manager(
        str(nj_session_dir), nj_session_dir / "data", ""
    )
    again = manager.build("mini", "docker")
    # The version is the image ID: a build that ran again would commit a new image (a new ID).
    assert again.version == docker_mini["version"]


async def test_save_environment_commits_the_container_and_repins(
    docker_mini: dict[str, Any],
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    docker_client: Any,
) -> None:
    work = writable_folder(jp_root_dir, "snap")
    make_wheel(work / "wheels", "nj_probe_pkg")
    write_notebook(jp_root_dir, "snap/nb.ipynb")
    session = await start_session_kernel(jp_fetch, jp_serverapp, "snap/nb.ipynb", "nj-mini")
    saved: dict[str, Any] = {}
    try:
        status, out, _ = await session.run(
            "!pip install --no-index --find-links wheels nj_probe_pkg"
        )
        assert status == "ok", out
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert info["changed"] is True  # a UI warns before closing: not saved yet
        response = await jp_fetch(
            "nj", "api", "runtimes", session.kernel_id, "snapshot", method="POST", body="{}"
        )
        saved = json.loads(response.body)["version"]
        info = json.loads((await jp_fetch("nj", "api", "runtimes", session.kernel_id)).body)
        assert info["changed"] is False  # saved
        assert saved["parent"] == docker_mini["version"] and saved["backend"] == "docker"
        assert "+ nj-probe-pkg==1.0" in saved["changes"]
        image = docker_client.images.get(saved["version"])
        env = image.attrs["Config"]["Env"]
        assert not any(e.startswith(("JPY_SESSION_NAME", "SSL_CERT_FILE")) for e in env)
        assert image.attrs["Config"]["User"] == "1000:100"

        await jp_serverapp.kernel_manager.restart_kernel(session.kernel_id)
        await session.ready()
        status, out, _ = await session.run("import nj_probe_pkg; print(nj_probe_pkg.VALUE)")
        assert (status, out.strip()) == ("ok", "1"), out
        container = kernel_container(docker_client, session.kernel_id)
        assert container.attrs["Image"] == saved["version"]
    finally:
        await session.shutdown()
        if saved:
            docker_client.images.remove(saved["version"], force=True)  # a new one each run


def test_removing_a_container_twice_at_once_is_not_an_error(
    docker_mini: dict[str, Any], docker_client: Any
) -> None:
    # A dead kernel is cleaned up by the restarter and by the client's shutdown at the same time;
    # the engine answers the second removal with 409 while the first is in progress.
    import threading

    from jupyter_nj.runtimes.provisioner import remove_container_once

    for _ in range(3):
        container = docker_client.containers.run(
            docker_mini["version"], ["sleep", "300"], detach=True
        )
        errors: list[BaseException] = []

        def remove(container_id: str = container.id, errors: list[BaseException] = errors) -> None:
            try:
                remove_container_once(docker_client, container_id)
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=remove) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert not docker_client.containers.list(all=True, filters={"id": container.id})


def test_docker_build_steps_report_their_output_line_by_line_as_they_run(
    docker_client: Any, runtime_base_image: str
) -> None:
    from jupyter_nj.base import NJError
    from jupyter_nj.runtimes.builds.buildlog import follow_build
    from jupyter_nj.runtimes.builds.docker import BuildSettings, run_build_container
    from jupyter_nj.runtimes.builds.local import find_uv

    settings = BuildSettings(uv=find_uv(), ca_bundle="/etc/ssl/certs/ca-certificates.crt")
    seen: list[tuple[bool, str]] = []

    def step_running() -> bool:
        running = docker_client.containers.list(filters={"label": "org.jupyter-nj.role=build"})
        return any("first step" in " ".join(c.attrs["Config"]["Cmd"] or []) for c in running)

    script = "echo first step; sleep 1.5; printf 'no newline at the end'; exit 3"
    follower = follow_build(lambda line: seen.append((step_running(), line)))
    with follower, pytest.raises(NJError) as failed:
        run_build_container(
            docker_client,
            settings,
            image=runtime_base_image,
            script=script,
            files={},
            what="A test step",
            commit_as=("nj-test/never", "committed"),
            commit_conf={},
        )
    assert [line for _, line in seen] == ["first step", "no newline at the end"]
    # The first line was reported while the step's container still ran, not when it ended.
    assert seen[0][0] is True
    assert failed.value.status == 422 and "exit 3" in failed.value.message
    assert not docker_client.images.list(name="nj-test/never")
