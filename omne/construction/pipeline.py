"""Construction: plans jobs from the record log and runs them (inline or from a worker).

Jobs are planned from cursors over the record log (one per job kind), not from the write call
itself, so a crash between a commit and its enqueue loses nothing: the next `plan_new` (run on
attach, after every `MemoryCore.add`, and before every `process`) picks the records up. A kind that
is not active in this process (fact extraction without a model) keeps its cursor where it is, so a
later worker with a model still plans those records. Enqueueing is idempotent by key.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from autogen_core.models import ChatCompletionClient
from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import Self

from omne.construction.consolidate import Consolidator
from omne.construction.facts import FactExtractor
from omne.construction.jobs import Backoff, Job, JobQueue, JobSpec, JobStatus
from omne.construction.processors import (
    FactExtraction, PermanentJobError, Processor, Reflection, ScopeSummaries, SessionSummaries,
)
from omne.construction.structured import StructuredCallConfig
from omne.construction.summarisers import ExtractiveSummariser, ModelSummariser, Summariser
from omne.construction.summaries import SummaryBuilder
from omne.core import MemoryCore
from omne.errors import InvalidInputError, OmneError
from omne.types import Record, RecordKind, Scope, new_id, utcnow

log = logging.getLogger("omne.construction")

CURSOR_PREFIX = "construction:"


class ConstructionConfig(BaseModel):
    """What construction does and how hard it tries."""

    model_config = ConfigDict(extra="forbid")

    summaries: bool = True
    scope_summaries: bool = True  # roll session summaries up into a summary of the parent scope
    facts: bool = True  # planned only when a model client is configured
    chunk_size: int = Field(default=20, ge=2)  # messages per first-level summary
    fan_in: int = Field(default=8, ge=2)  # summaries per higher-level summary
    summary_sentences: int = Field(default=5, ge=1)  # extractive summary length
    summary_delay_s: float = Field(default=0.0, ge=0.0)  # debounce session summaries while messages arrive
    context_messages: int = Field(default=6, ge=0)
    related_facts: int = Field(default=8, ge=0, le=50)
    fact_scope: Literal["parent", "same"] = "parent"
    max_attempts: int = Field(default=3, ge=1)
    backoff: Backoff = Field(default_factory=Backoff)
    lease_s: float | None = Field(default=None, gt=0)  # default: long enough for every model attempt
    call: StructuredCallConfig = Field(default_factory=StructuredCallConfig)
    backfill: bool = True  # plan jobs for records written before construction was first attached

    @model_validator(mode="after")
    def _lease_known(self) -> Self:
        _ = self.job_lease_s  # raises when no lease can be derived
        return self

    @property
    def job_lease_s(self) -> float:
        """How long a worker holds a job: `lease_s`, else long enough for every model attempt."""
        if self.lease_s is not None:
            return self.lease_s
        if self.call.timeout_s is None:
            raise InvalidInputError("call.timeout_s=None puts no time limit on a model call, so no job lease is "
                                    "long enough by default: set lease_s (the seconds a worker holds a job)")
        return max(300.0, 2 * self.call.attempts * self.call.timeout_s + 60)


class JobOutcome(BaseModel):
    """How one job run ended."""

    key: str
    kind: str
    status: JobStatus
    attempt: int
    max_attempts: int | None = None  # a job still pending after a failed attempt is retried up to this
    seconds: float
    reason: str | None = None


class ProcessReport(BaseModel):
    """What one `process` call did, and what is left."""

    outcomes: list[JobOutcome] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)  # queue totals by status afterwards
    next_due: datetime | None = None  # when the next pending job (e.g. a retry in backoff) is due

    def count(self, status: JobStatus | str) -> int:
        return sum(1 for o in self.outcomes if o.status == JobStatus(status))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id()[:8]}"


class Construction:
    """Long-term memory construction for one MemoryCore. Create with `await Construction.attach(core, client)`."""

    def __init__(self, core: MemoryCore, queue: JobQueue, client: ChatCompletionClient | None = None,
                 config: ConstructionConfig | None = None, summariser: Summariser | None = None) -> None:
        self.core = core
        self.queue = queue
        self.client = client
        self.config = config or ConstructionConfig()
        cfg = self.config
        summariser = summariser or (ModelSummariser(client, call=cfg.call) if client is not None else
                                    ExtractiveSummariser(core.embedder, sentences=cfg.summary_sentences))
        self.processors: dict[str, Processor] = {}
        builder = SummaryBuilder(core, summariser, chunk_size=cfg.chunk_size, fan_in=cfg.fan_in)
        if cfg.summaries:
            self.register(SessionSummaries(builder, delay_s=cfg.summary_delay_s, roll_up=cfg.scope_summaries))
            self.register(ScopeSummaries(builder))
        extractor = (FactExtractor(core, client, context_messages=cfg.context_messages,
                                   related_facts=cfg.related_facts, call=cfg.call) if client is not None else None)
        self._facts = FactExtraction(extractor, Consolidator(core), fact_scope=cfg.fact_scope)
        self.register(self._facts)
        self.register(Reflection())
        self._plan_lock = asyncio.Lock()

    @classmethod
    async def attach(cls, core: MemoryCore, client: ChatCompletionClient | None = None, *,
                     config: ConstructionConfig | None = None, summariser: Summariser | None = None,
                     processors: Sequence[Processor] = (), clock: Callable[[], datetime] = utcnow) -> Construction:
        """Open the store's job queue, hook into `core` (`core.construction`) and plan what is new.

        `processors` add job kinds of other layers (e.g. graph building) next to the built-in ones.
        """
        config = config or ConstructionConfig()
        queue = JobQueue(core.job_store, max_attempts=config.max_attempts, backoff=config.backoff,
                         lease_s=config.job_lease_s, clock=clock)
        construction = cls(core, queue, client, config, summariser)
        for processor in processors:
            construction.register(processor)
        if not config.backfill:
            for kind in construction.processors:
                await asyncio.to_thread(queue.store.skip_to_end, CURSOR_PREFIX + kind)
        core.construction = construction
        core.write_hooks.append(construction)
        await construction.plan_new()
        return construction

    async def close(self) -> None:
        """Detach from the core (jobs stay in the store; the core owns its job store)."""
        if getattr(self.core, "construction", None) is self:
            self.core.construction = None
        if self in self.core.write_hooks:
            self.core.write_hooks.remove(self)

    async def __aenter__(self) -> Construction:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def register(self, processor: Processor) -> None:
        """Add (or replace) the processor for `processor.kind`. A worker claims only kinds it has a processor
        for; jobs of other kinds wait, pending, for a worker that has one."""
        self.processors[processor.kind] = processor

    # -- planning ---------------------------------------------------------------------------
    async def after_add(self, core: MemoryCore, records: Sequence[Record], vectors: Mapping[str, Any]) -> None:
        """Write hook (see omne.core.WriteHook) run by `MemoryCore.add` after a commit: plan the
        jobs the new records call for.

        The write is already committed, so a planning failure is logged, not raised: the cursor over
        the log picks the records up on the next `plan_new`.
        """
        try:
            await self.plan_new()
        except OmneError as exc:
            log.warning("construction jobs not planned yet (%s); they will be on the next plan", exc)

    def _runnable(self) -> list[str]:
        """Job kinds this process can run: fact extraction only with a model (without one its jobs stay
        pending for a worker that has a model)."""
        return [kind for kind, p in self.processors.items() if p is not self._facts or self.client is not None]

    def _active(self) -> list[Processor]:
        """Processors that plan jobs in this process (fact extraction needs a model and `facts`)."""
        return [p for p in self.processors.values()
                if p is not self._facts or (self.client is not None and self.config.facts)]

    async def plan_new(self) -> int:
        """Plan jobs for records logged since each active kind's cursor; returns jobs enqueued or re-armed."""
        planned = 0
        async with self._plan_lock:
            active = self._active()
            if not active:
                return 0
            reached = {p.kind: await asyncio.to_thread(self.queue.store.cursor, CURSOR_PREFIX + p.kind) for p in active}
            while True:
                rows = await asyncio.to_thread(self.queue.store.records_after, min(reached.values()))
                if not rows:
                    return planned
                by_scope: dict[Scope, list[str]] = {}
                for entry in rows:
                    by_scope.setdefault(entry.scope, []).append(entry.id)
                seqs = {entry.id: entry.seq for entry in rows}
                specs: dict[str, JobSpec] = {}
                for scope, ids in by_scope.items():
                    for record in await self.core.get_many(ids, scope=scope):
                        for processor in active:
                            if seqs[record.id] > reached[processor.kind]:
                                specs.update((s.key, s) for s in processor.plan(record))
                await self.enqueue(list(specs.values()))
                last = rows[-1].seq
                for kind in reached:
                    await asyncio.to_thread(self.queue.store.advance, CURSOR_PREFIX + kind, last)
                    reached[kind] = max(reached[kind], last)
                planned += len(specs)

    async def enqueue(self, specs: Sequence[JobSpec]) -> list[Job]:
        """Enqueue jobs (idempotent by key)."""
        return await asyncio.to_thread(self.queue.enqueue, list(specs))

    async def end_session(self, scope: Scope, *, task: str | None = None, outcome: str | None = None,
                          reflect: bool = True) -> list[Job]:
        """A session or task is over: summarise it now and (optionally) reflect on its messages."""
        if scope.session is None:
            raise InvalidInputError("end_session needs a scope with a session")
        messages = await self.core.list(scope=scope, kinds=[RecordKind.MESSAGE])
        specs = [JobSpec(key=f"{SessionSummaries.kind}:{scope}", kind=SessionSummaries.kind, scope=scope, rearm=True)]
        if reflect and messages:
            ids = [m.id for m in messages]
            digest = hashlib.sha256("\n".join([*ids, task or "", outcome or ""]).encode()).hexdigest()[:16]
            specs.append(JobSpec(key=f"{Reflection.kind}:{scope}:{digest}", kind=Reflection.kind, scope=scope,
                                 payload={"source_ids": ids, "task": task, "outcome": outcome}))
        if not self.config.summaries:
            specs = specs[1:]
        return await self.enqueue(specs)

    # -- running ----------------------------------------------------------------------------
    async def process(self, *, max_jobs: int | None = None, owner: str | None = None,
                      on_job: Callable[[JobOutcome], Any] | None = None,
                      stop: asyncio.Event | None = None) -> ProcessReport:
        """Run ready jobs until none is due (or `max_jobs` ran, or `stop` is set: the job in hand finishes,
        no new one is claimed). Jobs in backoff wait for a later call."""
        owner = owner or worker_id()
        await self.plan_new()
        report = ProcessReport()
        while (max_jobs is None or len(report.outcomes) < max_jobs) and not (stop is not None and stop.is_set()):
            job = await asyncio.to_thread(self.queue.claim, owner, kinds=self._runnable())
            if job is None:
                break
            outcome = await self._run(job, owner)
            report.outcomes.append(outcome)
            if on_job is not None:
                on_job(outcome)
        report.counts = await asyncio.to_thread(self.queue.store.counts)
        report.next_due = await asyncio.to_thread(self.queue.store.next_due)
        return report

    async def _run(self, job: Job, owner: str) -> JobOutcome:
        started = time.perf_counter()
        processor = self.processors[job.kind]
        try:
            result = await processor.run(job, self)
        except PermanentJobError as exc:
            after = await asyncio.to_thread(self.queue.fail, job.id, owner, str(exc), retry=False)
        except OmneError as exc:
            after = await asyncio.to_thread(self.queue.fail, job.id, owner, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug in a processor fails the attempt, visibly
            log.exception("construction job %s failed", job.key)
            after = await asyncio.to_thread(self.queue.fail, job.id, owner, f"unexpected {type(exc).__name__}: {exc}")
        else:
            after = await asyncio.to_thread(self.queue.complete, job.id, owner, result)
        seconds = round(time.perf_counter() - started, 3)
        if after is None:  # our lease expired and another worker took over; it reports the job
            return JobOutcome(key=job.key, kind=job.kind, status=JobStatus.RUNNING, attempt=job.attempts,
                              seconds=seconds, reason="lease lost to another worker")
        return JobOutcome(key=job.key, kind=job.kind, status=after.status, attempt=job.attempts,
                          max_attempts=after.max_attempts, seconds=seconds,
                          reason=after.reason if after.status is not JobStatus.DONE else None)
