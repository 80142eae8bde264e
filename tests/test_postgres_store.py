"""What the PostgreSQL record store adds to the conformance suite: its guarantees hold across processes (each
store object below has its own connection pool, as a process would), its jobs run once with any number of
workers, and a bad or unreachable database gets a clear error."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from omne import MemoryCore, Record, RecordKind, Scope
from omne.config import OmneConfig
from omne.errors import InvalidInputError, StorageError
from omne.storage.postgres_db import PostgresDatabase
from omne.storage.postgres_storage import PostgresStorage
from omne.testing import HashEmbedder
from omne.types import EdgeKind

ROOT = Path(__file__).resolve().parents[1]
SCOPE = Scope(user="ann", session="s1")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _storages(url: str, n: int) -> list[PostgresStorage]:
    return [PostgresStorage(url, pool_size=2) for _ in range(n)]


def _run_together(fns) -> list:
    """Run the callables in threads released at once; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(fns))
    out: list = [None] * len(fns)

    def run(i, fn):
        barrier.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            out[i] = exc
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_concurrent_supersedes_from_several_stores_have_one_winner(postgres_url):
    storages = _storages(postgres_url, 6)
    stores = [s.records for s in storages]
    try:
        old = Record(kind=RecordKind.FACT, scope=SCOPE, text="the sky is green")
        stores[0].insert([old])
        news = [Record(kind=RecordKind.FACT, scope=SCOPE, text=f"the sky is blue ({i})", version=2)
                for i in range(len(stores))]
        results = _run_together([lambda s=s, n=n: s.supersede(old, n) for s, n in zip(stores, news)])
        winners = [n for n, r in zip(news, results) if r is None]
        assert len(winners) == 1, results
        assert all(isinstance(r, InvalidInputError) and "no longer current" in str(r) for r in results if r is not None)
        history = stores[1].history(old.id, SCOPE)
        assert [r.id for r in history] == [old.id, winners[0].id]  # no forked version
        assert history[0].superseded_by == winners[0].id
    finally:
        for s in storages:
            s.close()


def test_messages_written_at_once_by_several_stores_form_one_chain_in_time(postgres_url):
    storages = _storages(postgres_url, 4)
    stores = [s.records for s in storages]
    try:
        batches = [[Record(kind=RecordKind.MESSAGE, scope=SCOPE, role="user", text=f"w{w} turn {i}",
                           event_time=T0 + timedelta(seconds=4 * i + w)) for i in range(15)] for w in range(4)]
        results = _run_together([lambda s=s, b=b: s.insert(b, link_messages=True) for s, b in zip(stores, batches)])
        assert results == [None] * 4
        links = {src: dst for src, dst in stores[0].links(SCOPE, EdgeKind.NEXT,
                                                          [r.id for b in batches for r in b])}
        in_time = [r.id for r in sorted((r for b in batches for r in b), key=lambda r: r.when)]
        assert len(links) == len(in_time) - 1  # one path: no fork, no gap
        assert all(links[a] == b for a, b in zip(in_time, in_time[1:]))
    finally:
        for s in storages:
            s.close()


WORKER = """
    import json, sys
    from omne.config import OmneConfig
    from omne.construction.jobs import JobQueue
    from omne.storage import open_storage

    storage = open_storage(OmneConfig.from_env(sys.argv[1]))
    queue = JobQueue(storage.jobs, lease_s=600)
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    done = []
    while (job := queue.claim(sys.argv[2])) is not None:
        done.append(job.key)
        assert queue.complete(job.id, sys.argv[2], {"by": sys.argv[2]}) is not None
    storage.close()
    print(json.dumps(done), flush=True)
"""


