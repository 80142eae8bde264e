"""Concurrency: many asyncio tasks on one store lose nothing and leave the index equal to the log;
a second process on an embedded store gets StoreLockedError; read-only job inspection works beside
the owner."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from omne import MemoryCore, Record, RecordKind, Scope
from omne.errors import InvalidInputError
from omne.testing import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
SCOPES = [Scope(user="ann"), Scope(user="ann", session="s1"), Scope(user="bob")]


async def _worker(core: MemoryCore, seed: int, shared: list[tuple[str, Scope]], log: dict) -> None:
    rng = random.Random(seed)
    for n in range(40):
        roll = rng.random()
        if roll < 0.45 or not shared:
            scope = rng.choice(SCOPES)
            batch = [Record(kind=RecordKind.FACT, scope=scope, text=f"w{seed}n{n}i{i} garden river")
                     for i in range(rng.randint(1, 8))]
            stored = await core.add(batch)
            log["added"].update((r.id, r.scope) for r in stored)
            shared.extend((r.id, r.scope) for r in stored)
        elif roll < 0.7:
            rid, scope = rng.choice(shared)
            try:
                new = await core.update(rid, scope=scope, text=f"w{seed}n{n}u updated violin")
            except InvalidInputError:  # someone else updated or forgot it first: that is a clear refusal
                log["refused"] += 1
                continue
            log["updated"].append((rid, new.id))
            log["added"][new.id] = scope
            shared.append((new.id, scope))
        elif roll < 0.85:
            rid, scope = rng.choice(shared)
            await core.forget(rid, scope=scope)
            log["forgotten"].append((rid, scope))
        else:
            hits = await core.search(rng.choice(["garden", "violin", "river"]), scope=rng.choice(SCOPES), top_k=20)
            assert all(h.record.live for h in hits)
        await asyncio.sleep(0)


async def test_concurrent_tasks_lose_no_write_and_keep_index_equal_to_log(tmp_path):
    core = await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder())
    try:
        log = {"added": {}, "updated": [], "forgotten": [], "refused": 0}
        shared: list[tuple[str, Scope]] = []
        await asyncio.gather(*(_worker(core, seed, shared, log) for seed in range(8)))
        stats = await core.stats()  # no extra reconcile: the live process itself must be consistent
        assert stats["pending_index"] == 0, stats
        assert stats["vectors"] == stats["records"], stats
        everything = {}
        for scope in SCOPES:
            everything.update((r.id, r) for r in await core.list(scope=scope, include_history=True))
        assert set(log["added"]) <= set(everything), "an acknowledged add is missing"
        for old, new in log["updated"]:
            assert everything[old].superseded_by == new
        for rid, _ in log["forgotten"]:
            assert everything[rid].deleted_at is not None
        # one lineage never has two live versions (no forked updates)
        for record in everything.values():
            if record.live:
                versions = await core.history(record.id, scope=record.scope)
                assert sum(v.live for v in versions) == 1, [(v.id, v.version, v.live) for v in versions]
        assert len(log["updated"]) > 10 and len(log["forgotten"]) > 5
    finally:
        await core.close()


async def test_concurrent_updates_of_one_record_never_fork_it(tmp_path):
    core = await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder())
    try:
        scope = Scope(user="ann")
        for round_ in range(10):
            rec = await core.remember(f"round {round_} original", scope=scope)
            results = await asyncio.gather(*(core.update(rec.id, scope=scope, text=f"round {round_} edit {i}")
                                             for i in range(4)), return_exceptions=True)
            won = [r for r in results if isinstance(r, Record)]
            lost = [r for r in results if not isinstance(r, Record)]
            assert len(won) == 1, f"{len(won)} concurrent updates of one version all succeeded: {results}"
            assert all(isinstance(e, InvalidInputError) and "superseded" in str(e) for e in lost), lost
            versions = await core.history(rec.id, scope=scope)
            assert [v.live for v in versions] == [False, True]
        stats = await core.stats()
        assert stats["vectors"] == stats["records"] == 10 and stats["pending_index"] == 0
    finally:
        await core.close()


def _python(code: str, store: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(store)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


OWNER = """
    import asyncio, sys
    from omne import MemoryCore, Scope
    from omne.construction import Construction
    from omne.testing import HashEmbedder
    async def main():
        core = await MemoryCore.open(sys.argv[1], embedder=HashEmbedder())
        await Construction.attach(core, None)
        await core.remember("owned by the first process", scope=Scope(user="ann", session="s"), kind="message",
                            role="user")
        print("OPEN", flush=True)
        sys.stdin.readline()  # hold the store until the test says so
        await core.close()
    asyncio.run(main())
"""


def test_second_process_gets_a_clear_lock_error_and_jobs_can_be_read_beside_the_owner(tmp_path, omne_cli):
    store = tmp_path / "store"
    owner = _python(OWNER, store, stdin=subprocess.PIPE)
    try:
        assert owner.stdout.readline().strip() == "OPEN", owner.stderr.read()
        second = _python("""
            import asyncio, sys
            from omne import MemoryCore
            from omne.errors import StoreLockedError
            from omne.testing import HashEmbedder
            try:
                asyncio.run(MemoryCore.open(sys.argv[1], embedder=HashEmbedder()))
            except StoreLockedError as exc:
                print("LOCKED", exc)
        """, store)
        out, err = second.communicate(timeout=120)
        assert out.startswith("LOCKED"), (out, err)
        assert "open in another process" in out and "Qdrant server" in out
        cli = omne_cli("memory", "stats", "--store", str(store))  # the CLI: one line, no traceback
        assert cli.returncode == 1
        assert cli.stderr.count("\n") == 1 and "open in another process" in cli.stderr, cli.stderr
        jobs = omne_cli("memory", "jobs", "--store", str(store), "--json")  # SQLite only: works beside the owner
        assert jobs.returncode == 0, jobs.stderr
        assert '"summarise_session' in jobs.stdout
    finally:
        started = time.monotonic()
        owner.stdin.write("\n")
        owner.stdin.flush()
        owner.wait(timeout=60)
        assert time.monotonic() - started < 60
    assert owner.returncode == 0, owner.stderr.read()
    reopened = _python("""
        import asyncio, sys
        from omne import MemoryCore, Scope
        from omne.testing import HashEmbedder
        async def main():
            core = await MemoryCore.open(sys.argv[1], embedder=HashEmbedder())
            print(len(await core.list(scope=Scope(user="ann"))))
            await core.close()
        asyncio.run(main())
    """, store)
    out, err = reopened.communicate(timeout=120)
    assert out.strip() == "1", err  # once the owner is gone, the next process owns the store
