"""SQLite job store: the construction job queue and its cursors over the record log, on the store's one
connection (every change is one IMMEDIATE transaction, so a job is claimed once even across processes)."""

from __future__ import annotations

import builtins

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from omne.errors import NotFoundError
from omne.storage.job_models import Backoff, Job, JobError, JobSpec, JobStatus, LogEntry, cut_error
from omne.storage.sqlite_db import SQLiteDatabase, SQLParam, dt, row_scope, scope_values, scope_where, ts
from omne.types import Scope, new_id

_WHAT = "the job queue"


def _row_job(row: sqlite3.Row) -> Job:
    return Job.model_validate({
        "id": row["id"], "key": row["key"], "kind": row["kind"], "scope": row_scope(row),
        "payload": json.loads(row["payload"]), "status": row["status"], "attempts": row["attempts"],
        "max_attempts": row["max_attempts"], "run_after": row["run_after"], "lease_owner": row["lease_owner"],
        "lease_expires": row["lease_expires"], "rerun": bool(row["rerun"]), "errors": json.loads(row["errors"]),
        "result": None if row["result"] is None else json.loads(row["result"]),
        "created_at": row["created_at"], "updated_at": row["updated_at"], "finished_at": row["finished_at"],
    })


def _errors_json(errors: Sequence[JobError]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in errors])


def _get(conn: sqlite3.Connection, job_id: str) -> Job:
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no job {job_id}")
    return _row_job(row)


def _owned(conn: sqlite3.Connection, job_id: str, owner: str) -> Job | None:
    """The job, if `owner` still leases it (None: the lease expired and another worker took it over)."""
    job = _get(conn, job_id)
    return job if job.status is JobStatus.RUNNING and job.lease_owner == owner else None


def _finish_failed(conn: sqlite3.Connection, job_id: str, now: datetime) -> None:
    conn.execute("UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_expires = NULL, "
                 "finished_at = ?, updated_at = ? WHERE id = ?", (ts(now), ts(now), job_id))


