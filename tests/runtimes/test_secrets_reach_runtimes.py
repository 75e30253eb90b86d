"""Secrets attached to a notebook reach its runtime, local and in a container, and the values
never land in a file of the kernel's folder or in the container's config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import KernelSession, write_notebook
from .test_docker_runtime import writable_folder
from .test_local_runtime import build

SECRET_VALUE = "nj-test-value-7Qx9-never-on-disk"


@pytest.fixture
def nj_config(nj_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**nj_config, "secrets_backend": "local", "secrets_local_dir": str(tmp_path / "store")}


async def start_like_jupyterlab(jp_fetch: Any, serverapp: Any, path: str, kernel: str) -> Any:
    # JupyterLab names the file in its session request, so the kernel's JPY_SESSION_NAME is the
    # notebook's absolute path on disk, not its API path: the runtime must cope with both.
    response = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps(
            {
                "path": path,
                "name": Path(path).name,
                "type": "notebook",
                "kernel": {"name": kernel},
            }
        ),
    )
    session = KernelSession(serverapp, json.loads(response.body)["kernel"]["id"])
    await session.ready()
    return session


async def attach_secret(jp_fetch: Any, notebook: str) -> None:
    await jp_fetch(
        "nj", "api", "secrets", "API_KEY", method="PUT", body=json.dumps({"value": SECRET_VALUE})
    )
    await jp_fetch(
        "nj",
        "api",
        "secret-attachments",
        notebook,
        method="PUT",
        body=json.dumps({"secrets": ["API_KEY"]}),
    )


CHECK = (
    "import os\n"
    "from jupyter_nj import secrets\n"
    f"expected = {SECRET_VALUE!r}\n"
    "print(os.environ.get('API_KEY') == expected, secrets.get('API_KEY') == expected)"
)


def files_containing(folder: Path, needle: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_socket():
            try:
                if needle.encode() in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


async def test_local_runtime_gets_attached_secrets(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    await build(jp_fetch, "mini")
    write_notebook(jp_root_dir, "work/analysis.ipynb")
    await attach_secret(jp_fetch, "work/analysis.ipynb")
    session = await start_like_jupyterlab(jp_fetch, jp_serverapp, "work/analysis.ipynb", "nj-mini")
    try:
        status, output, _ = await session.run(CHECK)
        assert status == "ok"
        assert output.strip() == "True True"
    finally:
        await session.shutdown()


@pytest.mark.docker
class TestDockerRuntime:
    @pytest.fixture
    def runtime_backend(self) -> str:
        return "docker"

    async def test_container_gets_attached_secrets_without_writing_them_down(
        self,
        docker_mini: dict[str, Any],
        docker_client: Any,
        jp_fetch: Any,
        jp_serverapp: Any,
        jp_root_dir: Path,
    ) -> None:
        writable_folder(jp_root_dir, "work")  # the kernel runs as 1000:100
        write_notebook(jp_root_dir, "work/analysis.ipynb")
        await attach_secret(jp_fetch, "work/analysis.ipynb")
        session = await start_like_jupyterlab(
            jp_fetch, jp_serverapp, "work/analysis.ipynb", "nj-mini"
        )
        try:
            status, output, _ = await session.run(CHECK)
            assert status == "ok"
            assert output.strip() == "True True"
            provisioner = session.km.provisioner
            kernel_dir = Path(provisioner.kernel_dir)
            assert files_containing(kernel_dir, SECRET_VALUE) == []
            config = docker_client.api.inspect_container(provisioner.container_id)["Config"]
            assert SECRET_VALUE not in json.dumps(config)
        finally:
            await session.shutdown()
