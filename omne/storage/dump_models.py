"""The rows a store's tables are moved in (`StoreDump`, omne.storage.migration): typed, backend-neutral."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from omne.types import ApiKey, Scope

T = TypeVar("T")


class Table(StrEnum):
    """The tables of a store, in the order a migration copies them."""

    RECORDS = "records"
    EDGES = "edges"
    JOBS = "jobs"
    CONTEXT_STATE = "context_state"
    JOB_CURSORS = "job_cursors"
    API_KEYS = "api_keys"


@dataclass(frozen=True, slots=True)
class TableStat:
    """How many rows a table holds and, for the tables kept in log order, the newest position (`seq`, 0 if none)."""

    rows: int
    last_seq: int = 0


@dataclass(frozen=True, slots=True)
class Logged(Generic[T]):
    """A row of a table kept in log order (records, edges, jobs) with its position, which a move keeps."""

    seq: int
    item: T


@dataclass(frozen=True, slots=True)
class ContextStateRow:
    """One agent context's saved state (JSON text) in exactly one scope."""

    scope: Scope
    context_id: str
    state: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredApiKey:
    """An API key as the store keeps it: the key's fields and the hash of its secret (never the secret)."""

    key: ApiKey
    key_hash: str
