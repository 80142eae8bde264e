"""The storage seam: each backend class implements exactly its protocol (nothing reachable only by getattr),
one store opens one database connection, and the job store's cursors over the log behave (on both backends)."""

from __future__ import annotations

import inspect
import sqlite3
from datetime import datetime, timezone

import pytest

from omne.config import OmneConfig
from omne.core import MemoryCore
from omne.storage import JobSpec, JobStore, KeyStore, RecordStore, SQLiteStorage, Storage, open_storage
from omne.storage.protocols import StoreDump
from omne.storage.sqlite_dump import SQLiteDump
from omne.storage.sqlite_jobs import SQLiteJobStore
from omne.storage.sql_keys import SQLKeyStore
from omne.storage.sqlite_store import SQLiteRecordStore
from omne.storage.postgres_dump import PostgresDump
from omne.storage.postgres_jobs import PostgresJobStore
from omne.storage.postgres_storage import PostgresStorage
from omne.storage.postgres_store import PostgresRecordStore
from omne.testing import HashEmbedder
from omne.types import Record, RecordKind, Scope

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _members(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls) if not name.startswith("_")}


@pytest.mark.parametrize(("protocol", "implementation"), [
    (RecordStore, SQLiteRecordStore), (JobStore, SQLiteJobStore), (KeyStore, SQLKeyStore),
    (Storage, SQLiteStorage), (RecordStore, PostgresRecordStore), (JobStore, PostgresJobStore),
    (Storage, PostgresStorage), (StoreDump, SQLiteDump), (StoreDump, PostgresDump),
])
def test_each_backend_class_implements_exactly_its_protocol(protocol: type, implementation: type) -> None:
    """A public method missing from the protocol is one a caller reaches around it for (core used
    count_by_kind, upsert_raw and, through getattr, edge_stamp): another backend would not have it."""
    assert _members(implementation) == _members(protocol)


@pytest.mark.sqlite_only  # PostgreSQL: one pool per store, shared the same way (PostgresStorage)
def test_one_store_opens_one_database_connection(tmp_path, monkeypatch) -> None:
    """Records, jobs and keys share the store's one connection (jobs used to open their own, per call)."""
    opened: list[object] = []
    real_connect = sqlite3.connect

    def counting_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        opened.append(args[0])
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", counting_connect)

    async def run() -> None:
        core = await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder())
        try:
            await core.remember("the kettle is blue", scope=Scope(user="ana"))
            assert await core.jobs() == []
            assert (await core.job_counts())["pending"] == 0
            assert await core.retry_failed_jobs() == 0
        finally:
            await core.close()

    import asyncio

    asyncio.run(run())
    assert len(opened) == 1


def test_cursors_over_the_log(tmp_path) -> None:
    storage = open_storage(OmneConfig.from_env(tmp_path / "store"))
    try:
        ana = Scope(user="ana", session="s1")
        storage.records.insert([Record(kind=RecordKind.FACT, scope=ana, text=f"fact {i}") for i in range(3)])
        entries = storage.jobs.records_after(0)
        assert [e.scope for e in entries] == [ana] * 3 and [e.seq for e in entries] == sorted(e.seq for e in entries)
        assert storage.jobs.records_after(entries[0].seq, limit=1)[0].id == entries[1].id
        storage.jobs.skip_to_end("fresh")
        assert storage.jobs.cursor("fresh") == entries[-1].seq  # a new cursor starts at the end of the log
        storage.jobs.advance("old", 1)
        storage.jobs.skip_to_end("old")  # an existing cursor stays where it is
        storage.jobs.advance("old", 0)  # and never moves back
        assert storage.jobs.cursor("old") == 1 and storage.jobs.cursor("new") == 0
    finally:
        storage.close()


def test_jobs_and_records_of_one_storage_share_the_scope_partition(tmp_path) -> None:
    storage = open_storage(OmneConfig.from_env(tmp_path / "store"))
    try:
        jobs = storage.jobs
        jobs.enqueue([JobSpec(key="a", kind="k", scope=Scope(user="ana", session="s1")),
                      JobSpec(key="b", kind="k", scope=Scope(user="bob"))], now=NOW, max_attempts=2)
        assert [j.key for j in jobs.list(scope=Scope(user="ana"))] == ["a"]
        assert jobs.counts(scope=Scope(session="s1"))["pending"] == 1
        assert jobs.counts()["pending"] == 2
        assert jobs.next_due() == NOW
    finally:
        storage.close()


@pytest.mark.sqlite_only  # the SQLite file itself
def test_a_sqlite_store_opens_under_new_folders_waits_for_other_writers_and_keeps_its_disk_reserve(tmp_path) -> None:
    """Mutants caught: `open_database` creating only the last folder (`parents=` dropped or False), its 30 s wait
    for another process's write lock (`timeout=`) dropped or changed, and `SQLiteStorage` not passing
    `min_free_bytes` on (its writes then kept the default reserve, not the store's)."""
    from omne.errors import StorageError
    from omne.storage import SQLiteStorage

    storage = SQLiteStorage(tmp_path / "new" / "deeper" / "records.sqlite3", min_free_bytes=2**62)
    try:
        assert storage._db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        with pytest.raises(StorageError, match="MiB Omne keeps in reserve; nothing was written"):
            storage.records.insert([Record(kind=RecordKind.FACT, scope=Scope(user="ana"), text="too big a disk")])
    finally:
        storage.close()


@pytest.mark.sqlite_only  # SQLite's own refusals
def test_refused_record_writes_and_undecodable_lookups_say_so_exactly(tmp_path) -> None:
    """Mutants caught: the record store's refusals (`transaction`'s `what` default and both messages) and
    `query`'s message for an argument that is not valid UTF-8, each dropped or changed."""
    from omne.errors import InvalidInputError, StorageError
    from omne.storage import SQLiteStorage
    from omne.types import Edge, EdgeKind

    ana = Scope(user="ana")
    storage = SQLiteStorage(tmp_path / "records.sqlite3", min_free_bytes=0)
    try:
        a, b = (Record(kind=RecordKind.FACT, scope=ana, text=t) for t in ("a", "b"))
        storage.records.insert([a, b], [Edge(id="e1", scope=ana, src=a.id, dst=b.id, kind=EdgeKind.RELATES)])
        with pytest.raises(StorageError) as rejected:  # another edge under a taken edge id
            storage.records.add_edges([Edge(id="e1", scope=ana, src=b.id, dst=a.id, kind=EdgeKind.RELATES)])
        assert str(rejected.value) == "write rejected by the record store: UNIQUE constraint failed: edges.id"
        with pytest.raises(InvalidInputError) as undecodable:
            storage.records.get_many(["\udcff"], ana)
        assert str(undecodable.value) == "a lookup argument is not valid UTF-8 (it holds undecodable bytes)"
        storage._db.conn.execute("PRAGMA query_only = ON")  # SQLite itself refuses every write now
        with pytest.raises(StorageError) as refused:
            storage.records.mark_clean([a.id])
        assert str(refused.value) == (
            "the record store could not be written (attempt to write a readonly database); nothing was saved. "
            "Check free disk space and write permission on the store directory.")
    finally:
        storage.close()
