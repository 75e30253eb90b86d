"""Many users' servers on one hub, each saving its notebook every 10 s: no lost version, and the
hub's API latency while they do.

A real hub started as tests/hub starts it (deploy/jupyterhub/jupyterhub_config.py with the test
site file: a local process per user, loopback ports), configurable-http-proxy, and `--users`
servers running jupyter-nj, started `--batch` at a time. The deploy config's own token cache
(60 s) is kept, as a site runs it.

Anchor: the same latency probe with every server running and nothing saving (`--baseline`
seconds), then during the saves. Every second the probe times, as the test's admin service:
`GET /hub/api/` and `GET /hub/api/users/<name>` (the hub, through the proxy), and, with the
user's token, `GET /user/<name>/api/status` (the proxy's route to that user's server).

Saves: each user a thread, `PUT /user/<name>/api/contents/bench.ipynb` every `--interval`
seconds for `--minutes` (the users' first saves spread over one interval), each a different
notebook. At the end every user's `GET /user/<name>/nj/api/history/bench.ipynb` must list as
many versions as saves that user's server answered: any fewer is a lost version.

Run from the repository root, with the tools tests/hub needs (JupyterHub, the idle culler,
configurable-http-proxy in deploy/jupyterhub):

    python -m benchmarks.hub.bench_hub_saves [--users 50] [--minutes 5] [--ports 9160-9400]

Every process it started (hub, proxy, services, servers, kernels) is stopped at the end, also
when it fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import nbformat
import psutil
import requests

NOTEBOOK = "bench.ipynb"


def token_session() -> requests.Session:
    """A kept-alive connection that sends no cookies: a server's cookie would make the next
    request a browser's, which needs an XSRF token, where a script's token needs none."""
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency_row(label: str, samples: list[float], failures: int = 0) -> str:
    if not samples:
        return f"| {label} | 0 | - | - | - | - | {failures} |"
    ms = [1000 * s for s in samples]
    return (
        f"| {label} | {len(ms)} | {statistics.median(ms):.0f} ms | {percentile(ms, 0.95):.0f} | "
        f"{percentile(ms, 0.99):.0f} | {max(ms):.0f} | {failures} |"
    )


@dataclass
class Probe:
    """Times the hub's API and a proxy route every second, by phase."""

    hub: Any
    users: list[str]
    phase: str = "idle"
    samples: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def timed(self, session: requests.Session, what: str, url: str, token: str) -> None:
        key = (self.phase, what)
        started = time.perf_counter()
        try:
            reply = session.get(url, headers={"Authorization": f"token {token}"}, timeout=60)
            ok = reply.status_code == 200
        except requests.RequestException:
            ok = False
        if ok:
            self.samples.setdefault(key, []).append(time.perf_counter() - started)
        else:
            self.failures[key] = self.failures.get(key, 0) + 1

    def run(self) -> None:
        session = token_session()
        hub = self.hub
        tick = time.monotonic()
        turn = 0
        while not self.stop.is_set():
            user = self.users[turn % len(self.users)]
            turn += 1
            self.timed(session, "GET /hub/api/", f"{hub.url}/hub/api/", hub.admin_token)
            self.timed(
                session,
                "GET /hub/api/users/<name>",
                f"{hub.url}/hub/api/users/{user}",
                hub.admin_token,
            )
            self.timed(
                session,
                "GET /user/<name>/api/status (proxy route)",
                f"{hub.url}/user/{user}/api/status",
                hub.tokens[user],
            )
            tick += 1.0
            self.stop.wait(max(0.0, tick - time.monotonic()))


@dataclass
class Saver:
    """One user saving a new notebook every `interval` seconds until `until`."""

    hub: Any
    user: str
    first: float  # monotonic time of the first save
    interval: float
    until: float
    saved: int = 0
    failed: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def run(self) -> None:
        session = token_session()
        url = f"{self.hub.url}/user/{self.user}/api/contents/{NOTEBOOK}"
        headers = {"Authorization": f"token {self.hub.tokens[self.user]}"}
        at = self.first
        while at < self.until:
            time.sleep(max(0.0, at - time.monotonic()))
            notebook = nbformat.v4.new_notebook()
            notebook.cells.append(nbformat.v4.new_code_cell(f"save = {self.saved + 1}"))
            started = time.perf_counter()
            try:
                reply = session.put(
                    url,
                    headers=headers,
                    json={"type": "notebook", "format": "json", "content": notebook},
                    timeout=60,
                )
                if reply.status_code in (200, 201):
                    self.saved += 1
                    self.latencies.append(time.perf_counter() - started)
                else:
                    self.failed.append(f"{reply.status_code} {reply.text[:200]}")
            except requests.RequestException as err:
                self.failed.append(type(err).__name__)
            at += self.interval


def start_servers(hub: Any, users: list[str], batch: int) -> tuple[list[float], int]:
    """Start the servers `batch` at a time, each batch once the one before is ready; returns
    each batch's time to ready and how many starts were asked again. A start the hub gave up on
    (its 90 s start timeout, on a machine this loaded) is asked once more before giving up."""
    took = []
    again = 0
    for first in range(0, len(users), batch):
        group = users[first : first + batch]
        started = time.monotonic()
        for user in group:
            reply = hub.api("POST", f"users/{user}/server")
            assert reply.status_code in (201, 202), reply.text
        waiting = set(group)
        asked_again: set[str] = set()
        deadline = started + 400
        while waiting:
            for user in sorted(waiting):
                model = hub.api("GET", f"users/{user}").json()
                server = model.get("servers", {}).get("")
                if server and server.get("ready"):
                    waiting.discard(user)
                elif not model.get("pending") and not server:
                    if user in asked_again:
                        raise RuntimeError(f"{user}'s server did not start:\n{hub.log_tail()}")
                    asked_again.add(user)
                    again += 1
                    reply = hub.api("POST", f"users/{user}/server")
                    assert reply.status_code in (201, 202), reply.text
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready in 400 s: {sorted(waiting)}\n{hub.log_tail()}")
            time.sleep(1)
        took.append(time.monotonic() - started)
        print(f"# servers {first + 1}-{first + len(group)} ready in {took[-1]:.0f} s", flush=True)
    return took, again


