"""The users and groups a user can name when sharing: a secret (secrets pillar) or a notebook
(a named share, links.py). The lab offers them as choices; typing any other name still works.

Under JupyterHub they are the hub's users and groups, read with the server's own token (it needs
`list:users` and `list:groups`, docs/jupyterhub.md); elsewhere the groups of
`NJApp.secrets_groups`, their members and the server's owner. The hub's answer is kept a few
seconds, so a panel opened in many tabs asks the hub once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..base import NJError


class PrincipalDirectory:
    """Who can be named: `{"source", "users", "groups": [{"name", "members"}]}`."""

    def __init__(
        self,
        configured_groups: Callable[[], Mapping[str, Sequence[str]]],
        owner: Callable[[], str],
        hub: Any = None,
        cache_seconds: float = 30.0,
    ) -> None:
        # Read at each call, like the secrets pillar does: a config change shows at once.
        self.configured_groups = configured_groups
        self.owner = owner
        # guests.HubShares under JupyterHub, else None.
        self.hub = hub
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[str], list[str]] | None = None
        self._lock = asyncio.Lock()

    @property
    def under_hub(self) -> bool:
        return self.hub is not None and self.hub.available

    async def listing(self) -> dict[str, Any]:
        configured = {
            str(group): sorted({str(m) for m in members})
            for group, members in self.configured_groups().items()
        }
        if not self.under_hub:
            members = {m for group in configured.values() for m in group}
            return {
                "source": "server",
                "hub": False,
                "users": sorted({self.owner(), *members}),
                "groups": [{"name": g, "members": configured[g]} for g in sorted(configured)],
            }
        users, groups = await self._hub_names()
        # The secrets pillar adds the configured groups to the hub's (secrets.md): both count.
        names = sorted(set(groups) | set(configured))
        return {
            "source": "hub",
            "hub": True,
            "users": users,
            "groups": [{"name": g, "members": configured.get(g)} for g in names],
        }

    async def _hub_names(self) -> tuple[list[str], list[str]]:
        async with self._lock:  # one hub call at a time; the others take its answer
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self.cache_seconds:
                return self._cached[1], self._cached[2]
            try:
                users = await asyncio.to_thread(self.hub.names, "users")
                groups = await asyncio.to_thread(self.hub.names, "groups")
            except NJError as err:
                raise NJError(
                    503,
                    err.reason or "hub-unavailable",
                    f"{err.message} Type the names instead, or try again shortly.",
                ) from None
            self._cached = (time.monotonic(), users, groups)
            return users, groups
