"""`omne worker` and `omne memory jobs`: run and inspect memory construction jobs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from omne.cli.common import (
    AgentOpt, JsonOpt, SessionOpt, StoreOpt, TeamOpt, UserOpt, emit, existing_store, open_store, optional_scope,
    served_store_error, server_of,
)
from omne.config import OmneConfig
from omne.errors import InvalidInputError, StoreLockedError

WORKER_BESIDE_STORE = ("`omne worker` runs construction jobs in the process that owns the store, not through a "
                       "server (remote construction is not supported)")


def worker(
    store: StoreOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Run the jobs that are due, then exit.")] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between polls for new work.")] = 2.0,
    model_config: Annotated[Path | None, typer.Option("--model-config", help=(
        "Model config (YAML like configs/model.example.yaml, or an AutoGen client component config); default: "
        "$OMNE_MODEL_CONFIG and OPENAI_API_KEY / OPENAI_BASE_URL / OMNE_MODEL. Without a model, summaries are "
        "extractive (offline) and fact extraction jobs wait for a worker that has one."))] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run memory construction jobs (summaries, facts, reflection) for a store in the background.

    With the embedded vector index one process owns a store at a time: run the worker as that owner
    (or use a Qdrant server so several processes can share the store).
    """
    from omne.construction import Construction, JobOutcome, run_worker
    from omne.core import MemoryCore

    from omne.llm import configured_client

    if os.environ.get("OMNE_URL"):
        raise InvalidInputError(f"{WORKER_BESIDE_STORE}, and OMNE_URL is set ({os.environ['OMNE_URL']}): unset "
                                "OMNE_URL and run `omne worker --store DIR` on the store's machine while no "
                                "`omne serve` holds that store")
    client = configured_client(model_config)

    def show(outcome: JobOutcome) -> None:
        if as_json:
            emit(outcome.model_dump(mode="json"), True)
        else:
            reason = f"  ({outcome.reason})" if outcome.reason else ""
            of = f" of {outcome.max_attempts}" if outcome.max_attempts else ""
            retried = outcome.status.value == "pending" and outcome.reason  # failed, will be retried after a backoff
            typer.echo(f"{'retrying' if retried else outcome.status.value:<8} {outcome.key}  attempt "
                       f"{outcome.attempt}{of}, {outcome.seconds:.2f}s{reason}")

    async def main() -> dict[str, int]:
        config = OmneConfig.from_env(store)
        try:
            core = await MemoryCore.open(config=config)
        except StoreLockedError as exc:
            raise served_store_error(config, exc, advice=f"{WORKER_BESIDE_STORE}: stop the server to run the "
                                     "worker on this store") from exc
        try:
            construction = await Construction.attach(core, client)
            try:
                report = await run_worker(construction, once=once, poll_s=poll, on_job=show)
            finally:
                await construction.close()
            return report.counts
        finally:
            await core.close()
            if client is not None:
                await client.close()

    counts = asyncio.run(main())
    if not as_json:
        typer.echo("queue: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def jobs(
    status: Annotated[list[str] | None, typer.Option("--status", help="pending, running, done or failed; repeatable.")]
    = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Put failed jobs back to pending first.")] = False,
    store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    team: TeamOpt = None, as_json: JsonOpt = False,
) -> None:
    """List construction jobs (all, or a scope's) with their status and failure reasons."""
    from omne.construction import JobStatus
    from omne.storage.backends import open_storage

    scope = optional_scope(user, agent, session, team)
    try:
        statuses = [JobStatus(s) for s in status or []]
    except ValueError:
        raise InvalidInputError(f"--status must be one of {', '.join(s.value for s in JobStatus)}") from None
    if server_of() is not None:
        with open_store(store) as core:
            retried = core.retry_failed_jobs(scope=scope) if retry_failed else 0
            found = core.jobs(scope=scope, statuses=statuses or None, limit=limit)
            counts = core.job_counts(scope=scope)
    else:  # the queue is in the store's database: readable beside the store's owner process, without the index
        from omne.types import utcnow

        storage = open_storage(existing_store(OmneConfig.from_env(store)))
        try:
            retried = storage.jobs.retry_failed(now=utcnow(), scope=scope) if retry_failed else 0
            found = storage.jobs.list(scope=scope, statuses=statuses or None, limit=limit)
            counts = storage.jobs.counts(scope=scope)
        finally:
            storage.close()
    if as_json:
        emit({"counts": counts, "retried": retried,
              "jobs": [job.model_dump(mode="json") | {"reason": job.reason} for job in found]}, True)
        return
    if retry_failed:
        typer.echo(f"re-queued {retried} failed job(s)")
    for job in found:
        reason = f"\n    reason: {job.reason}" if job.reason and job.status.value != "done" else ""
        typer.echo(f"{job.status.value:<8} {job.kind:<18} attempts {job.attempts}/{job.max_attempts}  "
                   f"{job.key}{reason}")
    typer.echo("total: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def export_sft_to(core: Any, out: Path | None, scope: Any) -> int:
    """Write the SFT dataset for `scope` (stdout when `out` is None); returns examples written."""
    import sys

    from omne.construction.sft import export_sft

    if out is None:
        return asyncio.run(export_sft(core.core, sys.stdout, scope=scope))
    with out.open("w", encoding="utf-8") as handle:
        return asyncio.run(export_sft(core.core, handle, scope=scope))


__all__ = ["export_sft_to", "jobs", "worker"]
