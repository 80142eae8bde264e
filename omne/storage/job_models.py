"""The construction job queue's typed rows and requests, shared by every `JobStore` backend.

Jobs are idempotent by `key`; a worker claims one with a lease, so a job whose worker crashed is claimed
again once the lease expires. Failures retry with exponential backoff up to `max_attempts`; every failed
attempt keeps a readable reason.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omne.types import Scope

MAX_ERROR_CHARS = 2000  # a failure reason is cut to this many characters


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
        return float(min(self.max_s, self.base_s * 2 ** max(0, attempt - 1)))


class LogEntry(BaseModel):
    """A record's position in the log (`seq`, increasing in commit order), for cursors over the log."""

    model_config = ConfigDict(frozen=True)

    seq: int
    id: str
    scope: Scope


def cut_error(error: str) -> str:
    """A failure reason as stored: at most MAX_ERROR_CHARS characters, marked when cut."""
    return error if len(error) <= MAX_ERROR_CHARS else error[:MAX_ERROR_CHARS] + " [...]"
