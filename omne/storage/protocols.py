"""The small protocols a storage backend implements (records, jobs, API keys, bundled as `Storage`), and the
filter they share. A backend owns its database: no layer above writes to it except through these."""

from __future__ import annotations

import builtins

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeAlias

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from omne.storage.dump_models import ContextStateRow, Logged, StoredApiKey, Table, TableStat
from omne.storage.job_models import Backoff, Job, JobSpec, JobStatus, LogEntry
from omne.types import ApiKey, Edge, EdgeKind, Record, RecordKind, Scope, as_utc

EdgeStamp: TypeAlias = tuple[int, int, float]  # a scope's edges: (count, newest position, total weight)


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
    chars: int  # length of the text
    asks: bool  # the text ends with a question mark (trailing whitespace aside)

    @property
    def session(self) -> str | None:
        return self.scope.session

    @classmethod
    def of(cls, record: Record, scope: Scope | None = None) -> RecordFacts:
        return cls(id=record.id, kind=record.kind, scope=scope or record.scope, role=record.role,
                   name=record.name, tags=tuple(record.tags), when=record.when, chars=len(record.text),
                   asks=record.text.rstrip(TRAILING_SPACE).endswith("?"))


# What `RecordFacts.asks` strips from the end of a text before looking for "?" (the SQL stores strip the same).
TRAILING_SPACE = " \t\n\r"


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
    """The log of truth: records, their versions, the edges between them, and agent context state.

    Every read names a scope (the partition is enforced in the query); `None` where allowed means the whole
    store, for admin counts only. Writes are transactions: a method returns once its write is committed.
    """

    # -- writes
    def insert(self, records: Sequence[Record], edges: Sequence[Edge] = (), *,
               link_messages: bool = False) -> None: ...
    def upsert_raw(self, records: Sequence[Record], edges: Sequence[Edge] = ()) -> None: ...
    def supersede(self, old: Record, new: Record) -> None: ...
    def mark_deleted(self, record: Record, when: datetime) -> None: ...
    def annotate(self, record_id: str, *, importance: float, metadata: dict[str, Any]) -> None: ...
    def add_edges(self, edges: Sequence[Edge]) -> None: ...
    # -- reads
    def get_many(self, ids: Sequence[str], scope: Scope) -> builtins.list[Record]: ...
    def live_facts(self, ids: Sequence[str], scope: Scope) -> builtins.list[RecordFacts]: ...
    def history(self, record_id: str, scope: Scope) -> builtins.list[Record]: ...
    def list(self, scope: Scope, flt: RecordFilter | None = None, *, live_only: bool = True,
             limit: int | None = None, newest_first: bool = False, text_contains: str | None = None,
             ) -> builtins.list[Record]: ...
    def iter_all(self, scope: Scope) -> Iterator[Record]: ...
    def count(self, scope: Scope | None = None, *, live_only: bool = True) -> int: ...
    def count_by_kind(self, scope: Scope | None = None) -> dict[str, int]: ...
    def edges(self, scope: Scope, *, kinds: Sequence[EdgeKind] | None = None,
              record_ids: Sequence[str] | None = None) -> builtins.list[Edge]: ...
    def links(self, scope: Scope, kind: EdgeKind, record_ids: Sequence[str]) -> builtins.list[tuple[str, str]]: ...
    def edge_stamp(self, scope: Scope) -> EdgeStamp: ...
    # -- index bookkeeping (the vector index is derived from the log, by record id)
    def count_dirty(self, scope: Scope | None = None) -> int: ...
    def dirty(self, limit: int) -> builtins.list[Record]: ...
    def mark_clean(self, ids: Sequence[str]) -> None: ...
    def mark_all_dirty(self) -> int: ...
    # -- agent context state (JSON text; one row per context id in exactly one scope)
    def context_state(self, scope: Scope, context_id: str) -> str | None: ...
    def save_context_state(self, scope: Scope, context_id: str, state: str, when: datetime) -> None: ...


