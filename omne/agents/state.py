"""Persisted state of a virtual context (running summary id, message ids in the window), per scope.

It lives in the `context_state` table of the store's SQLite file (migration 2), read and written through
`MemoryCore.context_state` / `save_context_state`, so a remote core (omne serve) keeps it too. The records it points
to stay in the record log; this is only the small pointer state that makes a restart resume exactly.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from omne.verbs import CoreVerbs
from omne.types import Scope


class ContextState(BaseModel):
    """What a context needs to resume: the summary record, the window's message records, flags."""

    summary_id: str | None = None
    window_ids: list[str] = Field(default_factory=list)
    warned: bool = False  # a pressure warning was given since the last eviction
    evictions: int = 0
    evicted_messages: int = 0


class ContextStateStore:
    """Reads and writes context state through the core's verbs (embedded or remote); every call names the scope."""

    def __init__(self, core: CoreVerbs) -> None:
        self.core = core

    @classmethod
    def for_core(cls, core: CoreVerbs) -> ContextStateStore:
        return cls(core)

    async def load(self, scope: Scope, context_id: str) -> ContextState | None:
        """The saved state of context `context_id` in exactly this scope, or None."""
        data = await self.core.context_state(context_id, scope=scope)
        return None if data is None else ContextState.model_validate(data)

    async def save(self, scope: Scope, context_id: str, state: ContextState) -> None:
        """Replace the saved state (one transaction)."""
        await self.core.save_context_state(context_id, state.model_dump(mode="json"), scope=scope)
