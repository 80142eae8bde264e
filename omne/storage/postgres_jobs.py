"""The construction job queue in a PostgreSQL record store's database: `JobQueue`'s operations and rules (leases,
retries with backoff, re-arming, cursors over the log) on the `jobs` and `job_cursors` tables.

Workers in any number of processes claim with `SELECT ... FOR UPDATE SKIP LOCKED`: each claim locks the one
row it takes and skips rows other claims hold, so no two workers get one job and none waits on another.
Its methods are synchronous (called through `asyncio.to_thread`, like the record store's) and borrow
connections from the record store's pool.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from omne.construction.jobs import _MAX_ERROR_CHARS, Backoff, Job, JobError, JobSpec, JobStatus
from omne.errors import InvalidInputError, NotFoundError
from omne.storage.postgres_store import PostgresRecordStore, Row, scope_where
from omne.types import Scope, new_id, utcnow

Conn = psycopg.Connection[Row]


def _row_job(row: Row) -> Job:
    return Job(
        id=row["id"], key=row["key"], kind=row["kind"],
        scope=Scope(user=row["s_user"], agent=row["s_agent"], session=row["s_session"], team=row["s_team"]),
        payload=json.loads(row["payload"]), status=JobStatus(row["status"]), attempts=row["attempts"],
        max_attempts=row["max_attempts"], run_after=row["run_after"], lease_owner=row["lease_owner"],
        lease_expires=row["lease_expires"], rerun=row["rerun"], errors=[JobError(**e) for e in json.loads(row["errors"])],
        result=None if row["result"] is None else json.loads(row["result"]), created_at=row["created_at"],
        updated_at=row["updated_at"], finished_at=row["finished_at"],
    )


def _errors(errors: Sequence[JobError]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in errors])


def _scope_sql(scope: Scope | None) -> tuple[str, list[Any]]:
    if scope is None:
        return "", []
    where, params = scope_where(scope)
    return f" AND {where}", params


class PostgresJobQueue:
    """Jobs in the PostgreSQL store's database, with JobQueue's methods and behaviour. `records` is the store
    whose connections it borrows; with `owns_records`, `close` closes that store too."""

    def __init__(self, records: PostgresRecordStore, *, max_attempts: int = 5, backoff: Backoff | None = None,
                 lease_s: float = 300.0, clock: Callable[[], datetime] = utcnow, owns_records: bool = False) -> None:
        if max_attempts < 1:
            raise InvalidInputError("max_attempts must be at least 1")
        self.records = records
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.lease_s = lease_s
        self.clock = clock
        self._owns_records = owns_records

    def close(self) -> None:
        if self._owns_records:
            self.records.close()

    @staticmethod
    def _get(conn: Conn, job_id: str, *, lock: bool = False) -> Job:
        row = conn.execute("SELECT * FROM jobs WHERE id = %s" + (" FOR UPDATE" if lock else ""), (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no job {job_id}")
        return _row_job(row)

    # -- enqueue ----------------------------------------------------------------------------
    def enqueue(self, specs: Sequence[JobSpec]) -> list[Job]:
        """Add jobs; an existing key is left alone (idempotent) unless `rearm` re-opens it."""
        now = self.clock()

        def run(conn: Conn) -> list[Job]:
            jobs = []
            for spec in specs:
                after = now + timedelta(seconds=spec.delay_s)
                payload = json.dumps(spec.payload, ensure_ascii=False)
                s = spec.scope
                row = conn.execute(
                    "INSERT INTO jobs (id, key, kind, s_user, s_agent, s_session, s_team, payload, status, "
                    "max_attempts, run_after, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                    "'pending', %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING *",
                    (new_id(), spec.key, spec.kind, s.user, s.agent, s.session, s.team, payload, self.max_attempts,
                     after, now, now)).fetchone()
                if row is None:  # the key exists: lock it, and re-arm it if asked
                    row = conn.execute("SELECT * FROM jobs WHERE key = %s FOR UPDATE", (spec.key,)).fetchone()
                    assert row is not None
                    if spec.rearm and row["status"] == JobStatus.RUNNING.value:
                        row = conn.execute("UPDATE jobs SET rerun = TRUE, payload = %s, updated_at = %s "
                                           "WHERE key = %s RETURNING *", (payload, now, spec.key)).fetchone()
                    elif spec.rearm:  # pending (debounce: push it back) or finished (run it again)
                        row = conn.execute(
                            "UPDATE jobs SET status = 'pending', attempts = CASE WHEN status = 'pending' THEN "
                            "attempts ELSE 0 END, run_after = %s, payload = %s, finished_at = NULL, updated_at = %s "
                            "WHERE key = %s RETURNING *", (after, payload, now, spec.key)).fetchone()
                jobs.append(_row_job(row))
            return jobs

        return self.records.transaction(run) if specs else []

    # -- claim / finish ---------------------------------------------------------------------
    def claim(self, owner: str, *, kinds: Sequence[str] | None = None) -> Job | None:
        """Lease the next ready job: pending and due, or running with an expired lease (a crashed worker)."""
        now = self.clock()
        kind_sql = " AND kind = ANY(%s)" if kinds else ""

        def run(conn: Conn) -> Job | None:
            while True:
                row = conn.execute(
                    "SELECT * FROM jobs WHERE ((status = 'pending' AND run_after <= %s) OR (status = 'running' AND "
                    f"lease_expires <= %s)){kind_sql} ORDER BY run_after, seq LIMIT 1 FOR UPDATE SKIP LOCKED",
                    (now, now, *([list(kinds)] if kinds else []))).fetchone()
                if row is None:
                    return None
                job = _row_job(row)
                if job.status is JobStatus.RUNNING:  # its worker died or stalled past the lease
                    errors = job.errors + [JobError(attempt=job.attempts, at=now, error=(
                        f"lease held by worker {job.lease_owner} expired at {job.lease_expires and job.lease_expires.isoformat(timespec='microseconds')} "
                        "before the job finished (worker crashed or stalled)"))]
                    conn.execute("UPDATE jobs SET errors = %s WHERE id = %s", (_errors(errors), job.id))
                    if job.attempts >= job.max_attempts:
                        self._finish_failed(conn, job.id, now)
                        continue
                row = conn.execute(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = %s, "
                    "lease_expires = %s, updated_at = %s WHERE id = %s RETURNING *",
                    (owner, now + timedelta(seconds=self.lease_s), now, job.id)).fetchone()
                return _row_job(row)

        return self.records.transaction(run)

    @staticmethod
    def _finish_failed(conn: Conn, job_id: str, now: datetime) -> None:
        conn.execute("UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_expires = NULL, finished_at = %s, "
                     "updated_at = %s WHERE id = %s", (now, now, job_id))

    def _owned(self, conn: Conn, job_id: str, owner: str) -> Job | None:
        job = self._get(conn, job_id, lock=True)
        if job.status is not JobStatus.RUNNING or job.lease_owner != owner:
            return None  # the lease expired and another worker took the job over
        return job

    def complete(self, job_id: str, owner: str, result: dict[str, Any] | None = None) -> Job | None:
        """Mark a leased job done (or pending again when it was re-armed while running)."""
        now = self.clock()

        def run(conn: Conn) -> Job | None:
            job = self._owned(conn, job_id, owner)
            if job is None:
                return None
            row = conn.execute(
                "UPDATE jobs SET status = %s, attempts = CASE WHEN rerun THEN 0 ELSE attempts END, rerun = FALSE, "
                "run_after = %s, lease_owner = NULL, lease_expires = NULL, result = %s, updated_at = %s, "
                "finished_at = %s WHERE id = %s RETURNING *",
                ((JobStatus.PENDING if job.rerun else JobStatus.DONE).value, now,
                 json.dumps(result or {}, ensure_ascii=False, default=str), now, None if job.rerun else now,
                 job_id)).fetchone()
            return _row_job(row)

        return self.records.transaction(run)

    def fail(self, job_id: str, owner: str, error: str, *, retry: bool = True) -> Job | None:
        """Record a failed attempt; retry after a backoff while attempts remain, else mark it failed."""
        now = self.clock()

        def run(conn: Conn) -> Job | None:
            job = self._owned(conn, job_id, owner)
            if job is None:
                return None
            text = error if len(error) <= _MAX_ERROR_CHARS else error[:_MAX_ERROR_CHARS] + " [...]"
            errors = job.errors + [JobError(attempt=job.attempts, at=now, error=text)]
            conn.execute("UPDATE jobs SET errors = %s, updated_at = %s WHERE id = %s", (_errors(errors), now, job_id))
            if retry and job.attempts < job.max_attempts:
                conn.execute("UPDATE jobs SET status = 'pending', run_after = %s, lease_owner = NULL, "
                             "lease_expires = NULL WHERE id = %s",
                             (now + timedelta(seconds=self.backoff.delay(job.attempts)), job_id))
            else:
                self._finish_failed(conn, job_id, now)
            return self._get(conn, job_id)

        return self.records.transaction(run)

    def retry_failed(self, *, scope: Scope | None = None) -> int:
        """Put failed jobs back to pending with a fresh attempt budget (their error history is kept)."""
        now = self.clock()
        where, params = _scope_sql(scope)
        return self.records.transaction(lambda conn: conn.execute(
            "UPDATE jobs SET status = 'pending', attempts = 0, run_after = %s, finished_at = NULL, updated_at = %s "
            f"WHERE status = 'failed'{where}", (now, now, *params)).rowcount)

    # -- reads ------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        rows = self.records.query("SELECT * FROM jobs WHERE id = %s", [job_id])
        if not rows:
            raise NotFoundError(f"no job {job_id}")
        return _row_job(rows[0])

    def by_key(self, key: str) -> Job | None:
        rows = self.records.query("SELECT * FROM jobs WHERE key = %s", [key])
        return _row_job(rows[0]) if rows else None

    def list(self, *, scope: Scope | None = None, statuses: Sequence[JobStatus | str] | None = None,
             limit: int | None = None) -> list[Job]:
        """Jobs in queue order; `scope` restricts to jobs whose scope falls inside it."""
        where, params = _scope_sql(scope)
        if statuses:
            where += " AND status = ANY(%s)"
            params.append([JobStatus(s).value for s in statuses])
        sql = f"SELECT * FROM jobs WHERE TRUE{where} ORDER BY seq"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [_row_job(row) for row in self.records.query(sql, params)]

    def counts(self, *, scope: Scope | None = None) -> dict[str, int]:
        where, params = _scope_sql(scope)
        rows = self.records.query(f"SELECT status, COUNT(*) AS n FROM jobs WHERE TRUE{where} GROUP BY status", params)
        found = {row["status"]: int(row["n"]) for row in rows}
        return {s.value: found.get(s.value, 0) for s in JobStatus}

    def next_due(self) -> datetime | None:
        """When the earliest pending job becomes due (None when nothing is pending)."""
        return self.records.query("SELECT MIN(run_after) AS t FROM jobs WHERE status = 'pending'")[0]["t"]

    # -- cursors over the record log ---------------------------------------------------------
    def cursor(self, name: str) -> int:
        """The log position (record seq) a named cursor has reached; 0 when new."""
        rows = self.records.query("SELECT seq FROM job_cursors WHERE name = %s", [name])
        return int(rows[0]["seq"]) if rows else 0

    def records_after(self, seq: int, limit: int = 500) -> list[tuple[int, str, Scope]]:
        """(seq, id, scope) of records logged after `seq`, in log order (seq follows commit order: the store
        serialises the transactions that add records)."""
        rows = self.records.query("SELECT seq, id, s_user, s_agent, s_session, s_team FROM records WHERE seq > %s "
                                  "ORDER BY seq LIMIT %s", [seq, limit])
        return [(int(r["seq"]), r["id"], Scope(user=r["s_user"], agent=r["s_agent"], session=r["s_session"],
                                               team=r["s_team"])) for r in rows]

    def advance(self, name: str, seq: int) -> None:
        self.records.transaction(lambda conn: conn.execute(
            "INSERT INTO job_cursors (name, seq) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET "
            "seq = GREATEST(job_cursors.seq, EXCLUDED.seq)", (name, seq)))

    def skip_to_end(self, name: str) -> None:
        """Start a new cursor at the end of the log (no backfill of what was written before)."""
        self.records.transaction(lambda conn: conn.execute(
            "INSERT INTO job_cursors (name, seq) SELECT %s, COALESCE(MAX(seq), 0) FROM records "
            "ON CONFLICT (name) DO NOTHING", (name,)))