@pytest.mark.subprocess
def test_two_worker_processes_run_500_jobs_each_exactly_once(postgres_url, tmp_path, monkeypatch):
    from omne.construction.jobs import JobQueue, JobSpec, JobStatus
    from omne.storage import open_storage

    monkeypatch.setenv("OMNE_DATABASE_URL", postgres_url)
    storage = open_storage(OmneConfig.from_env(tmp_path))
    queue = JobQueue(storage.jobs)
    keys = [f"job-{i}" for i in range(500)]
    queue.enqueue([JobSpec(key=k, kind="demo", scope=SCOPE) for k in keys])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(WORKER), str(tmp_path), name], cwd=ROOT,
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for name in ("w1", "w2")]
    try:
        for w in workers:
            assert w.stdout.readline().strip() == "ready", w.stderr.read()
        for w in workers:
            w.stdin.write("go\n")
            w.stdin.flush()
        outputs = [w.communicate(timeout=240) for w in workers]
    finally:
        for w in workers:
            w.kill()
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in outputs]
    done = [json.loads(out.splitlines()[-1]) for out, _ in outputs]
    assert sorted(done[0] + done[1]) == sorted(keys)  # every job once: none twice, none missed
    assert done[0] and done[1], [len(d) for d in done]  # both took part
    jobs = storage.jobs.list()
    assert {j.status for j in jobs} == {JobStatus.DONE} and {j.attempts for j in jobs} == {1}
    assert {j.key for j in jobs if j.result == {"by": "w1"}} == set(done[0])
    storage.close()


async def test_an_export_reads_back_byte_identical_on_both_backends(postgres_url, tmp_path, monkeypatch):
    """The same log written to SQLite and to PostgreSQL exports the same bytes (times, JSON key order, floats)."""
    scope = Scope(user="ann")
    records = [Record(kind=RecordKind.FACT, scope=scope, text="ünïcode ✓ fact", tags=["b", "a"], importance=0.3,
                      data={"z": 1, "a": [1.5, None, "x"], "m": {"k": True}}, metadata={"y": 2, "b": 1},
                      event_time=datetime(2023, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)),
               Record(kind=RecordKind.MESSAGE, scope=scope, role="user",
                      name="Ann", text="hello there", event_time=T0)]
    exports = []
    for database in (None, postgres_url):
        if database:
            monkeypatch.setenv("OMNE_DATABASE_URL", database)
        else:
            monkeypatch.delenv("OMNE_DATABASE_URL", raising=False)
        core = await MemoryCore.open(tmp_path / f"store-{bool(database)}", embedder=HashEmbedder())
        try:
            await core.add([r.model_copy() for r in records])
            out = io.StringIO()
            await core.export_jsonl(out, scope=scope)
            exports.append(out.getvalue())
        finally:
            await core.close()
    assert exports[0] == exports[1]
    assert exports[0].count("\n") == 2 and "ünïcode ✓" in exports[0]


_OPEN_FIX = ("Check that the server runs, the URL (OMNE_DATABASE_URL or --database) and that its user may create "
             "tables.")


def test_a_bad_database_url_and_an_unreachable_server_get_clear_errors(monkeypatch, tmp_path):
    """Also kills `PostgresDatabase.__init__`'s mutants of the first refusal: the reason dropped (`None`,
    `str(None)`), joined with `XX XX`, the URL not given to `redact`, and the fix's words changed."""
    monkeypatch.setenv("OMNE_DATABASE_URL", "mysql://root@localhost/omne")
    with pytest.raises(InvalidInputError, match="OMNE_DATABASE_URL.*postgresql://"):
        OmneConfig.from_env(tmp_path)
    with pytest.raises(StorageError, match=r"omne:\*\*\*@127.0.0.1:9/x.*OMNE_DATABASE_URL or --database") as caught:
        PostgresDatabase("postgresql://omne:secret@127.0.0.1:9/x", connect_timeout_s=2)
    message = str(caught.value)
    assert "secret" not in message
    assert message.startswith("cannot open the PostgreSQL store at postgresql://omne:***@127.0.0.1:9/x: ")
    assert message.endswith(". " + _OPEN_FIX)
    assert 'connection to server at "127.0.0.1", port 9 failed: Connection refused' in message
    assert "\n" not in message and "  " not in message  # the driver's reason, in one line


