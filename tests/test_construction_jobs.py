"""The durable job queue: idempotent enqueue, leases, crash recovery, backoff, bounded retries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from omne.construction.jobs import Backoff, JobQueue, JobSpec, JobStatus
from omne.config import OmneConfig
from omne.storage import open_storage
from omne.types import Scope

SCOPE = Scope(user="u1", session="s1")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def queue(tmp_path, clock):
    storage = open_storage(OmneConfig.from_env(tmp_path))
    yield JobQueue(storage.jobs, max_attempts=3, backoff=Backoff(base_s=10, max_s=25), lease_s=60, clock=clock)
    storage.close()


def spec(key: str = "k1", **kw) -> JobSpec:
    return JobSpec(key=key, kind="demo", scope=SCOPE, **kw)


def test_enqueue_is_idempotent_by_key(queue):
    first = queue.enqueue([spec(payload={"n": 1})])[0]
    again = queue.enqueue([spec(payload={"n": 2})])[0]
    assert again.id == first.id and again.payload == {"n": 1}
    assert queue.store.counts() == {"pending": 1, "running": 0, "done": 0, "failed": 0}


def test_claim_complete_and_a_second_claim_finds_nothing(queue):
    queue.enqueue([spec()])
    job = queue.claim("w1")
    assert job.status is JobStatus.RUNNING and job.attempts == 1 and job.lease_owner == "w1"
    assert queue.claim("w2") is None  # leased
    done = queue.complete(job.id, "w1", {"ok": True})
    assert done.status is JobStatus.DONE and done.result == {"ok": True} and done.finished_at is not None


def test_expired_lease_of_a_crashed_worker_is_claimed_again(queue, clock):
    queue.enqueue([spec()])
    crashed = queue.claim("dead-worker")
    clock.advance(30)
    assert queue.claim("w2") is None  # lease still valid
    clock.advance(31)
    retried = queue.claim("w2")
    assert retried.id == crashed.id and retried.attempts == 2 and retried.lease_owner == "w2"
    assert "dead-worker" in retried.reason and "expired" in retried.reason
    # the crashed worker coming back cannot clobber the new owner's run
    assert queue.complete(crashed.id, "dead-worker") is None
    assert queue.complete(crashed.id, "w2").status is JobStatus.DONE


def test_failures_back_off_exponentially_then_fail_with_every_reason(queue, clock):
    queue.enqueue([spec()])
    job = queue.claim("w")
    after = queue.fail(job.id, "w", "model timed out")
    assert after.status is JobStatus.PENDING and after.run_after == clock.now + timedelta(seconds=10)
    assert queue.claim("w") is None  # not due yet
    clock.advance(10)
    job = queue.claim("w")
    after = queue.fail(job.id, "w", "invalid JSON")
    assert after.run_after == clock.now + timedelta(seconds=20)
    clock.advance(20)
    job = queue.claim("w")
    after = queue.fail(job.id, "w", "no JSON object in the reply")
    assert after.status is JobStatus.FAILED and after.attempts == 3
    assert [e.error for e in after.errors] == ["model timed out", "invalid JSON", "no JSON object in the reply"]
    assert after.reason == "no JSON object in the reply"
    clock.advance(1000)
    assert queue.claim("w") is None


def test_permanent_failure_skips_retries_and_retry_failed_requeues(queue):
    queue.enqueue([spec()])
    job = queue.claim("w")
    assert queue.fail(job.id, "w", "no model configured", retry=False).status is JobStatus.FAILED
    assert queue.retry_failed(scope=Scope(user="other")) == 0
    assert queue.retry_failed(scope=Scope(user="u1")) == 1
    again = queue.claim("w")
    assert again.attempts == 1 and again.errors[0].error == "no model configured"


def test_lease_expiry_on_the_last_attempt_marks_the_job_failed(queue, clock):
    queue.enqueue([spec()])
    for _ in range(3):
        assert queue.claim("w") is not None
        clock.advance(61)
    assert queue.claim("w") is None
    job = queue.store.by_key("k1")
    assert job.status is JobStatus.FAILED and "expired" in job.reason


def test_rearm_reopens_finished_jobs_and_reruns_running_ones(queue):
    queue.enqueue([spec(rearm=True)])
    job = queue.claim("w")
    queue.enqueue([spec(rearm=True, payload={"v": 2})])  # new work arrives while running
    after = queue.complete(job.id, "w")
    assert after.status is JobStatus.PENDING and after.payload == {"v": 2}
    job = queue.claim("w")
    assert queue.complete(job.id, "w").status is JobStatus.DONE
    queue.enqueue([spec(rearm=True)])
    assert queue.store.by_key("k1").status is JobStatus.PENDING


def test_list_filters_by_scope_and_status(queue):
    queue.enqueue([spec("a"), JobSpec(key="b", kind="demo", scope=Scope(user="u2"))])
    queue.claim("w")
    assert [j.key for j in queue.store.list(scope=Scope(user="u2"))] == ["b"]
    assert [j.key for j in queue.store.list(statuses=["running"])] == ["a"]


@pytest.mark.sqlite_only  # a PostgreSQL store's database is named by its URL: there is no directory to miss
def test_opening_a_missing_store_names_it(tmp_path):
    from omne.config import OmneConfig
    from omne.errors import NotFoundError
    from omne.storage import open_storage

    with pytest.raises(NotFoundError, match="no Omne store"):
        open_storage(OmneConfig(store_dir=tmp_path / "nowhere"), must_exist=True)
    assert not (tmp_path / "nowhere").exists()  # nothing created


# -- pinned by mutation testing (benchmarks/RESULTS-mutation.md, module `jobs`) ------------------------------


def test_the_default_policy_is_five_attempts_and_a_five_minute_lease(tmp_path):
    """Mutants: the defaults `max_attempts=5` / `lease_s=300.0` changed; `max_attempts < 1` made `<= 1` / `< 2`."""
    from omne.errors import InvalidInputError

    storage = open_storage(OmneConfig.from_env(tmp_path))
    try:
        queue = JobQueue(storage.jobs)
        assert (queue.max_attempts, queue.lease_s) == (5, 300.0)
        assert queue.enqueue([spec()])[0].max_attempts == 5
        job = queue.claim("w")
        assert job.lease_expires - job.updated_at == timedelta(seconds=300)
        assert JobQueue(storage.jobs, max_attempts=1).max_attempts == 1  # one attempt, no retry, is allowed
        with pytest.raises(InvalidInputError) as error:
            JobQueue(storage.jobs, max_attempts=0)
        assert str(error.value) == "max_attempts must be at least 1"
    finally:
        storage.close()


def test_claim_takes_only_the_kinds_asked_for(queue):
    """Mutant: `JobQueue.claim` drops its `kinds` (a summary worker would take a fact job)."""
    queue.enqueue([JobSpec(key="f", kind="facts", scope=SCOPE), JobSpec(key="s", kind="summary", scope=SCOPE)])
    assert queue.claim("w", kinds=["summary"]).key == "s"
    assert queue.claim("w", kinds=["summary"]) is None
    assert queue.claim("w", kinds=["facts", "summary"]).key == "f"


def test_a_delayed_job_is_due_only_after_its_delay(queue, clock):
    """Mutant: `now + delay_s` → `now - delay_s` (a debounced job would run at once)."""
    job = queue.enqueue([spec(delay_s=30)])[0]
    assert job.run_after == clock.now + timedelta(seconds=30)
    assert queue.claim("w") is None
    clock.advance(30)
    assert queue.claim("w").key == "k1"


def test_an_expired_last_attempt_is_failed_and_the_next_ready_job_is_claimed(queue, clock):
    """Mutants: `continue` → `break` after failing a job whose lease expired on its last attempt (the ready job
    behind it would wait for another poll); the lease message's expiry time and wording."""
    queue.enqueue([spec("a")])
    for _ in range(3):
        leased = queue.claim("w")
        clock.advance(61)
    queue.enqueue([spec("b")])
    assert queue.claim("w2").key == "b"
    dead = queue.store.by_key("a")
    assert dead.status is JobStatus.FAILED and dead.finished_at == clock.now and dead.lease_owner is None
    expiries = [leased.lease_expires - timedelta(seconds=61 * back) for back in (2, 1, 0)]
    assert [e.error for e in dead.errors] == [
        f"lease held by worker w expired at {at.isoformat(timespec='microseconds')} before the job finished "
        "(worker crashed or stalled)" for at in expiries]


