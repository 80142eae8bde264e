"""PostgreSQL `StoreDump`: every table's rows as kept, dumped in pages and loaded idempotently by id, keeping log
positions (`OVERRIDING SYSTEM VALUE` on the identity column, whose sequence then moves past the rows loaded)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence

from omne.storage.dump_models import ContextStateRow, Logged, StoredApiKey, Table, TableStat
from omne.storage.job_models import Job
from omne.storage.postgres_db import Conn, PostgresDatabase, Row, row_scope
from omne.storage.postgres_jobs import _row_job
from omne.storage.sql_dialect import POSTGRES
from omne.storage.sql_keys import INSERT_KEY, key_row, row_key
from omne.storage.postgres_store import _EDGE_COLUMNS, _RECORD_COLUMNS, _edge_row, _record_row, _row_edge, _row_record
from omne.types import Edge, Record

_JOB_COLUMNS = ("id, key, kind, s_user, s_agent, s_session, s_team, payload, status, attempts, max_attempts, "
                "run_after, lease_owner, lease_expires, rerun, errors, result, created_at, updated_at, finished_at")
_LOG_TABLES = (Table.RECORDS, Table.EDGES, Table.JOBS)


def _job_row(job: Job) -> tuple[object, ...]:
    s = job.scope
    return (job.id, job.key, job.kind, s.user, s.agent, s.session, s.team, json.dumps(job.payload, ensure_ascii=False),
            job.status.value, job.attempts, job.max_attempts, job.run_after, job.lease_owner, job.lease_expires,
            job.rerun, json.dumps([e.model_dump(mode="json") for e in job.errors]),
            None if job.result is None else json.dumps(job.result, ensure_ascii=False, default=str),
            job.created_at, job.updated_at, job.finished_at)


class PostgresDump:
    """The raw rows of a PostgreSQL store's tables (see StoreDump)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def table_stats(self) -> dict[Table, TableStat]:
        stats = {}
        for table in Table:
            seq = "COALESCE(MAX(seq), 0)" if table in _LOG_TABLES else "0"
            row = self._db.query(f"SELECT COUNT(*) AS n, {seq} AS s FROM {table.value}")[0]
            stats[table] = TableStat(rows=int(row["n"]), last_seq=int(row["s"]))
        return stats

    def _page(self, table: Table, columns: str, after: int, limit: int) -> builtins.list[Row]:
        return self._db.query(f"SELECT seq, {columns} FROM {table.value} WHERE seq > %s ORDER BY seq LIMIT %s",
                              [after, limit])

    def _load(self, table: Table, columns: str, rows: Sequence[tuple[object, ...]]) -> None:
        marks = ", ".join(["%s"] * (columns.count(",") + 2))  # seq and every column

        def body(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table.value} (seq, {columns}) OVERRIDING SYSTEM VALUE VALUES ({marks}) "
                                "ON CONFLICT (id) DO NOTHING", rows)
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table.value}', 'seq'), "
                         f"(SELECT MAX(seq) FROM {table.value}))")
        if rows:  # records and edges under the log lock: positions stay in commit order for every writer
            self._db.transaction(body, log_lock=table is not Table.JOBS)

    def dump_records(self, after: int, limit: int) -> builtins.list[Logged[Record]]:
        return [Logged(int(row["seq"]), _row_record(row))
                for row in self._page(Table.RECORDS, _RECORD_COLUMNS, after, limit)]

    def load_records(self, rows: Sequence[Logged[Record]]) -> None:
        self._load(Table.RECORDS, _RECORD_COLUMNS, [(r.seq, *_record_row(r.item)) for r in rows])

    def dump_edges(self, after: int, limit: int) -> builtins.list[Logged[Edge]]:
        return [Logged(int(row["seq"]), _row_edge(row)) for row in self._page(Table.EDGES, _EDGE_COLUMNS, after, limit)]

    def load_edges(self, rows: Sequence[Logged[Edge]]) -> None:
        self._load(Table.EDGES, _EDGE_COLUMNS, [(r.seq, *_edge_row(r.item)) for r in rows])

    def dump_jobs(self, after: int, limit: int) -> builtins.list[Logged[Job]]:
        return [Logged(int(row["seq"]), _row_job(row)) for row in self._page(Table.JOBS, _JOB_COLUMNS, after, limit)]

    def load_jobs(self, rows: Sequence[Logged[Job]]) -> None:
        self._load(Table.JOBS, _JOB_COLUMNS, [(r.seq, *_job_row(r.item)) for r in rows])

    def dump_context_states(self, offset: int, limit: int) -> builtins.list[ContextStateRow]:
        rows = self._db.query("SELECT * FROM context_state ORDER BY context_id, s_user, s_agent, s_session, s_team "
                              "LIMIT %s OFFSET %s", [limit, offset])
        return [ContextStateRow(scope=row_scope(row), context_id=row["context_id"], state=row["state"],
                                updated_at=row["updated_at"]) for row in rows]

    def load_context_states(self, rows: Sequence[ContextStateRow]) -> None:
        params = [(r.context_id, r.scope.user, r.scope.agent, r.scope.session, r.scope.team, r.state, r.updated_at)
                  for r in rows]

        def body(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO context_state (context_id, s_user, s_agent, s_session, s_team, state, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (context_id, COALESCE(s_user, ''), "
                    "COALESCE(s_agent, ''), COALESCE(s_session, ''), COALESCE(s_team, '')) DO UPDATE SET "
                    "state = EXCLUDED.state, updated_at = EXCLUDED.updated_at", params)
        if rows:
            self._db.transaction(body)

    def dump_cursors(self) -> dict[str, int]:
        rows = self._db.query("SELECT name, seq FROM job_cursors ORDER BY name")
        return {row["name"]: int(row["seq"]) for row in rows}

    def load_cursors(self, cursors: dict[str, int]) -> None:
        def body(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO job_cursors (name, seq) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
                                "SET seq = EXCLUDED.seq", list(cursors.items()))
        if cursors:
            self._db.transaction(body)

    def dump_api_keys(self) -> builtins.list[StoredApiKey]:
        return [StoredApiKey(row_key(row, POSTGRES), row["key_hash"])
                for row in self._db.query("SELECT * FROM api_keys ORDER BY created_at, id")]

    def load_api_keys(self, rows: Sequence[StoredApiKey]) -> None:
        def body(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.executemany(f"{POSTGRES.sql(INSERT_KEY)} ON CONFLICT (id) DO NOTHING",
                                [key_row(r.key, r.key_hash, POSTGRES) for r in rows])
        if rows:
            self._db.transaction(body)
