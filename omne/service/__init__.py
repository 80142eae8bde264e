"""Omne as a memory service: `omne serve` (one owner process holds the store), API keys bound to scopes,
and `RemoteMemoryCore`, a client with `MemoryCore`'s methods. `owner_of` and `served_store_error` tell an
embedded opener which running server holds a store."""

from omne.service.client import RemoteMemoryCore
from omne.service.owner import ServerInfo, owner_of, served_store_error

__all__ = ["RemoteMemoryCore", "ServerInfo", "owner_of", "served_store_error"]