class JobStore(Protocol):
    """The durable construction job queue and its named cursors over the record log.

    Times are passed in (`now`), so the caller's clock decides; a job's policy (attempt budget, lease,
    backoff) is passed with the call that applies it. `scope` filters select jobs whose scope falls inside it.
    """

    def enqueue(self, specs: Sequence[JobSpec], *, now: datetime, max_attempts: int) -> builtins.list[Job]:
        """Add jobs; an existing key is left alone (idempotent) unless its spec `rearm`s it."""
        ...
    def claim(self, owner: str, *, now: datetime, lease_s: float, kinds: Sequence[str] | None = None,
              ) -> Job | None:
        """Lease the next ready job: pending and due, or running with an expired lease (a crashed worker);
        each job is claimed by one caller only, also across processes."""
        ...
    def complete(self, job_id: str, owner: str, result: dict[str, Any] | None, *, now: datetime) -> Job | None:
        """Mark a job `owner` leases done (pending again if re-armed while running); None if the lease was lost."""
        ...
    def fail(self, job_id: str, owner: str, error: str, *, now: datetime, backoff: Backoff | None) -> Job | None:
        """Record a failed attempt; with `backoff` and attempts left it is retried later, else it is failed.
        None if the lease was lost."""
        ...
    def retry_failed(self, *, now: datetime, scope: Scope | None = None) -> int: ...
    def get(self, job_id: str) -> Job: ...
    def by_key(self, key: str) -> Job | None: ...
    def list(self, *, scope: Scope | None = None, statuses: Sequence[JobStatus] | None = None,
             limit: int | None = None) -> builtins.list[Job]: ...
    def counts(self, *, scope: Scope | None = None) -> dict[str, int]: ...
    def next_due(self) -> datetime | None: ...
    # -- cursors over the record log
    def cursor(self, name: str) -> int: ...
    def advance(self, name: str, seq: int) -> None: ...
    def skip_to_end(self, name: str) -> None: ...
    def records_after(self, seq: int, limit: int = 500) -> builtins.list[LogEntry]: ...


class KeyStore(Protocol):
    """API keys of `omne serve`: only a hash of each key is stored."""

    def add_api_key(self, key: ApiKey, key_hash: str) -> None: ...
    def api_keys(self, *, include_revoked: bool = False) -> builtins.list[ApiKey]: ...
    def api_key_by_hash(self, key_hash: str) -> ApiKey | None: ...
    def revoke_api_key(self, key_id: str, when: datetime) -> bool: ...


class StoreDump(Protocol):
    """Every table's rows exactly as kept, for moving a store to another backend (omne.storage.migration).

    Records, edges and jobs are dumped in log order, a page of rows after a position, and loaded keeping their
    positions (cursors over the log stay valid) and idempotently by id (a row already there is left alone).
    Loaded records await indexing: the vector index is derived and rebuilt from the log (reconcile). Each load
    is one transaction."""

    def table_stats(self) -> dict[Table, TableStat]: ...
    def dump_records(self, after: int, limit: int) -> builtins.list[Logged[Record]]: ...
    def load_records(self, rows: Sequence[Logged[Record]]) -> None: ...
    def dump_edges(self, after: int, limit: int) -> builtins.list[Logged[Edge]]: ...
    def load_edges(self, rows: Sequence[Logged[Edge]]) -> None: ...
    def dump_jobs(self, after: int, limit: int) -> builtins.list[Logged[Job]]: ...
    def load_jobs(self, rows: Sequence[Logged[Job]]) -> None: ...
    def dump_context_states(self, offset: int, limit: int) -> builtins.list[ContextStateRow]:
        """A page of saved context states in a stable order (by context id and scope)."""
        ...
    def load_context_states(self, rows: Sequence[ContextStateRow]) -> None:
        """Save each state, replacing the one of its context id and exact scope."""
        ...
    def dump_cursors(self) -> dict[str, int]: ...
    def load_cursors(self, cursors: dict[str, int]) -> None:
        """Set each named cursor to its position (created if missing)."""
        ...
    def dump_api_keys(self) -> builtins.list[StoredApiKey]: ...
    def load_api_keys(self, rows: Sequence[StoredApiKey]) -> None: ...


