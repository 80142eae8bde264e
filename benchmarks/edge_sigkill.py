"""Is an upsert into the embedded Qdrant Edge index durable against SIGKILL once `upsert` returned?

    python -m benchmarks.edge_sigkill --trials 8

Each trial runs two child processes in turn on one index directory; each upserts batches of 1-40 points (a
random dense vector and a unique BM25 token each) through EdgeVectorIndex and appends a batch's points to an
acknowledgement file only after `upsert` returned, until it is SIGKILLed at a random moment. The index is then
reopened here: every acknowledged point must be counted and found by a BM25 search for its token (top 5).
Prints one JSON line per trial and a summary line; exits 1 when an acknowledged point is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from omne.storage.protocols import IndexItem
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.types import Record, RecordKind, Scope

DIM = 16
ROOT = Path(__file__).resolve().parents[1]


def child(path: Path, seed: int, acks: Path) -> None:
    """Upsert until killed; one O_APPEND write per acknowledged batch: `id|user|token` for each point."""
    index = EdgeVectorIndex(path, DIM, auto_optimize_after=None)
    rng = np.random.default_rng(seed)
    out = os.open(acks, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    print("READY", flush=True)
    n = 0
    while True:
        n += 1
        batch = [IndexItem(record=Record(kind=RecordKind.FACT, scope=Scope(user=f"u{i % 5}"),
                                         text=f"tok{seed}x{n}y{i} river alpha budget."),
                           vector=rng.standard_normal(DIM).astype(np.float32)) for i in range(int(rng.integers(1, 41)))]
        index.upsert(batch)
        os.write(out, (" ".join(f"{b.record.id}|{b.record.scope.user}|{b.record.text.split()[0]}"
                                for b in batch) + "\n").encode())


def trial(number: int, rng: random.Random, max_delay_s: float) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="omne-edge-sigkill-"))
    try:
        acked: list[list[str]] = []
        for round_ in range(2):
            acks = tmp / f"acks-{round_}"
            proc = subprocess.Popen([sys.executable, "-m", "benchmarks.edge_sigkill", "--child", str(tmp / "vectors"),
                                     str(number * 10 + round_), str(acks)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
            assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
            time.sleep(rng.uniform(0.0, max_delay_s))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if acks.exists():
                acked += [point.split("|") for line in acks.read_text().splitlines(keepends=True)
                          if line.endswith("\n") for point in line.split()]
        index = EdgeVectorIndex(tmp / "vectors", DIM, auto_optimize_after=None)
        try:
            missing = [token for rid, user, token in acked if rid not in {
                hit.id for hit in index.search(Scope(user=user), None, dense=None, lexical=token,
                                               limit=5).get("lexical", [])}]
            return {"trial": number, "acknowledged": len(acked), "points": index.count(), "missing": len(missing)}
        finally:
            index.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=1.5)
    parser.add_argument("--child", nargs=3, metavar=("PATH", "SEED", "ACKS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), Path(args.child[2]))
        return
    rng = random.Random(args.seed)
    rows = [trial(n, rng, args.max_delay) for n in range(args.trials)]
    for row in rows:
        print(json.dumps(row), flush=True)
    lost = sum(int(str(row["missing"])) for row in rows)
    print(json.dumps({"trials": args.trials, "acknowledged": sum(int(str(r["acknowledged"])) for r in rows),
                      "missing": lost}), flush=True)
    raise SystemExit(1 if lost else 0)


if __name__ == "__main__":
    main()
