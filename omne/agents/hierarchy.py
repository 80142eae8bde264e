"""MemoryHierarchy: one agent's view of an Omne store — its scopes, core blocks, recall and archival memory,
and the per-turn retrieval every integration (OmneMemory, responders) uses.

See `omne.agents.spec` for the scopes. `AgentMemory` (omne.agents.agent_memory) adds the AutoGen
factories (tools, context, Memory adapter) on top of this class.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from pydantic import BaseModel, Field

from omne.verbs import CoreVerbs
from omne.types import Record, RecordKind, Scope

from omne.agents import rendering
from omne.agents.archival import ArchivalMemory
from omne.agents.blocks import BlockSpec, CoreMemory, block_specs
from omne.agents.recall import RecallMemory
from omne.agents.spec import DEFAULT_SESSION, AgentSpec, location_of


class Recollection(BaseModel):
    """A memory retrieved for the current turn, ready to render into a prompt."""

    record: Record
    score: float
    shared: bool  # found in the team scope
    found_by: list[str] = Field(default_factory=list)

    def render(self, number: int | None = None) -> str:
        """The memory as a prompt entry: provenance line (date, kind, author, team or private, id), text quoted."""
        where = f"team {self.record.scope.team}" if self.shared else "private"
        return rendering.render_record(self.record, number=number, stamp=rendering.minute, details=[where])


class MemoryHierarchy:
    """The memory hierarchy of one agent (serving one user, in one session), on one core.

    Only the core's verbs (`omne.CoreVerbs`) are used, so `core` is a `MemoryCore` or a `RemoteMemoryCore`.
    """

    def __init__(self, core: CoreVerbs, spec: AgentSpec, *, scope: Scope | None = None,
                 editor: str | None = None, full_ids: bool = False) -> None:
        """`scope` / `editor` bind the memory to one given scope instead of the agent's own (see `on_scope`);
        `full_ids`: the memory tools show whole record ids (for clients that open records by id), not 8 chars."""
        self.core = core
        self.full_ids = full_ids
        self.spec = spec
        self.agent_scope = scope or spec.agent_scope
        self.session_scope = spec.session_scope
        self.team_scope = None if scope else spec.team_scope
        editor = editor or f"agent:{spec.agent}"
        self.blocks = CoreMemory(core, private_scope=self.agent_scope, team_scope=self.team_scope, editor=editor)
        self.recall = RecallMemory(core, spec, search_scope=self.agent_scope)
        self.archival = ArchivalMemory(core, scope=self.agent_scope, author=editor)

    @classmethod
    def on_scope(cls, core: CoreVerbs, scope: Scope, *, editor: str, full_ids: bool = False) -> MemoryHierarchy:
        """The memory of one scope as the memory tools see it, for a door bound to a scope rather than to an
        agent (an MCP session): core blocks, archival records and conversation search all in `scope`, no team
        blocks; `editor` is written into edit history and provenance. It records no messages."""
        spec = AgentSpec(agent=editor, user=scope.user, session=scope.session or DEFAULT_SESSION)
        return cls(core, spec, scope=scope, editor=editor, full_ids=full_ids)

    @classmethod
    async def open(cls, core: CoreVerbs, *, agent: str, user: str | None = None, session: str = DEFAULT_SESSION,
                   team: str | None = None, blocks: Sequence[BlockSpec | dict[str, Any]] = ()) -> MemoryHierarchy:
        """Bind an agent to a store and attach its blocks (created on first use, kept afterwards)."""
        spec = AgentSpec.build(agent=agent, user=user, session=session, team=team, blocks=block_specs(blocks),
                               **location_of(core))
        return await cls.from_spec(core, spec)

    @classmethod
    async def from_spec(cls, core: CoreVerbs, spec: AgentSpec) -> MemoryHierarchy:
        """The memory an AgentSpec describes, on an open core, with its blocks attached."""
        memory = cls(core, spec)
        for block in spec.blocks:
            await memory.blocks.attach(block)
        return memory

    @property
    def name(self) -> str:
        return self.spec.agent

    @property
    def scope(self) -> Scope:
        """The agent's own scope (user, agent)."""
        return self.agent_scope

    async def recollect(self, query: str, *, top_k: int, kinds: Sequence[RecordKind] | None = None,
                        min_score: float = 0.0, exclude: Collection[str] = (), team: bool = True,
                        ) -> list[Recollection]:
        """Memories for the current turn: hybrid search over the private scope and (with `team`) the team scope,
        merged by score. Left out: this session's messages and the records in `exclude` (the model sees them
        already), and hits under `min_score`. A message recorded both privately and as the team's copy counts
        once (its better hit)."""
        if top_k <= 0 or not query.strip():
            return []
        sources: list[tuple[Scope, bool]] = [(self.agent_scope, False)]
        if team and self.team_scope is not None:
            sources.append((self.team_scope, True))
        best: dict[str, Recollection] = {}
        for scope, shared in sources:
            hits = await self.core.search(query, scope=scope, top_k=top_k * 3,
                                          kinds=list(kinds) if kinds is not None else None)
            for hit in hits:
                record = hit.record
                if record.id in exclude or hit.score < min_score:
                    continue
                is_message = record.kind is RecordKind.MESSAGE
                if is_message and record.scope.session == self.spec.session:
                    continue
                key = str(record.metadata.get("message_id") or record.id) if is_message else record.id
                if key not in best or hit.score > best[key].score:
                    best[key] = Recollection(record=record, score=hit.score, shared=shared, found_by=hit.found_by)
        return sorted(best.values(), key=lambda r: r.score, reverse=True)[:top_k]
