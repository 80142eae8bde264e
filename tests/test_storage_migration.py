"""`omne memory migrate`: a store moved SQLite -> PostgreSQL -> SQLite keeps every table (byte-identical export,
history, edges, blocks, context state, jobs and cursors, API keys); an interrupted migration resumes to the same
result; a second complete run changes nothing; a target holding anything else is refused, naming the fix."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from omne.agents.blocks import BlockSpec, CoreMemory
from omne.config import OmneConfig
from omne.core import MemoryCore
from omne.errors import InvalidInputError, StorageError
from omne.storage import JobSpec, Storage, migrate_storage, open_storage
from omne.storage.dump_models import Table, TableStat
from omne.testing import HashEmbedder
from tests.support.postgres import schema_name
from omne.types import ApiKey, Edge, EdgeKind, Record, RecordKind, Scope

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
ANA = Scope(user="ana", session="s1")
BEN = Scope(user="ben", agent="helper")
SCOPES = (ANA, Scope(user="ana"), BEN)


def _config(where: Path | str) -> OmneConfig:
    if isinstance(where, str):
        return OmneConfig(database=where)
    return OmneConfig(store_dir=where)


async def _open_core(where: Path | str, index_dir: Path) -> MemoryCore:
    config = _config(where) if isinstance(where, Path) else OmneConfig(store_dir=index_dir, database=where)
    return await MemoryCore.open(config=config, embedder=HashEmbedder())


async def _fill(store: Path) -> None:
    """A store with something in every table: message chains, versions, a forgotten record, edges, a block edited
    twice, context state, jobs done / failed / pending / running and a cursor, API keys (one revoked)."""
    core = await _open_core(store, store)
    try:
        for i in range(7):
            await core.add(Record(kind=RecordKind.MESSAGE, scope=ANA, role="user" if i % 2 else "assistant",
                                  text=f"turn {i}: the kettle is {'blue' if i < 4 else 'green'} — ünïcode ✓",
                                  created_at=NOW + timedelta(minutes=i)))
        fact = await core.remember("Ben likes tea", scope=BEN, kind="fact", data={"x": 1.5, "n": [1, 2]},
                                   importance=0.7)
        await core.update(fact.id, scope=BEN, text="Ben likes green tea")
        gone = await core.remember("a passing remark", scope=Scope(user="ana"))
        await core.forget(gone.id, scope=Scope(user="ana"))
        other = await core.remember("Ben lives in Porto", scope=BEN)
        await core.add_edges([Edge(scope=BEN, src=other.id, dst=fact.id, kind=EdgeKind.SIMILAR, weight=0.25,
                                   data={"why": "test"})])
        blocks = CoreMemory(core, private_scope=BEN, team_scope=None, editor="tester")
        await blocks.attach(BlockSpec(label="human", value="Name: Ben", limit=200))
        await blocks.append("human", "Likes: tea")
        await blocks.append("human", "City: Porto")
        await core.save_context_state("ctx-1", {"summary": "so far", "ids": [1, 2]}, scope=ANA)
        await core.save_context_state("ctx-1", {"summary": "other"}, scope=BEN)
        jobs = core.job_store
        jobs.enqueue([JobSpec(key=f"job-{i}", kind="summarise", scope=ANA, payload={"i": i}) for i in range(4)],
                     now=NOW, max_attempts=2)
        done = jobs.claim("w1", now=NOW, lease_s=30)
        assert done is not None
        jobs.complete(done.id, "w1", {"ok": True}, now=NOW)
        failed = jobs.claim("w1", now=NOW, lease_s=30)
        assert failed is not None
        jobs.fail(failed.id, "w1", "model returned garbage", now=NOW, backoff=None)
        assert jobs.claim("w2", now=NOW, lease_s=600) is not None  # leased: stays running
        jobs.advance("summaries", 5)
        core.key_store.add_api_key(ApiKey(id="k-admin", admin=True, label="ops", created_at=NOW), "hash-admin")
        core.key_store.add_api_key(ApiKey(id="k-ana", scope=ANA, created_at=NOW), "hash-ana")
        core.key_store.revoke_api_key("k-ana", NOW + timedelta(days=1))
    finally:
        await core.close()


def _tables(storage: Storage) -> dict[str, Any]:
    """Every row of every table, as comparable JSON (log positions included)."""
    dump = storage.dump
    def log(rows: list[Any]) -> list[tuple[int, Any]]:
        return [(r.seq, r.item.model_dump(mode="json")) for r in rows]
    states = dump.dump_context_states(0, 1000)
    return {
        "records": log(dump.dump_records(0, 10_000)), "edges": log(dump.dump_edges(0, 10_000)),
        "jobs": log(dump.dump_jobs(0, 10_000)),
        "context_state": sorted((s.context_id, str(s.scope), s.state, s.updated_at.isoformat()) for s in states),
        "job_cursors": dump.dump_cursors(),
        "api_keys": [(k.key.model_dump(mode="json"), k.key_hash) for k in dump.dump_api_keys()],
    }


def _migrate(source: Path | str, target: Path | str, **kwargs: Any) -> Any:
    src, dst = open_storage(_config(source)), open_storage(_config(target))
    try:
        return migrate_storage(src, dst, **kwargs)
    finally:
        src.close()
        dst.close()


def _read_tables(where: Path | str) -> dict[str, Any]:
    storage = open_storage(_config(where))
    try:
        return _tables(storage)
    finally:
        storage.close()


async def _exports(where: Path | str, index_dir: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """Each scope's JSONL export, and what else a user sees: history, edges, blocks, context state, keys, jobs."""
    core = await _open_core(where, index_dir)
    try:
        exports = {}
        for scope in SCOPES:
            exports[str(scope)] = "".join([line async for line in core.export_lines(scope=scope)])
        facts = await core.list(scope=BEN, kinds=["fact"])
        seen = {
            "history": {r.text: [v.text for v in await core.history(r.id, scope=BEN)] for r in facts},
            "block": [b.value for b in await core.block_history("human", scope=BEN)],
            "context": [await core.context_state("ctx-1", scope=s) for s in (ANA, BEN)],
            "keys": [k.model_dump(mode="json") for k in core.key_store.api_keys(include_revoked=True)],
            "key_by_hash": core.key_store.api_key_by_hash("hash-ana") is not None,
            "jobs": [(j.key, j.status.value, j.attempts, j.lease_owner, j.reason) for j in await core.jobs()],
            "job_counts": await core.job_counts(),
            "cursor": core.job_store.cursor("summaries"),
            "stats": {k: v for k, v in (await core.stats()).items() if k != "store"},
            "search": [h.record.text for h in await core.search("kettle green", scope=ANA, top_k=3)],
        }
        return exports, seen
    finally:
        await core.close()


