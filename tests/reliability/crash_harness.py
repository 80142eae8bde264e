"""Crash trials: SIGKILL a writing child at seeded random moments, reopen, and check the guarantees.

A trial runs `rounds` children one after another on the same store (so later kills can land in the
reconcile-on-open of an earlier crash), then verifies in this process:

- every acknowledged record (printed by the child after its call returned) is in the log, with the
  acknowledged updates and forgets applied;
- the indexes are reconciled: stats `vectors == records`, `pending_index == 0`, and a lexical search
  for a sample of acknowledged live records finds each one;
- construct mode: jobs left `running` by the killed worker are resumed after their lease expires,
  the queue drains with nothing failed, and each summary key has exactly one live summary whose
  leaves are exactly the session's live messages (done exactly once in effect).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from omne import MemoryCore, RecordKind
from omne.retrieval import RetrievalConfig
from tests.reliability.crash_child import LEASE_S, SCOPES

ROOT = Path(__file__).resolve().parents[2]
LEXICAL_ONLY = RetrievalConfig(mode="lexical")


@dataclass
class Acked:
    adds: dict[str, int] = field(default_factory=dict)  # record id -> scope index
    updates: list[tuple[int, str, str]] = field(default_factory=list)
    deletes: list[tuple[int, str]] = field(default_factory=list)
    jobs: int = 0

    def read(self, stdout: str) -> None:
        for line in stdout.splitlines(keepends=True):
            if not line.endswith("\n"):  # cut off by the kill: not acknowledged
                continue
            parts = line.split()
            if parts[0] == "ADD":
                self.adds.update((rid, int(parts[1])) for rid in parts[2:])
            elif parts[0] == "UPD":
                self.updates.append((int(parts[1]), parts[2], parts[3]))
                self.adds[parts[3]] = int(parts[1])
            elif parts[0] == "DEL":
                self.deletes.append((int(parts[1]), parts[2]))
            elif parts[0] == "JOB":
                self.jobs += 1


@dataclass
class TrialResult:
    seed: int
    mode: str
    acked_records: int
    acked_jobs: int
    killed_after_s: list[float]
    reindexed_on_open: int
    stale_leases_resumed: int
    jobs_done: int
    seconds: float


def _child(mode: str, store: Path, seed: int, acks: Path, flags: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.crash_child", mode, str(store), str(seed),
                             str(acks), *flags], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _kill_at_random(proc: subprocess.Popen, rng: random.Random, max_delay_s: float) -> float:
    """Wait for READY, run a random while, SIGKILL; returns the seconds it ran after READY."""
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if first.strip() != "READY":
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"child did not open the store: {first!r} {err[-3000:]}")
    delay = rng.uniform(0.0, max_delay_s)
    time.sleep(delay)
    if proc.poll() is not None:
        out, err = proc.communicate()
        raise AssertionError(f"child exited by itself (rc {proc.returncode}) before the kill: {err[-3000:]}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return delay


def _lagging(store: Path) -> int:
    """Records committed to the log whose index entries a crash left behind (what reopening must fix)."""
    path = store / "records.sqlite3"
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM records WHERE index_dirty = 1").fetchone()[0]
    finally:
        conn.close()


def run_trial(mode: str, seed: int, store: Path, embedder, *, rounds: int = 2, max_delay_s: float = 1.5,
              real_embedder: bool = False, docs: bool = False) -> TrialResult:
    """Kill `rounds` children on one store, then verify (raises AssertionError on a broken guarantee)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    flags = (["--real-embedder"] if real_embedder else []) + (["--docs"] if docs else [])
    acked = Acked()
    delays = []
    lagging = 0
    for round_ in range(rounds):
        lagging += _lagging(store)
        acks = store.parent / f"acks-{round_}.log"
        delay = _kill_at_random(_child(mode, store, seed * 10 + round_, acks, flags), rng, max_delay_s)
        acked.read(acks.read_text() if acks.exists() else "")
        delays.append(round(delay, 3))
    killed_at = time.monotonic()
    lagging += _lagging(store)
    result = asyncio.run(_verify(mode, store, embedder, acked, killed_at))
    result["reindexed_on_open"] = lagging
    return TrialResult(seed=seed, mode=mode, acked_records=len(acked.adds), acked_jobs=acked.jobs,
                       killed_after_s=delays, seconds=round(time.perf_counter() - started, 2), **result)