def count_versions(hub: Any, user: str, expected: int, timeout: float) -> int:
    """The file's versions once the history recorder has caught up with `expected` (it writes
    after the save answers), or what it has at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        reply = hub.server(user, f"nj/api/history/{NOTEBOOK}?limit=1000")
        count = len(reply.json()["versions"]) if reply.status_code == 200 else -1
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(1)


def servers_rss(run_id: str) -> list[float]:
    """Resident memory (MB) of each user's server process of this run."""
    from tests.hub.conftest import processes_with

    sizes = []
    for process in processes_with(NJ_HUB_TEST_RUN=run_id):
        try:
            if "jupyterhub-singleuser" in " ".join(process.cmdline()):
                sizes.append(process.memory_info().rss / 2**20)
        except psutil.Error:
            continue
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--interval", type=float, default=10, help="seconds between saves")
    parser.add_argument("--batch", type=int, default=5, help="servers started at once")
    parser.add_argument("--baseline", type=float, default=30, help="seconds probed idle")
    parser.add_argument("--ports", default="9160-9400", help="loopback ports (hub, proxy, servers)")
    args = parser.parse_args()
    first_port, stop_port = (int(p) for p in args.ports.split("-"))
    if stop_port - first_port < args.users + 4:
        parser.error(f"--ports {args.ports} has fewer than {args.users + 4} ports")
    # Read by tests/hub/conftest.py when it is imported.
    os.environ["NJ_HUB_TEST_PORTS"] = args.ports
    from tests.hub.conftest import running_hub

    print(
        f"# machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}; "
        f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    users = [f"user{n:03d}" for n in range(1, args.users + 1)]
    with (
        tempfile.TemporaryDirectory(prefix="nj-bench-hub-") as folder,
        # The deploy config's token cache, not the tests' 1 s.
        running_hub(Path(folder), NJ_HUB_AUTH_CACHE_SECONDS="60") as hub,
    ):
        reply = hub.api("POST", "users", json={"usernames": users})
        assert reply.status_code == 201, reply.text
        for user in users:
            reply = hub.api("POST", f"users/{user}/tokens", json={"note": "bench"})
            assert reply.status_code == 201, reply.text
            hub.tokens[user] = reply.json()["token"]
        started = time.monotonic()
        batches, asked_again = start_servers(hub, users, args.batch)
        start_total = time.monotonic() - started
        rss = servers_rss(hub.run_id)

        probe = Probe(hub, users)
        prober = threading.Thread(target=probe.run, daemon=True)
        prober.start()
        probe.stop.wait(args.baseline)
        probe.phase = "saving"
        begin = time.monotonic()
        until = begin + 60 * args.minutes
        savers = [
            Saver(hub, user, begin + i * args.interval / len(users), args.interval, until)
            for i, user in enumerate(users)
        ]
        threads = [threading.Thread(target=saver.run, daemon=True) for saver in savers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        probe.stop.set()
        prober.join()
        load_after = os.getloadavg()

        counts = {s.user: count_versions(hub, s.user, s.saved, timeout=120) for s in savers}
    saves = sum(s.saved for s in savers)
    failed = [f"{s.user}: {f}" for s in savers for f in s.failed]
    lost = {s.user: s.saved - counts[s.user] for s in savers if counts[s.user] != s.saved}
    print(
        f"\n## {args.users} users' servers, a save every {args.interval:g} s for "
        f"{args.minutes:g} min\n"
    )
    print(
        f"- servers started {args.batch} at a time: all ready in {start_total:.0f} s "
        f"(a batch: median {statistics.median(batches):.0f} s, max {max(batches):.0f} s); "
        f"server RSS median {statistics.median(rss):.0f} MB, total {sum(rss) / 1024:.1f} GB; "
        f"starts asked again: {asked_again}"
    )
    print(
        f"- saves answered: {saves} (failed: {len(failed)}); versions listed: "
        f"{sum(counts.values())}; lost versions: {sum(max(0, n) for n in lost.values())}"
        + (f" {lost}" if lost else "")
    )
    print(f"- load average at the end of the saves: {' '.join(f'{x:.1f}' for x in load_after)}")
    for problem in failed[:10]:
        print(f"  - failed save: {problem}")
    print("\n| request | n | median | p95 | p99 | max | failed |")
    print("|---|---|---|---|---|---|---|")
    save_latencies = [latency for s in savers for latency in s.latencies]
    print(latency_row("save (`PUT /user/<name>/api/contents/...`)", save_latencies, len(failed)))
    for phase in ("idle", "saving"):
        for what in (
            "GET /hub/api/",
            "GET /hub/api/users/<name>",
            "GET /user/<name>/api/status (proxy route)",
        ):
            key = (phase, what)
            label = f"{what}, {'servers idle (anchor)' if phase == 'idle' else 'during saves'}"
            print(latency_row(label, probe.samples.get(key, []), probe.failures.get(key, 0)))


if __name__ == "__main__":
    main()