async def test_round_trip_sqlite_postgres_sqlite_is_lossless(tmp_path, postgres_url) -> None:
    source, back = tmp_path / "source", tmp_path / "back"
    await _fill(source)
    before, seen_before = await _exports(source, source)
    assert all(before.values()) and seen_before["history"]["Ben likes green tea"] == ["Ben likes tea",
                                                                                      "Ben likes green tea"]
    assert seen_before["job_counts"] == {"pending": 1, "running": 1, "done": 1, "failed": 1}
    tables = _read_tables(source)

    to_pg = _migrate(source, postgres_url)
    assert to_pg.copied[Table.RECORDS] == len(tables["records"]) and not to_pg.resumed
    assert to_pg.to_index == len(tables["records"])  # the index is derived: rebuilt from the log on first open
    assert _read_tables(postgres_url) == tables
    on_pg, seen_pg = await _exports(postgres_url, tmp_path / "pg-index")
    assert on_pg == before and seen_pg == seen_before

    _migrate(postgres_url, back)
    assert _read_tables(back) == tables
    after, seen_after = await _exports(back, back)
    assert after == before  # byte-identical JSONL, scope by scope
    assert seen_after == seen_before

    # both targets keep working: new records, edges and jobs go after the copied log positions
    for where, index_dir in ((back, back), (postgres_url, tmp_path / "pg-index")):
        core = await _open_core(where, index_dir)
        try:
            added = await core.remember("after the move", scope=BEN)
            await core.add_edges([Edge(scope=BEN, src=added.id, dst=tables["records"][-1][1]["id"],
                                       kind=EdgeKind.SIMILAR)])
            core.job_store.enqueue([JobSpec(key="new-job", kind="summarise", scope=BEN)], now=NOW, max_attempts=1)
            assert [h.record.id for h in await core.search("after the move", scope=BEN, top_k=1)] == [added.id]
        finally:
            await core.close()
        moved = _read_tables(where)
        for table in ("records", "edges", "jobs"):
            assert moved[table][-1][0] > tables[table][-1][0] and moved[table][:-1] == tables[table]


