"""What the `nj-docker` provisioner asks of a runtime that is not a plain container on its
own engine: a Docker Swarm service (swarm.py) or a Kubernetes pod (kubernetes.py).

Starting one is the engine's own business (what it is made of differs: a service and its relay,
a pod and its Service), so `start` takes the engine's own request; everything the provisioner
does afterwards (poll, signal, shut down, restart) goes through this interface only.

Blocking: every method talks to the engine's API; call them from a thread.
"""

from __future__ import annotations

from typing import Protocol


class ClusterRuntime(Protocol):
    """One kernel scheduled by a cluster's own scheduler, reached over TCP with signed
    messages."""

    # The kernel's five ports inside its own network namespace, kept across a restart (the
    # server's clients stay connected to the same ports); empty once it is removed for good.
    kernel_ports: dict[str, int]
    # Where the server connects: channel name to port, on `server_address`.
    host_ports: dict[str, int]
    # An ID of the kernel's container while it runs ("" when the engine names none).
    container_id: str | None

    @property
    def server_address(self) -> str:
        """The address the server's clients connect to."""
        ...

    def dead_reason(self) -> str:
        """Why the kernel is gone, in the engine's own words; "" while it starts or runs."""
        ...

    def exit_code(self) -> int:
        """The kernel's exit code once gone; -1 when the engine does not say."""
        ...

    def send_signal(self, signum: int) -> None:
        """Signal the kernel, as far as the engine lets the server."""
        ...

    def remove(self, keep_relay: bool = False, wait: float = 20.0) -> None:
        """Remove the kernel, waiting up to `wait` seconds until it is gone; with
        `keep_relay` (a restart) what the server's clients are connected to stays."""
        ...
