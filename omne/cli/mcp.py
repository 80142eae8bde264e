"""`omne mcp`: Omne's memory as MCP tools over stdio, for one scope (through `omne serve` when $OMNE_URL is set)."""

from __future__ import annotations

import asyncio
import os

from omne.cli.common import AgentOpt, SessionOpt, StoreOpt, TeamOpt, UserOpt, scope_of, served_store_error
from omne.config import OmneConfig
from omne.errors import InvalidInputError, StoreLockedError


def mcp(store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
        team: TeamOpt = None) -> None:
    """Serve MCP over stdin/stdout (for an MCP client's server config) on one scope. With $OMNE_URL set (and
    $OMNE_API_KEY when the server needs keys) it goes through that server instead of opening the store."""
    from omne.core import MemoryCore
    from omne.mcp import serve_stdio
    from omne.verbs import CoreVerbs

    scope = scope_of(user, agent, session, team)
    if os.environ.get("OMNE_URL") and store is not None:
        raise InvalidInputError("both --store and $OMNE_URL are set: a store served by `omne serve` is reached "
                                "through the server; unset OMNE_URL to open the store directly, or drop --store")

    async def run() -> None:
        core: CoreVerbs
        if os.environ.get("OMNE_URL"):
            core = MemoryCore.connect()
        else:
            config = OmneConfig.from_env(store)
            try:
                core = await MemoryCore.open(config=config)
            except StoreLockedError as exc:
                raise served_store_error(config, exc, advice="serve MCP through it: set OMNE_URL={url} and drop "
                                                             "--store") from exc
        try:
            await serve_stdio(core, scope)
        finally:
            await core.close()

    asyncio.run(run())


__all__ = ["mcp"]
