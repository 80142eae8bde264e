"""AgentMemory: the memory hierarchy of one agent plus its AutoGen parts (memory tools, virtual context,
`Memory` adapter), the entry point of the README example."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autogen_core.models import ChatCompletionClient

from omne.verbs import CoreVerbs

from omne.agents.blocks import BlockSpec
from omne.agents.context import OmneContext
from omne.agents.hierarchy import MemoryHierarchy
from omne.agents.memory_adapter import OmneMemory
from omne.agents.spec import DEFAULT_SESSION
from omne.agents.tools import MEMORY_TOOL_NAMES, MemoryTool, memory_tools


class AgentMemory(MemoryHierarchy):
    """The memory hierarchy of one agent (serving one user, in one session). Open with `await AgentMemory.open(...)`."""

    @classmethod
    async def open(cls, core: CoreVerbs, *, agent: str, user: str | None = None, session: str = DEFAULT_SESSION,
                   team: str | None = None, blocks: Sequence[BlockSpec | dict[str, Any]] = ()) -> AgentMemory:
        """Bind an agent to a store and attach its blocks (created on first use, kept afterwards)."""
        memory = await super().open(core, agent=agent, user=user, session=session, team=team, blocks=blocks)
        assert isinstance(memory, AgentMemory)
        return memory

    def tools(self, names: Sequence[str] = MEMORY_TOOL_NAMES) -> list[MemoryTool]:
        """The memory tools (AutoGen component tools) bound to this agent; they save as its spec, never as code."""
        return memory_tools(self, names)

    def context(self, model_client: ChatCompletionClient | None = None, **options: Any) -> OmneContext:
        """A virtual context manager for `AssistantAgent(model_context=...)`; see OmneContext for options."""
        return OmneContext(self, model_client=model_client, **options)

    def autogen_memory(self, **options: Any) -> OmneMemory:
        """An `autogen_core.memory.Memory` for `AssistantAgent(memory=[...])`; see OmneMemory for options."""
        return OmneMemory(self, **options)
