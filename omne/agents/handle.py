"""MemoryHandle: how every Omne integration holds an agent's memory.

Given a memory (`MemoryHierarchy` / `AgentMemory`), the caller owns it and the handle never closes it.
Given only a spec (as component configs carry it), the handle opens the memory on first use on the
process's shared core for the spec's store (`spec.server_url` or $OMNE_URL, else `spec.store_dir`) and gives
it back in `release()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from omne.errors import InvalidInputError

from omne.agents.hierarchy import MemoryHierarchy
from omne.agents.shared import acquire_memory, release_memory
from omne.agents.spec import AgentSpec


class MemoryHandle:
    """One agent's memory as a component holds it: the spec, the scopes it implies, and lazy open / release."""

    def __init__(self, memory: MemoryHierarchy | None = None, *, spec: AgentSpec | None = None,
                 owner: str = "this component") -> None:
        if memory is None and spec is None:
            raise InvalidInputError(f"{owner} needs an AgentMemory or an AgentSpec")
        self._memory = memory
        self.spec: AgentSpec = spec or memory.spec  # type: ignore[union-attr]
        self.owned = memory is None  # opened from the spec here (released here), or given by the caller
        self._owner = owner

    @property
    def is_open(self) -> bool:
        return self._memory is not None

    @property
    def memory(self) -> MemoryHierarchy:
        """The open memory; from a spec, only after `await open()`."""
        if self._memory is None:
            raise InvalidInputError(f"{self._owner} was built from a spec and has not opened its store yet: "
                                    "await its agent_memory() first")
        return self._memory

    async def open(self) -> MemoryHierarchy:
        """The memory, opened from the spec on first use (a given memory is returned as it is)."""
        if self._memory is None:
            memory = await acquire_memory(self.spec)
            if self.is_open:  # another task opened it while this one waited
                await release_memory(memory)
            else:
                self._memory = memory
        return self.memory

    async def release(self) -> None:
        """Give back a memory opened here (the last user of the shared core closes it); a given one stays open."""
        if self.owned and self._memory is not None:
            memory, self._memory = self._memory, None
            await release_memory(memory)

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[MemoryHierarchy]:
        """The memory for one call: the open one, else the process's shared one, given back after the call."""
        if self._memory is not None:
            yield self._memory
            return
        memory = await acquire_memory(self.spec)
        try:
            yield memory
        finally:
            await release_memory(memory)