def test_the_cli_on_an_unreachable_server_fails_at_once_in_one_line_with_the_reason(omne_cli, tmp_path):
    import time

    from tests.support.server_proc import free_port

    url = f"postgresql://omne:secret@127.0.0.1:{free_port()}/omne"
    started = time.monotonic()
    result = omne_cli("--database", url, "memory", "stats", store=tmp_path / "store")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr  # no pool retry warnings
    assert "Connection refused" in result.stderr and "secret" not in result.stderr, result.stderr
    assert time.monotonic() - started < 15  # not the pool's 30 s wait for a server that refused at once


def test_text_with_a_nul_character_is_refused_clearly(postgres_url):
    storage = PostgresStorage(postgres_url)
    try:
        with pytest.raises(InvalidInputError, match="NUL"):
            storage.records.insert([Record(kind=RecordKind.FACT, scope=SCOPE, text="a\x00b")])
        assert storage.records.count(None, live_only=False) == 0
    finally:
        storage.close()


_LOG_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.omne_log'))"


def _waits_for_the_log_lock(url: str, write) -> bool:
    """Whether `write`, run in a thread, waits while another session holds the store's log lock (it must then
    finish once the lock is released). Polls until the write is either blocked by the holder or done: no timing."""
    import psycopg

    done, errors = threading.Event(), []

    def run():
        try:
            write()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()
    with psycopg.connect(url, autocommit=True) as holder:
        with holder.transaction():
            holder.execute(_LOG_LOCK)
            thread = threading.Thread(target=run)
            thread.start()
            waited = False
            for _ in range(6000):  # at most a minute on a very busy machine
                blocked = holder.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = "
                                         "ANY(pg_blocking_pids(pid))", [holder.info.backend_pid]).fetchone()[0]
                if blocked:
                    waited = not done.is_set()
                    break
                if done.wait(0.01):
                    break
        thread.join(60)
    assert done.is_set() and not errors, errors
    return waited


@pytest.mark.parametrize("write", ["insert", "upsert_raw", "supersede", "mark_deleted", "load_records", "load_edges"])
def test_every_write_that_moves_the_log_waits_for_the_log_lock(postgres_url, write):
    """Kills the `log_lock` mutants (None, left out, False) of `PostgresRecordStore.upsert_raw` (27, 29, 30),
    `supersede` (54, 56, 57) and `mark_deleted` (15, 17, 18), and `PostgresDump._load` 20, 22, 23 (the lock left
    out, or taken for jobs only). Each of these writes gives records or edges a log position (`seq`, and a
    record's `change_seq`, which other servers' followers read the shared log by), so each must serialise with
    every other such write: otherwise positions are taken in one order and committed in another, and a reader
    that has passed a position never sees the row that commits behind it. Checked directly: while another
    session holds the store's log lock, the write waits, and it completes once the lock is released."""
    from omne.storage.dump_models import Logged
    from omne.types import Edge

    storage = PostgresStorage(postgres_url, pool_size=2)
    try:
        records = storage.records
        held = Record(kind=RecordKind.MESSAGE, scope=SCOPE, role="user", text="held", event_time=T0)
        other = Record(kind=RecordKind.FACT, scope=SCOPE, text="other")
        records.insert([held, other], link_messages=True)
        fresh = Record(kind=RecordKind.FACT, scope=SCOPE, text="fresh")
        edge = Edge(scope=SCOPE, src=held.id, dst=other.id, kind=EdgeKind.RELATES, created_at=T0)
        writes = {
            "insert": lambda: records.insert([fresh]),
            "upsert_raw": lambda: records.upsert_raw([fresh]),
            "supersede": lambda: records.supersede(held, held.model_copy(
                update={"id": "v2-" + held.id, "text": "held, edited", "version": 2})),
            "mark_deleted": lambda: records.mark_deleted(held, T0 + timedelta(days=1)),
            "load_records": lambda: storage.dump.load_records([Logged(100, fresh)]),
            "load_edges": lambda: storage.dump.load_edges([Logged(100, edge)]),
        }
        assert _waits_for_the_log_lock(postgres_url, writes[write])
        assert records.count(SCOPE, live_only=False) == (2 if write in ("mark_deleted", "load_edges") else 3)
    finally:
        storage.close()


