"""Crash trials at scale: SIGKILL writers and construction workers at seeded random moments.

    python -m benchmarks.crash_trials --trials 24                 # hashing test embedder (fast)
    python -m benchmarks.crash_trials --trials 4 --real-embedder  # all-MiniLM-L6-v2 in child and check
    python -m benchmarks.crash_trials --trials 24 --postgres      # the record log on a throwaway PostgreSQL
                                                                  # cluster (a fresh schema per trial)

Each trial kills two children in turn on one store, then checks every guarantee (see
tests/reliability/crash_harness.py). Prints one JSON line per trial and a summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

from omne.testing import PostgresCluster, throwaway_cluster
from tests.reliability.crash_harness import run_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--real-embedder", action="store_true")
    parser.add_argument("--max-delay", type=float, default=1.5, help="kill within this many seconds of READY")
    parser.add_argument("--postgres", action="store_true", help="records on a throwaway PostgreSQL cluster")
    parser.add_argument("--modes", default="write,write+docs,construct",
                        help="the trials cycle through these (write, write+docs, construct)")
    args = parser.parse_args()
    with ExitStack() as stack:
        cluster = stack.enter_context(throwaway_cluster(install=True)) if args.postgres else None
        raise SystemExit(1 if run(args, cluster) else 0)


def run(args: argparse.Namespace, cluster: PostgresCluster | None) -> int:
    """Run the trials; returns how many failed."""
    if args.real_embedder:
        from omne.embedding import MiniLMEmbedder

        embedder = MiniLMEmbedder.shared()
    else:
        from omne.testing import HashEmbedder

        embedder = HashEmbedder()
    plan = [(mode.removesuffix("+docs"), mode.endswith("+docs")) for mode in args.modes.split(",")]
    failures, started = 0, time.perf_counter()
    totals = {"acked_records": 0, "acked_jobs": 0, "reindexed_on_open": 0, "stale_leases_resumed": 0, "kills": 0}
    for i in range(args.trials):
        mode, docs = plan[i % len(plan)]
        if cluster is not None:  # children inherit it; the check opens the store with it too
            os.environ["OMNE_DATABASE_URL"] = cluster.create_schema(f"trial_{args.seed + i}")
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
    print(json.dumps({"trials": args.trials, "failures": failures, "embedder": embedder.name,
                      "records": "postgres" if cluster else "sqlite", **totals,
                      "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    return failures


if __name__ == "__main__":
    main()
