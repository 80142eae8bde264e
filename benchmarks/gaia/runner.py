"""Run GAIA tasks with a solver: bounded concurrency, per-task timeout and budget, resume, memory."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from benchmarks.gaia.loader import load_tasks
from benchmarks.gaia.memory import ExperienceMemory, load_trajectory
from benchmarks.gaia.models import GaiaTask, SolverResult, TaskResult
from benchmarks.gaia.report import write_outputs
from benchmarks.gaia.resolve import SolverFactory, resolve_responder
from benchmarks.gaia.results_log import ResultsLog, write_json_atomic
from benchmarks.gaia.scorer import score_answer
from benchmarks.gaia.solver import SolverSettings, TaskSolver
from omne.errors import BackendUnavailableError, InvalidInputError
from omne.llm import ModelConfig

log = logging.getLogger("omne.gaia")

# Errors that say the endpoint will refuse every task (the openai SDK's names): the run stops instead.
FATAL_ERRORS = {"AuthenticationError", "PermissionDeniedError"}


class RunOptions(BaseModel):
    """Everything `omne bench gaia run` takes."""

    model_config = ConfigDict(extra="forbid")

    data: Path
    out: Path
    responder: str = "assistant"
    config: Path | None = None  # the --config file (model; `responder:` settings for simple / reactive)
    levels: list[int] = Field(default_factory=list)
    task_ids: list[str] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1)
    concurrency: int = Field(default=4, ge=1, le=256)
    timeout_s: float = Field(default=600.0, gt=0)
    max_tokens: int | None = Field(default=200_000, ge=1)  # per task
    max_tool_iterations: int = Field(default=8, ge=1)
    memory: bool = True
    retry_errors: bool = False
    usd_per_mtok_in: float | None = Field(default=None, ge=0)
    usd_per_mtok_out: float | None = Field(default=None, ge=0)
    progress: bool = True
    server: str | None = None  # keep the memory in this `omne serve` server's store, not in OUT/memory


def _safe_name(task_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", task_id)[:150] or "task"


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class GaiaRun:
    """One run directory. `await GaiaRun(options, model).run()` returns summary.json's content."""

    def __init__(self, options: RunOptions, model: ModelConfig | None, factory: SolverFactory | None = None) -> None:
        self.options = options
        self.model = model
        self.factory = factory or resolve_responder(options.responder)
        self.out = options.out
        self.log = ResultsLog(self.out / "results.jsonl")
        self.memory: ExperienceMemory | None = None
        self._bar: Any = None
        self._done: dict[str, TaskResult] = {}

    # -- set-up ---------------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {"responder": self.options.responder, "model": self.model.model if self.model else None,
                "base_url": (self.model.base_url if self.model else None) or "default",
                "data": str(self.options.data), "memory": self.options.memory,
                "concurrency": self.options.concurrency, "timeout_s": self.options.timeout_s,
                "max_tokens_per_task": self.options.max_tokens}

    def _check_run_dir(self) -> None:
        path = self.out / "run.json"
        meta = self._meta()
        if path.exists():
            before = json.loads(path.read_text(encoding="utf-8"))
            for key in ("responder", "model", "memory"):
                if before.get(key) != meta[key]:
                    raise InvalidInputError(f"{self.out} holds a run with {key}={before.get(key)!r}, not "
                                            f"{meta[key]!r}; resume with the same settings or use a fresh --out")
        write_json_atomic(path, {**meta, "updated_at": datetime.now(timezone.utc).isoformat()})

    async def _open_memory(self) -> None:
        self.memory = await ExperienceMemory.open(self.out / "memory", server=self.options.server)
        known = await self.memory.remembered_tasks()
        for task_id, result in self._done.items():  # a run killed between the result and its memory write
            if task_id not in known:
                trajectory = load_trajectory(self.out / "trajectories" / f"{_safe_name(task_id)}.json")
                await self.memory.record(result, trajectory)

    # -- one task -------------------------------------------------------------------------
    def _cost(self, result: SolverResult) -> float | None:
        if result.cost is not None:
            return result.cost
        pin, pout = self.options.usd_per_mtok_in, self.options.usd_per_mtok_out
        if pin is None and pout is None:
            return None
        return (result.prompt_tokens * (pin or 0.0) + result.completion_tokens * (pout or 0.0)) / 1e6

    async def _solve(self, solver: TaskSolver, task: GaiaTask) -> tuple[SolverResult | None, str | None]:
        try:
            result = await asyncio.wait_for(solver.solve(task, task.attachment_paths()), self.options.timeout_s)
        except TimeoutError:
            return None, f"timed out after {self.options.timeout_s:g} s"
        except Exception as exc:  # noqa: BLE001 - a failing task is recorded and the run goes on
            if type(exc).__name__ in FATAL_ERRORS:  # every other task would fail the same way: stop now
                raise BackendUnavailableError(f"the model endpoint refused the run ({_error_text(exc)}); check "
                                              "OPENAI_API_KEY / the model config, then rerun to resume") from None
            partial = getattr(exc, "partial_result", None)  # usage up to the failure, when the solver knows it
            return (partial if isinstance(partial, SolverResult) else None), _error_text(exc)
        if not isinstance(result, SolverResult):
            return None, f"solver returned {type(result).__name__}, not a SolverResult"
        return result, None

    async def _run_task(self, solver: TaskSolver, task: GaiaTask, slots: asyncio.Semaphore) -> None:
        async with slots:
            notes = await self.memory.recall(task.question) if self.memory else []
            started = time.monotonic()
            solved, error = await self._solve(solver, task.model_copy(update={"experience": notes}))
            seconds = time.monotonic() - started
        solved = solved or SolverResult(answer=None)
        correct = None if task.final_answer is None else (error is None and score_answer(solved.answer, task.final_answer))
        result = TaskResult(task_id=task.task_id, level=task.level, question=task.question, answer=solved.answer,
                            gold=task.final_answer, correct=correct, steps=solved.steps,
                            prompt_tokens=solved.prompt_tokens, completion_tokens=solved.completion_tokens,
                            tokens=solved.prompt_tokens + solved.completion_tokens, cost=self._cost(solved),
                            seconds=round(seconds, 3), error=error, reasoning=solved.text,
                            finished_at=datetime.now(timezone.utc).isoformat())
        write_json_atomic(self.out / "trajectories" / f"{_safe_name(task.task_id)}.json",
                          {"task_id": task.task_id, "question": task.question, "experience": notes,
                           "answer": solved.answer, "error": error, "final_text": solved.text,
                           "trajectory": solved.trajectory})
        self.log.append(result)  # the truth: once this returns, the task is never redone
        self._done[task.task_id] = result
        self._tick()
        if self.memory is not None:
            try:
                await self.memory.record(result, solved.trajectory)
            except Exception as exc:  # noqa: BLE001 - the result is safe; memory is a help, not the record
                log.warning("could not store the experience of task %s: %s", task.task_id, _error_text(exc))

    # -- progress -------------------------------------------------------------------------
    def _tick(self) -> None:
        if self._bar is None:
            return
        scored = [r for r in self._done.values() if r.correct is not None]
        errors = sum(1 for r in self._done.values() if r.error)
        postfix = {"acc": f"{sum(r.correct for r in scored)}/{len(scored)}" if scored else "n/a", "err": errors}
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    # -- the run --------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        if self.model is None and self.options.responder in ("assistant", "simple", "reactive"):
            SolverSettings().client()  # raises ModelNotConfiguredError naming the fix, before any work
        tasks = load_tasks(self.options.data, levels=self.options.levels, task_ids=self.options.task_ids,
                           limit=self.options.limit)
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_run_dir()
        self._done = self.log.load()
        pending = [t for t in tasks if t.task_id not in self._done
                   or (self.options.retry_errors and self._done[t.task_id].error)]
        settings = SolverSettings(model=self.model, max_tokens_per_task=self.options.max_tokens,
                                  max_tool_iterations=self.options.max_tool_iterations, work_dir=self.out / "work",
                                  config_path=self.options.config)
        try:
            if self.options.memory:
                await self._open_memory()
                assert self.memory is not None
                settings.memory, settings.memory_scope = self.memory.core, self.memory.scope
            solver = self.factory(settings)
            if pending:
                await self._run_pending(solver, tasks, pending)
        finally:
            await settings.close()
            if self.memory is not None:
                await self.memory.close()
        results = [self._done[t.task_id] for t in tasks if t.task_id in self._done]
        results += [r for key, r in self._done.items() if key not in {t.task_id for t in tasks}]
        return write_outputs(self.out, results, self._meta())

    async def _run_pending(self, solver: TaskSolver, tasks: list[GaiaTask], pending: list[GaiaTask]) -> None:
        from tqdm import tqdm

        if self.options.progress:
            self._bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc="GAIA", unit="task",
                             file=sys.stderr, dynamic_ncols=True)
        slots = asyncio.Semaphore(self.options.concurrency)
        try:
            jobs = [asyncio.create_task(self._run_task(solver, task, slots), name=task.task_id) for task in pending]
            try:
                await asyncio.gather(*jobs)
            except BaseException:
                for job in jobs:
                    job.cancel()
                await asyncio.gather(*jobs, return_exceptions=True)
                raise
        finally:
            if self._bar is not None:
                self._bar.close()


async def run_gaia(options: RunOptions, model: ModelConfig | None, factory: SolverFactory | None = None
                   ) -> dict[str, Any]:
    """Run (or resume) a GAIA run; returns summary.json's content."""
    return await GaiaRun(options, model, factory).run()

