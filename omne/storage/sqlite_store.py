"""SQLite record store: the log of truth, its edges and agent context state (on the store's one connection)."""

from __future__ import annotations

import builtins

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from omne.errors import InvalidInputError
from omne.storage.id_rules import first_foreign, first_taken, foreign_id_error, id_taken_error
from omne.storage.versions import version_history
from omne.storage.message_chain import message_links, unchain
from omne.storage.protocols import EdgeStamp, RecordFacts, RecordFilter
from omne.storage.sqlite_db import (
    SQLiteDatabase, SQLParam, dt, exact_scope_where, row_scope, scope_values, scope_where, ts,
)
from omne.types import Edge, EdgeKind, Record, RecordKind, Scope

T = TypeVar("T")
_RECORD_COLUMNS = (
    "id, kind, s_user, s_agent, s_session, s_team, text, role, name, data, schema_name, tags, "
    "importance, source_ids, metadata, created_at, event_time, t, valid_from, valid_to, "
    "superseded_by, deleted_at, version"
)


def _record_row(record: Record) -> tuple[SQLParam, ...]:
    return (
        record.id, record.kind.value, *scope_values(record.scope), record.text, record.role,
        record.name, None if record.data is None else json.dumps(record.data, ensure_ascii=False),
        record.schema_name, json.dumps(record.tags, ensure_ascii=False), record.importance,
        json.dumps(record.source_ids), json.dumps(record.metadata, ensure_ascii=False),
        ts(record.created_at), ts(record.event_time), ts(record.when), ts(record.valid_from),
        ts(record.valid_to), record.superseded_by, ts(record.deleted_at), record.version,
    )


def _json(text: str) -> Any:
    """json.loads, with the empty list and object (most rows) short-cut."""
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


