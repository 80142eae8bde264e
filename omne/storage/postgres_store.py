"""PostgreSQL record store: the log of truth in a PostgreSQL database, shared by any number of processes.

Selected by `OMNE_DATABASE_URL=postgresql://...` (or `OmneConfig.database`, `omne --database`). It keeps the SQLite store's
guarantees across processes: every write is one transaction; the transactions that add records or change the
message chain (insert, import, supersede, forget) take one advisory lock per store, so records get their log
position (`seq`) in commit order (cursors over the log never skip a record) and concurrent writers cannot fork
a chain; a record is superseded only while it is current (a row condition: one winner, the others get
InvalidInputError).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from omne.errors import InvalidInputError
from omne.storage.message_chain import message_links, unchain
from omne.storage.protocols import EdgeStamp, RecordFacts, RecordFilter
from omne.types import Edge, EdgeKind, Record, RecordKind, Scope

from psycopg.types.json import Jsonb

from omne.storage.id_rules import first_foreign, first_taken, foreign_id_error, id_taken_error
from omne.storage.versions import version_history
from omne.storage.postgres_db import Conn, PostgresDatabase, Row, exact_scope_where, row_scope, scope_where

_COLUMNS = ("id", "kind", "s_user", "s_agent", "s_session", "s_team", "text", "role", "name", "data", "schema_name",
            "tags", "importance", "source_ids", "metadata", "created_at", "event_time", "t", "valid_from",
            "valid_to", "superseded_by", "deleted_at", "version")
_RECORD_COLUMNS = ", ".join(_COLUMNS)
_INSERT_RECORD = f"INSERT INTO records ({_RECORD_COLUMNS}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
_EDGE_COLUMNS = "id, s_user, s_agent, s_session, s_team, src, dst, kind, weight, data, created_at"
_INSERT_EDGE = ("INSERT INTO edges (id, s_user, s_agent, s_session, s_team, src, dst, kind, weight, data, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (src, dst, kind) DO UPDATE SET "
                "weight = EXCLUDED.weight, data = EXCLUDED.data WHERE edges.s_user IS NOT DISTINCT FROM EXCLUDED.s_user "
                "AND edges.s_agent IS NOT DISTINCT FROM EXCLUDED.s_agent AND edges.s_session IS NOT DISTINCT FROM "
                "EXCLUDED.s_session AND edges.s_team IS NOT DISTINCT FROM EXCLUDED.s_team")
# (src, dst, kind) is unique across scopes: an edge updates only its own scope's edge, never another's


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _record_row(record: Record) -> tuple[Any, ...]:
    s = record.scope
    return (
        record.id, record.kind.value, s.user, s.agent, s.session, s.team, record.text, record.role, record.name,
        None if record.data is None else _dumps(record.data), record.schema_name, Jsonb(record.tags),
        record.importance, Jsonb(record.source_ids), _dumps(record.metadata), record.created_at,
        record.event_time, record.when, record.valid_from, record.valid_to, record.superseded_by, record.deleted_at,
        record.version,
    )


def _edge_row(e: Edge) -> tuple[Any, ...]:
    s = e.scope
    return (e.id, s.user, s.agent, s.session, s.team, e.src, e.dst, e.kind.value, e.weight, _dumps(e.data),
            e.created_at)


def _json(text: str) -> Any:
    return [] if text == "[]" else {} if text == "{}" else json.loads(text)


def _row_record(row: Row) -> Record:
    return Record.model_construct(
        id=row["id"], kind=RecordKind(row["kind"]), scope=row_scope(row), text=row["text"], role=row["role"],
        name=row["name"], data=None if row["data"] is None else json.loads(row["data"]),
        schema_name=row["schema_name"], tags=row["tags"], importance=row["importance"],
        source_ids=row["source_ids"], metadata=_json(row["metadata"]), created_at=row["created_at"],
        event_time=row["event_time"], valid_from=row["valid_from"], valid_to=row["valid_to"],
        superseded_by=row["superseded_by"], deleted_at=row["deleted_at"], version=row["version"],
    )


def _row_edge(row: Row) -> Edge:
    return Edge.model_construct(id=row["id"], scope=row_scope(row), src=row["src"], dst=row["dst"],
                                kind=EdgeKind(row["kind"]), weight=row["weight"], data=_json(row["data"]),
                                created_at=row["created_at"])


def _filter_sql(flt: RecordFilter | None) -> tuple[str, list[Any]]:
    if flt is None:
        return "", []
    clauses: list[str] = []
    params: list[Any] = []
    if flt.kinds:
        clauses.append("kind = ANY(%s)")
        params.append([k.value for k in flt.kinds])
    if flt.roles:
        clauses.append("role = ANY(%s)")
        params.append(list(flt.roles))
    if flt.tags:
        clauses.append("tags ?| %s")
        params.append(list(flt.tags))
    if flt.start:
        clauses.append("t >= %s")
        params.append(flt.start)
    if flt.end:
        clauses.append("t <= %s")
        params.append(flt.end)
    return "".join(f" AND {c}" for c in clauses), params


def _edges_sql(columns: str, scope: Scope, kinds: Sequence[EdgeKind] | None,
               record_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    """SELECT over a scope's edges, optionally of some kinds and touching some records, in write order.

    Edges touching records are found from each end separately (a UNION of two lookups by the src and dst
    indexes): with `src = ANY(..) OR dst = ANY(..)` the planner scanned the whole scope's edges instead
    (8 ms at 1k edges, growing with the scope)."""
    where, params = scope_where(scope)
    if kinds:
        where += " AND kind = ANY(%s)"
        params.append([k.value for k in kinds])
    if record_ids is None:
        return f"SELECT {columns} FROM edges WHERE {where} ORDER BY seq", params
    ids = list(record_ids)
    one_end = f"SELECT seq, {columns} FROM edges WHERE {{0}} = ANY(%s) AND {where}"
    sql = f"SELECT {columns} FROM ({one_end.format('src')} UNION {one_end.format('dst')}) AS e ORDER BY seq"
    return sql, [ids, *params, ids, *params]


class _Chain:
    """The message chain's lookups (omne.storage.message_chain) inside one write transaction."""

    _LIVE = ("SELECT id, t FROM records WHERE kind = 'message' AND superseded_by IS NULL AND deleted_at IS NULL "
             "AND {0} ")
    _NEWEST = "SELECT {0} FROM edges WHERE {1} = %s AND kind = 'next' ORDER BY seq DESC LIMIT 1"

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def _node(self, sql: str, params: Sequence[Any]) -> tuple[str, datetime] | None:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else (row["id"], row["t"])

    def latest_at_or_before(self, scope: Scope, when: datetime) -> tuple[str, datetime] | None:
        where, params = exact_scope_where(scope)
        return self._node(self._LIVE.format(where) + "AND t <= %s ORDER BY t DESC, seq DESC LIMIT 1", [*params, when])

    def earliest(self, scope: Scope) -> tuple[str, datetime] | None:
        where, params = exact_scope_where(scope)
        return self._node(self._LIVE.format(where) + "ORDER BY t, seq LIMIT 1", params)

    def successor(self, record_id: str) -> tuple[str, datetime] | None:
        return self._node("SELECT r.id, r.t FROM edges e JOIN records r ON r.id = e.dst WHERE e.src = %s AND "
                          "e.kind = 'next' ORDER BY e.seq DESC LIMIT 1", [record_id])

    def predecessor_id(self, record_id: str) -> str | None:
        row = self.conn.execute(self._NEWEST.format("src", "dst"), [record_id]).fetchone()
        return None if row is None else row["src"]

    def delete_next(self, pairs: Sequence[tuple[str, str]]) -> None:
        if pairs:
            with self.conn.cursor() as cur:
                cur.executemany("DELETE FROM edges WHERE src = %s AND dst = %s AND kind = 'next'", pairs)

    def delete_next_of(self, record_id: str) -> None:
        self.conn.execute("DELETE FROM edges WHERE kind = 'next' AND (src = %s OR dst = %s)", [record_id, record_id])


