"""OmneMemory: an `autogen_core.memory.Memory` backed by Omne, for `AssistantAgent(memory=[...])`.

Before each model call AutoGen calls `update_context`: the latest user message is the query, the hits
(archival records and messages from other sessions, `MemoryHierarchy.recollect`) are packed into a token
budget with their dates and provenance, and rendered as quoted data — never as instructions. With a context
that takes retrieved memories (an OmneContext: see `RetrievalTarget`) they go into its header for this turn
only; with any other context they are added as a system message, and the messages the agent saw are
recorded in recall memory (automatic recall for any context).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from autogen_core import CancellationToken, Component
from autogen_core.memory import Memory, MemoryContent, MemoryMimeType, MemoryQueryResult, UpdateContextResult
from autogen_core.model_context import ChatCompletionContext
from autogen_core.models import LLMMessage, SystemMessage
from pydantic import BaseModel, Field
from typing_extensions import Self

from omne.errors import InvalidInputError
from omne.ingest.messages import records_from_content
from omne.types import RecordKind

from omne.agents.handle import MemoryHandle
from omne.agents.hierarchy import MemoryHierarchy, Recollection
from omne.agents.recall import MESSAGES
from omne.agents.retrieved import DEFAULT_KINDS, last_user_text, retrieve
from omne.agents.spec import AgentSpec
from omne.agents.tokens import TokenCounter

log = logging.getLogger("omne.agents")

_CLEARABLE = (RecordKind.FACT, RecordKind.INSIGHT, RecordKind.DOCUMENT)


@runtime_checkable
class RetrievalTarget(Protocol):
    """A context that records its own messages and takes the memories retrieved for the turn (OmneContext)."""

    @property
    def window_record_ids(self) -> list[str]: ...

    async def window_messages(self) -> list[LLMMessage]: ...

    def set_retrieved(self, text: str | None) -> None: ...


class OmneMemoryConfig(BaseModel):
    """Component config: which agent's memory, where, and how much to inject per turn."""

    spec: AgentSpec
    name: str = "omne"
    top_k: int = Field(default=6, ge=1, le=100)
    max_tokens: int = Field(default=600, ge=32)
    kinds: list[str] = Field(default_factory=lambda: list(DEFAULT_KINDS))


