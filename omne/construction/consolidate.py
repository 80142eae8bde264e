"""Consolidation of extracted facts against what is stored. Nothing is deleted.

- new: stored as a FACT record derived from the message.
- duplicate (same schema and data, or the model says `same`): the stored fact is reinforced in
  place (importance up, `metadata.reinforced` count and `reinforced_by` sources), no copy is made.
- update (same identity fields, another value; or the model says `update`): a new version
  supersedes the stored fact (`MemoryCore.update`: valid-from / valid-to, old version kept).
- contradiction (the model says `contradicts`): also a new version, marked
  `metadata.consolidation = "contradiction"` with what it contradicts, plus a RELATES edge
  tagged `contradicts`, so `history` shows both claims and why one replaced the other.
- evidence older than the stored fact (a late-arriving message): kept as a separate record valid
  only until the stored fact began ("historical"), linked to it; the current fact stays current.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from omne.construction.facts import EXTRACTION_METHOD, ExtractedFact
from omne.core import MemoryCore
from omne.errors import InvalidInputError
from omne.types import Edge, EdgeKind, Record, RecordKind, Scope, utcnow

Action = Literal["new", "duplicate", "update", "contradiction", "historical", "already-recorded"]


class Consolidated(BaseModel):
    """What consolidation did with one extracted fact."""

    action: Action
    record_id: str
    previous_id: str | None = None
    schema_name: str
    statement: str


def normalise(value: Any) -> Any:
    """Case- and whitespace-insensitive form of fact data for comparison."""
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if v not in (None, [], "")}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


class Consolidator:
    """Applies extracted facts to the store for one message."""

    def __init__(self, core: MemoryCore, *, reinforce_step: float = 0.05, method: str = EXTRACTION_METHOD) -> None:
        self.core = core
        self.reinforce_step = reinforce_step
        self.method = method

    def _identity(self, schema_name: str | None, data: dict[str, Any] | None) -> tuple[Any, ...] | None:
        if not schema_name or data is None:
            return None
        fields = self.core.schemas.identity_fields(schema_name)
        norm = normalise(data)
        return (schema_name, *(repr(norm.get(f)) for f in fields))

    async def _key_match(self, fact: ExtractedFact, scope: Scope) -> Record | None:
        wanted = self._identity(fact.schema_name, fact.data)
        for record in await self.core.list(scope=scope, kinds=[RecordKind.FACT], newest_first=True):
            if record.scope == scope and self._identity(record.schema_name, record.data) == wanted:
                return record
        return None

    def _decide(self, fact: ExtractedFact, target: Record | None) -> Action:
        if target is None:
            return "new"
        same_schema = target.schema_name == fact.schema_name
        if same_schema and normalise(target.data) == normalise(fact.data):
            return "duplicate"
        if fact.op == "contradicts":
            return "contradiction"
        if same_schema and self._identity(target.schema_name, target.data) == self._identity(fact.schema_name,
                                                                                           fact.data):
            return "update"
        if fact.op == "same":
            return "duplicate"
        return "update" if fact.op == "update" else "new"

    async def apply(self, message: Record, scope: Scope, fact: ExtractedFact, shown: dict[str, Record],
                    *, job_key: str | None = None) -> Consolidated:
        """Consolidate one extracted fact from `message` into `scope`."""
        self.core.schemas.validate(fact.schema_name, fact.data)  # user schemas may have changed since extraction
        target = shown.get(fact.existing) if fact.existing and fact.op != "new" else None
        if target is not None and not (target.live and target.kind is RecordKind.FACT and scope.contains(target.scope)):
            target = None
        target = target or await self._key_match(fact, scope)
        action = self._decide(fact, target)
        if action == "new" or target is None:
            return await self._add(message, scope, fact, job_key)
        if message.id in target.source_ids or message.id in target.metadata.get("reinforced_by", []):
            return Consolidated(action="already-recorded", record_id=target.id, schema_name=fact.schema_name,
                                statement=fact.statement)
        if action == "duplicate":
            return await self._reinforce(message, target, fact)
        started = target.valid_from or target.when
        if message.when < started:
            return await self._add(message, scope, fact, job_key, historical_of=target)
        return await self._supersede(message, target, fact, action, job_key)

    def _event_time(self, message: Record, fact: ExtractedFact) -> datetime:
        when = fact.data.get("when") if fact.schema_name == "event" else None
        return datetime.fromisoformat(when) if isinstance(when, str) else message.when

    async def _add(self, message: Record, scope: Scope, fact: ExtractedFact, job_key: str | None,
                   historical_of: Record | None = None) -> Consolidated:
        metadata: dict[str, Any] = {"method": self.method, "consolidation": "new", "reinforced": 0}
        if job_key:
            metadata["job"] = job_key
        tags = ["extracted", fact.schema_name]
        valid_to = None
        if historical_of is not None:
            metadata |= {"consolidation": "historical", "later_value": historical_of.id}
            tags.append("historical")
            valid_to = historical_of.valid_from or historical_of.when
        record = Record(kind=RecordKind.FACT, scope=scope, text=fact.statement, schema_name=fact.schema_name,
                        data=fact.data, importance=fact.importance, source_ids=[message.id], tags=tags,
                        metadata=metadata, event_time=self._event_time(message, fact), valid_from=message.when,
                        valid_to=valid_to)
        edges = [Edge(scope=scope, src=record.id, dst=message.id, kind=EdgeKind.DERIVED_FROM)]
        if historical_of is not None:
            edges.append(Edge(scope=scope, src=record.id, dst=historical_of.id, kind=EdgeKind.RELATES,
                              data={"relation": "earlier value of"}))
        stored = (await self.core.add(record, edges))[0]
        return Consolidated(action="historical" if historical_of else "new", record_id=stored.id,
                            previous_id=historical_of.id if historical_of else None, schema_name=fact.schema_name,
                            statement=fact.statement)

    async def _reinforce(self, message: Record, target: Record, fact: ExtractedFact) -> Consolidated:
        metadata = dict(target.metadata)
        metadata["reinforced"] = int(metadata.get("reinforced", 0)) + 1
        metadata["reinforced_by"] = [*metadata.get("reinforced_by", []), message.id]
        metadata["last_reinforced_at"] = utcnow().isoformat()
        importance = min(1.0, max(target.importance, fact.importance) + self.reinforce_step)
        await self.core.annotate(target.id, scope=target.scope, importance=importance, metadata=metadata)
        await self.core.add_edges([Edge(scope=target.scope, src=target.id, dst=message.id,
                                        kind=EdgeKind.DERIVED_FROM, data={"reinforces": True})])
        return Consolidated(action="duplicate", record_id=target.id, schema_name=fact.schema_name,
                            statement=fact.statement)

    async def _supersede(self, message: Record, target: Record, fact: ExtractedFact, action: Action,
                         job_key: str | None) -> Consolidated:
        metadata: dict[str, Any] = {"method": self.method, "consolidation": action, "previous_id": target.id,
                                    "previous_text": target.text, "reinforced": 0}
        if fact.reason:
            metadata["reason"] = fact.reason
        if job_key:
            metadata["job"] = job_key
        tags = sorted({*target.tags, "extracted", fact.schema_name} | ({"contradiction"} if action == "contradiction"
                                                                         else set()))
        try:
            new = await self.core.update(
                target.id, scope=target.scope, text=fact.statement, schema_name=fact.schema_name, data=fact.data,
                source_ids=[message.id], valid_from=message.when, event_time=self._event_time(message, fact),
                importance=max(target.importance, fact.importance), metadata=metadata, tags=tags)
        except InvalidInputError:  # superseded meanwhile by another worker: store it as new, keep both
            return await self._add(message, target.scope, fact, job_key)
        edges = [Edge(scope=new.scope, src=new.id, dst=message.id, kind=EdgeKind.DERIVED_FROM)]
        if action == "contradiction":
            edges.append(Edge(scope=new.scope, src=new.id, dst=target.id, kind=EdgeKind.RELATES,
                              data={"relation": "contradicts", "reason": fact.reason}))
        await self.core.add_edges(edges)
        return Consolidated(action=action, record_id=new.id, previous_id=target.id, schema_name=fact.schema_name,
                            statement=fact.statement)
