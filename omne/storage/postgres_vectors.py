"""The change log and stored vectors of a PostgreSQL store (`VectorLog`), from which each server sharing the
database derives a vector index of its own (omne.storage.log_follower).

A record's `change_seq` is set by a trigger (migration 2, omne/storage/postgres_schema.py) when it is written and
whenever a change reaches the index; every such write holds the store's log lock, so positions follow commit
order. A vector is stored per record and embedding model with a hash of the text it embeds: a server that finds
a record with a matching vector indexes it without embedding it again. The record's contextual vector
(omne.storage.context, migration 3) is stored in the same row, by the same writer: it is valid as long as the
vector is (NULL: none, the vector serves as the contextual one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from omne.storage.index_payload import index_text
from omne.storage.postgres_db import Conn, PostgresDatabase, scope_where
from omne.storage.postgres_store import _RECORD_COLUMNS, _row_record
from omne.storage.protocols import IndexChange, IndexItem
from omne.types import Record, Scope

_VECTOR_DTYPE = np.dtype("<f4")


def _encode(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=_VECTOR_DTYPE).tobytes()


def _decode(stored: bytes) -> np.ndarray:
    return np.frombuffer(bytes(stored), dtype=_VECTOR_DTYPE)


def text_hash(record: Record) -> bytes:
    """What identifies the text a record's vector embeds (16 bytes of SHA-256)."""
    return hashlib.sha256(index_text(record).encode("utf-8")).digest()[:16]


class PostgresVectorLog:
    """`VectorLog` over a PostgreSQL store's records (`change_seq`) and its `record_vectors` table."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        self._id: str | None = None

    def store_id(self) -> str:
        if self._id is None:
            self._id = str(self._db.query("SELECT id FROM omne_store")[0]["id"])
        return self._id

    def changes_after(self, position: int, model: str, limit: int) -> list[IndexChange]:
        rows = self._db.query(
            f"SELECT change_seq, {_RECORD_COLUMNS}, v.text_hash AS v_hash, v.vector AS v_vector, "
            "v.context AS v_context FROM records "
            "LEFT JOIN record_vectors v ON v.record_id = records.id AND v.model = %s "
            "WHERE change_seq > %s ORDER BY change_seq LIMIT %s", [model, position, limit])
        changes = []
        for row in rows:
            record = _row_record(row)
            vector = context = None
            if row["v_vector"] is not None and bytes(row["v_hash"]) == text_hash(record):
                vector = _decode(row["v_vector"])
                context = None if row["v_context"] is None else _decode(row["v_context"])
            changes.append(IndexChange(position=int(row["change_seq"]), record=record, vector=vector,
                                       context=context))
        return changes

    def save_vectors(self, model: str, items: Sequence[IndexItem]) -> None:
        if not items:
            return
        rows = [(item.record.id, model, text_hash(item.record), _encode(item.vector),
                 None if item.context is None else _encode(item.context)) for item in items]

        def body(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO record_vectors (record_id, model, text_hash, vector, context) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (record_id, model) DO UPDATE SET "
                    "text_hash = EXCLUDED.text_hash, vector = EXCLUDED.vector, context = EXCLUDED.context", rows)
        self._db.transaction(body, what="the stored vectors")

    def pending(self, position: int, scope: Scope | None = None) -> int:
        where, params = scope_where(scope)
        return int(self._db.query(f"SELECT COUNT(*) AS n FROM records WHERE change_seq > %s AND {where}",
                                  [position, *params])[0]["n"])
