"""`omne worker` and `omne memory jobs`: run and inspect memory construction jobs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from omne.cli.common import (
    AgentOpt, JsonOpt, SessionOpt, StoreOpt, TeamOpt, UserOpt, emit, existing_store, open_store, optional_scope,
    server_of,
)
from omne.config import OmneConfig, read_yaml_mapping
from omne.errors import InvalidInputError


def load_client(path: Path) -> Any:
    """An AutoGen ChatCompletionClient from a component config file (YAML or JSON)."""
    from autogen_core.models import ChatCompletionClient

    config = read_yaml_mapping(path, what="--model-config", example="an AutoGen component config (YAML or JSON)")
    if "provider" not in config:
        raise InvalidInputError(f"--model-config: {path} must hold an AutoGen component config with 'provider' and "
                                "'config' (e.g. provider: autogen_ext.models.openai.OpenAIChatCompletionClient)")
    return ChatCompletionClient.load_component(config)


def worker(
    store: StoreOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Run the jobs that are due, then exit.")] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between polls for new work.")] = 2.0,
    model_config: Annotated[Path | None, typer.Option("--model-config", help=(
        "AutoGen ChatCompletionClient component config (YAML/JSON). Without it summaries are extractive "
        "(offline) and fact extraction jobs fail with a reason until a model is configured."))] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run memory construction jobs (summaries, facts, reflection) for a store in the background.

    With the embedded vector index one process owns a store at a time: run the worker as that owner
    (or use a Qdrant server so several processes can share the store).
    """
    from omne.construction import Construction, JobOutcome, run_worker
    from omne.core import MemoryCore

    client = load_client(model_config) if model_config else None

    def show(outcome: JobOutcome) -> None:
        if as_json:
            emit(outcome.model_dump(mode="json"), True)
        else:
            reason = f"  ({outcome.reason})" if outcome.reason else ""
            typer.echo(f"{outcome.status.value:<8} {outcome.key}  attempt {outcome.attempt}, "
                       f"{outcome.seconds:.2f}s{reason}")

    async def main() -> dict[str, int]:
        core = await MemoryCore.open(config=OmneConfig.from_env(store))
        try:
            construction = await Construction.attach(core, client)
            try:
                report = await run_worker(construction, once=once, poll_s=poll, on_job=show)
            finally:
                await construction.close()
            return report.counts
        finally:
            await core.close()

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
    from omne.construction import JobQueue, JobStatus

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
    else:  # the queue is in the SQLite log: readable beside the store's owner process, without the index lock
        queue = JobQueue.for_store(existing_store(OmneConfig.from_env(store)).store_dir)
        try:
            retried = queue.retry_failed(scope=scope) if retry_failed else 0
            found = queue.list(scope=scope, statuses=statuses or None, limit=limit)
            counts = queue.counts(scope=scope)
        finally:
            queue.close()
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


__all__ = ["export_sft_to", "jobs", "load_client", "worker"]
