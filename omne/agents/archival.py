"""Archival memory: facts, insights, documents and summaries an agent stores and searches on demand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from omne.verbs import CoreVerbs
from omne.errors import InvalidInputError
from omne.retrieval.models import SearchHit
from omne.types import Record, RecordKind, Scope

ARCHIVAL_KINDS = (RecordKind.FACT, RecordKind.INSIGHT, RecordKind.DOCUMENT, RecordKind.SUMMARY)


class ArchivalMemory:
    """Inserts and searches archival records within one scope."""

    def __init__(self, core: CoreVerbs, *, scope: Scope, author: str) -> None:
        self.core = core
        self.scope = scope
        self.author = author

    async def insert(self, content: str, *, tags: Sequence[str] = (), source_ids: Sequence[str] = (),
                     kind: RecordKind = RecordKind.FACT, metadata: dict[str, Any] | None = None,
                     data: dict[str, Any] | None = None, event_time: datetime | None = None) -> Record:
        """Store one archival record; provenance (author, source messages) is kept with it. `event_time`:
        when the remembered thing happened (default: unset, the record's creation time stands for it)."""
        if not content.strip():
            raise InvalidInputError("archival content is empty")
        meta = {"written_by": self.author, **(metadata or {})}
        return await self.core.remember(content, scope=self.scope, kind=kind, tags=list(tags),
                                        source_ids=list(source_ids), metadata=meta, data=data,
                                        event_time=event_time)

    async def search(self, query: str, *, tags: Sequence[str] | None = None, top_k: int = 5,
                     start: datetime | None = None, end: datetime | None = None,
                     kinds: Sequence[RecordKind] = ARCHIVAL_KINDS) -> list[SearchHit]:
        """Hybrid search over archival kinds of this scope."""
        return await self.core.search(query, scope=self.scope, top_k=top_k, kinds=list(kinds), tags=tags,
                                      start=start, end=end)
