"""Recall memory: every message an agent sees or sends, as MESSAGE records with session and time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from pydantic import TypeAdapter

from omne.verbs import CoreVerbs
from omne.errors import InvalidInputError
from omne.ingest.messages import attach_images, check_images, images_in
from omne.types import Record, RecordKind, Scope

from omne.agents.tokens import message_text

if TYPE_CHECKING:
    from omne.agents.spec import AgentSpec

_MESSAGE_ADAPTER: TypeAdapter[LLMMessage] = TypeAdapter(LLMMessage)
MESSAGES: TypeAdapter[list[LLMMessage]] = TypeAdapter(list[LLMMessage])
"""Validates and dumps lists of AutoGen messages (context states hold them in this form)."""
DEFAULT_SEARCH_ROLES = ("user", "assistant")
_TEAM_NS = uuid.UUID("6f1d3c1e-2b7a-4b8e-9a55-0c1f4a7e9d21")


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
    """Writes messages to the log (the one recording path of every Omne integration) and searches them by text,
    role and date. The store chains them in order (NEXT edges, in the same transaction;
    `MemoryCore.open(link_messages=True)`, the default)."""

    def __init__(self, core: CoreVerbs, spec: AgentSpec, *, search_scope: Scope | None = None) -> None:
        """`search_scope`: where `search` looks (default: the agent's scope, every session with this user)."""
        self.core = core
        self.spec = spec
        self.write_scope = spec.session_scope
        self.search_scope = search_scope or spec.agent_scope
        self.last_id: str | None = None
        self.in_window: frozenset[str] = frozenset()  # what an OmneContext shows the model now (search skips it)

    async def record(self, messages: Sequence[LLMMessage], *, tags: Sequence[str] = (), role: str | None = None,
                     roles: Sequence[str] | None = None, metadata: dict[str, Any] | None = None,
                     message_ids: Sequence[str] | None = None, team: bool = False) -> list[Record]:
        """Commit messages to the record log, in order; returns the stored records (private, then team copies).

        `role` sets one role for all (default: each message's chat role), `roles` one per message.
        `message_ids` (e.g. AgentChat message ids) are kept in each record's metadata. With `team` (and a team
        in the spec) each message is also written once into the team's scope, under an id derived from its
        message id, so teammates that saw the same message do not write it twice.
        Images in a message (a user's MultiModalMessage) are checked first, then ingested as image records
        (omne.ingest) linked to each stored copy of their message by ATTACHED edges, so they are searchable by
        their captions.
        """
        if not messages:
            return []
        images = [await check_images(images_in(getattr(m, "content", None)), f"message {i + 1}")
                  for i, m in enumerate(messages)]
        ids = list(message_ids) if message_ids is not None else [None] * len(messages)
        every_role = list(roles) if roles is not None else [role] * len(messages)
        if len(ids) != len(messages) or len(every_role) != len(messages):
            raise InvalidInputError("record: give one role and one message id per message")
        private = [message_to_record(m, self.write_scope, role=r, tags=tags,
                                     metadata={**(metadata or {}), **({"message_id": i} if i else {})})
                   for m, r, i in zip(messages, every_role, ids)]
        copies = await self._team_copies(private, ids) if team else []
        stored = await self.core.add([*private, *copies])  # the store links them in order (NEXT edges), atomically
        self.last_id = stored[len(private) - 1].id
        pictures = {rec.id: (msg, imgs) for msg, rec, imgs in zip(messages, private, images)}
        pictures |= {copy.id: pictures[rec.id] for rec, copy in self._pairs(private, copies)}
        for record in stored:
            picture = pictures.get(record.id)
            if picture is not None and picture[1]:
                message, found = picture
                said = " ".join(p for p in message.content if isinstance(p, str)).strip() or None
                await attach_images(self.core, found, record.scope, message_id=record.id, said=said)
        return stored

    async def _team_copies(self, private: Sequence[Record], ids: Sequence[str | None]) -> list[Record]:
        """The team's copies of messages that have a message id and are not in the team scope yet."""
        scope, query_scope = self.spec.team_session_scope, self.spec.team_scope
        if scope is None or query_scope is None:
            return []
        keyed = {rec.id: str(uuid.uuid5(_TEAM_NS, f"{self.spec.team}|{self.spec.user}|{mid}"))
                 for rec, mid in zip(private, ids) if mid}
        known = {r.id for r in await self.core.get_many(list(keyed.values()), scope=query_scope,
                                                        include_forgotten=True)}  # a forgotten copy stays forgotten
        return [rec.model_copy(update={
                    "id": keyed[rec.id], "scope": scope, "role": "user" if rec.role == "user" else "agent",
                    "metadata": {**rec.metadata, "recorded_by": self.spec.agent}})
                for rec in private if rec.id in keyed and keyed[rec.id] not in known]

    @staticmethod
    def _pairs(private: Sequence[Record], copies: Sequence[Record]) -> list[tuple[Record, Record]]:
        by_message = {rec.metadata.get("message_id"): rec for rec in private}
        return [(by_message[c.metadata["message_id"]], c) for c in copies]

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
