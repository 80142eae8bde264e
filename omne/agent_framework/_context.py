"""OmneContextProvider: Omne memory for an Agent Framework agent, through its context-provider hooks.

Before each run: the core memory blocks go into the instructions (kept current for every model call of the
run, so an edit shows in the next request), the memories relevant to the latest user message (archival
records, messages of other sessions; budgeted, dated, with provenance, quoted as data, exactly as AutoGen's
`OmneMemory` renders them) go into the context, and the memory tools are offered. After the run the turn
(input, tool calls and results, response) is recorded in recall memory, which plans the store's
construction jobs. With an `OmneHistoryProvider` of the same agent on the agent, that provider's virtual
context carries the blocks and the retrieved memories and records the turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agent_framework import AgentSession, ChatContext, ChatMiddleware, ContextProvider, Message, SessionContext

from omne.agents import MEMORY_TOOL_NAMES, BlockSpec, MemoryHierarchy, TokenCounter
from omne.agents.retrieved import DEFAULT_KINDS, last_user_text, retrieve
from omne.verbs import CoreVerbs
from omne.errors import InvalidInputError
from omne.types import RecordKind

from omne.agent_framework._binding import Binding
from omne.agent_framework._history import OmneHistoryProvider
from omne.agent_framework._messages import to_autogen
from omne.agent_framework._tools import memory_tools


class _FreshBlocks(ChatMiddleware):
    """Before each model call of a run: the blocks as they are now, in place of those the run started with."""

    def __init__(self, memory: MemoryHierarchy, shown: str) -> None:
        self.memory, self.shown = memory, shown

    async def process(self, context: ChatContext, call_next: Callable[[], Awaitable[None]]) -> None:
        options = dict(context.options or {})
        instructions = options.get("instructions")
        if isinstance(instructions, str) and self.shown in instructions:
            options["instructions"] = instructions.replace(self.shown, await self.memory.blocks.render())
            context.options = options
        await call_next()


class OmneContextProvider(ContextProvider):
    """An Agent Framework `ContextProvider` backed by Omne: `Agent(client=..., context_providers=[...])`.

    Takes an `AgentMemory`, or a `MemoryCore` (or a served Omne's client) with the scope options of
    `AgentMemory` (agent, user, team, blocks); each Agent Framework session is an Omne session. `top_k`,
    `max_tokens` and `kinds` bound the memories injected per turn (as `OmneMemory`'s); `tools` names the memory
    tools offered (default: all eight; `()` for none).
    """

    def __init__(self, memory: CoreVerbs | MemoryHierarchy, *, agent: str | None = None, user: str | None = None,
                 team: str | None = None, blocks: Sequence[BlockSpec | dict[str, Any]] = (), top_k: int = 6,
                 max_tokens: int = 600, kinds: Sequence[str] = DEFAULT_KINDS,
                 tools: Sequence[str] = MEMORY_TOOL_NAMES, source_id: str = "omne") -> None:
        super().__init__(source_id)
        self.binding = Binding(memory, agent=agent, user=user, team=team, blocks=blocks, owner="OmneContextProvider")
        if top_k < 1 or max_tokens < 32:
            raise InvalidInputError(f"OmneContextProvider needs top_k >= 1 and max_tokens >= 32 "
                                    f"(got top_k={top_k}, max_tokens={max_tokens})")
        try:
            self.kinds = [RecordKind(k) for k in kinds]
        except ValueError as exc:
            raise InvalidInputError(f"OmneContextProvider kinds: {exc}") from None
        unknown_tools = set(tools) - set(MEMORY_TOOL_NAMES)
        if unknown_tools:
            raise InvalidInputError(f"unknown memory tool(s) {', '.join(sorted(unknown_tools))}; "
                                    f"known: {', '.join(MEMORY_TOOL_NAMES)}")
        self.top_k, self.max_tokens, self.tool_names = top_k, max_tokens, tuple(tools)
        self._counter = TokenCounter()

    def _history(self, agent: Any) -> OmneHistoryProvider | None:
        """An OmneHistoryProvider of the same agent on `agent`, if there is one."""
        return next((p for p in getattr(agent, "context_providers", ()) if isinstance(p, OmneHistoryProvider)
                     and p.binding.same_agent(self.binding)), None)

    async def before_run(self, *, agent: Any, session: AgentSession, context: SessionContext,
                         state: dict[str, Any]) -> None:
        """Blocks into the instructions, relevant memories into the context, memory tools into the tools."""
        memory = await self.binding.session(context.session_id)
        if self.tool_names:
            context.extend_tools(self.source_id, memory_tools(memory, self.tool_names))
        query = last_user_text(to_autogen(context.input_messages))
        history = self._history(agent)
        if history is not None:
            window = await history.context(context.session_id)
            text, _ = await retrieve(memory, query, top_k=self.top_k, kinds=self.kinds, max_tokens=self.max_tokens,
                                     counter=self._counter, exclude=set(window.window_record_ids))
            window.set_retrieved(text)
            return
        blocks = await memory.blocks.render()
        if blocks:
            context.extend_instructions(self.source_id, blocks)
            context.extend_middleware(self.source_id, _FreshBlocks(memory, blocks))
        text, used = await retrieve(memory, query, top_k=self.top_k, kinds=self.kinds, max_tokens=self.max_tokens,
                                    counter=self._counter)
        if text:
            origins = sorted({h.record.scope.session for h in used if h.record.scope.session
                              and h.record.scope.session != memory.spec.session})
            context.extend_messages(self, [Message("system", [text])], origin_session_ids=origins or None)

    async def after_run(self, *, agent: Any, session: AgentSession, context: SessionContext,
                        state: dict[str, Any]) -> None:
        """Record the turn (input, tool calls and results, response) in recall memory."""
        if self._history(agent) is not None:
            return  # the history provider records every message of the session
        produced = list(context.response.messages) if context.response is not None else []
        messages = to_autogen([*context.input_messages, *produced])
        if messages:
            memory = await self.binding.session(context.session_id)
            await memory.recall.record(messages, metadata={"context": "agent_framework"})