def test_a_failed_job_records_when_it_finished(queue, clock):
    """Mutant: `_finish_failed` writes `finished_at = ts(None)`."""
    queue.enqueue([spec()])
    job = queue.claim("w")
    clock.advance(5)
    failed = queue.fail(job.id, "w", "no model configured", retry=False)
    assert failed.finished_at == clock.now and failed.lease_owner is None and failed.lease_expires is None


def test_a_long_failure_reason_is_cut_and_marked(queue):
    """Mutants of `cut_error`: the limit made exclusive, the cut skipped, the marker changed."""
    from omne.storage.job_models import MAX_ERROR_CHARS

    queue.enqueue([spec("a"), spec("b")])
    exact, long = "e" * MAX_ERROR_CHARS, "x" * (MAX_ERROR_CHARS + 1)
    a, b = queue.claim("w"), queue.claim("w")
    assert queue.fail(a.id, "w", exact, retry=False).reason == exact
    assert queue.fail(b.id, "w", long, retry=False).reason == "x" * MAX_ERROR_CHARS + " [...]"


def test_a_rerun_after_rearm_is_not_marked_finished(queue):
    """Mutant: `complete` writes `finished_at` for a job re-armed while running (it is pending again)."""
    queue.enqueue([spec(rearm=True)])
    job = queue.claim("w")
    queue.enqueue([spec(rearm=True)])
    again = queue.complete(job.id, "w")
    assert again.status is JobStatus.PENDING and again.finished_at is None and again.attempts == 0


