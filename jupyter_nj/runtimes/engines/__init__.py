"""Where a container runtime runs: a plain container (`docker`, in provisioner.py) or a Docker
Swarm service (`swarm.py`). `NJApp.runtime_engine` chooses; the `nj-docker` provisioner keeps
everything else (version choice, mounts, variables, secrets, apt) the same for both."""
