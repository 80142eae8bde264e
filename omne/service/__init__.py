"""Omne as a memory service: `omne serve` (one owner process holds the store), API keys bound to scopes,
and `RemoteMemoryCore`, a client with `MemoryCore`'s methods."""

from omne.service.client import RemoteMemoryCore

__all__ = ["RemoteMemoryCore"]
