"""`omne mcp`: Omne's memory as MCP tools over stdio, for one scope (through `omne serve` when $OMNE_URL is set)."""

from __future__ import annotations

import asyncio
import os

from omne.cli.common import AgentOpt, SessionOpt, StoreOpt, TeamOpt, UserOpt, scope_of
from omne.config import OmneConfig


def mcp(store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
        team: TeamOpt = None) -> None:
    """Serve MCP over stdin/stdout (for an MCP client's server config) on one scope. With $OMNE_URL set (and
    $OMNE_API_KEY when the server needs keys) it goes through that server instead of opening the store."""
    from omne.core import MemoryCore
    from omne.mcp import serve_stdio

    scope = scope_of(user, agent, session, team)

    async def run() -> None:
        if os.environ.get("OMNE_URL"):
            core = MemoryCore.connect()
        else:
            core = await MemoryCore.open(config=OmneConfig.from_env(store))
        try:
            await serve_stdio(core, scope)
        finally:
            await core.close()

    asyncio.run(run())


__all__ = ["mcp"]
