"""OmneHistoryProvider: an Agent Framework session's message history kept in Omne's recall memory, through the
same virtual context as AutoGen's `OmneContext` (one per session).

Before each run the new input is recorded; around every model call of the run (the tool loop included) a chat
middleware records what the run added since the last call, then sends the budgeted prompt: the agent's
instructions + core memory blocks + memory status + running summary (+ memories retrieved for the turn) as the
instructions, the window as the messages. Past `warn_at` of the window the model gets a memory-pressure
warning; past `evict_at` the oldest messages are evicted into a recursive summary and stay searchable with
`conversation_search`. The window and summary are persisted, so a new process resumes the same session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_framework import AgentSession, ChatContext, ChatMiddleware, HistoryProvider, Message, SessionContext
from autogen_core.models import ChatCompletionClient
from autogen_core.tools import ToolSchema

from omne.agents import BlockSpec, MemoryHierarchy, OmneContext
from omne.verbs import CoreVerbs

from omne.agent_framework._binding import Binding
from omne.agent_framework._messages import from_autogen, to_autogen

CONTEXT_ID = "agent_framework"


@dataclass
class _Live:
    """One session's virtual context, the tool names of its calls, and the run in progress."""

    context: OmneContext
    call_names: dict[str, str] = field(default_factory=dict)
    run: _Window | None = None


def _attributed(message: Message) -> str | None:
    attribution = message.additional_properties.get("_attribution")
    return attribution.get("source_id") if isinstance(attribution, dict) else None


def tool_schema(tool: Any) -> ToolSchema | None:
    """An Agent Framework tool (FunctionTool or a JSON function spec) as the schema Omne counts tokens for."""
    if isinstance(tool, dict):
        spec = tool.get("function", tool)
        return ToolSchema(name=str(spec.get("name", "")), description=str(spec.get("description", "")),
                          parameters=spec.get("parameters") or {})  # type: ignore[typeddict-item]
    name = getattr(tool, "name", None)
    if not isinstance(name, str):
        return None
    parameters = tool.parameters() if callable(getattr(tool, "parameters", None)) else {}
    return ToolSchema(name=name, description=str(getattr(tool, "description", "") or ""),
                      parameters=parameters)  # type: ignore[typeddict-item]


class _Window(ChatMiddleware):
    """Around each model call of one run: record the messages the run added, then send the budgeted prompt."""

    def __init__(self, live: _Live, source_id: str, inputs: int) -> None:
        self.live, self.source_id, self.inputs = live, source_id, inputs
        self.added = 0  # messages of the tool loop already recorded
        self.instructions: str | None = None  # the run's own instructions, as the first call carried them

    async def process(self, context: ChatContext, call_next: Callable[[], Awaitable[None]]) -> None:
        others = [m for m in context.messages if _attributed(m) not in (None, self.source_id)]
        loop = [m for m in context.messages if _attributed(m) is None][self.inputs:]
        window = self.live.context
        for message in to_autogen(loop[self.added:], self.live.call_names):
            await window.add_message(message)
        self.added = len(loop)
        options = dict(context.options or {})
        if self.instructions is None:
            self.instructions = str(options.get("instructions") or "")
        window.system_prompt = self.instructions
        window.tool_schema = [s for s in map(tool_schema, options.get("tools") or []) if s is not None]
        header, *recent = await window.get_messages()
        options["instructions"] = header.content
        context.options = options
        context.messages = [*others, *from_autogen(recent)]
        await call_next()


class OmneHistoryProvider(HistoryProvider):
    """An Agent Framework `HistoryProvider` whose history is Omne's recall memory under a virtual context.

    `Agent(client=..., context_providers=[OmneContextProvider(core, agent=...),
    OmneHistoryProvider(core, agent=..., window_tokens=...)])`. Takes an `AgentMemory`, or a `MemoryCore` with
    the scope options of `AgentMemory` (agent, user, team, blocks); each Agent Framework session is an Omne
    session (`AgentSession(session_id=...)` resumes one, in this process or a later one). The window budget
    options are `OmneContext`'s; `summary_client` (an AutoGen model client) writes the summaries, else they are
    extractive.
    """

    def __init__(self, memory: CoreVerbs | MemoryHierarchy, *, agent: str | None = None, user: str | None = None,
                 team: str | None = None, blocks: Sequence[BlockSpec | dict[str, Any]] = (),
                 window_tokens: int | None = None, warn_at: float = 0.75, evict_at: float = 0.9,
                 evict_to: float = 0.55, summary_tokens: int | None = None,
                 summary_client: ChatCompletionClient | None = None, context_id: str = CONTEXT_ID,
                 source_id: str = "omne_history") -> None:
        super().__init__(source_id)
        self.binding = Binding(memory, agent=agent, user=user, team=team, blocks=blocks, owner="OmneHistoryProvider")
        self._options: dict[str, Any] = dict(
            window_tokens=window_tokens, warn_at=warn_at, evict_at=evict_at, evict_to=evict_to,
            summary_tokens=summary_tokens, model_client=summary_client, context_id=context_id)
        self._live: dict[str, _Live] = {}

    async def session_memory(self, session_id: str | None) -> MemoryHierarchy:
        """The agent's memory in this session."""
        return await self.binding.session(session_id)

    async def context(self, session_id: str | None) -> OmneContext:
        """The session's virtual context (its window, summary, events and last prompt size)."""
        return (await self._session(session_id)).context

    async def _session(self, session_id: str | None) -> _Live:
        key = session_id or ""
        if key not in self._live:
            memory = await self.session_memory(session_id)
            self._live[key] = _Live(OmneContext(memory, system_prompt="", tool_schema=[], **self._options))
        return self._live[key]

    # -- HistoryProvider --------------------------------------------------------------------
    async def get_messages(self, session_id: str | None, *, state: dict[str, Any] | None = None,
                           **kwargs: Any) -> list[Message]:
        """The messages now in the session's window (older ones are in its summary and in recall)."""
        return from_autogen(await (await self.context(session_id)).window_messages())

    async def save_messages(self, session_id: str | None, messages: Sequence[Message], *,
                            state: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Record messages in recall memory and put them in the session's window."""
        live = await self._session(session_id)
        for message in to_autogen(messages, live.call_names):
            await live.context.add_message(message)

    async def before_run(self, *, agent: Any, session: AgentSession, context: SessionContext,
                         state: dict[str, Any]) -> None:
        """Record the run's input, and budget every model call of the run (a chat middleware)."""
        live = await self._session(context.session_id)
        await self.save_messages(context.session_id, context.input_messages)
        live.run = _Window(live, self.source_id, len(context.input_messages))
        context.extend_middleware(self.source_id, live.run)

    async def after_run(self, *, agent: Any, session: AgentSession, context: SessionContext,
                        state: dict[str, Any]) -> None:
        """Record what the run produced that the middleware has not recorded yet (the final answer)."""
        live = await self._session(context.session_id)
        done = live.run.added if live.run is not None else 0
        live.run = None
        produced = list(context.response.messages) if context.response is not None else []
        await self.save_messages(context.session_id, produced[done:])
