"""Which Omne memory an Agent Framework provider serves: an open memory, or a core plus the same scope options
as `AgentMemory`; and one memory per Agent Framework session (its session id is the Omne session)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from omne.agents import AgentSpec, BlockSpec, MemoryHierarchy
from omne.agents.blocks import block_specs
from omne.agents.spec import location_of
from omne.verbs import CoreVerbs
from omne.errors import InvalidInputError

_sessions: weakref.WeakKeyDictionary[Any, dict[str, MemoryHierarchy]] = weakref.WeakKeyDictionary()


class Binding:
    """An agent's memory on one core; `session(id)` opens (once per process and core) its memory for a session."""

    def __init__(self, memory: CoreVerbs | MemoryHierarchy, *, agent: str | None, user: str | None,
                 team: str | None, blocks: Sequence[BlockSpec | dict[str, Any]], owner: str) -> None:
        if isinstance(memory, MemoryHierarchy):
            if agent is not None or user is not None or team is not None or blocks:
                raise InvalidInputError(f"{owner}: given an AgentMemory, pass no agent/user/team/blocks "
                                        "(the memory already names them)")
            self.core, self.spec = memory.core, memory.spec
        else:
            if agent is None:
                raise InvalidInputError(f"{owner}: given a MemoryCore, name the agent: {owner}(core, agent=...)")
            if not hasattr(memory, "search") or not hasattr(memory, "add"):
                raise InvalidInputError(f"{owner} takes a MemoryCore (or a served Omne's client) or an "
                                        f"AgentMemory, not {type(memory).__name__}")
            self.core = memory
            self.spec = AgentSpec.build(agent=agent, user=user, team=team, blocks=block_specs(blocks),
                                        **location_of(memory))

    def same_agent(self, other: Binding) -> bool:
        return self.core is other.core and self.spec.model_dump(exclude={"session"}) == other.spec.model_dump(
            exclude={"session"})

    async def session(self, session_id: str | None) -> MemoryHierarchy:
        """The agent's memory in this session (blocks attached on first use); one object per process, so every
        provider of the agent shares it (and with it, what the window shows)."""
        spec = self.spec if not session_id else AgentSpec.build(**{**self.spec.model_dump(), "session": session_id})
        table = _sessions.setdefault(self.core, {})
        key = spec.model_dump_json(exclude={"store_dir"})
        if key not in table:
            table[key] = await MemoryHierarchy.from_spec(self.core, spec)
        return table[key]
