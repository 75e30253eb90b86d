"""Where a container runtime runs: a plain container (`docker`, in provisioner.py), a Docker
Swarm service (`swarm.py`) or a Kubernetes pod (`kubernetes.py`, written and checked against
the client's models, not run against a cluster). `NJApp.runtime_engine` chooses; the
`nj-docker` provisioner keeps everything else (version choice, mounts, variables) the same, and
reaches a swarm or kubernetes runtime through one interface (`base.py`, ClusterRuntime)."""