class _Stop(Exception):
    pass


@pytest.mark.parametrize("pages_before_failure", [1, 4, 9])
async def test_an_interrupted_migration_resumes_to_the_same_result(tmp_path, postgres_url,
                                                                  pages_before_failure) -> None:
    source = tmp_path / "source"
    await _fill(source)
    tables = _read_tables(source)
    pages = 0

    def failing(table: Table, done: int, total: int) -> None:
        nonlocal pages
        pages += 1
        if pages > pages_before_failure:
            raise _Stop(f"interrupted in {table} at {done}/{total}")

    with pytest.raises(_Stop):
        _migrate(source, postgres_url, page=3, progress=failing)
    partial = _read_tables(postgres_url)
    assert partial != tables  # stopped part-way
    report = _migrate(source, postgres_url, page=3)
    assert report.resumed
    for table in ("records", "edges", "jobs"):  # it continued where it stopped: nothing was copied twice
        assert report.copied[Table(table)] == len(tables[table]) - len(partial[table])
    assert _read_tables(postgres_url) == tables
    back = tmp_path / "back"
    with pytest.raises(_Stop):
        pages = 0
        _migrate(postgres_url, back, page=2, progress=failing)
    _migrate(postgres_url, back, page=2)
    assert _read_tables(back) == tables

    again = _migrate(postgres_url, back)  # a second complete run changes nothing
    assert again.resumed and set(again.copied.values()) == {0}
    assert _read_tables(back) == tables


async def test_a_source_written_between_runs_is_detected_not_half_copied(tmp_path, postgres_url) -> None:
    """A record updated after an interrupted run was copied already: resuming would leave its old version live
    in the target, so the run ends with an error naming the fix instead."""
    source = tmp_path / "source"
    await _fill(source)

    def stop_after_records(table: Table, done: int, total: int) -> None:
        if table is Table.EDGES:
            raise _Stop("interrupted")

    with pytest.raises(_Stop):
        _migrate(source, postgres_url, progress=stop_after_records)
    core = await _open_core(source, source)
    try:
        fact = (await core.list(scope=BEN, kinds=["fact"]))[0]
        await core.update(fact.id, scope=BEN, text="Ben likes coffee now")
    finally:
        await core.close()
    with pytest.raises(StorageError, match=r"changed while it was moved \(live records: 10 in the source, 11 in the "
                                           r"target\): stop its servers and workers, then migrate again into an "
                                           r"empty target$"):
        _migrate(source, postgres_url)


async def test_stores_that_differ_after_a_run_are_refused_naming_every_difference(tmp_path) -> None:
    """The end-of-run comparison names each table and the live records that differ (here a complete copy lost an
    edge and had a record forgotten behind the migration's back: neither is the target's newest row)."""
    import sqlite3

    source, target = tmp_path / "source", tmp_path / "target"
    await _fill(source)
    tables = _read_tables(source)
    _migrate(source, target)
    with sqlite3.connect(target / "records.sqlite3") as conn:
        conn.execute("DELETE FROM edges WHERE seq = (SELECT MIN(seq) FROM edges)")
        conn.execute("UPDATE records SET deleted_at = created_at WHERE seq = (SELECT MIN(seq) FROM records)")
    live = open_storage(_config(source))
    try:
        live_records = live.records.count(None)
        location = live.location
    finally:
        live.close()
    edges = len(tables["edges"])
    with pytest.raises(StorageError) as differ:
        _migrate(source, target)
    assert str(differ.value) == (
        f"the source {location} changed while it was moved (edges: {edges} in the source, {edges - 1} in the target; "
        f"live records: {live_records} in the source, {live_records - 1} in the target): stop its servers and "
        "workers, then migrate again into an empty target")


