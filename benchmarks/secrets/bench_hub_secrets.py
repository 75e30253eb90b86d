"""A secret read through the jupyter-nj hub service against the same read straight from OpenBao,
side by side in one run (target: hub service <= 2 x direct + 5 ms).

Starts a real OpenBao dev server and a real JupyterHub from deploy/jupyterhub/jupyterhub_config.py
(the test suite's harness, tests/hub/conftest.py, so the hub service is the deploy config's), then
reads one secret N times, interleaved:

- service: `HubSecretsBackend.read_value`, what a user's server does (HTTP to the service with
  the user's hub token; the service asks the hub who that is and their groups, then reads the
  record and the value from OpenBao);
- direct: hvac `read_secret_version` with the service's own token (the anchor);
- and a runtime's whole read (record and value, `SecretsBackend.read_secret` as `SecretsManager`
  calls it) through the service (one call) vs through the Vault backend of an embedded server
  (one Vault read: KV v2 sends the key's custom metadata with the value);
- the same through a second service started by hand with `--identity-cache-seconds 5` (the
  hub's answer about a caller kept 5 s; the deploy config keeps none);
- and, as a part of every service answer, the hub's `GET /hub/api/user` alone.

    NJ_HUB_TEST_PORTS=9000-9030 PYTHONPATH=. .venv/bin/python \\
        benchmarks/secrets/bench_hub_secrets.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac
import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from jupyter_nj.secrets.backends.hub import HubSecretsBackend, HubServiceConfig  # noqa: E402
from jupyter_nj.secrets.backends.vault import VaultConfig, VaultSecretsBackend  # noqa: E402
from tests.hub.conftest import running_hub, start_hub_service  # noqa: E402
from tests.services import start_openbao_dev_server  # noqa: E402

NAME = "BENCH_KEY"
CACHE_SECONDS = 5.0
VALUE = "bench-value-0123456789"


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered) * 1000,
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000,
        "min": ordered[0] * 1000,
    }


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    assert result == VALUE or result is not None, result
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="reads of each kind")
    args = parser.parse_args()

    openbao = start_openbao_dev_server()
    try:
        with tempfile.TemporaryDirectory() as tmp, running_hub(Path(tmp), openbao) as hub:
            prefix = f"jupyter-nj-{hub.run_id}"
            made = requests.put(
                hub.service_url + f"nj/api/secrets/{NAME}",
                headers={"Authorization": f"token {hub.tokens['alice']}"},
                json={"value": VALUE},
                timeout=30,
            )
            assert made.status_code == 201, made.text
            service = HubSecretsBackend(
                HubServiceConfig(url=hub.service_url, token=hub.tokens["alice"])
            )
            cached_url, cached_process = start_hub_service(
                hub, openbao, Path(tmp) / "second", "--identity-cache-seconds", str(CACHE_SECONDS)
            )
            cached = HubSecretsBackend(HubServiceConfig(url=cached_url, token=hub.tokens["alice"]))
            vault = hvac.Client(url=openbao.url, token=openbao.token)
            embedded = VaultSecretsBackend(
                VaultConfig(url=openbao.url, token=openbao.token, path_prefix=prefix)
            )

            def direct() -> str:
                reply = vault.secrets.kv.v2.read_secret_version(
                    path=f"{prefix}/{NAME}", mount_point="secret", raise_on_deleted_version=True
                )
                return str(reply["data"]["data"]["value"])

            hub_session = requests.Session()
            hub_session.headers["Authorization"] = f"token {hub.tokens['alice']}"
            hub_api = hub.url.rsplit(":", 1)[0] + f":{hub.hub_port}/hub/api/user"

            kinds: dict[str, Callable[[], Any]] = {
                "service: read_value": lambda: service.read_value(NAME),
                "direct: hvac read_secret_version": direct,
                "service: a runtime's read (record + value, one call)": lambda: service.read_secret(
                    NAME, lambda _: True
                ),
                f"service, hub's answer kept {CACHE_SECONDS:g} s: a runtime's read": lambda: (
                    cached.read_secret(NAME, lambda _: True)
                ),
                "embedded Vault backend: a runtime's read": lambda: embedded.read_secret(
                    NAME, lambda _: True
                ),
                # Part of every service answer: who is calling, asked of the hub.
                "part: the hub's GET /hub/api/user": lambda: hub_session.get(hub_api).json(),
            }
            for action in kinds.values():  # warm: connections, the hub's token cache
                for _ in range(5):
                    action()
            samples: dict[str, list[float]] = {kind: [] for kind in kinds}
            for _ in range(args.rounds):  # interleaved, so drift hits every kind alike
                for kind, action in kinds.items():
                    samples[kind].append(timed(action))
            service.close()
            cached.close()
            embedded.close()
            cached_process.terminate()
            cached_process.wait(timeout=30)
    finally:
        openbao.stop()

    print(f"# one secret, {args.rounds} reads of each kind, interleaved (ms)\n")
    print("| read | median | p95 | min |")
    print("|---|---|---|---|")
    figures = {kind: stats(values) for kind, values in samples.items()}
    for kind, row in figures.items():
        print(f"| {kind} | {row['median']:.2f} | {row['p95']:.2f} | {row['min']:.2f} |")
    pairs = [
        ("service: read_value", "direct: hvac read_secret_version"),
        (
            "service: a runtime's read (record + value, one call)",
            "embedded Vault backend: a runtime's read",
        ),
        (
            f"service, hub's answer kept {CACHE_SECONDS:g} s: a runtime's read",
            "embedded Vault backend: a runtime's read",
        ),
    ]
    print()
    for ours, anchor in pairs:
        a, b = figures[ours]["median"], figures[anchor]["median"]
        budget = 2 * b + 5
        verdict = "holds" if a <= budget else "misses"
        print(
            f"- {ours} vs {anchor}: ratio {a / b:.2f}, target 2 x {b:.2f} + 5 = {budget:.2f} ms: "
            f"{verdict} (median {a:.2f} ms; p95 {figures[ours]['p95']:.2f} vs "
            f"{2 * figures[anchor]['p95'] + 5:.2f} ms)"
        )


if __name__ == "__main__":
    main()