def _drop_the_connection(storage: PostgresStorage, url: str) -> None:
    """End the server side of the one pooled connection (as a server restart or a network cut would)."""
    import psycopg

    with storage._db.pool.connection() as conn:
        pid = conn.info.backend_pid
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s, 30000)", [pid]).fetchone()[0]


def test_refused_writes_bad_values_and_a_lost_server_say_so_exactly(postgres_url):
    """Kills `PostgresDatabase.transaction` mutants 2, 3 (the default `what`), 6-15 (each refusal's message: None,
    `XX...XX`, another letter case, the URL left out) and `PostgresDatabase.query` 5-11 (the same for reads): the
    PostgreSQL twin of test_storage_protocols.py's SQLite test. A taken edge id, a value PostgreSQL cannot hold
    (NUL) or that is not UTF-8, and a connection the server ended each get their own message, naming the fix."""
    from omne.storage.postgres_db import redact
    from omne.types import Edge

    storage = PostgresStorage(postgres_url, pool_size=1)
    try:
        records = storage.records
        a, b = (Record(kind=RecordKind.FACT, scope=SCOPE, text=t) for t in ("a", "b"))
        records.insert([a, b], [Edge(id="e1", scope=SCOPE, src=a.id, dst=b.id, kind=EdgeKind.RELATES)])
        with pytest.raises(StorageError) as rejected:  # another edge under a taken edge id
            records.add_edges([Edge(id="e1", scope=SCOPE, src=b.id, dst=a.id, kind=EdgeKind.RELATES)])
        assert str(rejected.value).startswith(
            'write rejected by the record store: duplicate key value violates unique constraint "edges_id_key"')
        with pytest.raises(InvalidInputError) as nul:
            records.insert([Record(kind=RecordKind.FACT, scope=SCOPE, text="a\x00b")])
        assert str(nul.value) == ("the record store (PostgreSQL) refused a value: PostgreSQL text fields cannot "
                                  "contain NUL (0x00) bytes; remove it (e.g. NUL characters) and write again")
        with pytest.raises(InvalidInputError) as undecodable:
            records.insert([Record(kind=RecordKind.FACT, scope=SCOPE, text="x").model_copy(
                update={"text": "\udcff"})])  # past the model's own check, as a caller of the store could
        assert str(undecodable.value) == "a value is not valid UTF-8 (it holds undecodable bytes)"
        with pytest.raises(InvalidInputError) as lookup:
            records.get_many(["\udcff"], SCOPE)
        assert str(lookup.value) == "a lookup argument is not valid UTF-8 (it holds undecodable bytes)"
        with pytest.raises(InvalidInputError) as nul_lookup:
            records.get_many(["a\x00"], SCOPE)
        assert str(nul_lookup.value) == ("lookup refused by PostgreSQL: PostgreSQL text fields cannot contain NUL "
                                         "(0x00) bytes")
        assert records.count(None) == 2  # nothing of the refused writes was kept

        _drop_the_connection(storage, postgres_url)
        with pytest.raises(StorageError) as unread:
            records.get_many([a.id], SCOPE)
        assert str(unread.value).startswith("the store could not be read (")
        assert str(unread.value).endswith(f"); check that the PostgreSQL server at {redact(postgres_url)} is reachable")
        _drop_the_connection(storage, postgres_url)
        with pytest.raises(StorageError) as unwritten:
            records.mark_clean([a.id])
        assert str(unwritten.value).startswith("the record store could not be written (")
        assert str(unwritten.value).endswith(f"); nothing was saved. Check that the PostgreSQL server at "
                                             f"{redact(postgres_url)} is reachable.")
        assert records.get_many([a.id], SCOPE) == [a]  # a new connection: the store works again
    finally:
        storage.close()


