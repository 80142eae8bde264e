"""The Responder base class: an AutoGen chat agent with memory and clear hook points.

A turn runs as a template method (`on_messages_stream`):

1. `memory_policy()` retrieves recollections for the new messages (private + team scope);
2. `_respond()` (implemented by each responder) produces events and a final reply, calling
   `system_prompt()`, `tools()`, `plan()` and `on_step()` on the way;
3. the memory policy records the turn, the result is built, and `on_finish()` is called.

Subclass and override a hook to change one behaviour. Responders are AutoGen components
(`dump_component` / `load_component`) and join any team (RoundRobinGroupChat, SelectorGroupChat,
Swarm via `handoffs`, GraphFlow).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import Handoff, Response
from autogen_agentchat.messages import (
    BaseAgentEvent,
    BaseChatMessage,
    HandoffMessage,
    MemoryQueryEvent,
    ModelClientStreamingChunkEvent,
    TextMessage,
)
from autogen_core import CancellationToken, Component, ComponentModel
from autogen_core.memory import MemoryContent, MemoryMimeType
from autogen_core.model_context import BufferedChatCompletionContext, ChatCompletionContext
from autogen_core.models import ChatCompletionClient
from autogen_core.tools import BaseTool, FunctionTool
from pydantic import BaseModel, Field

from assistants.budget import RunState
from assistants.ledgers import FactsLedger, Plan
from assistants.memory_policy import CoreMemoryPolicy, MemoryPolicy, NullMemoryPolicy, Recollection
from assistants.results import ResponderResult, Step, StopReason
from assistants.settings import ResponderSettings
from omne.agents import rendering
from omne.agents import SEARCH_TOOL_NAMES, AgentSpec, MemoryHandle, MemoryHierarchy, memory_tools
from omne.agents.shared import register
from omne.agents.spec import location_of
from omne.verbs import CoreVerbs
from omne.errors import InvalidInputError
from omne.types import new_id

log = logging.getLogger("assistants")


class ResponderConfig(BaseModel):
    """The declarative configuration of a responder (AutoGen component config)."""

    name: str
    description: str
    model_client: ComponentModel
    tools: list[ComponentModel] = Field(default_factory=list)
    handoffs: list[Handoff | str] = Field(default_factory=list)
    members: list[ComponentModel] = Field(default_factory=list)  # reactive: agents it may delegate to
    settings: ResponderSettings = Field(default_factory=ResponderSettings)
    store_dir: str | None = None  # memory store; opened once per process on first use
    server_url: str | None = None  # or the `omne serve` holding it (key from $OMNE_API_KEY, never saved)
    user: str | None = None
    team: str | None = None
    model_client_stream: bool = False


@dataclass
class FinalReply:
    """What `_respond` ends with: the reply text, or a handoff, and why the turn stopped."""

    text: str
    stop_reason: StopReason = "answered"
    handoff: Handoff | None = None
    answer: str | None = None
    format_ok: bool = True


class Responder(BaseChatAgent, Component[ResponderConfig]):
    """Base class of Omne responders. Subclass it, or SimpleResponder / ReactiveResponder, and override hooks.

    Hooks: `system_prompt()`, `tools()`, `memory_tools()`, `memory_policy()`, `plan()`, `on_step()`,
    `on_finish()`. Uniform entry point for harnesses: `await responder.solve(task, attachments)`.
    """

    component_type = "agent"
    component_config_schema = ResponderConfig
    default_system_prompt: ClassVar[str] = "You are a helpful assistant with long-term memory."

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a subclass dumps as itself unless it names its own provider
        if "component_provider_override" not in cls.__dict__:
            cls.component_provider_override = None

    def __init__(self, name: str, model_client: ChatCompletionClient, *,
                 description: str = "A responder with long-term memory.",
                 tools: Sequence[BaseTool[Any, Any] | Any] = (), memory: CoreVerbs | None = None,
                 store_dir: Path | str | None = None, server_url: str | None = None, user: str | None = None,
                 team: str | None = None, session: str | None = None, settings: ResponderSettings | None = None,
                 handoffs: Sequence[Handoff | str] = (), model_client_stream: bool = False,
                 model_context: ChatCompletionContext | None = None) -> None:
        super().__init__(name=name, description=description)
        self._model_client = model_client
        self.settings = settings or ResponderSettings()
        self._tools: list[BaseTool[Any, Any]] = [t if isinstance(t, BaseTool) else FunctionTool(t, t.__doc__ or "")
                                                 for t in tools]
        self._handoffs = [Handoff(target=h) if isinstance(h, str) else h for h in handoffs]
        self._model_client_stream = model_client_stream
        if memory is not None:
            register(memory)  # responders loaded from config with the same store_dir use this core
        where = location_of(memory) if memory is not None else {"store_dir": str(store_dir) if store_dir else None,
                                                                "server_url": server_url}
        self._store_dir, self._server_url = where["store_dir"], where["server_url"]
        self.spec = AgentSpec.build(agent=name, user=user, team=team, session=session or f"{name}-{new_id()[:8]}",
                                    **where)
        # the responder's memory: given (a core: the caller closes it) or opened by store_dir on first use
        self._handle: MemoryHandle | None = (
            MemoryHandle(MemoryHierarchy(memory, self.spec), owner=name) if memory is not None
            else MemoryHandle(spec=self.spec, owner=name) if self._store_dir or self._server_url else None)
        self._policy: MemoryPolicy | None = None
        self._memory_tools: list[BaseTool[Any, Any]] | None = None
        self._context = model_context or BufferedChatCompletionContext(self.settings.memory.history_messages)
        self.last_result: ResponderResult | None = None
        self._loaded_tool_configs: dict[str, ComponentModel] = {}
        names = [t.name for t in self.tools()]
        if len(names) != len(set(names)):
            raise InvalidInputError(f"tool names must be unique, got {names}")
        if self.tools() and not model_client.model_info.get("function_calling", False):
            raise InvalidInputError(f"{name}: the model does not support function calling, which tools need; set "
                                    "model_info.function_calling in the model config")

    # -- hooks ----------------------------------------------------------------------------------
    def system_prompt(self) -> str:
        """The system prompt: settings.system_message, else the class's default."""
        return self.settings.system_message or self.default_system_prompt

    def tools(self) -> list[BaseTool[Any, Any]]:
        """Every tool the model may call: user tools plus `memory_tools()`."""
        return [*self._tools, *self.memory_tools()]

    def memory_tools(self) -> list[BaseTool[Any, Any]]:
        """Tools over memory: by default Omne's conversation_search, archival_memory_insert and
        archival_memory_search, bound to this responder's private scope (user + agent), when it has a store,
        the model can call functions and `settings.memory.tools` is on. Override to offer others."""
        if self._memory_tools is None:
            usable = (self.settings.memory.tools and self._handle is not None
                      and self._model_client.model_info.get("function_calling", False))
            self._memory_tools = memory_tools(self._handle, SEARCH_TOOL_NAMES) if usable and self._handle else []
        return list(self._memory_tools)

    def memory_policy(self, memory: MemoryHierarchy | None) -> MemoryPolicy:
        """The retrieve/record policy, built once per responder from its opened memory (None: no store)."""
        if memory is None:
            return NullMemoryPolicy()
        return CoreMemoryPolicy(memory, self.settings.memory)

    async def plan(self, task: str, facts: FactsLedger, state: RunState,
                   cancellation_token: CancellationToken) -> Plan | None:
        """A plan for the task; None means answer directly (the base and simple responders do not plan)."""
        return None

    async def on_step(self, step: Step) -> None:
        """Called after every trajectory step (model answer, ledger, tool step, delegation)."""
        log.debug("%s step %d %s: %s", self.name, step.index, step.kind, step.output[:200])

    async def on_finish(self, result: ResponderResult) -> None:
        """Called once per turn with the final result, after memory was written."""

    def render_recollections(self, recollections: Sequence[Recollection]) -> str:
        """How retrieved memories appear in prompts: quoted data with provenance (omne.agents.rendering)."""
        if not recollections:
            return ""
        return rendering.retrieved([r.render(i) for i, r in enumerate(recollections, 1)])

    # -- the turn -------------------------------------------------------------------------------
    @abstractmethod
    def _respond(self, messages: Sequence[BaseChatMessage], recollections: Sequence[Recollection],
                 state: RunState, cancellation_token: CancellationToken,
                 ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | FinalReply, None]:
        """Produce the turn's events and end with a FinalReply."""

    @property
    def model_client(self) -> ChatCompletionClient:
        return self._model_client

    @property
    def model_context(self) -> ChatCompletionContext:
        return self._context

    @property
    def scopes(self) -> AgentSpec:
        """Who this responder is in the store (agent, user, session, team) and the scopes that follow."""
        return self.spec

    @property
    def core(self) -> CoreVerbs | None:
        """The store, once open (None without one)."""
        return self._handle.memory.core if self._handle is not None and self._handle.is_open else None

    async def agent_memory(self) -> MemoryHierarchy:
        """This responder's memory (private scope user + agent; the session; the team), opening the store on
        first use; the memory tools and the default policy use it."""
        if self._handle is None:
            raise InvalidInputError(f"{self.name} has no memory store; pass memory=..., store_dir=... or server_url=...")
        return await self._handle.open()

    async def policy(self) -> MemoryPolicy:
        """The memory policy, opening the store on first use."""
        if self._policy is None:
            self._policy = self.memory_policy(await self.agent_memory() if self._handle is not None else None)
        return self._policy

    async def _record(self, state: RunState, step: Step) -> Step:
        state.add_step(step)
        await self.on_step(step)
        return step

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (TextMessage, HandoffMessage)

    async def on_messages(self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken) -> Response:
        async for item in self.on_messages_stream(messages, cancellation_token):
            if isinstance(item, Response):
                return item
        raise AssertionError("the stream ended without a response")

    async def on_messages_stream(self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken,
                                 ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | Response, None]:
        policy = await self.policy()
        state = RunState(self.settings.budgets)
        query = "\n".join(m.to_text() for m in messages if m.to_text().strip())
        recollections = await policy.retrieve(query[-2000:]) if query else []
        inner: list[BaseAgentEvent | BaseChatMessage] = []
        if recollections:
            event = MemoryQueryEvent(source=self.name, content=[
                MemoryContent(content=r.render(), mime_type=MemoryMimeType.TEXT,
                              metadata={"record_id": r.record.id, "score": r.score, "shared": r.shared})
                for r in recollections])
            inner.append(event)
            yield event
        final: FinalReply | None = None
        try:
            async for item in self._respond(messages, recollections, state, cancellation_token):
                if isinstance(item, FinalReply):
                    final = item
                    continue
                if not isinstance(item, ModelClientStreamingChunkEvent):
                    inner.append(item)
                yield item
        except Exception:
            await self._keep_incoming(policy, messages)
            raise
        if final is None:
            raise AssertionError(f"{type(self).__name__}._respond ended without a FinalReply")
        usage = state.tokens.as_request_usage()
        reply: BaseChatMessage
        if final.handoff is not None:
            reply = HandoffMessage(content=final.text, target=final.handoff.target, source=self.name,
                                   models_usage=usage)
        else:
            reply = TextMessage(content=final.text, source=self.name, models_usage=usage)
        written = await policy.record_turn(messages, reply)
        result = self._build_result(final, state, [*state.memory_ids, *(r.id for r in written)])
        self.last_result = result
        await self.on_finish(result)
        yield Response(chat_message=reply, inner_messages=inner)

    async def _keep_incoming(self, policy: MemoryPolicy, messages: Sequence[BaseChatMessage]) -> None:
        """A turn failed (e.g. the model endpoint errored or timed out): still record what was said to the
        responder, so the input is not lost; the turn's error is then raised unchanged."""
        try:
            await policy.record_turn(messages, TextMessage(content="", source=self.name))  # empty reply: not stored
        except Exception:  # noqa: BLE001 - never hide the turn's own error behind a recording failure
            log.exception("%s: could not record the messages of a failed turn", self.name)

    def _build_result(self, final: FinalReply, state: RunState, memory_ids: list[str]) -> ResponderResult:
        answer = final.answer if final.answer is not None else (
            self.settings.answer_format.extract(final.text) or final.text.strip())
        return ResponderResult(answer=answer, message=final.text, stop_reason=final.stop_reason,
                               format_ok=final.format_ok, trajectory=list(state.trajectory), tokens=state.tokens,
                               elapsed_s=state.elapsed_s, memory_ids=memory_ids)

    # -- uniform entry point ----------------------------------------------------------------------
    async def solve(self, task: str, attachments: Sequence[Path | str] = (),
                    cancellation_token: CancellationToken | None = None) -> ResponderResult:
        """Solve one task from a clean conversation (memory is kept) and return the uniform result.

        Attachments are listed in the task by absolute path; give the responder a file reader tool
        (`assistants.tools.FileReaderTool`) so it can open them.
        """
        text = task
        if attachments:
            listed = "\n".join(f"- {Path(a).resolve()}" for a in attachments)
            text = f"{task}\n\nAttached files (open them with the read_file tool):\n{listed}"
        await self.on_reset(cancellation_token or CancellationToken())
        await self.run(task=text, cancellation_token=cancellation_token)
        assert self.last_result is not None
        return self.last_result

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        await self._context.clear()

    async def save_state(self) -> dict[str, Any]:
        return {"type": "ResponderState", "version": "1.0", "session": self.scopes.session,
                "llm_context": await self._context.save_state()}

    async def load_state(self, state: dict[str, Any]) -> None:
        if state.get("type") != "ResponderState":
            raise InvalidInputError("not a responder state (save it with Responder.save_state)")
        await self._context.load_state(state["llm_context"])

    async def close(self) -> None:
        """Release the store when this responder opened it by `store_dir` (the last user closes it)."""
        if self._handle is not None and self._handle.owned and self._handle.is_open:
            await self._handle.release()
            self._policy = None

    # -- component config -------------------------------------------------------------------------
    def _to_config(self) -> ResponderConfig:
        return ResponderConfig(
            name=self.name, description=self.description, model_client=self._model_client.dump_component(),
            tools=[self._dump_tool(t) for t in self._tools], handoffs=list(self._handoffs),
            members=[m.dump_component() for m in self._members()], settings=self.settings,
            store_dir=self._store_dir, server_url=self._server_url, user=self.scopes.user, team=self.scopes.team,
            model_client_stream=self._model_client_stream)

    def _dump_tool(self, tool: BaseTool[Any, Any]) -> ComponentModel:
        try:
            return tool.dump_component()
        except (OSError, TypeError, NotImplementedError) as exc:
            if tool.name in self._loaded_tool_configs:  # a FunctionTool loaded from config keeps its config
                return self._loaded_tool_configs[tool.name]
            raise InvalidInputError(f"tool {tool.name} cannot be saved as a component ({exc}); define it at module "
                                    "level or as a Component tool") from None

    def _members(self) -> Sequence[Any]:
        return ()

    @classmethod
    def _from_config(cls, config: ResponderConfig) -> Responder:
        responder = cls(**cls._init_kwargs(config))
        responder._loaded_tool_configs = {t.name: m for t, m in zip(responder._tools, config.tools)}
        return responder

    @classmethod
    def _init_kwargs(cls, config: ResponderConfig) -> dict[str, Any]:
        return dict(name=config.name, description=config.description,
                    model_client=ChatCompletionClient.load_component(config.model_client),
                    tools=[BaseTool.load_component(t) for t in config.tools], handoffs=config.handoffs,
                    settings=config.settings, store_dir=config.store_dir, server_url=config.server_url,
                    user=config.user, team=config.team,
                    model_client_stream=config.model_client_stream)
