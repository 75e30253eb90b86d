"""Fixtures for the runtimes pillar: a server whose catalog and uv cache outlive one test.

The catalog lives in one folder per test session, so the venvs and images built by the first
test are reused by the rest (a build with a warm cache takes seconds, not minutes).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from ..conftest import nj_server_config

REPO = Path(__file__).resolve().parents[2]
BUILTIN = REPO / "environments"


@pytest.fixture(scope="session")
def nj_session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nj-runtimes")


@pytest.fixture(scope="session")
def definitions_dir(nj_session_dir: Path) -> Path:
    """Built-in `python`, `bash` and `r`, plus `mini`: ipykernel only, small and fast to build."""
    folder = nj_session_dir / "definitions"
    for name in ("python", "bash", "r"):
        shutil.copytree(BUILTIN / name, folder / name)
    write_mini_definition(folder)
    return folder


def write_mini_definition(folder: Path) -> Path:
    """`folder/mini`: an environment with ipykernel and nothing heavy, quick to build locally."""
    mini = folder / "mini"
    mini.mkdir(parents=True)
    (mini / "environment.toml").write_text(
        'name = "mini"\ndisplay_name = "Mini"\nlanguage = "python"\npython = "3.11"\n'
        'kernel = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]\n'
    )
    # bash's lock holds ipykernel, pip and uv and nothing heavy.
    shutil.copyfile(BUILTIN / "bash" / "requirements.lock", mini / "requirements.lock")
    return mini


@pytest.fixture(scope="module", autouse=True)
def no_kernel_container_outlives_the_module(nj_session_dir: Path) -> Any:
    """Every runtime test module ends with no container labelled with this session's server:
    a test that leaks one (a shutdown that failed half-way) fails here, not in the next test."""
    yield
    from jupyter_nj.runtimes.provisioner import SERVER_LABEL

    from ..services import docker_client_or_reason

    client, _ = docker_client_or_reason()
    if client is None:
        return  # no engine: the module's docker tests failed or skipped already
    server = str(nj_session_dir / "data")
    try:
        left = client.containers.list(all=True, filters={"label": f"{SERVER_LABEL}={server}"})
        for container in left:  # removed, so the next module starts clean
            container.remove(force=True)
    finally:
        client.close()
    assert not left, f"containers left behind: {[c.name for c in left]}"


@pytest.fixture
def runtime_backend() -> str:
    return "local"


@pytest.fixture
def nj_config(nj_session_dir: Path, definitions_dir: Path, runtime_backend: str) -> dict[str, Any]:
    return {
        "nj_dir": str(nj_session_dir / "data"),
        "environment_paths": [str(definitions_dir)],
        "runtime_backend": runtime_backend,
        "runtime_memory_limit": "1g",
        "runtime_cpu_limit": 1.0,
    }


@pytest.fixture
def jp_server_config(jp_root_dir: Any, nj_config: dict[str, Any]) -> dict[str, Any]:
    return nj_server_config(nj_config)


@pytest.fixture
def nj_app(jp_serverapp: Any) -> Any:
    from jupyter_nj.app import NJApp

    return next(
        ext
        for ext in jp_serverapp.extension_manager.extension_apps.get("jupyter_nj", [])
        if isinstance(ext, NJApp)
    )


class KernelSession:
    """A kernel started through the server's kernel manager, with a connected client."""

    def __init__(self, serverapp: Any, kernel_id: str) -> None:
        self.serverapp = serverapp
        self.kernel_id = kernel_id
        self.km = serverapp.kernel_manager.get_kernel(kernel_id)
        self.client = self.km.client()
        self.client.start_channels()

    async def ready(self, timeout: float = 120) -> None:
        await self.client.wait_for_ready(timeout=timeout)

    async def run(self, code: str, timeout: float = 120) -> tuple[str, str, str]:
        """(status, stdout+stderr text, error name) of one execution."""
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] in {"execute_result", "display_data"}:
                out.append(msg["content"]["data"].get("text/plain", ""))

        reply = await self.client.execute_interactive(code, output_hook=hook, timeout=timeout)
        content = reply["content"]
        return content["status"], "".join(out), content.get("ename", "")

    async def shutdown(self) -> None:
        self.client.stop_channels()
        if self.kernel_id in self.serverapp.kernel_manager:
            await self.serverapp.kernel_manager.shutdown_kernel(self.kernel_id)


async def start_session_kernel(
    jp_fetch: Any, serverapp: Any, path: str, kernel: str, request_timeout: float = 20
) -> Any:
    """Start a kernel the way JupyterLab does (POST /api/sessions), so the pin is honoured."""
    import json

    response = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps({"path": path, "type": "notebook", "kernel": {"name": kernel}}),
        request_timeout=request_timeout,
    )
    kernel_id = json.loads(response.body)["kernel"]["id"]
    session = KernelSession(serverapp, kernel_id)
    await session.ready()
    return session


def warm_pool(serverapp: Any) -> Any:
    """The warm pool of the server's runtimes pillar."""
    return serverapp.web_app.settings["nj_app"].runtime_service.pool


def write_notebook(root: Path, path: str, pin: dict[str, str] | None = None) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    if pin:
        nb.metadata["nj"] = {"runtimes": {"main": pin}}
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    os.utime(target)


@pytest.fixture(scope="session")
def docker_mini(docker_client: Any, nj_session_dir: Path, definitions_dir: Path) -> dict[str, Any]:
    """Base images (made with debootstrap when missing) and the `mini` image, built once.

    Both are cached by content in the engine, so a second test run only checks that they exist.
    """
    from jupyter_nj.runtimes.config import RuntimesConfig

    config = RuntimesConfig(environment_paths=[str(definitions_dir)])
    manager = config.build_environment_manager(str(nj_session_dir), nj_session_dir / "data", "")
    manager.bootstrap()
    record = manager.build("mini", "docker")
    return record.to_json()


async def reply_to(session: KernelSession, msg_id: str) -> dict[str, Any]:
    while True:
        msg = await session.client.get_shell_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id:
            return dict(msg)


def make_wheel(target: Path, name: str) -> None:
    import zipfile

    target.mkdir(parents=True)
    dist = f"{name}-1.0"
    with zipfile.ZipFile(target / f"{name}-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", "VALUE = 1\n")
        wheel.writestr(
            f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
        )
        wheel.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: nj-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist}.dist-info/RECORD", "")
