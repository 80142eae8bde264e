"""The small protocols storage backends implement, and the filter they share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from omne.types import Edge, EdgeKind, Record, RecordKind, Scope, as_utc


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """Fields of a record version that never change (a change is a new version with a new id).

    Liveness and importance do change, so stages never decide on them from here: the pipeline
    loads the returned hits fresh from the record store and drops any that are no longer live.
    """

    id: str
    kind: RecordKind
    scope: Scope
    role: str | None
    name: str | None
    tags: tuple[str, ...]
    when: datetime

    @property
    def session(self) -> str | None:
        return self.scope.session

    @classmethod
    def of(cls, record: Record, scope: Scope | None = None) -> RecordFacts:
        return cls(id=record.id, kind=record.kind, scope=scope or record.scope, role=record.role,
                   name=record.name, tags=tuple(record.tags), when=record.when)


class RecordFilter(BaseModel):
    """Filters every read path understands. `start` / `end` bound the record's `when` time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: tuple[RecordKind, ...] | None = None
    roles: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None  # any of
    start: datetime | None = None
    end: datetime | None = None

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class RecordStore(Protocol):
    """The log of truth: records, their versions and the edges between them."""

    def insert(self, records: Sequence[Record], edges: Sequence[Edge] = (), *,
               link_messages: bool = False) -> None: ...
    def supersede(self, old: Record, new: Record) -> None: ...
    def mark_deleted(self, record: Record, when: datetime) -> None: ...
    def annotate(self, record_id: str, *, importance: float, metadata: dict[str, Any]) -> None: ...
    def get_many(self, ids: Sequence[str], scope: Scope) -> list[Record]: ...
    def live_facts(self, ids: Sequence[str], scope: Scope) -> list[RecordFacts]: ...
    def history(self, record_id: str, scope: Scope) -> list[Record]: ...
    def list(self, scope: Scope, flt: RecordFilter | None = None, *, live_only: bool = True,
             limit: int | None = None, newest_first: bool = False, text_contains: str | None = None,
             ) -> list[Record]: ...
    def iter_all(self, scope: Scope) -> Iterator[Record]: ...
    def count(self, scope: Scope | None = None, *, live_only: bool = True) -> int: ...
    def count_dirty(self, scope: Scope | None = None) -> int: ...
    def dirty(self, limit: int) -> list[Record]: ...
    def mark_clean(self, ids: Sequence[str]) -> None: ...
    def mark_all_dirty(self) -> int: ...
    def add_edges(self, edges: Sequence[Edge]) -> None: ...
    def edges(self, scope: Scope, *, kinds: Sequence[EdgeKind] | None = None,
              record_ids: Sequence[str] | None = None) -> list[Edge]: ...
    def context_state(self, scope: Scope, context_id: str) -> str | None: ...
    def save_context_state(self, scope: Scope, context_id: str, state: str, when: datetime) -> None: ...
    def links(self, scope: Scope, kind: EdgeKind, record_ids: Sequence[str]) -> list[tuple[str, str]]: ...
    def close(self) -> None: ...


class IndexItem(BaseModel):
    """What the vector index keeps for one live record."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    record: Record
    vector: np.ndarray


class IndexHit(BaseModel):
    """A record id found by one retrieval stage, with its rank (1-based) and raw score."""

    id: str
    score: float
    rank: int


class VectorIndex(Protocol):
    """Derived dense + lexical index over live records, written idempotently by record id."""

    def upsert(self, items: Sequence[IndexItem]) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...
    def search(self, scope: Scope, flt: RecordFilter | None, *, dense: np.ndarray | None,
               lexical: str | None, limit: int) -> dict[str, list[IndexHit]]: ...
    def count(self, scope: Scope | None = None) -> int: ...  # points, in one scope if given
    def optimize(self) -> bool: ...
    def close(self) -> None: ...