async def test_a_target_that_is_not_empty_is_refused_naming_the_fix(tmp_path, postgres_url) -> None:
    source = tmp_path / "source"
    await _fill(source)
    other = tmp_path / "other"
    core = await _open_core(other, other)
    try:
        await core.remember("something else entirely", scope=ANA)
    finally:
        await core.close()
    for target in (other, postgres_url):
        if target == postgres_url:
            _migrate(other, postgres_url)  # PostgreSQL now holds the other store
        before = _read_tables(target)
        with pytest.raises(InvalidInputError, match=r"is not empty and is not an earlier migration from .*"
                                                    r"migrate into an empty store"):
            _migrate(source, target)
        assert _read_tables(target) == before  # nothing written
    with pytest.raises(InvalidInputError, match="same store"):
        _migrate(source, source)


async def test_a_target_with_only_keys_or_cursors_of_its_own_is_refused(tmp_path) -> None:
    """A complete copy that then got a row of its own, in any table, is no longer a prefix of the source."""
    source = tmp_path / "source"
    await _fill(source)
    tables = _read_tables(source)
    edge_of_its_own = Edge(scope=BEN, src=tables["records"][0][1]["id"], dst=tables["records"][-1][1]["id"],
                           kind=EdgeKind.SIMILAR)
    next_edge, next_job = tables["edges"][-1][0] + 1, tables["jobs"][-1][0] + 1
    writes: dict[str, Any] = {
        f"edges at position {next_edge} is not the source's": lambda st: st.records.add_edges([edge_of_its_own]),
        f"jobs at position {next_job} is not the source's": lambda st: st.jobs.enqueue(
            [JobSpec(key="job-new", kind="summarise", scope=ANA)], now=NOW, max_attempts=1),
        "API key k-new is not the source's": lambda st: st.keys.add_api_key(
            ApiKey(id="k-new", admin=True, created_at=NOW), "hash-new"),
        "job cursor 'reflections' is not the source's": lambda st: st.jobs.advance("reflections", 1),
        f"context 'ctx-new' in {BEN} is not the source's": lambda st: st.records.save_context_state(
            BEN, "ctx-new", "{}", NOW),
    }
    for n, (refusal, write) in enumerate(writes.items()):
        target = tmp_path / f"target-{n}"
        _migrate(source, target)
        storage = open_storage(_config(target))
        try:
            write(storage)
        finally:
            storage.close()
        with pytest.raises(InvalidInputError, match=re.escape(f"({refusal}); migrate into an empty store")):
            _migrate(source, target)


async def test_a_row_per_page_copies_every_table_and_reports_each_page_by_table(tmp_path) -> None:
    """Progress is what `omne memory migrate` draws its bar per table from: (table, rows the target holds, rows
    the source holds), first at the start of each table, then after each page of a log table."""
    source, target = tmp_path / "source", tmp_path / "target"
    await _fill(source)
    tables = _read_tables(source)
    with pytest.raises(InvalidInputError, match=r"^page must be at least 1 row$"):
        _migrate(source, target, page=0)
    calls: list[tuple[Table, int, int]] = []
    _migrate(source, target, page=1, progress=lambda table, done, total: calls.append((table, done, total)))
    assert _read_tables(target) == tables  # the two context states too, a page each
    for table in (Table.RECORDS, Table.EDGES, Table.JOBS):
        total = len(tables[table.value])
        assert [(done, n) for t, done, n in calls if t is table] == [(done, total) for done in range(total + 1)]
    assert [t for t, _, _ in calls if t not in (Table.RECORDS, Table.EDGES, Table.JOBS)] == [
        Table.CONTEXT_STATE, Table.JOB_CURSORS, Table.API_KEYS]
    assert calls[-3:] == [(Table.CONTEXT_STATE, 2, 2), (Table.JOB_CURSORS, 1, 1), (Table.API_KEYS, 2, 2)]
    assert [t for t, _, _ in calls] == sorted((t for t, _, _ in calls), key=list(Table).index)  # table by table


