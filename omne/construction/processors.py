"""Processors: what a committed record triggers (`plan`) and how a job of that kind runs (`run`).

Built in: session summaries, scope roll-up summaries, fact extraction and reflection. Other layers
add their own (e.g. the graph builder) with `Construction.register(processor)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from omne.construction.consolidate import Consolidator
from omne.construction.facts import FactExtractor
from omne.construction.jobs import Job, JobSpec
from omne.construction.reflection import reflect
from omne.construction.summaries import SummaryBuilder, parent_scope
from omne.errors import OmneError
from omne.types import Record, RecordKind, Scope

if TYPE_CHECKING:
    from omne.construction.pipeline import Construction


class PermanentJobError(OmneError):
    """A job that cannot succeed by retrying (e.g. no model configured); it is marked failed at once."""


class Processor(Protocol):
    """One kind of construction job."""

    kind: str

    def plan(self, record: Record) -> list[JobSpec]:
        """Jobs that committing `record` calls for (none for most records)."""
        ...

    async def run(self, job: Job, construction: Construction) -> dict[str, Any]:
        """Do the job; return a small JSON-able result. Raise to fail the attempt (it is retried)."""
        ...


class SessionSummaries:
    """Summarise a session (recursively when long) whenever its messages change."""

    kind = "summarise_session"

    def __init__(self, builder: SummaryBuilder, *, delay_s: float = 0.0, roll_up: bool = True) -> None:
        self.builder = builder
        self.delay_s = delay_s
        self.roll_up = roll_up

    def plan(self, record: Record) -> list[JobSpec]:
        if record.kind is not RecordKind.MESSAGE or record.scope.session is None or not record.live:
            return []
        return [JobSpec(key=f"{self.kind}:{record.scope}", kind=self.kind, scope=record.scope, rearm=True,
                        delay_s=self.delay_s)]

    async def run(self, job: Job, construction: Construction) -> dict[str, Any]:
        outcome = await self.builder.summarise_session(job.scope)
        parent = parent_scope(job.scope)
        if self.roll_up and parent is not None and outcome.written:
            await construction.enqueue([JobSpec(key=f"{ScopeSummaries.kind}:{parent}", kind=ScopeSummaries.kind,
                                                scope=parent, rearm=True, delay_s=self.delay_s)])
        return outcome.model_dump()


class ScopeSummaries:
    """Roll a scope's session summaries up into one summary (summaries of summaries)."""

    kind = "summarise_scope"

    def __init__(self, builder: SummaryBuilder) -> None:
        self.builder = builder

    def plan(self, record: Record) -> list[JobSpec]:
        return []

    async def run(self, job: Job, construction: Construction) -> dict[str, Any]:
        return (await self.builder.summarise_scope(job.scope)).model_dump()


class FactExtraction:
    """Extract typed facts from each message and consolidate them with the stored ones."""

    kind = "extract_facts"

    def __init__(self, extractor: FactExtractor | None, consolidator: Consolidator, *, fact_scope: str = "parent",
                 roles: tuple[str, ...] | None = None) -> None:
        self.extractor = extractor
        self.consolidator = consolidator
        self.fact_scope = fact_scope
        self.roles = roles

    def plan(self, record: Record) -> list[JobSpec]:
        if record.kind is not RecordKind.MESSAGE or not record.live or record.role in ("tool", "system"):
            return []
        if self.roles is not None and record.role not in self.roles:
            return []
        return [JobSpec(key=f"{self.kind}:{record.id}", kind=self.kind, scope=record.scope,
                        payload={"record_id": record.id})]

    def scope_for(self, message: Record) -> Scope:
        """Facts outlive the session they were said in: stored one level up unless configured otherwise."""
        return (parent_scope(message.scope) if self.fact_scope == "parent" else None) or message.scope

    async def run(self, job: Job, construction: Construction) -> dict[str, Any]:
        if self.extractor is None:
            raise PermanentJobError("no model configured: fact extraction needs a ChatCompletionClient (attach "
                                    "construction with a client, or start `omne worker` with a model: "
                                    "--model-config FILE or OPENAI_API_KEY / OPENAI_BASE_URL); the message itself "
                                    "is stored")
        record_id = job.payload.get("record_id")
        found = await construction.core.get_many([record_id], scope=job.scope) if record_id else []
        if not found or not found[0].live:
            return {"skipped": f"message {record_id} is no longer live (forgotten or superseded)"}
        message = found[0]
        scope = self.scope_for(message)
        facts, shown = await self.extractor.extract(message, scope)
        applied = [await self.consolidator.apply(message, scope, fact, shown, job_key=job.key) for fact in facts]
        return {"message_id": message.id, "facts": [a.model_dump() for a in applied]}


class Reflection:
    """Reflect on a finished session or task (enqueued explicitly, e.g. by `Construction.end_session`)."""

    kind = "reflect"

    def plan(self, record: Record) -> list[JobSpec]:
        return []

    async def run(self, job: Job, construction: Construction) -> dict[str, Any]:
        earlier = [r.id for r in await construction.core.list(scope=job.scope, kinds=[RecordKind.INSIGHT])
                   if r.metadata.get("job") == job.key]
        if earlier:  # an earlier attempt wrote them and stopped before it could report
            return {"insight_ids": earlier}
        p = job.payload
        insights = await reflect(construction.core, job.scope, p.get("source_ids", []), construction.client,
                                 task=p.get("task"), outcome=p.get("outcome"), call=construction.config.call,
                                 metadata={"job": job.key})
        return {"insight_ids": [r.id for r in insights]}
