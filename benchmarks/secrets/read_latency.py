"""How long `secrets.get("NAME")` takes from a runtime, against reading the store directly.

Builds a real SecretsManager (local encrypted store, or Vault/OpenBao when VAULT_ADDR and
VAULT_TOKEN are set), attaches a secret to a notebook, and times the kernel-side client over the
server's Unix socket (credential check, notebook attachment check, sharing check, store read)
against the bare backend read (the anchor).

    .venv/bin/python benchmarks/secrets/read_latency.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_server.services.contents.filemanager import FileContentsManager

from jupyter_nj.secrets import client
from jupyter_nj.secrets.backends import SecretsBackend
from jupyter_nj.secrets.backends.local import LocalSecretsBackend
from jupyter_nj.secrets.backends.vault import VaultConfig, VaultSecretsBackend
from jupyter_nj.secrets.manager import IdentityResolver, SecretsManager

ROUNDS = 200


def make_backend(folder: Path) -> SecretsBackend:
    if os.environ.get("VAULT_ADDR") and os.environ.get("VAULT_TOKEN"):
        return VaultSecretsBackend(
            VaultConfig(
                url=os.environ["VAULT_ADDR"],
                token=os.environ["VAULT_TOKEN"],
                path_prefix=f"nj-bench/{os.getpid()}",
            )
        )
    return LocalSecretsBackend(folder / "secrets.enc", folder / "secrets.key")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        backend = make_backend(root)
        manager = SecretsManager(
            backend,
            identity=IdentityResolver(lambda: "me", dict),
            contents_manager=FileContentsManager(root_dir=str(root)),
        )
        owner = manager.identity.principal_for_name("me")
        await manager.put_secret(owner, "BENCH_KEY", {"value": "bench-value-0123456789"})
        nb = nbformat.v4.new_notebook(metadata={"nj": {"secrets": ["BENCH_KEY"]}})
        nbformat.write(nb, root / "bench.ipynb")
        runtime = await manager.runtime_environment("bench.ipynb", "me")
        os.environ.update(runtime.env)

        def through_client() -> float:
            start = time.perf_counter()
            for _ in range(ROUNDS):
                client.get("BENCH_KEY")
            return (time.perf_counter() - start) / ROUNDS

        def direct() -> float:
            start = time.perf_counter()
            for _ in range(ROUNDS):
                backend.read_value("BENCH_KEY")
            return (time.perf_counter() - start) / ROUNDS

        per_get = await asyncio.to_thread(through_client)
        per_read = direct()
        print(f"backend: {backend.kind}, {ROUNDS} reads each")
        print(f"  secrets.get() through the socket {per_get * 1000:7.2f} ms")
        print(f"  backend.read_value (anchor)      {per_read * 1000:7.2f} ms")
        print(f"  ratio {per_get / per_read:.1f}")
        await manager.stop()


if __name__ == "__main__":
    asyncio.run(main())
