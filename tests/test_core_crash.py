"""SIGKILL during a 5,000-record ingest loses no acknowledged record; reopening reconciles vectors == records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from omne import MemoryCore, Scope

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = textwrap.dedent("""
    import asyncio, sys
    from omne import MemoryCore, Record, RecordKind, Scope

    async def main(store):
        core = await MemoryCore.open(store)  # the real MiniLM embedder
        scope = Scope(user="crash")
        print("ready", flush=True)
        for start in range(0, 5000, 50):
            batch = [Record(kind=RecordKind.MESSAGE, scope=scope, role="user",
                            text=f"ingest line {i}: the parcel for flat {i % 97} arrived on day {i % 31}")
                     for i in range(start, start + 50)]
            stored = await core.add(batch)
            sys.stdout.write("".join(f"{r.id}\\n" for r in stored))  # acknowledged only after add returned
            sys.stdout.flush()

    asyncio.run(main(sys.argv[1]))
""")


@pytest.mark.subprocess
async def test_sigkill_during_ingest_loses_no_acknowledged_record(tmp_path, embedder):
    store = tmp_path / "store"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(store)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": ROOT})
    acknowledged: list[str] = []
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 240
        while len(acknowledged) < 400 and time.monotonic() < deadline:  # kill mid-ingest, between or inside adds
            line = child.stdout.readline()
            assert line, "the ingest child died on its own"
            acknowledged.append(line.strip())
        time.sleep(0.05 * (len(acknowledged) % 7))
        child.send_signal(signal.SIGKILL)
        acknowledged += [line.strip() for line in child.stdout]  # ids printed before the kill landed
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert 400 <= len(acknowledged) < 5000

    core = await MemoryCore.open(store, embedder=embedder)
    try:
        scope = Scope(user="crash")
        found = await core.get_many(acknowledged, scope=scope)
        assert [r.id for r in found] == acknowledged  # every acknowledged record survived
        stats = await core.stats()
        assert stats["vectors"] == stats["records"] >= len(acknowledged)
        assert stats["pending_index"] == 0
        hits = await core.search("parcel for flat 12", scope=scope, top_k=3)
        assert hits and all("parcel" in h.record.text for h in hits)
    finally:
        await core.close()