def test_a_database_written_by_a_newer_omne_is_refused_naming_both_versions(postgres_url):
    """Kills `migrate__mutmut_23` (`RuntimeError(None)`): a PostgreSQL store whose schema is newer than this Omne
    knows is refused with the versions and the fix, as the SQLite store is, and left as it was."""
    import psycopg

    from omne.storage.postgres_schema import MIGRATIONS

    PostgresStorage(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE omne_schema SET version = %s", [len(MIGRATIONS) + 1])
    with pytest.raises(RuntimeError) as refused:
        PostgresStorage(postgres_url)
    assert str(refused.value) == (f"this database was written by a newer Omne (schema {len(MIGRATIONS) + 1}, this "
                                  f"one knows {len(MIGRATIONS)}): upgrade Omne to open it")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM omne_schema").fetchone()[0] == len(MIGRATIONS) + 1


def test_a_user_who_may_not_create_the_tables_gets_the_same_clear_error(postgres_cluster, postgres_url):
    """Kills `PostgresDatabase.__init__`'s mutants of the second refusal (the server answers, the schema cannot
    be made): the URL not given to `redact`, and the fix's words `XX...XX` or in another letter case. The
    message names the store (password hidden), PostgreSQL's reason and the fix."""
    from tests.support.postgres import schema_name

    role = schema_name("reader_")
    schema = postgres_url.rsplit("search_path%3D", 1)[1]
    postgres_cluster.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD \'pw\'')
    postgres_cluster.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')  # it may look, not create
    try:
        url = postgres_url.replace("postgresql://postgres@", f"postgresql://{role}:pw@", 1)
        assert url != postgres_url
        with pytest.raises(StorageError) as caught:
            PostgresStorage(url)
        message = str(caught.value)
        assert message.startswith(f"cannot open the PostgreSQL store at postgresql://{role}:***@")
        assert f"permission denied for schema {schema}" in message and "pw@" not in message
        assert message.endswith(". " + _OPEN_FIX)
    finally:
        postgres_cluster.execute(f'REVOKE USAGE ON SCHEMA "{schema}" FROM "{role}"')
        postgres_cluster.execute(f'DROP ROLE "{role}"')


def test_a_vector_write_the_server_did_not_take_names_the_stored_vectors(postgres_url):
    """Kills `PostgresVectorLog.save_vectors` mutants 23, 25, 26, 27 (`what` None, left out, `XX...XX`, upper case):
    a vector write that fails (here: the connection was ended by the server) blamed the record store, or named
    nothing. The message names the stored vectors, says nothing was saved, and names the server to check."""
    import numpy as np

    from omne.storage.postgres_db import redact
    from omne.storage.protocols import IndexItem

    storage = PostgresStorage(postgres_url, pool_size=1)
    try:
        record = Record(kind=RecordKind.FACT, scope=SCOPE, text="vectors are kept per model")
        storage.records.insert([record])
        _drop_the_connection(storage, postgres_url)
        with pytest.raises(StorageError) as caught:
            storage.vectors.save_vectors("m", [IndexItem(record=record, vector=np.ones(4, dtype=np.float32))])
        message = str(caught.value)
        assert message.startswith("the stored vectors could not be written (")
        assert message.endswith(f"); nothing was saved. Check that the PostgreSQL server at {redact(postgres_url)} "
                                "is reachable.")
        assert [c.vector for c in storage.vectors.changes_after(0, "m", 10)] == [None]  # nothing was saved
    finally:
        storage.close()


def test_times_read_back_in_utc_whatever_the_sessions_time_zone(postgres_url):
    """Kills `PostgresDatabase.__init__`'s `configure=None` (the pool's connections no longer set `TIME ZONE 'UTC'`,
    so times came back in the server's or the URL's time zone). Equal instants still compare equal, but an export,
    a log line or an API answer then shows another offset than the same store on SQLite: the store reads every
    time back in UTC, whatever time zone a session starts in (here Asia/Tokyo, set in the URL)."""
    url = postgres_url + "%20-cTimeZone%3DAsia%2FTokyo"
    storage = PostgresStorage(url)
    try:
        record = Record(kind=RecordKind.FACT, scope=SCOPE, text="kept in UTC", created_at=T0,
                        event_time=T0 - timedelta(hours=3))
        storage.records.insert([record])
        [back] = storage.records.get_many([record.id], SCOPE)
        assert back.model_dump(mode="json") == record.model_dump(mode="json")
        assert back.created_at.utcoffset() == timedelta(0)
        assert storage.records.list(SCOPE)[0].model_dump(mode="json")["event_time"] == "2024-05-01T09:00:00Z"
    finally:
        storage.close()


