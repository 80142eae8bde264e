"""Fact extraction: one message (with its context and related stored facts) in, typed facts out.

The response model is built from the schema registry (built-in schemas plus the user's), one variant
per schema, discriminated by `type`; each extracted fact also says how it relates to the stored facts
shown to the model (new, same, update, contradicts), which consolidation then applies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from autogen_core.models import ChatCompletionClient, SystemMessage, UserMessage
from pydantic import BaseModel, ConfigDict, Field, create_model

from omne.construction.structured import StructuredCallConfig, schema_instructions, structured_call
from omne.core import MemoryCore
from omne.schemas import SchemaRegistry
from omne.types import Record, RecordKind, Scope

EXTRACTION_METHOD = "model extraction"


class ExtractedFactBase(BaseModel):
    """Fields every extracted fact carries besides its typed `data`."""

    model_config = ConfigDict(extra="forbid")

    statement: str = Field(min_length=1, description="The fact as one self-contained sentence; names, not pronouns.")
    importance: float = Field(default=0.5, ge=0.0, le=1.0, description="How much it may matter later, 0 to 1.")
    op: Literal["new", "same", "update", "contradicts"] = Field(
        default="new", description="new; same (repeats a stored fact); update (the world changed since a stored "
                                   "fact); contradicts (says a stored fact is wrong).")
    existing: str | None = Field(default=None, description="The stored fact's label (e.g. F2) for same, update, "
                                                           "contradicts.")
    reason: str | None = Field(default=None, description="Why, for update or contradicts.")


class ExtractedItem(ExtractedFactBase):
    """One fact of an extraction reply: `extraction_model` narrows `type` to a schema name and `data` to
    that schema, one variant per schema."""

    type: str
    data: BaseModel


class ExtractionReply(BaseModel):
    """An extraction reply: `extraction_model` narrows `facts` to the registry's variants."""

    model_config = ConfigDict(extra="forbid")

    facts: list[ExtractedItem] = Field(default_factory=list)


class ExtractedFact(BaseModel):
    """A validated extracted fact, independent of the dynamic response model."""

    schema_name: str
    data: dict[str, Any]
    statement: str
    importance: float
    op: str
    existing: str | None
    reason: str | None


def extraction_model(registry: SchemaRegistry) -> type[ExtractionReply]:
    """The pydantic response model for the extraction prompt, one variant per registered schema."""
    variants = [create_model(f"Extracted_{name}", __base__=ExtractedItem, type=(_literal(name), ...),
                             data=(registry.get(name), ...)) for name in registry.names()]
    item: Any = variants[0] if len(variants) == 1 else Annotated[Union[tuple(variants)], Field(discriminator="type")]
    return create_model("ExtractionResponse", __base__=ExtractionReply, facts=(list[item], Field(default_factory=list)))


def _literal(value: str) -> Any:
    """`Literal[value]` for a value known only at run time (a type no checker can see)."""
    return Literal[value]


def describe_schemas(registry: SchemaRegistry) -> str:
    lines = []
    for name in registry.names():
        model = registry.get(name)
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        lines.append(f"- {name}: {doc} Fields: {', '.join(model.model_fields)}.")
    return "\n".join(lines)


_SYSTEM = (
    "You extract durable memories from a conversation for an assistant's long-term memory: facts about "
    "people and their lives, their preferences, and events (past or planned). Extract only what the MESSAGE "
    "states; use the earlier messages only to resolve who and what it refers to. Skip greetings, questions, "
    "and the assistant's own suggestions. Compare each fact with the STORED FACTS and set `op` and `existing`. "
    "When there is nothing worth remembering, reply {\"facts\": []}."
)


def _line(record: Record) -> str:
    who = record.name or record.role or "unknown"
    return f"[{record.when:%Y-%m-%d %H:%M}] {who}: {record.text}"


class FactExtractor:
    """Asks the model for the facts in one message, showing it context and related stored facts."""

    def __init__(self, core: MemoryCore, client: ChatCompletionClient, *, context_messages: int = 6,
                 related_facts: int = 8, call: StructuredCallConfig | None = None) -> None:
        self.core = core
        self.client = client
        self.context_messages = context_messages
        self.related_facts = related_facts
        self.call = call or StructuredCallConfig()

    async def related(self, message: Record, fact_scope: Scope) -> dict[str, Record]:
        """Live stored facts near the message, labelled F1, F2, ... for the prompt."""
        hits = await self.core.search(message.text, scope=fact_scope, kinds=[RecordKind.FACT], top_k=self.related_facts)
        return {f"F{i}": hit.record for i, hit in enumerate(hits, 1)}

    async def context(self, message: Record) -> list[Record]:
        if self.context_messages == 0:
            return []
        earlier = await self.core.list(scope=message.scope, kinds=[RecordKind.MESSAGE], end=message.when,
                                       newest_first=True, limit=self.context_messages + 1)
        return [r for r in reversed(earlier) if r.id != message.id][-self.context_messages:]

    async def extract(self, message: Record, fact_scope: Scope) -> tuple[list[ExtractedFact], dict[str, Record]]:
        """The facts the model finds in `message`, and the labelled stored facts it was shown."""
        registry = self.core.schemas
        model = extraction_model(registry)
        related = await self.related(message, fact_scope)
        context = await self.context(message)
        stored = "\n".join(f"[{label}] ({r.schema_name or 'untyped'}) {r.text}"
                           + (f" data={r.data}" if r.data else "") for label, r in related.items()) or "(none)"
        prompt = (f"Schemas:\n{describe_schemas(registry)}\n\n"
                  f"Earlier messages:\n{chr(10).join(_line(r) for r in context) or '(none)'}\n\n"
                  f"STORED FACTS:\n{stored}\n\nMESSAGE:\n{_line(message)}\n\n{schema_instructions(model)}")
        reply = await structured_call(self.client, [SystemMessage(content=_SYSTEM),
                                                    UserMessage(content=prompt, source="omne")], model, self.call)
        facts = [ExtractedFact(schema_name=f.type, data=f.data.model_dump(mode="json"), statement=f.statement.strip(),
                               importance=f.importance, op=f.op, existing=f.existing, reason=f.reason)
                 for f in reply.facts]
        return facts, related
