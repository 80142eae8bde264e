"""Storage faults: a full disk and a read-only store give a clear StorageError, never a crash or a
corrupt store; once space is freed (or the store is writable again) it opens with every acknowledged
record and its index reconciled.

The full disk is a tiny tmpfs (mounted here: these tests run as root in CI containers; elsewhere the
read-only case falls back to chmod). The embedded vector index memory-maps its files, and a write into a
mapping on a full filesystem kills the process with SIGBUS, so the filling runs in a child process: a
crash shows up as a failed test, not a dead test session.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest

from omne import MemoryCore, Record, RecordKind, Scope
from omne.config import LimitsConfig, OmneConfig
from omne.errors import StorageError
from omne.testing import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
SCOPE = Scope(user="disk")


@contextmanager
def tmpfs(path: Path, size: str):
    """A tmpfs of `size` at `path`; yields False (and mounts nothing) where mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    try:
        yield done.returncode == 0
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(path)], check=True)


def remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)


FILL = """
    import asyncio, json, sys
    from omne import MemoryCore, Record, RecordKind, Scope
    from omne.config import LimitsConfig, OmneConfig
    from omne.errors import StorageError
    from omne.testing import HashEmbedder
    async def main():
        config = OmneConfig(store_dir=sys.argv[1], limits=LimitsConfig(min_free_bytes=int(sys.argv[2])))
        core = await MemoryCore.open(config=config, embedder=HashEmbedder())
        scope, acked, error = Scope(user="disk"), [], None
        for i in range(100_000):
            try:
                stored = await core.add([Record(kind=RecordKind.FACT, scope=scope, text=f"r{i}x{j} " + "lorem " * 40)
                                         for j in range(50)])
            except StorageError as exc:
                error = str(exc)
                break
            acked += [r.id for r in stored]
        try:  # reads still work on a full disk; writes keep being refused
            hits = len(await core.search("lorem", scope=scope, top_k=5))
            await core.remember("one more", scope=scope)
            again = None
        except StorageError as exc:
            again = str(exc)
        await core.close()
        print(json.dumps({"acked": acked, "error": error, "hits": hits, "again": again}))
    asyncio.run(main())
"""


def _child(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


async def _reopened_has(store: Path, acked: list[str]) -> dict:
    core = await MemoryCore.open(store, embedder=HashEmbedder())
    try:
        stats = await core.stats()
        assert stats["vectors"] == stats["records"] and stats["pending_index"] == 0, stats
        found = await core.get_many(acked, scope=SCOPE)
        assert len(found) == len(acked), f"{len(acked) - len(found)} acknowledged records lost"
        return stats
    finally:
        await core.close()


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
def test_a_full_disk_refuses_writes_clearly_and_loses_nothing(tmp_path):
    mnt = tmp_path / "mnt"
    with tmpfs(mnt, "80m") as mounted:
        assert mounted, "mounting a tmpfs needs root; the SQLITE_FULL test below covers the log without it"
        store = mnt / "store"
        done = _child(FILL, str(store), str(36 * 2**20))
        assert done.returncode == 0, f"the writer died (rc {done.returncode}): {done.stderr[-2000:]}"
        out = json.loads(done.stdout.splitlines()[-1])
        assert out["error"] and "MiB free" in out["error"] and "Free some space" in out["error"], out["error"]
        assert out["again"] and "MiB free" in out["again"]
        assert out["hits"] == 5 and len(out["acked"]) > 1000
        assert _integrity(store / "records.sqlite3") == "ok"
        remount(mnt, "size=512m")  # space freed
        asyncio.run(_reopened_has(store, out["acked"]))


async def test_sqlite_full_is_a_storage_error_and_rolls_back(tmp_path):
    """SQLITE_FULL (forced with max_page_count, no free-space reserve): a clean error, nothing half-written."""
    config = OmneConfig(store_dir=tmp_path / "store", limits=LimitsConfig(min_free_bytes=0))
    core = await MemoryCore.open(config=config, embedder=HashEmbedder())
    acked: list[str] = []
    try:
        pages = core._storage._db.conn.execute("PRAGMA page_count").fetchone()[0]
        core._storage._db.conn.execute(f"PRAGMA max_page_count = {pages + 40}")
        with pytest.raises(StorageError, match="free disk space") as refused:
            for i in range(1000):
                before = await core.stats()
                stored = await core.add([Record(kind=RecordKind.FACT, scope=SCOPE, text=f"r{i}x{j} " + "ipsum " * 30)
                                         for j in range(20)])
                acked += [r.id for r in stored]
        assert "nothing was saved" in str(refused.value)
        assert await core.stats() == before, "a refused batch left something behind"
    finally:
        await core.close()
    assert len(acked) >= 20
    assert _integrity(tmp_path / "store" / "records.sqlite3") == "ok"
    await _reopened_has(tmp_path / "store", acked)


@pytest.mark.slow
def test_a_read_only_store_gives_a_clear_error_then_opens_when_writable(tmp_path, omne_cli):
    mnt = tmp_path / "mnt"
    with tmpfs(mnt, "128m") as mounted:
        store = mnt / "store"

        async def fill() -> list[str]:
            async with await MemoryCore.open(store, embedder=HashEmbedder()) as core:
                return [r.id for r in await core.add([Record(kind=RecordKind.FACT, scope=SCOPE, text=f"fact {i}")
                                                      for i in range(200)])]
        acked = asyncio.run(fill())
        if mounted:
            remount(mnt, "ro")
        else:  # without root: a read-only directory tree
            for path in [store, *store.rglob("*")]:
                path.chmod(0o555 if path.is_dir() else 0o444)

        async def open_read_only() -> str:
            with pytest.raises(StorageError) as refused:
                await MemoryCore.open(store, embedder=HashEmbedder())
            return str(refused.value)
        message = asyncio.run(open_read_only())
        assert str(store) in message and "writable" in message, message
        cli = omne_cli("memory", "stats", "--store", str(store))
        assert cli.returncode == 1 and cli.stderr.count("\n") == 1 and "Traceback" not in cli.stderr, cli.stderr
        assert cli.stderr.startswith("omne: error: cannot open"), cli.stderr

        if mounted:
            remount(mnt, "rw")
        else:
            for path in [store, *store.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
        stats = asyncio.run(_reopened_has(store, acked))
        assert stats["records"] == 200
