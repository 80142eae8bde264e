"""Recall memory: every message an agent sees or sends, as MESSAGE records with session and time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from pydantic import TypeAdapter

from omne.core import MemoryCore
from omne.errors import InvalidInputError
from omne.ingest.messages import attach_images, check_images, images_in
from omne.types import Record, RecordKind, Scope

from omne.agents.tokens import message_text

_MESSAGE_ADAPTER: TypeAdapter[LLMMessage] = TypeAdapter(LLMMessage)
DEFAULT_SEARCH_ROLES = ("user", "assistant")


def message_role(message: LLMMessage) -> str:
    """The chat role of an AutoGen message: system, user, assistant or tool."""
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, UserMessage):
        return "user"
    if isinstance(message, AssistantMessage):
        return "assistant"
    if isinstance(message, FunctionExecutionResultMessage):
        return "tool"
    raise TypeError(f"not an LLM message: {type(message).__name__}")


def _dump(message: LLMMessage) -> dict[str, Any] | None:
    try:
        return message.model_dump(mode="json")
    except Exception:  # noqa: BLE001 - images and other non-JSON parts: keep the text only
        return None


def message_to_record(message: LLMMessage, scope: Scope, *, role: str | None = None,
                      tags: Sequence[str] = (), metadata: dict[str, Any] | None = None) -> Record:
    """A MESSAGE record holding the message's text (searchable) and its exact form (restorable)."""
    text = message_text(message).strip() or "(empty message)"
    dumped = _dump(message)
    return Record(kind=RecordKind.MESSAGE, scope=scope, text=text, role=role or message_role(message),
                  name=getattr(message, "source", None), data={"llm": dumped} if dumped else None,
                  tags=list(tags), metadata=dict(metadata or {}))


def record_to_message(record: Record) -> LLMMessage:
    """The AutoGen message a MESSAGE record was written from (its text as a user message if not restorable)."""
    dumped = (record.data or {}).get("llm")
    if dumped:
        return _MESSAGE_ADAPTER.validate_python(dumped)
    if record.role == "assistant":
        return AssistantMessage(content=record.text, source=record.name or "assistant")
    if record.role == "system":
        return SystemMessage(content=record.text)
    return UserMessage(content=record.text, source=record.name or "user")


class RecallMemory:
    """Writes messages to the log and searches them by text, role and date. The store chains them in order
    (NEXT edges, in the same transaction; `MemoryCore.open(link_messages=True)`, the default)."""

    def __init__(self, core: MemoryCore, *, write_scope: Scope, search_scope: Scope) -> None:
        self.core = core
        self.write_scope = write_scope
        self.search_scope = search_scope
        self.last_id: str | None = None
        self.in_window: frozenset[str] = frozenset()  # what an OmneContext shows the model now (search skips it)

    async def record(self, messages: Sequence[LLMMessage], *, tags: Sequence[str] = (), role: str | None = None,
                     metadata: dict[str, Any] | None = None) -> list[Record]:
        """Commit messages to the record log, in order; returns the stored message records.

        Images in a message (a user's MultiModalMessage) are checked first, then ingested as image records
        (omne.ingest) linked to their message by ATTACHED edges, so they are searchable by their captions.
        """
        images = [await check_images(images_in(getattr(m, "content", None)), f"message {i + 1}")
                  for i, m in enumerate(messages)]
        records = [message_to_record(m, self.write_scope, role=role, tags=tags, metadata=metadata) for m in messages]
        if not records:
            return []
        stored = await self.core.add(records)  # the store links them in order (NEXT edges), atomically
        self.last_id = stored[-1].id
        for message, record, pictures in zip(messages, stored, images):
            if pictures:
                said = " ".join(p for p in message.content if isinstance(p, str)).strip() or None
                await attach_images(self.core, pictures, self.write_scope, message_id=record.id, said=said)
        return stored

    async def search(self, query: str, *, roles: Sequence[str] | None = None, start: datetime | None = None,
                     end: datetime | None = None, limit: int = 10) -> list[Record]:
        """Messages of this agent (all sessions with this user) matching `query`, best first, leaving out those
        in the model's context window now (`in_window`, kept by OmneContext): the model already sees them.

        An empty query lists the newest such messages that pass the filters.
        """
        if not 1 <= limit <= 100:
            raise InvalidInputError("limit must be between 1 and 100")
        roles = tuple(roles) if roles else DEFAULT_SEARCH_ROLES
        hidden = self.in_window
        wanted = min(limit + len(hidden), 1000)
        if query.strip():
            hits = await self.core.search(query, scope=self.search_scope, top_k=wanted, kinds=[RecordKind.MESSAGE],
                                          roles=roles, start=start, end=end)
            found = [hit.record for hit in hits]
        else:
            found = await self.core.list(scope=self.search_scope, kinds=[RecordKind.MESSAGE], roles=roles,
                                         start=start, end=end, limit=wanted, newest_first=True)
        return [record for record in found if record.id not in hidden][:limit]