def test_a_result_holding_non_json_values_is_kept_as_text(queue, clock):
    """Mutants: `complete`'s `json.dumps(..., default=str)` without `default` (a datetime in a result crashed
    the completion, and the job ran again)."""
    queue.enqueue([spec()])
    job = queue.claim("w")
    done = queue.complete(job.id, "w", {"at": clock.now, "text": "café"})
    assert done.status is JobStatus.DONE and done.result == {"at": str(clock.now), "text": "café"}


def test_lookups_of_missing_jobs(queue):
    """Mutants: `by_key` on a missing key (`if rows or True` raised IndexError); `get`'s message, and `get` of a
    job that exists (its row dropped, or the second row read); a lease operation on a missing job (`_owned`'s
    message)."""
    from omne.errors import NotFoundError

    assert queue.store.by_key("nope") is None
    with pytest.raises(NotFoundError, match="^no job nope$"):
        queue.store.get("nope")
    (job,) = queue.enqueue([spec("a")])
    assert queue.store.get(job.id) == job
    with pytest.raises(NotFoundError, match="^no job nope$"):
        queue.complete("nope", "w")


def test_list_limits_and_combines_scope_with_several_statuses(queue):
    """Mutants of `list`: the LIMIT dropped or its parameter None, the status placeholders joined wrongly, the
    scope's parameters replaced by the statuses'."""
    queue.enqueue([spec("a"), spec("b"), spec("c"), JobSpec(key="d", kind="demo", scope=Scope(user="u2"))])
    queue.claim("w")
    assert [j.key for j in queue.store.list(limit=2)] == ["a", "b"]
    assert [j.key for j in queue.store.list(scope=Scope(user="u1"), statuses=["running", "pending"])] == ["a", "b", "c"]
    assert [j.key for j in queue.store.list(scope=Scope(user="u2"), statuses=["running", "pending"], limit=5)] == ["d"]


def test_records_after_returns_five_hundred_by_default(tmp_path):
    """Mutant: `records_after`'s default `limit=500` changed (a cursor's page size)."""
    from omne.types import Record, RecordKind

    storage = open_storage(OmneConfig.from_env(tmp_path))
    try:
        storage.records.insert([Record(kind=RecordKind.FACT, scope=SCOPE, text=f"fact {i}") for i in range(501)])
        entries = storage.jobs.records_after(0)
        assert len(entries) == 500 and entries[0].scope == SCOPE and len({e.id for e in entries}) == 500
    finally:
        storage.close()


class _RefusingWrites:
    """A connection whose INSERT and UPDATE statements fail as on a full disk; reads and BEGIN/COMMIT pass."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def execute(self, sql: str, *args):
        import sqlite3

        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)


def test_every_refused_job_queue_write_names_the_job_queue(queue, backend):
    """Mutants: each write's `transaction(..., what=_WHAT)` given None or no `what` (the error would blame the
    record store, or "None"). SQLite refuses the writes as on a full disk; PostgreSQL has lost its connections
    (the pool closed)."""
    from omne.errors import StorageError

    queue.enqueue([spec("a"), spec("b"), spec("c")])
    a, b = queue.claim("w"), queue.claim("w")
    db = queue.store._db
    if backend == "postgres":
        db.pool.close()
    else:
        db.conn = _RefusingWrites(db.conn)
    writes = [lambda: queue.enqueue([spec("d")]), lambda: queue.claim("w"), lambda: queue.complete(a.id, "w"),
              lambda: queue.fail(b.id, "w", "boom"), lambda: queue.retry_failed(),
              lambda: queue.store.advance("c1", 3), lambda: queue.store.skip_to_end("c2")]
    for write in writes:
        with pytest.raises(StorageError, match="^the job queue could not be written"):
            write()
    if backend == "postgres":
        return
    db.conn = db.conn._conn
    assert [j.status for j in queue.store.list()] == [JobStatus.RUNNING, JobStatus.RUNNING, JobStatus.PENDING]
