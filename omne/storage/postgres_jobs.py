"""PostgreSQL job store: the construction job queue and its cursors over the record log, in a PostgreSQL store's
database.

Workers in any number of processes claim with `SELECT ... FOR UPDATE SKIP LOCKED`: a claim locks the one row
it takes and skips rows other claims hold, so no two workers get one job and none waits on another. Finishing
a job locks its row first (`FOR UPDATE`), so a worker whose lease was taken over cannot finish it too.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from omne.errors import NotFoundError
from omne.storage.job_models import Backoff, Job, JobError, JobSpec, JobStatus, LogEntry, cut_error
from omne.storage.postgres_db import Conn, PostgresDatabase, Row, row_scope, scope_where
from omne.types import Scope, new_id

_WHAT = "the job queue"


def _row_job(row: Row) -> Job:
    return Job.model_validate({
        "id": row["id"], "key": row["key"], "kind": row["kind"], "scope": row_scope(row),
        "payload": json.loads(row["payload"]), "status": row["status"], "attempts": row["attempts"],
        "max_attempts": row["max_attempts"], "run_after": row["run_after"], "lease_owner": row["lease_owner"],
        "lease_expires": row["lease_expires"], "rerun": row["rerun"], "errors": json.loads(row["errors"]),
        "result": None if row["result"] is None else json.loads(row["result"]),
        "created_at": row["created_at"], "updated_at": row["updated_at"], "finished_at": row["finished_at"],
    })


def _errors_json(errors: Sequence[JobError]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in errors])


def _one(conn: Conn, sql: str, params: Sequence[Any]) -> Job:
    row = conn.execute(sql, params).fetchone()
    assert row is not None  # the statement targets a row this transaction holds
    return _row_job(row)


def _owned(conn: Conn, job_id: str, owner: str) -> Job | None:
    """The job, locked, if `owner` still leases it (None: the lease expired and another worker took it over)."""
    row = conn.execute("SELECT * FROM jobs WHERE id = %s FOR UPDATE", (job_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no job {job_id}")
    job = _row_job(row)
    return job if job.status is JobStatus.RUNNING and job.lease_owner == owner else None


def _finish_failed(conn: Conn, job_id: str, now: datetime) -> None:
    conn.execute("UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_expires = NULL, finished_at = %s, "
                 "updated_at = %s WHERE id = %s", (now, now, job_id))


class PostgresJobStore:
    """Jobs (idempotent by key, leased, retried with backoff) and named cursors over the record log."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    # -- enqueue ----------------------------------------------------------------------------
    def enqueue(self, specs: Sequence[JobSpec], *, now: datetime, max_attempts: int) -> builtins.list[Job]:
        """Add jobs; an existing key is left alone (idempotent) unless `rearm` re-opens it. Concurrent enqueues
        of one key from several processes add it once (ON CONFLICT)."""
        def run(conn: Conn) -> builtins.list[Job]:
            jobs = []
            for spec in specs:
                after = now + timedelta(seconds=spec.delay_s)
                payload = json.dumps(spec.payload, ensure_ascii=False)
                s = spec.scope
                row = conn.execute(
                    "INSERT INTO jobs (id, key, kind, s_user, s_agent, s_session, s_team, payload, status, "
                    "max_attempts, run_after, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                    "'pending', %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING *",
                    (new_id(), spec.key, spec.kind, s.user, s.agent, s.session, s.team, payload, max_attempts,
                     after, now, now)).fetchone()
                if row is not None:
                    jobs.append(_row_job(row))
                    continue
                job = _one(conn, "SELECT * FROM jobs WHERE key = %s FOR UPDATE", (spec.key,))
                if spec.rearm and job.status is JobStatus.RUNNING:
                    job = _one(conn, "UPDATE jobs SET rerun = TRUE, payload = %s, updated_at = %s WHERE key = %s "
                               "RETURNING *", (payload, now, spec.key))
                elif spec.rearm:  # pending (debounce: push it back) or finished (run it again)
                    job = _one(conn, "UPDATE jobs SET status = 'pending', attempts = CASE WHEN status = 'pending' "
                               "THEN attempts ELSE 0 END, run_after = %s, payload = %s, finished_at = NULL, "
                               "updated_at = %s WHERE key = %s RETURNING *", (after, payload, now, spec.key))
                jobs.append(job)
            return jobs

        return self._db.transaction(run, what=_WHAT) if specs else []

    # -- claim / finish ---------------------------------------------------------------------
    def claim(self, owner: str, *, now: datetime, lease_s: float, kinds: Sequence[str] | None = None,
              ) -> Job | None:
        """Lease the next ready job: pending and due, or running with an expired lease (a crashed worker).
        A job whose expired lease used its last attempt is failed instead, with the reason recorded."""
        kind_sql, kind_params = (" AND kind = ANY(%s)", [list(kinds)]) if kinds else ("", [])

        def run(conn: Conn) -> Job | None:
            while True:
                row = conn.execute(
                    "SELECT * FROM jobs WHERE ((status = 'pending' AND run_after <= %s) OR (status = 'running' AND "
                    f"lease_expires <= %s)){kind_sql} ORDER BY run_after, seq LIMIT 1 FOR UPDATE SKIP LOCKED",
                    (now, now, *kind_params)).fetchone()
                if row is None:
                    return None
                job = _row_job(row)
                if job.status is JobStatus.RUNNING:  # its worker died or stalled past the lease
                    expired = job.lease_expires.isoformat(timespec="microseconds") if job.lease_expires else None
                    errors = job.errors + [JobError(attempt=job.attempts, at=now, error=(
                        f"lease held by worker {job.lease_owner} expired at {expired} "
                        "before the job finished (worker crashed or stalled)"))]
                    conn.execute("UPDATE jobs SET errors = %s WHERE id = %s", (_errors_json(errors), job.id))
                    if job.attempts >= job.max_attempts:
                        _finish_failed(conn, job.id, now)
                        continue
                return _one(conn, "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = %s, "
                            "lease_expires = %s, updated_at = %s WHERE id = %s RETURNING *",
                            (owner, now + timedelta(seconds=lease_s), now, job.id))

        return self._db.transaction(run, what=_WHAT)

    def complete(self, job_id: str, owner: str, result: dict[str, Any] | None, *, now: datetime) -> Job | None:
        """Mark a leased job done (or pending again when it was re-armed while running)."""
        def run(conn: Conn) -> Job | None:
            job = _owned(conn, job_id, owner)
            if job is None:
                return None
            return _one(conn,
                        "UPDATE jobs SET status = %s, attempts = CASE WHEN rerun THEN 0 ELSE attempts END, "
                        "rerun = FALSE, run_after = %s, lease_owner = NULL, lease_expires = NULL, result = %s, "
                        "updated_at = %s, finished_at = %s WHERE id = %s RETURNING *",
                        ((JobStatus.PENDING if job.rerun else JobStatus.DONE).value, now,
                         json.dumps(result or {}, ensure_ascii=False, default=str), now,
                         None if job.rerun else now, job_id))

        return self._db.transaction(run, what=_WHAT)

    def fail(self, job_id: str, owner: str, error: str, *, now: datetime, backoff: Backoff | None) -> Job | None:
        """Record a failed attempt; with `backoff`, retry after its delay while attempts remain, else fail it."""
        def run(conn: Conn) -> Job | None:
            job = _owned(conn, job_id, owner)
            if job is None:
                return None
            errors = job.errors + [JobError(attempt=job.attempts, at=now, error=cut_error(error))]
            conn.execute("UPDATE jobs SET errors = %s, updated_at = %s WHERE id = %s",
                         (_errors_json(errors), now, job_id))
            if backoff is not None and job.attempts < job.max_attempts:
                conn.execute("UPDATE jobs SET status = 'pending', run_after = %s, lease_owner = NULL, "
                             "lease_expires = NULL WHERE id = %s",
                             (now + timedelta(seconds=backoff.delay(job.attempts)), job_id))
            else:
                _finish_failed(conn, job_id, now)
            return _one(conn, "SELECT * FROM jobs WHERE id = %s", (job_id,))

        return self._db.transaction(run, what=_WHAT)

    def retry_failed(self, *, now: datetime, scope: Scope | None = None) -> int:
        """Put failed jobs back to pending with a fresh attempt budget (their error history is kept)."""
        where, params = scope_where(scope)
        return self._db.transaction(lambda conn: conn.execute(
            "UPDATE jobs SET status = 'pending', attempts = 0, run_after = %s, finished_at = NULL, updated_at = %s "
            f"WHERE status = 'failed' AND {where}", (now, now, *params)).rowcount, what=_WHAT)

    # -- reads ------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        rows = self._db.query("SELECT * FROM jobs WHERE id = %s", [job_id])
        if not rows:
            raise NotFoundError(f"no job {job_id}")
        return _row_job(rows[0])

    def by_key(self, key: str) -> Job | None:
        rows = self._db.query("SELECT * FROM jobs WHERE key = %s", [key])
        return _row_job(rows[0]) if rows else None

    def list(self, *, scope: Scope | None = None, statuses: Sequence[JobStatus] | None = None,
             limit: int | None = None) -> builtins.list[Job]:
        """Jobs in queue order; `scope` restricts to jobs whose scope falls inside it."""
        where, params = scope_where(scope)
        if statuses:
            where += " AND status = ANY(%s)"
            params.append([JobStatus(s).value for s in statuses])
        sql = f"SELECT * FROM jobs WHERE {where} ORDER BY seq"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [_row_job(row) for row in self._db.query(sql, params)]

    def counts(self, *, scope: Scope | None = None) -> dict[str, int]:
        """Jobs by status (every status named, zero included)."""
        where, params = scope_where(scope)
        rows = self._db.query(f"SELECT status, COUNT(*) AS n FROM jobs WHERE {where} GROUP BY status", params)
        found = {row["status"]: int(row["n"]) for row in rows}
        return {s.value: found.get(s.value, 0) for s in JobStatus}

    def next_due(self) -> datetime | None:
        """When the earliest pending job becomes due (None when nothing is pending)."""
        due: datetime | None = self._db.query("SELECT MIN(run_after) AS t FROM jobs WHERE status = 'pending'")[0]["t"]
        return due

    # -- cursors over the record log ---------------------------------------------------------
    def cursor(self, name: str) -> int:
        """The log position (record seq) a named cursor has reached; 0 when new."""
        rows = self._db.query("SELECT seq FROM job_cursors WHERE name = %s", [name])
        return int(rows[0]["seq"]) if rows else 0

    def advance(self, name: str, seq: int) -> None:
        """Move a cursor forward to `seq` (never back)."""
        self._db.transaction(lambda conn: conn.execute(
            "INSERT INTO job_cursors (name, seq) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET "
            "seq = GREATEST(job_cursors.seq, EXCLUDED.seq)", (name, seq)), what=_WHAT)

    def skip_to_end(self, name: str) -> None:
        """Start a new cursor at the end of the log (no backfill); a cursor that exists already stays put."""
        self._db.transaction(lambda conn: conn.execute(
            "INSERT INTO job_cursors (name, seq) SELECT %s, COALESCE(MAX(seq), 0) FROM records "
            "ON CONFLICT (name) DO NOTHING", (name,)), what=_WHAT)

    def records_after(self, seq: int, limit: int = 500) -> builtins.list[LogEntry]:
        """Records logged after position `seq`, in log order (positions follow commit order: the record store
        serialises the transactions that add records)."""
        rows = self._db.query("SELECT seq, id, s_user, s_agent, s_session, s_team FROM records WHERE seq > %s "
                              "ORDER BY seq LIMIT %s", [seq, limit])
        return [LogEntry(seq=int(r["seq"]), id=r["id"], scope=row_scope(r)) for r in rows]
