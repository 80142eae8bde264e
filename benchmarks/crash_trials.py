"""Crash trials at scale: SIGKILL writers and construction workers at seeded random moments.

    python -m benchmarks.crash_trials --trials 24                 # hashing test embedder (fast)
    python -m benchmarks.crash_trials --trials 4 --real-embedder  # all-MiniLM-L6-v2 in child and check

Each trial kills two children in turn on one store, then checks every guarantee (see
tests/reliability/crash_harness.py). Prints one JSON line per trial and a summary line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from tests.reliability.crash_harness import run_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--real-embedder", action="store_true")
    parser.add_argument("--max-delay", type=float, default=1.5, help="kill within this many seconds of READY")
    args = parser.parse_args()
    if args.real_embedder:
        from omne.embedding import MiniLMEmbedder

        embedder = MiniLMEmbedder.shared()
    else:
        from omne.testing import HashEmbedder

        embedder = HashEmbedder()
    # cycle: plain writes, writes with document ingest, construction jobs
    plan = [("write", False), ("write", True), ("construct", False)]
    failures, started = 0, time.perf_counter()
    totals = {"acked_records": 0, "acked_jobs": 0, "reindexed_on_open": 0, "stale_leases_resumed": 0, "kills": 0}
    for i in range(args.trials):
        mode, docs = plan[i % len(plan)]
        with tempfile.TemporaryDirectory() as tmp:
            try:
                result = run_trial(mode, args.seed + i, Path(tmp) / "store", embedder, docs=docs,
                                   real_embedder=args.real_embedder, max_delay_s=args.max_delay)
            except Exception as exc:  # noqa: BLE001 - a broken guarantee; keep the evidence
                failures += 1
                kept = Path(tempfile.gettempdir()) / f"omne-crash-failure-{args.seed + i}"
                shutil.copytree(tmp, kept, dirs_exist_ok=True)
                print(json.dumps({"seed": args.seed + i, "mode": mode, "docs": docs, "kept": str(kept),
                                  "FAILED": f"{type(exc).__name__}: {exc}"}), flush=True)
                continue
        row = asdict(result) | {"docs": docs}
        for key in ("acked_records", "acked_jobs", "reindexed_on_open", "stale_leases_resumed"):
            totals[key] += row[key]
        totals["kills"] += len(result.killed_after_s)
        print(json.dumps(row), flush=True)
    print(json.dumps({"trials": args.trials, "failures": failures, "embedder": embedder.name, **totals,
                      "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