async def _verify(mode: str, store: Path, embedder, acked: Acked, killed_at: float) -> dict[str, int]:
    core = await MemoryCore.open(store, embedder=embedder)  # reconciles the index with the log
    try:
        stats = await core.stats()
        assert stats["vectors"] == stats["records"], f"index not reconciled on reopen: {stats}"
        assert stats["pending_index"] == 0, stats
        by_scope: dict[int, list[str]] = {}
        for rid, s in acked.adds.items():
            by_scope.setdefault(s, []).append(rid)
        found = {}
        for s, ids in by_scope.items():
            for record in await core.get_many(ids, scope=SCOPES[s], include_forgotten=True):
                found[record.id] = record
        missing = sorted(set(acked.adds) - set(found))
        assert not missing, f"{len(missing)} acknowledged record(s) lost, e.g. {missing[:3]}"
        for s, old, new in acked.updates:
            assert found[old].superseded_by == new, f"acknowledged update {old} -> {new} not in the log"
        for s, rid in acked.deletes:
            assert found[rid].deleted_at is not None, f"acknowledged forget of {rid} not in the log"
        await _search_finds_live(core, found)
        reindexed, resumed, done = 0, 0, 0
        if mode == "construct":
            resumed, done = await _drain_and_check_jobs(core, killed_at)
            stats = await core.stats()
            assert stats["vectors"] == stats["records"] and stats["pending_index"] == 0, stats
        return {"reindexed_on_open": reindexed, "stale_leases_resumed": resumed, "jobs_done": done}
    finally:
        await core.close()


async def _search_finds_live(core: MemoryCore, found: dict) -> None:
    live = [r for r in found.values() if r.live and r.text.startswith("tok")]
    for record in random.Random(len(live)).sample(live, min(8, len(live))):
        token = record.text.split()[0]
        # BM25 alone: the check is that the record is indexed, not how the hybrid read path ranks "tok1x5"
        # beside its near-identical neighbours "tok1x5y0".. (dense + contextual similarity can outrank one
        # exact BM25 match)
        hits = await core.search(token, scope=record.scope, top_k=5, config=LEXICAL_ONLY)
        assert record.id in {h.record.id for h in hits}, f"live acknowledged record {record.id} not searchable"


async def _drain_and_check_jobs(core: MemoryCore, killed_at: float) -> tuple[int, int]:
    from omne.construction import Backoff, Construction, ConstructionConfig, JobStatus

    config = ConstructionConfig(chunk_size=5, fan_in=3, backoff=Backoff(base_s=0.0))
    construction = await Construction.attach(core, None, config=config)
    try:
        stale = {j.id for j in await asyncio.to_thread(construction.queue.store.list, statuses=[JobStatus.RUNNING])}
        wait = LEASE_S + 0.1 - (time.monotonic() - killed_at)
        if stale and wait > 0:
            await asyncio.sleep(wait)  # the killed worker's lease must run out before another may take the job
        done = 0
        while True:
            report = await construction.process()
            done += report.count(JobStatus.DONE)
            if not report.outcomes:
                break
        counts = await asyncio.to_thread(construction.queue.store.counts)
        assert counts["running"] == 0 and counts["pending"] == 0, f"jobs not resumed: {counts}"
        assert counts["failed"] == 0, [j.reason for j in construction.queue.store.list(statuses=["failed"])]
        for job_id in stale:
            job = await asyncio.to_thread(construction.queue.store.get, job_id)
            assert job.status is JobStatus.DONE, job
            assert any("lease" in e.error for e in job.errors), job.errors
        await _summaries_exactly_once(core)
        return len(stale), done
    finally:
        await construction.close()


async def _summaries_exactly_once(core: MemoryCore) -> None:
    from omne.construction.summaries import parent_scope

    for scope in SCOPES:
        messages = {r.id for r in await core.list(scope=scope, kinds=[RecordKind.MESSAGE])}
        summaries = [r for r in await core.list(scope=parent_scope(scope), kinds=[RecordKind.SUMMARY])]
        keys = Counter((str(r.scope), r.metadata.get("summary_key")) for r in summaries)
        dupes = [k for k, n in keys.items() if n > 1]
        assert not dupes, f"a summary was written twice (live duplicates): {dupes}"
        if not messages:
            continue
        by_id = {r.id: r for r in summaries}
        top = [r for r in summaries if r.metadata.get("summary_key") == f"session:{scope}"]
        assert len(top) == 1, f"session {scope} has {len(top)} live summaries"

        def leaves(record_id: str) -> set[str]:
            node = by_id.get(record_id)
            if node is None:
                return {record_id}
            return set().union(*(leaves(s) for s in node.source_ids))

        assert leaves(top[0].id) == messages, f"summary of {scope} does not cover exactly its live messages"
