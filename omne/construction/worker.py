"""The background worker loop: plan and run construction jobs until stopped (or once), in its own process
(`omne worker`) or as a task beside a long-lived owner of the store (`omne serve --worker`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from autogen_core.models import ChatCompletionClient

from omne.construction.pipeline import Construction, ConstructionConfig, JobOutcome, ProcessReport
from omne.core import MemoryCore
from omne.types import utcnow

log = logging.getLogger("omne.construction")


async def run_worker(construction: Construction, *, once: bool = False, poll_s: float = 2.0,
                     stop: asyncio.Event | None = None, on_job: Callable[[JobOutcome], Any] | None = None,
                     ) -> ProcessReport:
    """Process ready jobs; with `once`, return when none is due; otherwise poll every `poll_s` seconds
    (sooner when a retry comes due) until `stop` is set (the job in hand finishes first). Returns the
    outcomes of every job run."""
    total = ProcessReport()
    stop = stop or asyncio.Event()
    while True:
        report = await construction.process(on_job=on_job, stop=stop)
        total.outcomes += report.outcomes
        total.counts, total.next_due = report.counts, report.next_due
        if once or stop.is_set():
            return total
        wait = poll_s
        if report.next_due is not None:
            wait = min(poll_s, max(0.0, (report.next_due - utcnow()).total_seconds()))
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(wait, 0.05))
        except TimeoutError:
            continue
        return total


@asynccontextmanager
async def worker_task(core: MemoryCore, client: ChatCompletionClient | None = None, *, poll_s: float = 2.0,
                      on_job: Callable[[JobOutcome], Any] | None = None, grace_s: float = 30.0,
                      config: ConstructionConfig | None = None) -> AsyncIterator[Construction]:
    """Attach construction to `core` and run `run_worker` as a task of this event loop while the block runs.

    On exit the worker claims no new job and the one in hand finishes; after `grace_s` it is cancelled (that
    job stays leased and the store's next worker retries it when the lease ends). The caller keeps `client`."""
    construction = await Construction.attach(core, client, config=config)
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(construction, poll_s=poll_s, stop=stop, on_job=on_job),
                               name="omne-construction-worker")
    task.add_done_callback(_report_crash)
    try:
        yield construction
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, grace_s)
        except TimeoutError:
            log.warning("construction worker stopped after %gs with a job unfinished; it is retried when its "
                        "lease ends", grace_s)
        except Exception:  # noqa: BLE001 - already logged by _report_crash; the store must still close
            pass
        await construction.close()


def _report_crash(task: asyncio.Task[ProcessReport]) -> None:
    """Log a worker task that died (its owner keeps serving, without construction, until restarted)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("construction worker stopped: %r; jobs wait for a restart", task.exception(),
                  exc_info=task.exception())
