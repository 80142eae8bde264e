"""Time `migrate_storage` (what `omne memory migrate` runs) on a synthetic store: N records in 100 scopes with one
edge each, SQLite -> PostgreSQL -> SQLite, on a throwaway durable PostgreSQL cluster (default fsync settings).

    python -m benchmarks.migrate_perf --records 50000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.synthetic import synthetic_sentences
from omne.config import OmneConfig
from omne.storage import migrate_storage, open_storage
from omne.testing import throwaway_cluster
from omne.types import Edge, EdgeKind, Record, RecordKind, Scope


def _fill(store: Path, n: int) -> None:
    storage = open_storage(OmneConfig(store_dir=store))
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    try:
        texts = synthetic_sentences(n)
        for first in range(0, n, 1000):
            records = [Record(kind=RecordKind.FACT, scope=Scope(user=f"u{i % 100}"), text=texts[i],
                              created_at=start + timedelta(seconds=i)) for i in range(first, min(n, first + 1000))]
            edges = [Edge(scope=a.scope, src=a.id, dst=b.id, kind=EdgeKind.SIMILAR)
                     for a, b in zip(records, records[100:])]
            storage.records.insert(records, edges)
    finally:
        storage.close()


def _timed(source: OmneConfig, target: OmneConfig) -> dict[str, float]:
    src, dst = open_storage(source), open_storage(target)
    try:
        began = time.perf_counter()
        report = migrate_storage(src, dst)
        seconds = time.perf_counter() - began
    finally:
        src.close()
        dst.close()
    rows = sum(report.copied.values())
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster(durable=True) as cluster:
        source, back = Path(tmp) / "source", Path(tmp) / "back"
        _fill(source, args.records)
        pg = OmneConfig(database=cluster.create_schema("moved"))
        results = {"records": args.records,
                   "sqlite_to_postgres": _timed(OmneConfig(store_dir=source), pg),
                   "postgres_to_sqlite": _timed(pg, OmneConfig(store_dir=back))}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
