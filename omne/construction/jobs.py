"""The construction job queue: the store's `JobStore` (durable jobs, leases, cursors over the log) with the
retry policy and clock construction runs it under.

Jobs are idempotent by `key`; a worker claims one with a lease, so a job whose worker crashed is
claimed again once the lease expires. Failures retry with exponential backoff up to `max_attempts`;
every failed attempt keeps a readable reason. Reads (`list`, `counts`, `by_key`, ...) go to `queue.store`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from omne.errors import InvalidInputError
from omne.storage.job_models import Backoff, Job, JobError, JobSpec, JobStatus
from omne.storage.protocols import JobStore
from omne.types import Scope, utcnow


class JobQueue:
    """A `JobStore` under one policy: attempts per job, lease length, backoff between attempts, and a clock."""

    def __init__(self, store: JobStore, *, max_attempts: int = 5, backoff: Backoff | None = None,
                 lease_s: float = 300.0, clock: Callable[[], datetime] = utcnow) -> None:
        if max_attempts < 1:
            raise InvalidInputError("max_attempts must be at least 1")
        self.store = store
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.lease_s = lease_s
        self.clock = clock

    def enqueue(self, specs: Sequence[JobSpec]) -> list[Job]:
        """Add jobs; an existing key is left alone (idempotent) unless `rearm` re-opens it."""
        return self.store.enqueue(specs, now=self.clock(), max_attempts=self.max_attempts)

    def claim(self, owner: str, *, kinds: Sequence[str] | None = None) -> Job | None:
        """Lease the next ready job: pending and due, or running with an expired lease (a crashed worker)."""
        return self.store.claim(owner, now=self.clock(), lease_s=self.lease_s, kinds=kinds)

    def complete(self, job_id: str, owner: str, result: dict[str, Any] | None = None) -> Job | None:
        """Mark a leased job done (or pending again when it was re-armed while running); None when the lease
        was lost to another worker."""
        return self.store.complete(job_id, owner, result, now=self.clock())

    def fail(self, job_id: str, owner: str, error: str, *, retry: bool = True) -> Job | None:
        """Record a failed attempt; retry after a backoff while attempts remain, else mark it failed."""
        return self.store.fail(job_id, owner, error, now=self.clock(), backoff=self.backoff if retry else None)

    def retry_failed(self, *, scope: Scope | None = None) -> int:
        """Put failed jobs back to pending with a fresh attempt budget (their error history is kept)."""
        return self.store.retry_failed(now=self.clock(), scope=scope)


__all__ = ["Backoff", "Job", "JobError", "JobQueue", "JobSpec", "JobStatus"]