def test_a_server_that_never_answers_gets_a_clear_error_not_a_hang():
    """Kills `PostgresDatabase.__init__` mutants 5 and 7 (`connect_timeout` None or left out: libpq then waits
    for ever). A host that takes the connection but never speaks (a dead proxy, a firewall that drops replies)
    fails the open within the connect timeout, with the store's message."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nothing ever answers
        url = f"postgresql://omne@127.0.0.1:{silent.getsockname()[1]}/omne"
        outcome: list = []

        def open_it():
            try:
                PostgresDatabase(url, connect_timeout_s=1).close()
                outcome.append(None)
            except Exception as exc:  # noqa: BLE001 - inspected below
                outcome.append(exc)
        opener = threading.Thread(target=open_it, daemon=True)
        opener.start()
        opener.join(120)  # the open gives up after about a second; a hang shows as no outcome
    assert outcome, "the open still waits on a server that never answers"
    assert isinstance(outcome[0], StorageError), outcome
    assert str(outcome[0]).startswith(f"cannot open the PostgreSQL store at {url}: ")
    assert str(outcome[0]).endswith(". " + _OPEN_FIX)


def test_a_read_is_not_held_up_by_a_write_waiting_for_the_log_lock(postgres_url):
    """Kills `PostgresDatabase.__init__` mutants 28 and 35 (`max_size` None or left out: a pool of one connection,
    whatever `pool_size` says). A write waiting for the log lock holds its connection; the store's other
    connections still serve reads, so a busy writer never stalls a server's searches."""
    import psycopg

    storage = PostgresStorage(postgres_url, pool_size=2)
    try:
        record = Record(kind=RecordKind.FACT, scope=SCOPE, text="readers go on")
        storage.records.insert([record])
        storage._db.pool.timeout = 10  # a read that cannot get a connection fails in 10 s, not the default 30
        with psycopg.connect(postgres_url, autocommit=True) as holder:
            with holder.transaction():
                holder.execute(_LOG_LOCK)
                writer = threading.Thread(target=storage.records.insert,
                                          args=([Record(kind=RecordKind.FACT, scope=SCOPE, text="waits")],))
                writer.start()
                for _ in range(6000):  # until the write waits for the lock, holding its connection
                    if holder.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                                      [holder.info.backend_pid]).fetchone()[0]:
                        break
                    threading.Event().wait(0.01)
                assert writer.is_alive()
                assert storage.records.get_many([record.id], SCOPE) == [record]
        writer.join(60)
        assert storage.records.count(SCOPE) == 2
    finally:
        storage.close()


def test_writes_outside_the_record_log_do_not_wait_for_its_lock(postgres_url):
    """Kills `PostgresDatabase.transaction__mutmut_1` (`log_lock` defaulting to True: every transaction took the
    log lock). A context state save and a job enqueue give no record a log position, so they go on while a
    long import or forget holds the log lock: an agent's turn and the job queue never stall behind it."""
    from omne.storage.job_models import JobSpec

    storage = PostgresStorage(postgres_url, pool_size=2)
    try:
        assert not _waits_for_the_log_lock(postgres_url, lambda: storage.records.save_context_state(
            SCOPE, "ctx", '{"turns": 1}', T0))
        assert not _waits_for_the_log_lock(postgres_url, lambda: storage.jobs.enqueue(
            [JobSpec(key="k", kind="demo", scope=SCOPE)], now=T0, max_attempts=5))
        assert storage.records.context_state(SCOPE, "ctx") == '{"turns": 1}'
        assert [j.key for j in storage.jobs.list()] == ["k"]
    finally:
        storage.close()


def test_the_pool_size_given_to_the_store_bounds_its_connections(postgres_url):
    """Kills `PostgresStorage.__init__` 4, 6 (the pool size not handed on to the database: None, a pool of one
    connection, or the default of eight whatever was asked); white box: the pool's bound."""
    from omne.storage.postgres_storage import PostgresStorage

    storage = PostgresStorage(postgres_url, pool_size=3)
    try:
        assert storage._db.pool.max_size == 3
    finally:
        storage.close()
