"""Shared fixtures: a jupyter server with jupyter-nj and authentication on, and real services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .services import (
    OpenBaoServer,
    docker_client_or_reason,
    service_missing,
    start_openbao_dev_server,
)

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def jp_server_config(jp_root_dir: Any) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True},
            # Every request must authenticate, as in a hardened deployment.
            "allow_unauthenticated_access": False,
        },
    }


def nj_server_config(nj: dict[str, Any]) -> dict[str, Any]:
    """Server config with jupyter-nj alone, every request authenticated, and these NJApp traits."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_nj": True},
            "allow_unauthenticated_access": False,
        },
        "NJApp": nj,
    }


def collaborative_server_config(nj: dict[str, Any]) -> dict[str, Any]:
    """Server config with real-time rooms (jupyter_server_ydoc, file ids) that save quickly."""
    return {
        "ServerApp": {
            "jpserver_extensions": {
                "jupyter_nj": True,
                "jupyter_server_fileid": True,
                "jupyter_server_ydoc": True,
            },
            "allow_unauthenticated_access": False,
        },
        "NJApp": nj,
        "YDocExtension": {"document_save_delay": 0.2, "file_poll_interval": 0.2},
    }


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A docker SDK client connected to a real, answering engine."""
    client, reason = docker_client_or_reason()
    if client is None:
        service_missing("Docker engine", reason)
    yield client
    client.close()


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoServer]:
    """A real OpenBao dev server on a free loopback port, started once per test session."""
    try:
        server = start_openbao_dev_server()
    except Exception as err:
        service_missing("OpenBao dev server", str(err))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def runtime_base_image(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image every Docker environment starts from, made locally (debootstrap) when missing.

    Cached by the engine: only the first test session on a machine pays for it.
    """
    from jupyter_nj.runtimes.builds.bootstrap import RUNTIME_BASE_IMAGE
    from jupyter_nj.runtimes.config import RuntimesConfig

    folder = tmp_path_factory.mktemp("nj-base-image")
    manager = RuntimesConfig().build_environment_manager(str(folder), folder / "data", "")
    manager.bootstrap()
    return RUNTIME_BASE_IMAGE