async def test_a_target_holding_log_rows_the_source_lacks_is_refused_with_the_whole_fix(tmp_path) -> None:
    """The source has no row at the target's newest position (here: the source is empty)."""
    source, target = tmp_path / "empty", tmp_path / "target"
    await _fill(target)
    empty, filled = open_storage(_config(source)), open_storage(_config(target))
    try:
        newest = filled.dump.table_stats()[Table.RECORDS].last_seq
        with pytest.raises(InvalidInputError) as refused:
            migrate_storage(empty, filled)
    finally:
        empty.close()
        filled.close()
    assert str(refused.value) == (
        f"the target {filled.location} is not empty and is not an earlier migration from {empty.location} (records at "
        f"position {newest} is not the source's); migrate into an empty store: a new directory for --to, or an "
        "empty PostgreSQL database (or a schema of its own, e.g. postgresql://...?options=-csearch_path%3Dnewschema)")


@pytest.mark.subprocess
def test_migrate_command(tmp_path, postgres_url) -> None:
    import asyncio
    import subprocess
    import sys

    source = tmp_path / "source"
    asyncio.run(_fill(source))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("OMNE_DATABASE_URL", None)

    def omne(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "omne", "memory", "migrate", *args], capture_output=True,
                              text=True, env=env, timeout=120)

    done = omne("--from", str(source), "--to", postgres_url, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["copied"]["records"] == len(_read_tables(source)["records"]) and report["to_index"] > 0
    refused = omne("--from", str(tmp_path / "nowhere"), "--to", str(tmp_path / "t"))
    assert refused.returncode != 0 and "no Omne store" in refused.stderr
    again = omne("--from", str(source), "--to", postgres_url)
    assert again.returncode == 0, again.stderr
    assert "nothing left to copy" in again.stdout


async def test_any_pair_of_backends_postgres_to_postgres(tmp_path, postgres_url, postgres_cluster) -> None:
    """One implementation over the protocol: the same migration moves between two PostgreSQL schemas (and two
    store directories, below)."""
    source = tmp_path / "source"
    await _fill(source)
    tables = _read_tables(source)
    _migrate(source, postgres_url)
    schema = schema_name("moved_")
    second = postgres_cluster.create_schema(schema)
    try:
        _migrate(postgres_url, second)
        assert _read_tables(second) == tables
    finally:
        postgres_cluster.drop_schema(schema)


async def test_any_pair_of_backends_sqlite_to_sqlite(tmp_path) -> None:
    """Between two store directories every table arrives row for row, log positions included (without the
    PostgreSQL cluster, so the mutation runs of the SQLite dump reach it), and the copy's table stats count its
    rows and name its newest log position (mutant caught: `table_stats` counting rows as the newest seq)."""
    source = tmp_path / "source"
    await _fill(source)
    tables = _read_tables(source)
    _migrate(source, tmp_path / "copy")
    assert _read_tables(tmp_path / "copy") == tables
    storage = open_storage(_config(tmp_path / "copy"))
    try:
        stats = storage.dump.table_stats()
    finally:
        storage.close()
    logged = {Table.RECORDS, Table.EDGES, Table.JOBS}
    assert stats == {table: TableStat(rows=len(tables[table.value]),
                                      last_seq=max(seq for seq, _ in tables[table.value]) if table in logged else 0)
                     for table in Table}
    assert all(stats[table].rows for table in Table)


def test_a_url_that_is_not_postgresql_is_refused_not_taken_for_a_directory(tmp_path, omne_cli, monkeypatch) -> None:
    import asyncio

    source = tmp_path / "source"
    asyncio.run(_fill(source))
    monkeypatch.chdir(tmp_path)
    for args in (("--from", str(source), "--to", "mysql://root@db/omne"), ("--from", "sqlite:///x", "--to", "t")):
        result = omne_cli("memory", "migrate", *args, env={"OMNE_DATABASE_URL": ""})
        url = args[1] if args[1].startswith("sqlite") else args[3]
        option = "--from" if args[1].startswith("sqlite") else "--to"
        assert result.returncode == 1 and result.stderr == (
            f"omne: error: {option} {url}: not a postgresql:// URL; name a store directory or a "
            "postgresql://user:password@host:port/dbname URL\n"), result.stderr
    assert not (tmp_path / "mysql:").exists()