def _row_record(row: sqlite3.Row) -> Record:
    scope = row_scope(row)
    return Record.model_construct(
        id=row["id"], kind=RecordKind(row["kind"]), scope=scope, text=row["text"], role=row["role"],
        name=row["name"], data=None if row["data"] is None else json.loads(row["data"]),
        schema_name=row["schema_name"], tags=_json(row["tags"]), importance=row["importance"],
        source_ids=_json(row["source_ids"]), metadata=_json(row["metadata"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        event_time=dt(row["event_time"]), valid_from=dt(row["valid_from"]), valid_to=dt(row["valid_to"]),
        superseded_by=row["superseded_by"], deleted_at=dt(row["deleted_at"]), version=row["version"],
    )


def _row_edge(row: sqlite3.Row) -> Edge:
    scope = row_scope(row)
    return Edge.model_construct(
        id=row["id"], scope=scope, src=row["src"], dst=row["dst"], kind=EdgeKind(row["kind"]),
        weight=row["weight"], data=_json(row["data"]), created_at=datetime.fromisoformat(row["created_at"]),
    )


def _edges_sql(columns: str, scope: Scope, kinds: Sequence[EdgeKind] | None,
               record_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    """SELECT over a scope's edges, optionally of some kinds and touching some records, in write order."""
    where, params = scope_where(scope, "+" if record_ids is not None else "")
    sql = f"SELECT {columns} FROM edges WHERE {where}"
    if kinds:
        sql += f" AND kind IN ({','.join('?' * len(kinds))})"
        params += [k.value for k in kinds]
    if record_ids is not None:
        ids = list(record_ids)
        marks = ",".join("?" * len(ids))
        sql += f" AND (src IN ({marks}) OR dst IN ({marks}))"
        params += ids + ids
    return sql + " ORDER BY seq", params


class _Chain:
    """The message chain's lookups (omne.storage.message_chain) inside one SQLite write transaction."""

    _LIVE = ("SELECT id, t FROM records WHERE s_user IS ? AND kind = 'message' AND s_agent IS ? AND s_session IS ? "
             "AND s_team IS ? AND superseded_by IS NULL AND deleted_at IS NULL ")
    _NEWEST = "SELECT {0} FROM edges WHERE {1} = ? AND kind = 'next' ORDER BY seq DESC LIMIT 1"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @staticmethod
    def _node(row: sqlite3.Row | None) -> tuple[str, datetime] | None:
        return None if row is None else (row[0], datetime.fromisoformat(row[1]))

    def latest_at_or_before(self, scope: Scope, when: datetime) -> tuple[str, datetime] | None:
        return self._node(self.conn.execute(self._LIVE + "AND t <= ? ORDER BY t DESC, seq DESC LIMIT 1",
                                            (*scope_values(scope), ts(when))).fetchone())

    def earliest(self, scope: Scope) -> tuple[str, datetime] | None:
        return self._node(self.conn.execute(self._LIVE + "ORDER BY t, seq LIMIT 1", scope_values(scope)).fetchone())

    def successor(self, record_id: str) -> tuple[str, datetime] | None:
        return self._node(self.conn.execute(
            "SELECT r.id, r.t FROM edges e JOIN records r ON r.id = e.dst WHERE e.src = ? AND e.kind = 'next' "
            "ORDER BY e.seq DESC LIMIT 1", (record_id,)).fetchone())

    def predecessor_id(self, record_id: str) -> str | None:
        row = self.conn.execute(self._NEWEST.format("src", "dst"), (record_id,)).fetchone()
        return None if row is None else row[0]

    def delete_next(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.conn.executemany("DELETE FROM edges WHERE src = ? AND dst = ? AND kind = 'next'", pairs)

    def delete_next_of(self, record_id: str) -> None:
        self.conn.execute("DELETE FROM edges WHERE kind = 'next' AND (src = ? OR dst = ?)", (record_id, record_id))


def _filter_sql(flt: RecordFilter | None) -> tuple[str, list[Any]]:
    if flt is None:
        return "", []
    clauses: list[str] = []
    params: list[Any] = []
    if flt.kinds:
        clauses.append(f"kind IN ({','.join('?' * len(flt.kinds))})")
        params += [k.value for k in flt.kinds]
    if flt.roles:
        clauses.append(f"role IN ({','.join('?' * len(flt.roles))})")
        params += list(flt.roles)
    if flt.tags:
        clauses.append(f"EXISTS (SELECT 1 FROM json_each(records.tags) WHERE value IN ({','.join('?' * len(flt.tags))}))")
        params += list(flt.tags)
    if flt.start:
        clauses.append("t >= ?")
        params.append(ts(flt.start))
    if flt.end:
        clauses.append("t <= ?")
        params.append(ts(flt.end))
    return "".join(f" AND {c}" for c in clauses), params


def _edge_row(e: Edge) -> tuple[SQLParam, ...]:
    return (e.id, *scope_values(e.scope), e.src, e.dst, e.kind.value, e.weight, json.dumps(e.data, ensure_ascii=False),
            ts(e.created_at))


def _write_edges(conn: sqlite3.Connection, edges: Sequence[Edge]) -> None:
    """Insert edges; an existing (src, dst, kind) of the same scope keeps its id and takes the new weight and
    data. (src, dst, kind) is unique across scopes: another scope's edge is never updated (nor revealed)."""
    rows = [_edge_row(e) for e in edges]
    conn.executemany("INSERT INTO edges (id, s_user, s_agent, s_session, s_team, src, dst, kind, weight, data, "
                     "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(src, dst, kind) DO UPDATE SET "
                     "weight=excluded.weight, data=excluded.data WHERE edges.s_user IS excluded.s_user AND "
                     "edges.s_agent IS excluded.s_agent AND edges.s_session IS excluded.s_session AND "
                     "edges.s_team IS excluded.s_team", rows)


def _held(conn: sqlite3.Connection, records: Sequence[Record]) -> dict[str, Scope]:
    """Which of `records`' ids the store holds already, with their scopes."""
    held: dict[str, Scope] = {}
    for record in records:
        row = conn.execute("SELECT id, s_user, s_agent, s_session, s_team FROM records WHERE id = ?",
                           (record.id,)).fetchone()
        if row is not None:
            held[row["id"]] = row_scope(row)
    return held


class _IdTaken(Exception):
    """Raised inside an insert's transaction (which then rolls back) when a record id is already taken."""


_INSERT_RECORD = f"INSERT INTO records ({_RECORD_COLUMNS}) VALUES ({','.join('?' * 23)})"


class SQLiteRecordStore:
    """The record log. Writes are transactions; a record is acknowledged only once committed."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db
        self._edge_writes = 0  # bumped by every write of this store that may touch edges
        self._stamps: dict[Scope, tuple[tuple[int, int], EdgeStamp]] = {}  # edge_stamp memo

    # -- writes ---------------------------------------------------------------------------
    def _transaction(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run `body` in one IMMEDIATE transaction; any exception rolls everything back."""
        with self._db.lock:
            self._edge_writes += 1  # any write may touch edges (supersede adds one): the edge-stamp memo is stale
            return self._db.transaction(body)

    def insert(self, records: Sequence[Record], edges: Sequence[Edge] = (), *, link_messages: bool = False) -> None:
        """Commit records and edges in one transaction. With `link_messages`, each scope's new live messages
        are merged into that scope's chain of messages in time (NEXT edges, see `message_chain.message_links`) in the same
        transaction: the chain survives any crash and concurrent writers cannot fork it."""
        def body(conn: sqlite3.Connection) -> None:
            links = message_links(_Chain(conn), records) if link_messages else []
            try:
                conn.executemany(_INSERT_RECORD, [_record_row(r) for r in records])
            except sqlite3.IntegrityError as exc:
                if "records.id" not in str(exc):
                    raise
                raise _IdTaken from None
            _write_edges(conn, [*edges, *links])
        try:
            self._transaction(body)
        except _IdTaken:  # rolled back: now the store shows which id was there before
            raise id_taken_error(self._taken_id(records)) from None

    def _taken_id(self, records: Sequence[Record]) -> str:
        """The first id of `records` that the store, or an earlier record of the same batch, holds."""
        held = {row["id"] for r in records for row in self._query("SELECT id FROM records WHERE id = ?", (r.id,))}
        return first_taken(records, held) or "?"

    def upsert_raw(self, records: Sequence[Record], edges: Sequence[Edge] = ()) -> None:
        """Insert or replace records and edges exactly as given (import path). A record replaces only a record
        of its own scope: an id another scope holds is an InvalidInputError, and nothing is written."""
        updates = ", ".join(f"{c}=excluded.{c}" for c in _RECORD_COLUMNS.split(", ")[1:])

        def body(conn: sqlite3.Connection) -> None:
            foreign = first_foreign(records, _held(conn, records))
            if foreign is not None:
                raise foreign_id_error(foreign)
            conn.executemany(f"{_INSERT_RECORD} ON CONFLICT(id) DO UPDATE SET {updates}, index_dirty=1",
                             [_record_row(r) for r in records])
            _write_edges(conn, edges)
        self._transaction(body)

    def add_edges(self, edges: Sequence[Edge]) -> None:
        if edges:
            self._transaction(lambda conn: _write_edges(conn, edges))

    def supersede(self, old: Record, new: Record) -> None:
        """Write `new` as the next version of `old`, atomically. Only the current version can be superseded:
        when a concurrent update or forget got there first, nothing is written and InvalidInputError says so.
        A chained message's new version takes its place in the chain (moved, if its time changed)."""
        edge = Edge(scope=new.scope, src=new.id, dst=old.id, kind=EdgeKind.SUPERSEDES, created_at=new.created_at)

        def body(conn: sqlite3.Connection) -> None:
            changed = conn.execute(
                "UPDATE records SET superseded_by = ?, valid_to = COALESCE(valid_to, ?), index_dirty = 1 "
                "WHERE id = ? AND superseded_by IS NULL AND deleted_at IS NULL",
                (new.id, ts(new.valid_from or new.created_at), old.id)).rowcount
            if changed != 1:
                raise InvalidInputError(f"record {old.id} is no longer current (superseded or forgotten by a "
                                        "concurrent write); update its current version (see history)")
            chained = self._unchain(conn, old, new.created_at)
            links = message_links(_Chain(conn), [new]) if chained else []
            conn.execute(_INSERT_RECORD, _record_row(new))
            _write_edges(conn, [edge, *links])
        self._transaction(body)

    @staticmethod
    def _unchain(conn: sqlite3.Connection, record: Record, when: datetime) -> bool:
        """Take a message that stops being live out of its chain (see message_chain.unchain)."""
        chained, bridge = unchain(_Chain(conn), record, when)
        if bridge is not None:
            _write_edges(conn, [bridge])
        return chained

    def annotate(self, record_id: str, *, importance: float, metadata: dict[str, Any]) -> None:
        """Change a live record's importance and metadata in place (bookkeeping such as reinforcement
        counts, not content: content changes are new versions via `supersede`)."""
        self._transaction(lambda conn: conn.execute(
            "UPDATE records SET importance = ?, metadata = ?, index_dirty = 1 WHERE id = ? "
            "AND superseded_by IS NULL AND deleted_at IS NULL",
            (importance, json.dumps(metadata, ensure_ascii=False), record_id)))

    def mark_deleted(self, record: Record, when: datetime) -> None:
        """Mark a record forgotten (it stays in the log); a chained message leaves its chain."""
        def body(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE records SET deleted_at = ?, index_dirty = 1 WHERE id = ?", (ts(when), record.id))
            self._unchain(conn, record, when)
        self._transaction(body)

    def mark_clean(self, ids: Sequence[str]) -> None:
        self._transaction(lambda conn: conn.executemany("UPDATE records SET index_dirty = 0 WHERE id = ?",
                                                        [(i,) for i in ids]))

    def mark_all_dirty(self) -> int:
        return self._transaction(lambda conn: conn.execute("UPDATE records SET index_dirty = 1").rowcount)

    # -- reads ----------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any]) -> builtins.list[sqlite3.Row]:
        return self._db.query(sql, params)

    def get_many(self, ids: Sequence[str], scope: Scope) -> builtins.list[Record]:
        """Records by id, in the order asked, restricted to the scope."""
        if not ids:
            return []
        where, params = scope_where(scope, "+")
        found: dict[str, Record] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            rows = self._query(f"SELECT {_RECORD_COLUMNS} FROM records WHERE id IN ({','.join('?' * len(chunk))}) "
                               f"AND {where}", chunk + params)
            found.update((row["id"], _row_record(row)) for row in rows)
        return [found[i] for i in ids if i in found]

    def live_facts(self, ids: Sequence[str], scope: Scope) -> builtins.list[RecordFacts]:
        """The immutable fields of the live records among `ids` in the scope: what read-path stages need,
        without decoding text, data and metadata (several times cheaper than `get_many`)."""
        if not ids:
            return []
        where, params = scope_where(scope, "+")
        facts: builtins.list[RecordFacts] = []
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            rows = self._query(
                f"SELECT id, kind, s_user, s_agent, s_session, s_team, role, name, tags, t, superseded_by, "
                f"deleted_at, length(text) AS chars, rtrim(text, ' ' || char(9, 10, 13)) LIKE '%?' AS asks "
                f"FROM records WHERE id IN ({','.join('?' * len(chunk))}) AND {where}", chunk + params)
            for row in rows:  # liveness tested here: in SQL it steers SQLite off the id index
                if row["superseded_by"] is not None or row["deleted_at"] is not None:
                    continue
                facts.append(RecordFacts(id=row["id"], kind=RecordKind(row["kind"]), scope=row_scope(row),
                                         role=row["role"], name=row["name"], tags=tuple(_json(row["tags"])),
                                         when=datetime.fromisoformat(row["t"]), chars=row["chars"],
                                         asks=bool(row["asks"])))
        return facts

    def history(self, record_id: str, scope: Scope) -> builtins.list[Record]:
        """Every version linked to `record_id` by supersession, oldest first."""
        where, params = scope_where(scope, "+")

        def fetch(ids: Sequence[str]) -> builtins.list[Record]:
            marks = ",".join("?" * len(ids))
            return [_row_record(row) for row in self._query(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE (id IN ({marks}) OR superseded_by IN ({marks})) "
                f"AND {where}", [*ids, *ids, *params])]
        return version_history(record_id, fetch)

    def list(self, scope: Scope, flt: RecordFilter | None = None, *, live_only: bool = True,
             limit: int | None = None, newest_first: bool = False, text_contains: str | None = None,
             ) -> builtins.list[Record]:
        where, params = scope_where(scope)
        fsql, fparams = _filter_sql(flt)
        sql = f"SELECT {_RECORD_COLUMNS} FROM records WHERE {where}{fsql}"
        params = params + fparams
        if live_only:
            sql += " AND superseded_by IS NULL AND deleted_at IS NULL"
        if text_contains:
            sql += " AND instr(lower(text), lower(?)) > 0"
            params.append(text_contains)
        sql += f" ORDER BY t {'DESC' if newest_first else 'ASC'}, seq {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row_record(row) for row in self._query(sql, params)]

    def iter_all(self, scope: Scope) -> Iterator[Record]:
        """Every record of the scope, history and forgotten ones included, in log order."""
        where, params = scope_where(scope)
        last = 0
        while True:
            rows = self._query(f"SELECT seq, {_RECORD_COLUMNS} FROM records WHERE seq > ? AND {where} "
                               "ORDER BY seq LIMIT 1000", [last] + params)
            if not rows:
                return
            for row in rows:
                yield _row_record(row)
            last = rows[-1]["seq"]

    def count(self, scope: Scope | None = None, *, live_only: bool = True) -> int:
        where, params = scope_where(scope)
        if live_only:
            where += " AND superseded_by IS NULL AND deleted_at IS NULL"
        return int(self._query(f"SELECT COUNT(*) FROM records WHERE {where}", params)[0][0])

    def count_by_kind(self, scope: Scope | None = None) -> dict[str, int]:
        where, params = scope_where(scope)
        rows = self._query(f"SELECT kind, COUNT(*) FROM records WHERE {where} AND superseded_by IS NULL "
                           "AND deleted_at IS NULL GROUP BY kind", params)
        return {str(row[0]): int(row[1]) for row in rows}

    def count_dirty(self, scope: Scope | None = None) -> int:
        """How many records (of one scope when given) await indexing."""
        where, params = scope_where(scope)
        return int(self._query(f"SELECT COUNT(*) FROM records WHERE {where} AND index_dirty = 1", params)[0][0])

    def dirty(self, limit: int) -> builtins.list[Record]:
        """Records whose index entries may lag the log (written before a crash, superseded, forgotten)."""
        rows = self._query(f"SELECT {_RECORD_COLUMNS} FROM records WHERE index_dirty = 1 ORDER BY seq LIMIT ?", [limit])
        return [_row_record(row) for row in rows]

    def edges(self, scope: Scope, *, kinds: Sequence[EdgeKind] | None = None,
              record_ids: Sequence[str] | None = None) -> builtins.list[Edge]:
        if record_ids is not None and not record_ids:
            return []
        return [_row_edge(row) for row in self._query(*_edges_sql("*", scope, kinds, record_ids))]

    def links(self, scope: Scope, kind: EdgeKind, record_ids: Sequence[str]) -> builtins.list[tuple[str, str]]:
        """(src, dst) of the `kind` edges touching `record_ids`, in write order: `edges` without building
        Edge objects, for read-path stages that need only the ends."""
        if not record_ids:
            return []
        return [(row["src"], row["dst"]) for row in self._query(*_edges_sql("src, dst", scope, [kind], record_ids))]

    def edge_stamp(self, scope: Scope) -> EdgeStamp:
        """A cheap fingerprint of a scope's edges (count, newest seq, total weight) for graph caches.

        Recomputed only after an edge write on this connection or a commit by another (data_version).
        """
        with self._db.lock:
            version = (self._edge_writes, int(self._db.conn.execute("PRAGMA data_version").fetchone()[0]))
            cached = self._stamps.get(scope)
            if cached is not None and cached[0] == version:
                return cached[1]
            where, params = scope_where(scope)
            row = self._db.conn.execute(
                f"SELECT COUNT(*), COALESCE(MAX(seq), 0), TOTAL(weight) FROM edges WHERE {where}", params).fetchone()
            stamp = int(row[0]), int(row[1]), float(row[2])
            if len(self._stamps) > 1024:
                self._stamps.clear()
            self._stamps[scope] = (version, stamp)
            return stamp

    # -- agent context state (small pointer state of omne.agents.context; one row per context and scope) --
    def context_state(self, scope: Scope, context_id: str) -> str | None:
        """The saved state (JSON text) of a context in exactly this scope, or None."""
        where, params = exact_scope_where(scope)
        rows = self._query(f"SELECT state FROM context_state WHERE context_id = ? AND {where}", [context_id, *params])
        return str(rows[0][0]) if rows else None

    def save_context_state(self, scope: Scope, context_id: str, state: str, when: datetime) -> None:
        """Replace the saved state of a context (one transaction)."""
        where, params = exact_scope_where(scope)

        def body(conn: sqlite3.Connection) -> None:
            conn.execute(f"DELETE FROM context_state WHERE context_id = ? AND {where}", [context_id, *params])
            conn.execute("INSERT INTO context_state (context_id, s_user, s_agent, s_session, s_team, state, "
                         "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [context_id, *scope_values(scope), state, ts(when)])
        self._transaction(body)