class OmneMemory(Memory, Component[OmneMemoryConfig]):
    """Omne as an AutoGen Memory. Build it with `agent_memory.autogen_memory()`, or from a config
    (`OmneMemory.load_component(...)`), which opens the store lazily and closes it in `close()`."""

    component_type = "memory"
    component_config_schema = OmneMemoryConfig
    component_provider_override = "omne.agents.OmneMemory"

    def __init__(self, memory: MemoryHierarchy | None = None, *, spec: AgentSpec | None = None, name: str = "omne",
                 top_k: int = 6, max_tokens: int = 600, kinds: Sequence[str] = DEFAULT_KINDS) -> None:
        self._handle = MemoryHandle(memory, spec=spec, owner="OmneMemory")
        self.name = name
        self.top_k = top_k
        self.max_tokens = max_tokens
        try:
            self.kinds = [RecordKind(k) for k in kinds]
        except ValueError as exc:
            raise InvalidInputError(f"OmneMemory kinds: {exc}") from None
        self._counter = TokenCounter()
        self._recorded = 0  # messages of a non-Omne context already recorded

    async def agent_memory(self) -> MemoryHierarchy:
        """The memory behind this component (opened on first use when built from a config)."""
        return await self._handle.open()

    # -- Memory protocol ------------------------------------------------------------------
    async def update_context(self, model_context: ChatCompletionContext) -> UpdateContextResult:
        """Inject memories relevant to the latest user message, budgeted, dated, quoted as data."""
        memory = await self.agent_memory()
        target = model_context if isinstance(model_context, RetrievalTarget) else None
        if target is not None:
            messages = await target.window_messages()
            exclude = set(target.window_record_ids)
        else:
            messages = await model_context.get_messages()
            await self._record_new(memory, model_context)
            exclude = set()
        query = last_user_text(messages)
        if not query:
            if target is not None:
                target.set_retrieved(None)
            return UpdateContextResult(memories=MemoryQueryResult(results=[]))
        text, used = await retrieve(memory, query, top_k=self.top_k, kinds=self.kinds, max_tokens=self.max_tokens,
                                    counter=self._counter, exclude=exclude)
        if target is not None:
            target.set_retrieved(text)
        elif text:
            await model_context.add_message(SystemMessage(content=text))
        return UpdateContextResult(memories=MemoryQueryResult(results=[_content(h) for h in used]))

    async def query(self, query: str | MemoryContent, cancellation_token: CancellationToken | None = None,
                    **kwargs: Any) -> MemoryQueryResult:
        """Hybrid search of this agent's memory; `top_k` and `kinds` may be passed as keyword arguments."""
        text = query if isinstance(query, str) else str(query.content)
        memory = await self.agent_memory()
        kinds = [RecordKind(k) for k in kwargs.get("kinds", self.kinds)]
        hits = await memory.core.search(text, scope=memory.agent_scope, top_k=int(kwargs.get("top_k", self.top_k)),
                                        kinds=kinds)
        return MemoryQueryResult(results=[_content(Recollection(record=h.record, score=h.score, shared=False,
                                                               found_by=h.found_by)) for h in hits])

    async def add(self, content: MemoryContent, cancellation_token: CancellationToken | None = None) -> None:
        """Store any MemoryContent in archival memory through omne.ingest.records_from_content: text and JSON as
        one record (`metadata` may set `kind` and `tags`), markdown, HTML, CSV and document bytes as chunked
        documents with their location, images as captioned image records, other bytes as a named blob."""
        memory = await self.agent_memory()
        meta = dict(content.metadata or {})
        try:
            kind = RecordKind(meta.pop("kind", RecordKind.FACT.value))
        except ValueError as exc:
            raise InvalidInputError(f"OmneMemory.add: metadata kind: {exc}") from None
        tags = meta.pop("tags", [])
        if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
            raise InvalidInputError("OmneMemory.add: metadata tags must be a list of strings")
        meta = {"written_by": memory.archival.author, "source": "autogen_memory.add", **meta}
        await records_from_content(memory.core, content.model_copy(update={"metadata": meta}), memory.agent_scope,
                                   kind=kind, tags=tags)

    async def clear(self) -> None:
        """Explicitly forget this agent's archival facts, insights and documents (history is kept).
        Recall messages, summaries and core blocks are not touched."""
        memory = await self.agent_memory()
        records = await memory.core.list(scope=memory.agent_scope, kinds=list(_CLEARABLE))
        for record in records:
            await memory.core.forget(record.id, scope=memory.agent_scope)
        log.info("OmneMemory.clear forgot %d records in scope %s", len(records), memory.agent_scope)

    async def close(self) -> None:
        """Release the store when this component opened it."""
        await self._handle.release()

    # -- component config -----------------------------------------------------------------
    def _to_config(self) -> OmneMemoryConfig:
        return OmneMemoryConfig(spec=self._handle.spec, name=self.name, top_k=self.top_k, max_tokens=self.max_tokens,
                                kinds=[k.value for k in self.kinds])

    @classmethod
    def _from_config(cls, config: OmneMemoryConfig) -> Self:
        return cls(spec=config.spec, name=config.name, top_k=config.top_k, max_tokens=config.max_tokens,
                   kinds=config.kinds)

    # -- helpers --------------------------------------------------------------------------
    async def _record_new(self, memory: MemoryHierarchy, model_context: ChatCompletionContext) -> None:
        """Record messages of a plain AutoGen context that recall does not hold yet."""
        everything = (await model_context.save_state()).get("messages", [])
        if len(everything) < self._recorded:  # the context was cleared
            self._recorded = 0
        new = everything[self._recorded:]
        if new:
            await memory.recall.record(MESSAGES.validate_python(new), metadata={"context": "autogen"})
        self._recorded = len(everything)


def _content(hit: Recollection) -> MemoryContent:
    record = hit.record
    return MemoryContent(content=record.text, mime_type=MemoryMimeType.TEXT, metadata={
        "id": record.id, "kind": record.kind.value, "score": hit.score, "found_by": hit.found_by,
        "when": record.when.isoformat(), "scope": str(record.scope), "role": record.role,
        "source_ids": list(record.source_ids), "tags": list(record.tags)})

