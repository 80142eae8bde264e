"""Session and recursive summaries stored as SUMMARY records with provenance.

A session's messages are summarised in chunks; when there is more than one chunk the chunk
summaries are summarised in turn (summaries of summaries) until one remains: the session summary.
A scope's session summaries are rolled up the same way into a scope summary. Each node is keyed
(`metadata.summary_key`); a node whose sources did not change is reused, a changed one is written
as a new version of the old (`MemoryCore.update`), so earlier summaries stay in history.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from omne.construction.summarisers import Summariser, SummaryItem
from omne.core import MemoryCore
from omne.types import Edge, EdgeKind, Record, RecordKind, Scope

SESSION_TAG = "session-summary"
SCOPE_TAG = "scope-summary"
CHUNK_TAG = "chunk-summary"


class SummaryOutcome(BaseModel):
    """What a summary build did."""

    summary_id: str | None = None
    written: int = 0
    reused: int = 0
    levels: int = 0


def parent_scope(scope: Scope) -> Scope | None:
    """The scope above a session (the same fields without `session`), or None if nothing is left."""
    fields = {k: v for k, v in scope.fields().items() if k != "session"}
    return Scope(**fields) if fields and scope.session is not None else None


class SummaryBuilder:
    """Builds and refreshes summary trees for one store with one summariser."""

    def __init__(self, core: MemoryCore, summariser: Summariser, *, chunk_size: int = 20, fan_in: int = 8) -> None:
        if chunk_size < 2 or fan_in < 2:
            raise ValueError("chunk_size and fan_in must be at least 2")
        self.core = core
        self.summariser = summariser
        self.chunk_size = chunk_size
        self.fan_in = fan_in

    async def summarise_session(self, scope: Scope) -> SummaryOutcome:
        """(Re)build the summary of the session named by `scope` from its live messages."""
        messages = await self.core.list(scope=scope, kinds=[RecordKind.MESSAGE])
        topic = f"the conversation of session {scope.session}" if scope.session else f"the conversation ({scope})"
        return await self._tree(scope, messages, key=f"session:{scope}", final_tag=SESSION_TAG, topic=topic,
                                first_chunk=self.chunk_size)

    async def summarise_scope(self, scope: Scope) -> SummaryOutcome:
        """(Re)build the roll-up of every session summary visible in `scope`."""
        sessions = await self.core.list(scope=scope, kinds=[RecordKind.SUMMARY], tags=[SESSION_TAG])
        return await self._tree(scope, sessions, key=f"scope:{scope}", final_tag=SCOPE_TAG,
                                topic=f"what is known across sessions ({scope})", first_chunk=self.fan_in)

    async def _tree(self, scope: Scope, sources: Sequence[Record], *, key: str, final_tag: str, topic: str,
                    first_chunk: int) -> SummaryOutcome:
        outcome = SummaryOutcome()
        if not sources:
            return outcome
        existing: dict[str, Record] = {}  # this scope's summary nodes, by summary key
        for r in await self.core.list(scope=scope, kinds=[RecordKind.SUMMARY]):
            summary_key = r.metadata.get("summary_key")
            if r.scope == scope and isinstance(summary_key, str) and summary_key:
                existing[summary_key] = r
        nodes = list(sources)
        size, level = first_chunk, 1
        while True:
            outcome.levels = level
            if len(nodes) <= size:
                final = await self._node(scope, nodes, key, level, [final_tag], topic, existing, outcome)
                outcome.summary_id = final.id
                return outcome
            groups = [nodes[i:i + size] for i in range(0, len(nodes), size)]
            nodes = [await self._node(scope, group, f"{key}:L{level}:{i}", level, [CHUNK_TAG],
                                      f"part {i + 1} of {len(groups)} of {topic}", existing, outcome)
                     for i, group in enumerate(groups)]
            size, level = self.fan_in, level + 1

    async def _node(self, scope: Scope, sources: Sequence[Record], key: str, level: int, tags: list[str], topic: str,
                    existing: dict[str, Record], outcome: SummaryOutcome) -> Record:
        source_ids = [s.id for s in sources]
        old = existing.get(key)
        method = getattr(self.summariser, "method", type(self.summariser).__name__)
        if old is not None and old.source_ids == source_ids and old.metadata.get("method") == method:
            outcome.reused += 1
            return old
        items = [SummaryItem(text=s.text, name=s.name or s.role, when=s.when) for s in sources]
        summary = await self.summariser.summarise(items, topic=topic)
        times = [s.when for s in sources]
        fields = {
            "text": summary.text or " ".join(s.text for s in sources)[:2000],
            "tags": ["summary", *tags],
            "source_ids": source_ids,
            "event_time": max(times),
            "metadata": {"summary_key": key, "level": level, "method": summary.method, "source_count": len(sources),
                         "period": {"start": min(times).isoformat(), "end": max(times).isoformat()}},
        }
        if old is None:
            record = (await self.core.add(Record(kind=RecordKind.SUMMARY, scope=scope, **fields)))[0]
        else:
            record = await self.core.update(old.id, scope=scope, **fields)
        await self.core.add_edges([Edge(scope=scope, src=record.id, dst=sid, kind=EdgeKind.DERIVED_FROM)
                                   for sid in source_ids])
        existing[key] = record
        outcome.written += 1
        return record
