"""`omne mcp`: the MCP server over stdio, on one scope of an embedded store or of a running `omne serve`."""

from __future__ import annotations

from omne.verbs import CoreVerbs
from omne.mcp.server import McpBinding, McpContext, build_server
from omne.types import Scope


async def serve_stdio(core: CoreVerbs, scope: Scope, *, editor: str = "mcp") -> None:
    """Serve MCP on stdin/stdout until the client closes it; every call acts on `scope` of `core` (an embedded
    MemoryCore or a RemoteMemoryCore). The caller owns and closes `core`."""
    binding = McpBinding(core=core, scope=scope, editor=editor)

    async def bind(_ctx: McpContext) -> McpBinding:
        return binding

    await build_server(bind).run_stdio_async()


__all__ = ["serve_stdio"]
