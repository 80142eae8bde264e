"""SQLite `StoreDump`: every table's rows as kept, dumped in pages and loaded idempotently by id, keeping log
positions (an explicit `seq` in an AUTOINCREMENT column moves its counter past it)."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from omne.storage.dump_models import ContextStateRow, Logged, StoredApiKey, Table, TableStat
from omne.storage.job_models import Job
from omne.storage.sqlite_db import SQLiteDatabase, exact_scope_where, row_scope, scope_values, ts
from omne.storage.sqlite_jobs import _row_job
from omne.storage.sql_dialect import SQLITE
from omne.storage.sql_keys import INSERT_KEY, key_row, row_key
from omne.storage.sqlite_store import _RECORD_COLUMNS, _edge_row, _record_row, _row_edge, _row_record
from omne.types import Edge, Record

_EDGE_COLUMNS = "id, s_user, s_agent, s_session, s_team, src, dst, kind, weight, data, created_at"
_JOB_COLUMNS = ("id, key, kind, s_user, s_agent, s_session, s_team, payload, status, attempts, max_attempts, "
                "run_after, lease_owner, lease_expires, rerun, errors, result, created_at, updated_at, finished_at")
_LOG_TABLES = (Table.RECORDS, Table.EDGES, Table.JOBS)


def _marks(columns: str) -> str:
    return ",".join("?" * (columns.count(",") + 2))  # seq and every column


def _job_row(job: Job) -> tuple[object, ...]:
    return (job.id, job.key, job.kind, *scope_values(job.scope), json.dumps(job.payload, ensure_ascii=False),
            job.status.value, job.attempts, job.max_attempts, ts(job.run_after), job.lease_owner,
            ts(job.lease_expires), int(job.rerun), json.dumps([e.model_dump(mode="json") for e in job.errors]),
            None if job.result is None else json.dumps(job.result, ensure_ascii=False, default=str),
            ts(job.created_at), ts(job.updated_at), ts(job.finished_at))


class SQLiteDump:
    """The raw rows of a SQLite store's tables (see StoreDump)."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

    def table_stats(self) -> dict[Table, TableStat]:
        stats = {}
        for table in Table:
            seq = "COALESCE(MAX(seq), 0)" if table in _LOG_TABLES else "0"
            row = self._db.query(f"SELECT COUNT(*), {seq} FROM {table.value}")[0]
            stats[table] = TableStat(rows=int(row[0]), last_seq=int(row[1]))
        return stats

    def _page(self, table: Table, columns: str, after: int, limit: int) -> builtins.list[sqlite3.Row]:
        return self._db.query(f"SELECT seq, {columns} FROM {table.value} WHERE seq > ? ORDER BY seq LIMIT ?",
                              [after, limit])

    def _load(self, table: Table, columns: str, rows: Sequence[tuple[object, ...]]) -> None:
        if rows:
            self._db.transaction(lambda conn: conn.executemany(
                f"INSERT INTO {table.value} (seq, {columns}) VALUES ({_marks(columns)}) ON CONFLICT(id) DO NOTHING",
                rows))

    def dump_records(self, after: int, limit: int) -> builtins.list[Logged[Record]]:
        rows = self._page(Table.RECORDS, _RECORD_COLUMNS, after, limit)
        return [Logged(row["seq"], _row_record(row)) for row in rows]

    def load_records(self, rows: Sequence[Logged[Record]]) -> None:
        self._load(Table.RECORDS, _RECORD_COLUMNS, [(r.seq, *_record_row(r.item)) for r in rows])

    def dump_edges(self, after: int, limit: int) -> builtins.list[Logged[Edge]]:
        return [Logged(row["seq"], _row_edge(row)) for row in self._page(Table.EDGES, _EDGE_COLUMNS, after, limit)]

    def load_edges(self, rows: Sequence[Logged[Edge]]) -> None:
        self._load(Table.EDGES, _EDGE_COLUMNS, [(r.seq, *_edge_row(r.item)) for r in rows])

    def dump_jobs(self, after: int, limit: int) -> builtins.list[Logged[Job]]:
        return [Logged(row["seq"], _row_job(row)) for row in self._page(Table.JOBS, _JOB_COLUMNS, after, limit)]

    def load_jobs(self, rows: Sequence[Logged[Job]]) -> None:
        self._load(Table.JOBS, _JOB_COLUMNS, [(r.seq, *_job_row(r.item)) for r in rows])

    def dump_context_states(self, offset: int, limit: int) -> builtins.list[ContextStateRow]:
        rows = self._db.query("SELECT * FROM context_state ORDER BY context_id, s_user, s_agent, s_session, s_team "
                              "LIMIT ? OFFSET ?", [limit, offset])
        return [ContextStateRow(scope=row_scope(row), context_id=row["context_id"], state=row["state"],
                                updated_at=datetime.fromisoformat(row["updated_at"])) for row in rows]

    def load_context_states(self, rows: Sequence[ContextStateRow]) -> None:
        def body(conn: sqlite3.Connection) -> None:
            for row in rows:
                where, params = exact_scope_where(row.scope)
                conn.execute(f"DELETE FROM context_state WHERE context_id = ? AND {where}", [row.context_id, *params])
                conn.execute("INSERT INTO context_state (context_id, s_user, s_agent, s_session, s_team, state, "
                             "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [row.context_id, *scope_values(row.scope), row.state, ts(row.updated_at)])
        if rows:
            self._db.transaction(body)

    def dump_cursors(self) -> dict[str, int]:
        rows = self._db.query("SELECT name, seq FROM job_cursors ORDER BY name")
        return {row["name"]: int(row["seq"]) for row in rows}

    def load_cursors(self, cursors: dict[str, int]) -> None:
        if cursors:
            self._db.transaction(lambda conn: conn.executemany(
                "INSERT INTO job_cursors (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
                list(cursors.items())))

    def dump_api_keys(self) -> builtins.list[StoredApiKey]:
        return [StoredApiKey(row_key(row, SQLITE), row["key_hash"])
                for row in self._db.query("SELECT * FROM api_keys ORDER BY created_at, id")]

    def load_api_keys(self, rows: Sequence[StoredApiKey]) -> None:
        if rows:
            self._db.transaction(lambda conn: conn.executemany(
                f"{INSERT_KEY} ON CONFLICT(id) DO NOTHING", [key_row(r.key, r.key_hash, SQLITE) for r in rows]))
