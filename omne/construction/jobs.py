"""The durable construction job queue, kept in the record store's SQLite file.

Jobs are idempotent by `key`; a worker claims one with a lease, so a job whose worker crashed is
claimed again once the lease expires. Failures retry with exponential backoff up to `max_attempts`;
every failed attempt keeps a readable reason.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from omne.config import OmneConfig
from omne.errors import InvalidInputError, NotFoundError, StorageError
from omne.storage.sqlite_schema import open_database
from omne.types import Scope, new_id, utcnow

if TYPE_CHECKING:
    from omne.storage.postgres_jobs import PostgresJobQueue

_MAX_ERROR_CHARS = 2000


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobError(BaseModel):
    """One failed attempt: when, and why (readable)."""

    attempt: int
    at: datetime
    error: str


class Job(BaseModel):
    """A unit of construction work (summarise a session, extract facts from a message, ...)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    key: str
    kind: str
    scope: Scope
    payload: dict[str, Any] = Field(default_factory=dict)
    status: JobStatus
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    rerun: bool = False
    errors: list[JobError] = Field(default_factory=list)
    result: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def reason(self) -> str | None:
        """The latest failure reason, if any."""
        return self.errors[-1].error if self.errors else None


class JobSpec(BaseModel):
    """What to enqueue. `rearm` re-opens a finished job with the same key (e.g. a summary to refresh)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=1000)
    kind: str = Field(min_length=1, max_length=100)
    scope: Scope
    payload: dict[str, Any] = Field(default_factory=dict)
    rearm: bool = False
    delay_s: float = Field(default=0.0, ge=0.0)


class Backoff(BaseModel):
    """Exponential backoff between attempts: base * 2**(attempt-1), capped."""

    model_config = ConfigDict(extra="forbid")

    base_s: float = Field(default=2.0, ge=0.0)
    max_s: float = Field(default=300.0, ge=0.0)

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.base_s * 2 ** max(0, attempt - 1))


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _row_job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"], key=row["key"], kind=row["kind"],
        scope=Scope(user=row["s_user"], agent=row["s_agent"], session=row["s_session"], team=row["s_team"]),
        payload=json.loads(row["payload"]), status=JobStatus(row["status"]), attempts=row["attempts"],
        max_attempts=row["max_attempts"], run_after=_dt(row["run_after"]), lease_owner=row["lease_owner"],
        lease_expires=_dt(row["lease_expires"]), rerun=bool(row["rerun"]),
        errors=[JobError(**e) for e in json.loads(row["errors"])],
        result=None if row["result"] is None else json.loads(row["result"]),
        created_at=_dt(row["created_at"]), updated_at=_dt(row["updated_at"]), finished_at=_dt(row["finished_at"]),
    )


class JobQueue:
    """Jobs in the store's SQLite file (own WAL connection; safe next to the record store's)."""

    def __init__(self, path: Path, *, max_attempts: int = 5, backoff: Backoff | None = None,
                 lease_s: float = 300.0, clock: Callable[[], datetime] = utcnow) -> None:
        if max_attempts < 1:
            raise InvalidInputError("max_attempts must be at least 1")
        self.path = path
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.lease_s = lease_s
        self.clock = clock
        self._conn = open_database(path, what="the job queue")
        self._lock = threading.RLock()

    @classmethod
    def for_store(cls, store_dir: Path, **kwargs: Any) -> JobQueue:
        """The queue of an existing store directory (errors if there is no store there)."""
        path = Path(store_dir) / "records.sqlite3"
        if not path.is_file():
            raise NotFoundError(f"no Omne store at {store_dir} (no records.sqlite3); check --store or $OMNE_STORE")
        return cls(path, **kwargs)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _tx(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(self._conn)
                    self._conn.execute("COMMIT")
                    return out
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise StorageError(f"the job queue could not be written ({exc}); check disk space and "
                                   "permissions of the store directory") from exc

    def _get(self, conn: sqlite3.Connection, job_id: str) -> Job:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no job {job_id}")
        return _row_job(row)

    # -- enqueue ----------------------------------------------------------------------------
    def enqueue(self, specs: Sequence[JobSpec]) -> list[Job]:
        """Add jobs; an existing key is left alone (idempotent) unless `rearm` re-opens it."""
        now = self.clock()

        def run(conn: sqlite3.Connection) -> list[Job]:
            jobs = []
            for spec in specs:
                after = _ts(now + timedelta(seconds=spec.delay_s))
                row = conn.execute("SELECT * FROM jobs WHERE key = ?", (spec.key,)).fetchone()
                if row is None:
                    s = spec.scope
                    conn.execute(
                        "INSERT INTO jobs (id, key, kind, s_user, s_agent, s_session, s_team, payload, status, "
                        "max_attempts, run_after, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (new_id(), spec.key, spec.kind, s.user, s.agent, s.session, s.team,
                         json.dumps(spec.payload, ensure_ascii=False), JobStatus.PENDING.value, self.max_attempts,
                         after, _ts(now), _ts(now)))
                elif spec.rearm and row["status"] == JobStatus.RUNNING.value:
                    conn.execute("UPDATE jobs SET rerun = 1, payload = ?, updated_at = ? WHERE key = ?",
                                 (json.dumps(spec.payload, ensure_ascii=False), _ts(now), spec.key))
                elif spec.rearm:  # pending (debounce: push it back) or finished (run it again)
                    conn.execute(
                        "UPDATE jobs SET status = 'pending', attempts = CASE WHEN status = 'pending' THEN attempts "
                        "ELSE 0 END, run_after = ?, payload = ?, finished_at = NULL, updated_at = ? WHERE key = ?",
                        (after, json.dumps(spec.payload, ensure_ascii=False), _ts(now), spec.key))
                jobs.append(_row_job(conn.execute("SELECT * FROM jobs WHERE key = ?", (spec.key,)).fetchone()))
            return jobs

        return self._tx(run) if specs else []

    # -- claim / finish ---------------------------------------------------------------------
    def claim(self, owner: str, *, kinds: Sequence[str] | None = None) -> Job | None:
        """Lease the next ready job: pending and due, or running with an expired lease (a crashed worker)."""
        now = self.clock()

        def run(conn: sqlite3.Connection) -> Job | None:
            kind_sql = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
            while True:
                row = conn.execute(
                    "SELECT * FROM jobs WHERE ((status = 'pending' AND run_after <= ?) OR "
                    f"(status = 'running' AND lease_expires <= ?)){kind_sql} ORDER BY run_after, seq LIMIT 1",
                    (_ts(now), _ts(now), *(kinds or ()))).fetchone()
                if row is None:
                    return None
                job = _row_job(row)
                if job.status is JobStatus.RUNNING:  # its worker died or stalled past the lease
                    errors = job.errors + [JobError(attempt=job.attempts, at=now, error=(
                        f"lease held by worker {job.lease_owner} expired at {_ts(job.lease_expires)} "
                        "before the job finished (worker crashed or stalled)"))]
                    conn.execute("UPDATE jobs SET errors = ? WHERE id = ?",
                                 (json.dumps([e.model_dump(mode="json") for e in errors]), job.id))
                    if job.attempts >= job.max_attempts:
                        self._finish_failed(conn, job.id, now)
                        continue
                conn.execute(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?, "
                    "lease_expires = ?, updated_at = ? WHERE id = ?",
                    (owner, _ts(now + timedelta(seconds=self.lease_s)), _ts(now), job.id))
                return self._get(conn, job.id)

        return self._tx(run)

    @staticmethod
    def _finish_failed(conn: sqlite3.Connection, job_id: str, now: datetime) -> None:
        conn.execute("UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_expires = NULL, "
                     "finished_at = ?, updated_at = ? WHERE id = ?", (_ts(now), _ts(now), job_id))

    def _owned(self, conn: sqlite3.Connection, job_id: str, owner: str) -> Job | None:
        job = self._get(conn, job_id)
        if job.status is not JobStatus.RUNNING or job.lease_owner != owner:
            return None  # the lease expired and another worker took the job over
        return job

    def complete(self, job_id: str, owner: str, result: dict[str, Any] | None = None) -> Job | None:
        """Mark a leased job done (or pending again when it was re-armed while running)."""
        now = self.clock()

        def run(conn: sqlite3.Connection) -> Job | None:
            job = self._owned(conn, job_id, owner)
            if job is None:
                return None
            status = JobStatus.PENDING if job.rerun else JobStatus.DONE
            conn.execute(
                "UPDATE jobs SET status = ?, attempts = CASE WHEN rerun = 1 THEN 0 ELSE attempts END, rerun = 0, "
                "run_after = ?, lease_owner = NULL, lease_expires = NULL, result = ?, updated_at = ?, "
                "finished_at = ? WHERE id = ?",
                (status.value, _ts(now), json.dumps(result or {}, ensure_ascii=False, default=str), _ts(now),
                 None if job.rerun else _ts(now), job_id))
            return self._get(conn, job_id)

        return self._tx(run)

    def fail(self, job_id: str, owner: str, error: str, *, retry: bool = True) -> Job | None:
        """Record a failed attempt; retry after a backoff while attempts remain, else mark it failed."""
        now = self.clock()

        def run(conn: sqlite3.Connection) -> Job | None:
            job = self._owned(conn, job_id, owner)
            if job is None:
                return None
            text = error if len(error) <= _MAX_ERROR_CHARS else error[:_MAX_ERROR_CHARS] + " [...]"
            errors = job.errors + [JobError(attempt=job.attempts, at=now, error=text)]
            conn.execute("UPDATE jobs SET errors = ?, updated_at = ? WHERE id = ?",
                         (json.dumps([e.model_dump(mode="json") for e in errors]), _ts(now), job_id))
            if retry and job.attempts < job.max_attempts:
                after = now + timedelta(seconds=self.backoff.delay(job.attempts))
                conn.execute("UPDATE jobs SET status = 'pending', run_after = ?, lease_owner = NULL, "
                             "lease_expires = NULL WHERE id = ?", (_ts(after), job_id))
            else:
                self._finish_failed(conn, job_id, now)
            return self._get(conn, job_id)

        return self._tx(run)

    def retry_failed(self, *, scope: Scope | None = None) -> int:
        """Put failed jobs back to pending with a fresh attempt budget (their error history is kept)."""
        now = self.clock()
        where, params = _scope_sql(scope)

        def run(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE jobs SET status = 'pending', attempts = 0, run_after = ?, finished_at = NULL, updated_at = ? "
                f"WHERE status = 'failed'{where}", (_ts(now), _ts(now), *params)).rowcount

        return self._tx(run)

    # -- reads ------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        with self._lock:
            return self._get(self._conn, job_id)

    def by_key(self, key: str) -> Job | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else _row_job(row)

    def list(self, *, scope: Scope | None = None, statuses: Sequence[JobStatus | str] | None = None,
             limit: int | None = None) -> list[Job]:
        """Jobs in queue order; `scope` restricts to jobs whose scope falls inside it."""
        where, params = _scope_sql(scope)
        if statuses:
            where += f" AND status IN ({','.join('?' * len(statuses))})"
            params += [JobStatus(s).value for s in statuses]
        sql = f"SELECT * FROM jobs WHERE 1=1{where} ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            return [_row_job(row) for row in self._conn.execute(sql, params).fetchall()]

    def counts(self, *, scope: Scope | None = None) -> dict[str, int]:
        where, params = _scope_sql(scope)
        with self._lock:
            rows = self._conn.execute(f"SELECT status, COUNT(*) FROM jobs WHERE 1=1{where} GROUP BY status",
                                      params).fetchall()
        found = {row[0]: row[1] for row in rows}
        return {s.value: found.get(s.value, 0) for s in JobStatus}

    def next_due(self) -> datetime | None:
        """When the earliest pending job becomes due (None when nothing is pending)."""
        with self._lock:
            row = self._conn.execute("SELECT MIN(run_after) FROM jobs WHERE status = 'pending'").fetchone()
        return _dt(row[0])

    # -- cursors over the record log ---------------------------------------------------------
    def cursor(self, name: str) -> int:
        """The log position (record seq) a named cursor has reached; 0 when new."""
        with self._lock:
            row = self._conn.execute("SELECT seq FROM job_cursors WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    def records_after(self, seq: int, limit: int = 500) -> list[tuple[int, str, Scope]]:
        """(seq, id, scope) of records logged after `seq`, in log order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, id, s_user, s_agent, s_session, s_team FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit)).fetchall()
        return [(r["seq"], r["id"], Scope(user=r["s_user"], agent=r["s_agent"], session=r["s_session"],
                                          team=r["s_team"])) for r in rows]

    def advance(self, name: str, seq: int) -> None:
        self._tx(lambda conn: conn.execute(
            "INSERT INTO job_cursors (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = MAX(seq, "
            "excluded.seq)", (name, seq)))

    def skip_to_end(self, name: str) -> None:
        """Start a new cursor at the end of the log (no backfill of what was written before)."""
        with self._lock:
            last = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()[0]
            known = self._conn.execute("SELECT 1 FROM job_cursors WHERE name = ?", (name,)).fetchone()
        if known is None:
            self.advance(name, last)


def _scope_sql(scope: Scope | None) -> tuple[str, list[Any]]:
    if scope is None:
        return "", []
    values = scope.fields()
    return "".join(f" AND s_{k} = ?" for k in values), list(values.values())


def open_queue(config: OmneConfig, *, records: Any = None, must_exist: bool = False,
               **options: Any) -> JobQueue | PostgresJobQueue:
    """The job queue of the store `config` names: in its SQLite file, or in its PostgreSQL database (borrowing
    the connections of `records`, an open PostgresRecordStore of that database, when given). `must_exist`: a
    SQLite store must already be there. `options` are JobQueue's (max_attempts, backoff, lease_s, clock)."""
    if config.database is None:
        if must_exist:
            return JobQueue.for_store(config.store_dir, **options)
        return JobQueue(config.store_dir / "records.sqlite3", **options)
    from omne.storage.postgres_jobs import PostgresJobQueue
    from omne.storage.postgres_store import PostgresRecordStore

    if isinstance(records, PostgresRecordStore):
        return PostgresJobQueue(records, **options)
    return PostgresJobQueue(PostgresRecordStore(config.database), owns_records=True, **options)