class SQLiteJobStore:
    """Jobs (idempotent by key, leased, retried with backoff) and named cursors over the record log."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

    # -- enqueue ----------------------------------------------------------------------------
    def enqueue(self, specs: Sequence[JobSpec], *, now: datetime, max_attempts: int) -> builtins.list[Job]:
        """Add jobs; an existing key is left alone (idempotent) unless `rearm` re-opens it."""
        def run(conn: sqlite3.Connection) -> builtins.list[Job]:
            jobs = []
            for spec in specs:
                after = ts(now + timedelta(seconds=spec.delay_s))
                payload = json.dumps(spec.payload, ensure_ascii=False)
                row = conn.execute("SELECT status FROM jobs WHERE key = ?", (spec.key,)).fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO jobs (id, key, kind, s_user, s_agent, s_session, s_team, payload, status, "
                        "max_attempts, run_after, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (new_id(), spec.key, spec.kind, *scope_values(spec.scope), payload, JobStatus.PENDING.value,
                         max_attempts, after, ts(now), ts(now)))
                elif spec.rearm and row["status"] == JobStatus.RUNNING.value:
                    conn.execute("UPDATE jobs SET rerun = 1, payload = ?, updated_at = ? WHERE key = ?",
                                 (payload, ts(now), spec.key))
                elif spec.rearm:  # pending (debounce: push it back) or finished (run it again)
                    conn.execute(
                        "UPDATE jobs SET status = 'pending', attempts = CASE WHEN status = 'pending' THEN attempts "
                        "ELSE 0 END, run_after = ?, payload = ?, finished_at = NULL, updated_at = ? WHERE key = ?",
                        (after, payload, ts(now), spec.key))
                jobs.append(_row_job(conn.execute("SELECT * FROM jobs WHERE key = ?", (spec.key,)).fetchone()))
            return jobs

        return self._db.transaction(run, what=_WHAT) if specs else []

    # -- claim / finish ---------------------------------------------------------------------
    def claim(self, owner: str, *, now: datetime, lease_s: float, kinds: Sequence[str] | None = None,
              ) -> Job | None:
        """Lease the next ready job: pending and due, or running with an expired lease (a crashed worker).
        A job whose expired lease used its last attempt is failed instead, with the reason recorded."""
        def run(conn: sqlite3.Connection) -> Job | None:
            kind_sql = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
            while True:
                row = conn.execute(
                    "SELECT * FROM jobs WHERE ((status = 'pending' AND run_after <= ?) OR "
                    f"(status = 'running' AND lease_expires <= ?)){kind_sql} ORDER BY run_after, seq LIMIT 1",
                    (ts(now), ts(now), *(kinds or ()))).fetchone()
                if row is None:
                    return None
                job = _row_job(row)
                if job.status is JobStatus.RUNNING:  # its worker died or stalled past the lease
                    errors = job.errors + [JobError(attempt=job.attempts, at=now, error=(
                        f"lease held by worker {job.lease_owner} expired at {ts(job.lease_expires)} "
                        "before the job finished (worker crashed or stalled)"))]
                    conn.execute("UPDATE jobs SET errors = ? WHERE id = ?", (_errors_json(errors), job.id))
                    if job.attempts >= job.max_attempts:
                        _finish_failed(conn, job.id, now)
                        continue
                conn.execute(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?, "
                    "lease_expires = ?, updated_at = ? WHERE id = ?",
                    (owner, ts(now + timedelta(seconds=lease_s)), ts(now), job.id))
                return _get(conn, job.id)

        return self._db.transaction(run, what=_WHAT)

    def complete(self, job_id: str, owner: str, result: dict[str, Any] | None, *, now: datetime) -> Job | None:
        """Mark a leased job done (or pending again when it was re-armed while running)."""
        def run(conn: sqlite3.Connection) -> Job | None:
            job = _owned(conn, job_id, owner)
            if job is None:
                return None
            status = JobStatus.PENDING if job.rerun else JobStatus.DONE
            conn.execute(
                "UPDATE jobs SET status = ?, attempts = CASE WHEN rerun = 1 THEN 0 ELSE attempts END, rerun = 0, "
                "run_after = ?, lease_owner = NULL, lease_expires = NULL, result = ?, updated_at = ?, "
                "finished_at = ? WHERE id = ?",
                (status.value, ts(now), json.dumps(result or {}, ensure_ascii=False, default=str), ts(now),
                 None if job.rerun else ts(now), job_id))
            return _get(conn, job_id)

        return self._db.transaction(run, what=_WHAT)

    def fail(self, job_id: str, owner: str, error: str, *, now: datetime, backoff: Backoff | None) -> Job | None:
        """Record a failed attempt; with `backoff`, retry after its delay while attempts remain, else fail it."""
        def run(conn: sqlite3.Connection) -> Job | None:
            job = _owned(conn, job_id, owner)
            if job is None:
                return None
            errors = job.errors + [JobError(attempt=job.attempts, at=now, error=cut_error(error))]
            conn.execute("UPDATE jobs SET errors = ?, updated_at = ? WHERE id = ?",
                         (_errors_json(errors), ts(now), job_id))
            if backoff is not None and job.attempts < job.max_attempts:
                after = now + timedelta(seconds=backoff.delay(job.attempts))
                conn.execute("UPDATE jobs SET status = 'pending', run_after = ?, lease_owner = NULL, "
                             "lease_expires = NULL WHERE id = ?", (ts(after), job_id))
            else:
                _finish_failed(conn, job_id, now)
            return _get(conn, job_id)

        return self._db.transaction(run, what=_WHAT)

    def retry_failed(self, *, now: datetime, scope: Scope | None = None) -> int:
        """Put failed jobs back to pending with a fresh attempt budget (their error history is kept)."""
        where, params = scope_where(scope)

        def run(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE jobs SET status = 'pending', attempts = 0, run_after = ?, finished_at = NULL, updated_at = ? "
                f"WHERE status = 'failed' AND {where}", (ts(now), ts(now), *params)).rowcount

        return self._db.transaction(run, what=_WHAT)

    # -- reads ------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        with self._db.lock:
            return _get(self._db.conn, job_id)

    def by_key(self, key: str) -> Job | None:
        rows = self._db.query("SELECT * FROM jobs WHERE key = ?", [key])
        return _row_job(rows[0]) if rows else None

    def list(self, *, scope: Scope | None = None, statuses: Sequence[JobStatus] | None = None,
             limit: int | None = None) -> builtins.list[Job]:
        """Jobs in queue order; `scope` restricts to jobs whose scope falls inside it."""
        where, params = scope_where(scope)
        if statuses:
            where += f" AND status IN ({','.join('?' * len(statuses))})"
            params += [JobStatus(s).value for s in statuses]
        sql = f"SELECT * FROM jobs WHERE {where} ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row_job(row) for row in self._db.query(sql, params)]

    def counts(self, *, scope: Scope | None = None) -> dict[str, int]:
        """Jobs by status (every status named, zero included)."""
        where, params = scope_where(scope)
        rows = self._db.query(f"SELECT status, COUNT(*) FROM jobs WHERE {where} GROUP BY status", params)
        found = {row[0]: int(row[1]) for row in rows}
        return {s.value: found.get(s.value, 0) for s in JobStatus}

    def next_due(self) -> datetime | None:
        """When the earliest pending job becomes due (None when nothing is pending)."""
        return dt(self._db.query("SELECT MIN(run_after) FROM jobs WHERE status = 'pending'")[0][0])

    # -- cursors over the record log ---------------------------------------------------------
    def cursor(self, name: str) -> int:
        """The log position (record seq) a named cursor has reached; 0 when new."""
        rows = self._db.query("SELECT seq FROM job_cursors WHERE name = ?", [name])
        return int(rows[0][0]) if rows else 0

    def advance(self, name: str, seq: int) -> None:
        """Move a cursor forward to `seq` (never back)."""
        self._db.transaction(lambda conn: conn.execute(
            "INSERT INTO job_cursors (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = MAX(seq, "
            "excluded.seq)", (name, seq)), what=_WHAT)

    def skip_to_end(self, name: str) -> None:
        """Start a new cursor at the end of the log (no backfill of what was written before); a cursor that
        exists already stays where it is."""
        self._db.transaction(lambda conn: conn.execute(
            "INSERT INTO job_cursors (name, seq) SELECT ?, COALESCE(MAX(seq), 0) FROM records WHERE 1 "
            "ON CONFLICT(name) DO NOTHING", (name,)), what=_WHAT)

    def records_after(self, seq: int, limit: int = 500) -> builtins.list[LogEntry]:
        """Records logged after position `seq`, in log order."""
        params: builtins.list[SQLParam] = [seq, limit]
        rows = self._db.query("SELECT seq, id, s_user, s_agent, s_session, s_team FROM records WHERE seq > ? "
                              "ORDER BY seq LIMIT ?", params)
        return [LogEntry(seq=r["seq"], id=r["id"], scope=row_scope(r)) for r in rows]
