"""Omne over the Model Context Protocol: memory tools and core-block resources for any MCP client."""

from omne.mcp.server import Binder, McpBinding, MemoryHit, build_server
from omne.mcp.stdio import serve_stdio

__all__ = ["Binder", "McpBinding", "MemoryHit", "build_server", "serve_stdio"]