class PostgresRecordStore:
    """The record log (records, versions, edges, agent context state) in a PostgreSQL store's database."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    @staticmethod
    def _write_edges(conn: Conn, edges: Sequence[Edge]) -> None:
        if edges:
            with conn.cursor() as cur:
                cur.executemany(_INSERT_EDGE, [_edge_row(e) for e in edges])

    @staticmethod
    def _held(conn: Conn, records: Sequence[Record]) -> dict[str, Scope]:
        """Which of `records`' ids the store holds already, with their scopes."""
        if not records:
            return {}
        rows = conn.execute("SELECT id, s_user, s_agent, s_session, s_team FROM records WHERE id = ANY(%s)",
                            [[r.id for r in records]]).fetchall()
        return {row["id"]: row_scope(row) for row in rows}

    # -- writes ---------------------------------------------------------------------------
    def insert(self, records: Sequence[Record], edges: Sequence[Edge] = (), *, link_messages: bool = False) -> None:
        """Commit records and edges in one transaction; with `link_messages`, each scope's new live messages join
        that scope's chain (message_chain.message_links) in the same transaction."""
        def body(conn: Conn) -> None:
            taken = first_taken(records, self._held(conn, records))  # under the log lock: no race with a writer
            if taken is not None:
                raise id_taken_error(taken)
            links = message_links(_Chain(conn), records) if link_messages else []
            with conn.cursor() as cur:
                cur.executemany(_INSERT_RECORD, [_record_row(r) for r in records])
            self._write_edges(conn, [*edges, *links])
        self._db.transaction(body, log_lock=True)

    def upsert_raw(self, records: Sequence[Record], edges: Sequence[Edge] = ()) -> None:
        """Insert or replace records and edges exactly as given (import path). A record replaces only a record
        of its own scope: an id another scope holds is an InvalidInputError, and nothing is written."""
        update = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:])
        sql = f"{_INSERT_RECORD} ON CONFLICT (id) DO UPDATE SET {update}, index_dirty = TRUE"

        def body(conn: Conn) -> None:
            foreign = first_foreign(records, self._held(conn, records))
            if foreign is not None:
                raise foreign_id_error(foreign)
            with conn.cursor() as cur:
                cur.executemany(sql, [_record_row(r) for r in records])
            self._write_edges(conn, edges)
        self._db.transaction(body, log_lock=True)

    def add_edges(self, edges: Sequence[Edge]) -> None:
        if edges:
            self._db.transaction(lambda conn: self._write_edges(conn, edges))

    def supersede(self, old: Record, new: Record) -> None:
        """Write `new` as the next version of `old`, atomically; only the current version can be superseded (a
        concurrent update or forget that got there first wins, and this raises InvalidInputError)."""
        edge = Edge(scope=new.scope, src=new.id, dst=old.id, kind=EdgeKind.SUPERSEDES, created_at=new.created_at)

        def body(conn: Conn) -> None:
            changed = conn.execute(
                "UPDATE records SET superseded_by = %s, valid_to = COALESCE(valid_to, %s), index_dirty = TRUE "
                "WHERE id = %s AND superseded_by IS NULL AND deleted_at IS NULL",
                (new.id, new.valid_from or new.created_at, old.id)).rowcount
            if changed != 1:
                raise InvalidInputError(f"record {old.id} is no longer current (superseded or forgotten by a "
                                        "concurrent write); update its current version (see history)")
            chained = self._unchain(conn, old, new.created_at)
            links = message_links(_Chain(conn), [new]) if chained else []
            conn.execute(_INSERT_RECORD, _record_row(new))
            self._write_edges(conn, [edge, *links])
        self._db.transaction(body, log_lock=True)

    def _unchain(self, conn: Conn, record: Record, when: datetime) -> bool:
        chained, bridge = unchain(_Chain(conn), record, when)
        if bridge is not None:
            self._write_edges(conn, [bridge])
        return chained

    def annotate(self, record_id: str, *, importance: float, metadata: dict[str, Any]) -> None:
        """Change a live record's importance and metadata in place (bookkeeping, not content)."""
        self._db.transaction(lambda conn: conn.execute(
            "UPDATE records SET importance = %s, metadata = %s, index_dirty = TRUE WHERE id = %s "
            "AND superseded_by IS NULL AND deleted_at IS NULL", (importance, _dumps(metadata), record_id)))

    def mark_deleted(self, record: Record, when: datetime) -> None:
        """Mark a record forgotten (it stays in the log); a chained message leaves its chain."""
        def body(conn: Conn) -> None:
            conn.execute("UPDATE records SET deleted_at = %s, index_dirty = TRUE WHERE id = %s", (when, record.id))
            self._unchain(conn, record, when)
        self._db.transaction(body, log_lock=True)

    def mark_clean(self, ids: Sequence[str]) -> None:
        if ids:
            self._db.transaction(lambda conn: conn.execute(
                "UPDATE records SET index_dirty = FALSE WHERE id = ANY(%s) AND index_dirty", (list(ids),)))

    def mark_all_dirty(self) -> int:
        return self._db.transaction(lambda conn: conn.execute("UPDATE records SET index_dirty = TRUE").rowcount)

    # -- reads ----------------------------------------------------------------------------
    def get_many(self, ids: Sequence[str], scope: Scope) -> builtins.list[Record]:
        """Records by id, in the order asked, restricted to the scope."""
        if not ids:
            return []
        where, params = scope_where(scope)
        rows = self._db.query(f"SELECT {_RECORD_COLUMNS} FROM records WHERE id = ANY(%s) AND {where}",
                          [list(ids), *params])
        found = {row["id"]: _row_record(row) for row in rows}
        return [found[i] for i in ids if i in found]

    def live_facts(self, ids: Sequence[str], scope: Scope) -> builtins.list[RecordFacts]:
        """The immutable fields of the live records among `ids` in the scope (see RecordFacts)."""
        if not ids:
            return []
        where, params = scope_where(scope)
        rows = self._db.query("SELECT id, kind, s_user, s_agent, s_session, s_team, role, name, tags, t, "
                              "length(text) AS chars, rtrim(text, E' \\t\\n\\r') LIKE '%%?' AS asks FROM records "
                          f"WHERE id = ANY(%s) AND {where} AND superseded_by IS NULL AND deleted_at IS NULL",
                          [list(ids), *params])
        return [RecordFacts(id=row["id"], kind=RecordKind(row["kind"]), scope=row_scope(row), role=row["role"],
                            name=row["name"], tags=tuple(row["tags"]), when=row["t"], chars=row["chars"],
                            asks=row["asks"]) for row in rows]

    def history(self, record_id: str, scope: Scope) -> builtins.list[Record]:
        """Every version linked to `record_id` by supersession, oldest first."""
        where, params = scope_where(scope)

        def fetch(ids: Sequence[str]) -> builtins.list[Record]:
            return [_row_record(row) for row in self._db.query(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE (id = ANY(%s) OR superseded_by = ANY(%s)) AND {where}",
                [list(ids), list(ids), *params])]
        return version_history(record_id, fetch)

    def list(self, scope: Scope, flt: RecordFilter | None = None, *, live_only: bool = True,
             limit: int | None = None, newest_first: bool = False, text_contains: str | None = None,
             ) -> builtins.list[Record]:
        where, params = scope_where(scope)
        fsql, fparams = _filter_sql(flt)
        sql = f"SELECT {_RECORD_COLUMNS} FROM records WHERE {where}{fsql}"
        params += fparams
        if live_only:
            sql += " AND superseded_by IS NULL AND deleted_at IS NULL"
        if text_contains:
            sql += " AND strpos(lower(text), lower(%s)) > 0"
            params.append(text_contains)
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY t {order}, seq {order}"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [_row_record(row) for row in self._db.query(sql, params)]

    def iter_all(self, scope: Scope) -> Iterator[Record]:
        """Every record of the scope, history and forgotten ones included, in log order."""
        where, params = scope_where(scope)
        last = 0
        while rows := self._db.query(f"SELECT seq, {_RECORD_COLUMNS} FROM records WHERE seq > %s AND {where} "
                                 "ORDER BY seq LIMIT 1000", [last, *params]):
            yield from (_row_record(row) for row in rows)
            last = rows[-1]["seq"]

    def _count(self, sql: str, scope: Scope | None) -> int:
        where, params = scope_where(scope)
        return int(self._db.query(sql.format(where), params)[0]["n"])

    def count(self, scope: Scope | None = None, *, live_only: bool = True) -> int:
        live = " AND superseded_by IS NULL AND deleted_at IS NULL" if live_only else ""
        return self._count("SELECT COUNT(*) AS n FROM records WHERE {0}" + live, scope)

    def count_by_kind(self, scope: Scope | None = None) -> dict[str, int]:
        where, params = scope_where(scope)
        rows = self._db.query(f"SELECT kind, COUNT(*) AS n FROM records WHERE {where} AND superseded_by IS NULL "
                          "AND deleted_at IS NULL GROUP BY kind", params)
        return {row["kind"]: int(row["n"]) for row in rows}

    def count_dirty(self, scope: Scope | None = None) -> int:
        """How many records (of one scope when given) await indexing."""
        return self._count("SELECT COUNT(*) AS n FROM records WHERE {0} AND index_dirty", scope)

    def dirty(self, limit: int) -> builtins.list[Record]:
        """Records whose index entries may lag the log (written before a crash, superseded, forgotten)."""
        rows = self._db.query(f"SELECT {_RECORD_COLUMNS} FROM records WHERE index_dirty ORDER BY seq LIMIT %s", [limit])
        return [_row_record(row) for row in rows]

    def edges(self, scope: Scope, *, kinds: Sequence[EdgeKind] | None = None,
              record_ids: Sequence[str] | None = None) -> builtins.list[Edge]:
        if record_ids is not None and not record_ids:
            return []
        return [_row_edge(row) for row in self._db.query(*_edges_sql(_EDGE_COLUMNS, scope, kinds, record_ids))]

    def links(self, scope: Scope, kind: EdgeKind, record_ids: Sequence[str]) -> builtins.list[tuple[str, str]]:
        """(src, dst) of the `kind` edges touching `record_ids`, in write order."""
        if not record_ids:
            return []
        return [(row["src"], row["dst"]) for row in self._db.query(*_edges_sql("src, dst", scope, [kind], record_ids))]

    def edge_stamp(self, scope: Scope) -> EdgeStamp:
        """A cheap fingerprint of a scope's edges (count, newest seq, total weight) for graph caches (one
        aggregate per call: other processes write too, so there is nothing to memoise safely)."""
        where, params = scope_where(scope)
        row = self._db.query(f"SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS s, COALESCE(SUM(weight), 0) AS w "
                         f"FROM edges WHERE {where}", params)[0]
        return int(row["n"]), int(row["s"]), float(row["w"])

    # -- agent context state --------------------------------------------------------------
    def context_state(self, scope: Scope, context_id: str) -> str | None:
        """The saved state (JSON text) of a context in exactly this scope, or None."""
        where, params = exact_scope_where(scope)
        rows = self._db.query(f"SELECT state FROM context_state WHERE context_id = %s AND {where}", [context_id, *params])
        return rows[0]["state"] if rows else None

    def save_context_state(self, scope: Scope, context_id: str, state: str, when: datetime) -> None:
        """Replace the saved state of a context (one statement: concurrent saves never collide)."""
        self._db.transaction(lambda conn: conn.execute(
            "INSERT INTO context_state (context_id, s_user, s_agent, s_session, s_team, state, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (context_id, COALESCE(s_user, ''), "
            "COALESCE(s_agent, ''), COALESCE(s_session, ''), COALESCE(s_team, '')) DO UPDATE SET "
            "state = EXCLUDED.state, updated_at = EXCLUDED.updated_at",
            (context_id, scope.user, scope.agent, scope.session, scope.team, state, when)))