class IndexChange(BaseModel):
    """A record as it stands at its latest position in the change log, with the vector stored for it (None
    when no server has embedded its current text with the model asked for) and the contextual vector stored
    beside it (None: the record has none, and `vector` serves as its contextual one)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    position: int
    record: Record
    vector: np.ndarray | None
    context: np.ndarray | None = None


class VectorLog(Protocol):
    """The change log and stored vectors of a database that several servers share, each deriving a vector
    index of its own from it (omne.storage.log_follower). A record's position moves to the end of the log
    whenever a change reaches the index (added, imported, superseded, forgotten), and positions follow commit
    order, so a reader that has applied everything up to a position has missed nothing before it."""

    def store_id(self) -> str:
        """An identity of the database's store that never changes (indexes derived from it record it)."""
        ...
    def changes_after(self, position: int, model: str, limit: int) -> builtins.list[IndexChange]:
        """Records whose latest change lies after `position`, in log order, with their vectors (dense and
        contextual) for `model`."""
        ...
    def save_vectors(self, model: str, items: Sequence[IndexItem]) -> None:
        """Store the vectors a server embedded, the contextual one included (idempotent by record id and model;
        the latest write wins)."""
        ...
    def pending(self, position: int, scope: Scope | None = None) -> int:
        """How many records (of one scope when given) changed after `position`."""
        ...


class Storage(Protocol):
    """One store's database, opened once (schema migrated): its record log, job queue and API keys; the raw rows
    of all of them (`dump`) for moving the store; and where several servers share it, its change log with stored
    vectors (`vectors`; None for an embedded store, whose one owner process keeps the index in step through the
    record store's dirty flags)."""

    @property
    def records(self) -> RecordStore: ...
    @property
    def jobs(self) -> JobStore: ...
    @property
    def keys(self) -> KeyStore: ...
    @property
    def dump(self) -> StoreDump: ...
    @property
    def vectors(self) -> VectorLog | None: ...
    @property
    def location(self) -> str: ...  # where it lives, for messages and stats (never a password)
    def close(self) -> None: ...


class IndexItem(BaseModel):
    """What the vector index keeps for one live record."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    record: Record
    vector: np.ndarray
    context: np.ndarray | None = None  # the contextual vector (omne.storage.context); None: `vector` again


class StoredVector(BaseModel):
    """A point of the vector index as stored: its record id, scope and dense vector."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    id: str
    scope: Scope
    vector: np.ndarray


@dataclass(frozen=True, slots=True)
class IndexHit:
    """A record id found by one retrieval stage, with its rank (1-based) and raw score. A plain dataclass: the
    index builds a few hundred per search (a pydantic model took 0.4 ms of them, this 0.2 ms)."""

    id: str
    score: float
    rank: int


class VectorIndex(Protocol):
    """Derived dense + lexical index over live records, written idempotently by record id.

    `search` returns a ranking per first stage it ran: "dense" and "lexical" when given a vector or a text,
    and "context" (the `dense` query against the records' contextual vectors) when `context` is set."""

    def upsert(self, items: Sequence[IndexItem]) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...
    def search(self, scope: Scope, flt: RecordFilter | None, *, dense: np.ndarray | None,
               lexical: str | None, limit: int, context: bool = False) -> dict[str, list[IndexHit]]: ...
    def count(self, scope: Scope | None = None) -> int: ...  # points, in one scope if given
    def missing_context(self, limit: int) -> builtins.list[StoredVector]:
        """Up to `limit` points that have no contextual vector (an index made before them), else none."""
        ...
    def set_context(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Give existing points (by record id) their contextual vectors, leaving the rest of each point as is."""
        ...
    def optimize(self) -> bool: ...
    def close(self) -> None: ...
