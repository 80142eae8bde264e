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
