"""How environment versions are made: uv venvs (local), Docker images, debootstrap base images."""
