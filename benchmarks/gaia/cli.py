"""`omne bench gaia run|score`. Only typer is imported here; the harness loads when a command runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="GAIA-style agent tasks: run a responder, score a submission.", no_args_is_help=True)


@app.command("run")
def run(
    data: Annotated[Path, typer.Option("--data", help="GAIA folder with metadata.jsonl (or .parquet) and attachments.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory; an existing one is resumed.")],
    responder: Annotated[str, typer.Option("--responder", help="simple | reactive | assistant | package.module:Class")] = "assistant",
    config: Annotated[Path | None, typer.Option("--config", help="Model config YAML (configs/model.example.yaml); a "
                                                "`responder:` section tunes simple / reactive.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name (overrides the config).")] = None,
    level: Annotated[list[int] | None, typer.Option("--level", help="Only this level (repeatable).")] = None,
    task_id: Annotated[list[str] | None, typer.Option("--task-id", help="Only this task (repeatable).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many tasks.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Tasks solved at once.")] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per task.")] = 600.0,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Token budget per task (0: none).")] = 200_000,
    max_tool_iterations: Annotated[int, typer.Option("--max-tool-iterations", help="Model calls that may use tools, per task (assistant, simple) or per step (reactive).")] = 8,
    memory: Annotated[bool, typer.Option("--memory/--no-memory", help="Retrieve experience of earlier tasks.")] = True,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="On resume, redo tasks that failed.")] = False,
    price_in: Annotated[float | None, typer.Option("--usd-per-mtok-in", help="Price of 1M prompt tokens.")] = None,
    price_out: Annotated[float | None, typer.Option("--usd-per-mtok-out", help="Price of 1M completion tokens.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    server: Annotated[str | None, typer.Option("--server", envvar="OMNE_URL", help=(
        "Keep the memory in an `omne serve` server's store (key: $OMNE_API_KEY) instead of OUT/memory."))] = None,
) -> None:
    """Run (or resume) a responder on GAIA tasks and write results, submission, summary and report to --out."""
    import asyncio

    from benchmarks.gaia.runner import RunOptions, run_gaia
    from omne.llm import ModelConfig, load_model_config

    options = RunOptions(data=data, out=out, responder=responder, config=config, levels=level or [],
                         task_ids=task_id or [],
                         limit=limit, concurrency=concurrency, timeout_s=timeout, max_tokens=max_tokens or None,
                         max_tool_iterations=max_tool_iterations, memory=memory, retry_errors=retry_errors,
                         usd_per_mtok_in=price_in, usd_per_mtok_out=price_out, progress=progress,
                         server=server)
    model_config = load_model_config(config)
    if model:
        model_config = (model_config or ModelConfig()).model_copy(update={"model": model})
    try:
        result = asyncio.run(run_gaia(options, model_config))
    except KeyboardInterrupt:
        sys.stderr.write(f"omne: interrupted; finished tasks are kept in {out / 'results.jsonl'}: rerun the same "
                         "command to resume\n")
        raise SystemExit(130) from None
    by_level = ", ".join(f"L{k} {_pct(v)}" for k, v in result["by_level"].items() if v is not None)
    typer.echo(f"{result['n']} tasks, accuracy {_pct(result['accuracy'])} ({by_level or 'no scored tasks'}), "
               f"{result['errors']} errors; report: {out / 'report.md'}")


@app.command("score")
def score(
    data: Annotated[Path, typer.Option("--data", help="GAIA metadata.jsonl (or its folder) with answers.")],
    predictions: Annotated[Path, typer.Option("--predictions", help="submission.jsonl (task_id, model_answer).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the scores as JSON to this file.")] = None,
) -> None:
    """Score a leaderboard-format submission with GAIA's quasi-exact match."""
    from benchmarks.gaia.results_log import write_json_atomic
    from benchmarks.gaia.scoring import score_submission

    result, unknown = score_submission(data, predictions)
    if unknown:
        sys.stderr.write(f"omne: warning: {len(unknown)} prediction(s) for tasks not in the data were ignored, "
                         f"e.g. {unknown[0]}\n")
    if json_out is not None:
        write_json_atomic(json_out, result)
    correct = sum(t["correct"] for t in result["tasks"])
    by_level = ", ".join(f"L{k} {_pct(v)}" for k, v in result["by_level"].items() if v is not None)
    typer.echo(f"{correct}/{result['n']} correct, accuracy {_pct(result['accuracy'])} ({by_level})")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
