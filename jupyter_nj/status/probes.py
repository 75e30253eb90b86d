"""One probe per backend. Each blocks, answers within its own timeout, and never raises."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .manager import BackendStatus


def probe_docker(docker_host: str, timeout: float) -> BackendStatus:
    label = "Docker engine"
    try:
        import docker
        from docker.errors import DockerException

        kwargs = {"base_url": docker_host} if docker_host else {}
        client = (
            docker.DockerClient(timeout=int(max(timeout, 1)), **kwargs)
            if docker_host
            else docker.from_env(timeout=int(max(timeout, 1)))
        )
        try:
            version = client.version()
        finally:
            client.close()
    except (DockerException, OSError) as err:
        return BackendStatus(
            name="docker",
            label=label,
            live=False,
            detail=f"not reachable ({_short(err)})",
            hint=(
                "Runtimes fall back to local uv environments. To run kernels in containers, "
                "start a Docker engine (`sudo dockerd` or `systemctl start docker`) or set "
                "NJApp.docker_host / DOCKER_HOST."
            ),
        )
    return BackendStatus(
        name="docker",
        label=label,
        live=True,
        detail=f"Docker {version.get('Version', '?')} (API {version.get('ApiVersion', '?')})",
        facts={"server_version": version.get("Version"), "api_version": version.get("ApiVersion")},
    )


def probe_secrets_hub(url: str, timeout: float) -> BackendStatus:
    """The jupyter-nj hub service, which keeps this server's secrets under JupyterHub."""
    import requests

    label = "Secrets: jupyter-nj hub service"
    try:
        live = requests.get(url.rstrip("/") + "/health", timeout=timeout).ok
        detail = f"{url} answers" if live else f"{url} answers with an error"
    except requests.RequestException as err:
        live, detail = False, f"{url} not reachable ({_short(err)})"
    return BackendStatus(
        name="secrets-hub",
        label=label,
        live=live,
        detail=detail,
        hint=(
            ""
            if live
            else "Secrets are unavailable until the hub's jupyter-nj service is back; notebooks "
            "and kernels without secrets keep working. Ask the hub's operator (hub log)."
        ),
        facts={"url": url},
    )


def probe_vault(
    url: str,
    token: str,
    namespace: str,
    verify: bool | str,
    timeout: float,
    auth_method: str = "token",
) -> BackendStatus:
    label = "Vault / OpenBao"
    if not url:
        return BackendStatus(
            name="vault",
            label=label,
            live=False,
            detail="not configured: secrets use the embedded encrypted store",
            hint=(
                "To keep secrets in Vault or OpenBao, set NJApp.vault_url and a token "
                "(or VAULT_ADDR/VAULT_TOKEN, BAO_ADDR/BAO_TOKEN)."
            ),
            facts={"configured": False},
        )
    import hvac
    import requests

    client = hvac.Client(
        url=url, token=token or None, namespace=namespace or None, verify=verify, timeout=timeout
    )
    try:
        health = client.sys.read_health_status(method="GET")
        data = health if isinstance(health, dict) else health.json()
    except (requests.RequestException, hvac.exceptions.VaultError, ValueError) as err:
        return BackendStatus(
            name="vault",
            label=label,
            live=False,
            detail=f"{url} not reachable ({_short(err)})",
            hint="Check that the Vault/OpenBao server is running and NJApp.vault_url is right.",
            facts={"configured": True, "url": url},
        )
    finally:
        client.adapter.close()
    facts = {
        "configured": True,
        "url": url,
        "sealed": bool(data.get("sealed")),
        "version": data.get("version"),
    }
    if data.get("sealed"):
        return BackendStatus(
            name="vault",
            label=label,
            live=False,
            detail=f"{url} is sealed",
            hint="Unseal the server (`bao operator unseal` / `vault operator unseal`).",
            facts=facts,
        )
    if auth_method != "token":
        # The secrets pillar logs in with AppRole or userpass itself; the probe does not hold
        # those credentials, so it reports what it can see and says how login happens.
        return BackendStatus(
            name="vault",
            label=label,
            live=True,
            detail=f"{url} (version {data.get('version', '?')}), unsealed; the server logs in "
            f"with {auth_method}",
            facts={**facts, "auth_method": auth_method},
        )
    if not token:
        return BackendStatus(
            name="vault",
            label=label,
            live=False,
            detail=f"{url} is up but no token is set",
            hint="Set NJApp.vault_token or VAULT_TOKEN/BAO_TOKEN.",
            facts=facts,
        )
    authed = hvac.Client(
        url=url, token=token, namespace=namespace or None, verify=verify, timeout=timeout
    )
    try:
        authenticated = authed.is_authenticated()
    except (requests.RequestException, hvac.exceptions.VaultError):
        authenticated = False
    finally:
        authed.adapter.close()
    if not authenticated:
        return BackendStatus(
            name="vault",
            label=label,
            live=False,
            detail=f"{url} refused the configured token (expired or revoked?)",
            hint="Renew the token or configure a fresh one.",
            facts=facts,
        )
    return BackendStatus(
        name="vault",
        label=label,
        live=True,
        detail=f"{url} (version {data.get('version', '?')}), unsealed, token valid",
        facts=facts,
    )


def probe_history_store(nj_dir: str) -> BackendStatus:
    label = "History store"
    path = Path(nj_dir)
    # A status check must not create the store: when it does not exist yet, check that the
    # nearest existing folder above it would let it be created.
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"{existing} is not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"no write permission on {existing}")
        if existing == path:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-") as handle:
                handle.write(b"ok")
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as err:
        return BackendStatus(
            name="history",
            label=label,
            live=False,
            detail=f"{path} is not writable ({err.strerror or _short(err)})",
            hint="Versions cannot be recorded. Free disk space or fix permissions, or point "
            "NJApp.nj_dir at a writable folder.",
            facts={"path": str(path)},
        )
    detail = f"{path} is writable" if existing == path else f"{path} will be created on first use"
    return BackendStatus(
        name="history", label=label, live=True, detail=detail, facts={"path": str(path)}
    )


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."
