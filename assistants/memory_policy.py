"""What a responder retrieves before answering and what it writes afterwards.

`MemoryPolicy` is the protocol; `CoreMemoryPolicy` implements it on the responder's memory
(`omne.agents.MemoryHierarchy`): retrieve = `recollect` over the private scope and the team scope;
record = every turn through recall memory's one recording path, privately and as the team's copy.
Private and team scopes never overlap: private records carry `agent=<name>` and no team, team records
carry `team=<team>` and no agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from autogen_agentchat.messages import BaseChatMessage

from assistants.settings import MemorySettings
from omne.agents import MemoryHierarchy, Recollection
from omne.types import Edge, Record, RecordKind

__all__ = ["CoreMemoryPolicy", "MemoryPolicy", "NullMemoryPolicy", "Recollection"]


@runtime_checkable
class MemoryPolicy(Protocol):
    """Retrieval before a turn and writes after it. Plug a different one by overriding Responder.memory_policy."""

    async def retrieve(self, query: str) -> list[Recollection]: ...

    async def record_turn(self, incoming: Sequence[BaseChatMessage], reply: BaseChatMessage) -> list[Record]: ...

    async def record(self, records: Sequence[Record], edges: Sequence[Edge] = ()) -> list[Record]: ...


class NullMemoryPolicy:
    """No memory: retrieves nothing, writes nothing (a responder without a store)."""

    async def retrieve(self, query: str) -> list[Recollection]:
        return []

    async def record_turn(self, incoming: Sequence[BaseChatMessage], reply: BaseChatMessage) -> list[Record]:
        return []

    async def record(self, records: Sequence[Record], edges: Sequence[Edge] = ()) -> list[Record]:
        return []


def _role(message: BaseChatMessage, own_name: str) -> str:
    if message.source == own_name:
        return "assistant"
    return "user" if message.source == "user" else "agent"


class CoreMemoryPolicy:
    """The default policy (search before answering; record each turn) on the responder's memory."""

    def __init__(self, memory: MemoryHierarchy, settings: MemorySettings) -> None:
        self.memory = memory
        self.settings = settings

    async def retrieve(self, query: str) -> list[Recollection]:
        """Top hits from the private and the team scope, merged by score, each memory once; this session's
        messages are skipped (they are already in the model context). The best `experience_k` insights follow
        when the top hits lack them: an earlier task's raw turns and ledgers often outrank its lesson."""
        top = await self.memory.recollect(query, top_k=self.settings.top_k, min_score=self.settings.min_score)
        if self.settings.top_k == 0 or self.settings.experience_k == 0:
            return top
        lessons = await self.memory.recollect(query, top_k=self.settings.experience_k, kinds=[RecordKind.INSIGHT],
                                              min_score=self.settings.min_score)
        have = {r.record.id for r in top}
        return top + [r for r in lessons if r.record.id not in have]

    async def record_turn(self, incoming: Sequence[BaseChatMessage], reply: BaseChatMessage) -> list[Record]:
        """Write the turn as MESSAGE records: privately, and once into the team scope (ids derived from the
        AutoGen message id, so teammates that saw the same message do not write it twice). Images of a
        MultiModalMessage are ingested (omne.ingest) and linked to their message by ATTACHED edges."""
        if not self.settings.record_turns:
            return []
        messages = [m for m in [*incoming, reply] if m.to_text().strip()]
        return await self.memory.recall.record(
            [m.to_model_message() for m in messages], roles=[_role(m, self.memory.spec.agent) for m in messages],
            message_ids=[m.id for m in messages], team=True)

    async def record(self, records: Sequence[Record], edges: Sequence[Edge] = ()) -> list[Record]:
        """Write prepared records (ledgers, trajectories, insights) and their edges."""
        return await self.memory.core.add(list(records), edges)
