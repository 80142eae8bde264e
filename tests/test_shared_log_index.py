"""Several cores on one PostgreSQL database, each with its own local vector index derived from the shared log
(omne.storage.log_follower): what one writes, the others find, without embedding it again; forgets and updates
reach every index; a record whose writer died before storing its vector is embedded by a follower after a grace
period. Real throwaway PostgreSQL cluster, real Qdrant Edge indexes; the hashing test embedder, counted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import pytest

from omne import MemoryCore, Record, Scope
from omne.errors import StorageError
from omne.storage.postgres_storage import PostgresStorage
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.testing import HashEmbedder
from tests.support.postgres import schema_name

U = Scope(user="u")


class CountingEmbedder(HashEmbedder):
    """The hashing embedder, remembering every text it embedded for a record (queries apart)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return super().embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return super().embed([text])[0]


async def _open(path, embedder=None) -> MemoryCore:
    return await MemoryCore.open(path, embedder=embedder or CountingEmbedder())


@asynccontextmanager
async def _two_cores(tmp_path, a_embedder=None, b_embedder=None) -> AsyncIterator[tuple[MemoryCore, MemoryCore]]:
    """Cores "a" and "b" on the shared database, each with its own index and embedder; both closed after."""
    a = await _open(tmp_path / "a", a_embedder)
    try:
        b = await _open(tmp_path / "b", b_embedder)
        try:
            yield a, b
        finally:
            await b.close()
    finally:
        await a.close()


async def _ids(core: MemoryCore, query: str) -> list[str]:
    return [hit.record.id for hit in await core.search(query, scope=U, top_k=5)]


async def test_a_record_added_through_one_core_is_found_by_another_without_embedding_it_again(database, tmp_path):
    a_embedder, b_embedder = CountingEmbedder(), CountingEmbedder()
    async with _two_cores(tmp_path, a_embedder, b_embedder) as (a, b):
        added = await a.remember("the ferry to Skye leaves at nine", scope=U)
        assert await b.reconcile() == 1  # B's own index catches up with the shared log
        assert (await _ids(b, "ferry Skye"))[0] == added.id
        assert "the ferry to Skye leaves at nine" in a_embedder.texts
        assert "the ferry to Skye leaves at nine" not in b_embedder.texts  # B used the vector A stored
        assert (await b.stats(U))["vectors"] == (await b.stats(U))["records"] == 1
        assert (await b.stats(U))["pending_index"] == 0


async def test_forget_and_update_through_one_core_leave_no_stale_hit_in_another(database, tmp_path):
    async with _two_cores(tmp_path) as (a, b):
        gone = await a.remember("the locker code is 4711", scope=U)
        old = await a.remember("the meeting room is Birch", scope=U)
        await b.reconcile()
        assert gone.id in await _ids(b, "locker code") and old.id in await _ids(b, "meeting room")
        await a.forget(gone.id, scope=U)
        new = await a.update(old.id, scope=U, text="the meeting room is Cedar")
        # before B catches up, the record store's liveness check already hides both from B's search
        assert gone.id not in await _ids(b, "locker code") and old.id not in await _ids(b, "meeting room")
        await b.reconcile()
        assert (await _ids(b, "meeting room Cedar"))[0] == new.id
        stats = await b.stats(U)
        assert stats["vectors"] == stats["records"] == 1  # the forgotten and superseded points left B's index


async def test_the_background_catch_up_finds_another_cores_write_within_a_second(database, tmp_path):
    import asyncio
    import time

    async with _two_cores(tmp_path) as (a, b):
        added = await a.remember("the lighthouse keeper is called Morag", scope=U)
        start = time.monotonic()
        while added.id not in await _ids(b, "lighthouse keeper"):  # no reconcile call: B's task catches up
            assert time.monotonic() - start < 1.0
            await asyncio.sleep(0.02)


async def test_a_core_opened_later_builds_its_index_from_stored_vectors_alone(database, tmp_path, caplog):
    a = await _open(tmp_path / "a")
    try:
        texts = [f"harbour note number {n}" for n in range(300)]
        await a.add([Record(kind="fact", text=t, scope=U) for t in texts])
        await a.forget((await a.list(scope=U, limit=1))[0].id, scope=U)
    finally:
        await a.close()
    late_embedder = CountingEmbedder()
    late = await _open(tmp_path / "late", late_embedder)
    try:
        assert late_embedder.texts == []  # opening caught up from the log with A's vectors
        stats = await late.stats(U)
        assert stats["vectors"] == stats["records"] == 299 and stats["pending_index"] == 0
        assert (await late.search("harbour note number 123", scope=U, top_k=1))[0].record.text == texts[123]
    finally:
        await late.close()
    with caplog.at_level(logging.WARNING, logger="omne"):
        reopened = await _open(tmp_path / "late", late_embedder)  # its position was saved: nothing to re-apply
    try:
        assert caplog.messages == []  # not rebuilt (`_load` 38: a saved position with points rebuilt every open)
        assert await reopened.reconcile() == 0
    finally:
        await reopened.close()


def test_stored_vectors_read_back_as_float32_whatever_dtype_they_were_given_in(database):
    """The shared log keeps little-endian float32, the index's type: an embedder returning float64 (numpy's
    default) must not store 8-byte values that every server would read back as twice as many garbage floats."""
    from omne.storage.protocols import IndexItem

    storage = PostgresStorage(database)
    try:
        record = Record(kind="fact", text="the ferry to Skye leaves at nine", scope=U)
        storage.records.insert([record])
        vector, context = np.array([0.5, -1.25, 3.0]), np.array([1.0, 2.0, -0.75])  # float64
        storage.vectors.save_vectors("m", [IndexItem(record=record, vector=vector, context=context)])
        [change] = storage.vectors.changes_after(0, "m", 10)
        assert change.vector.dtype == np.float32 and change.vector.tolist() == [0.5, -1.25, 3.0]
        assert change.context is not None and change.context.tolist() == [1.0, 2.0, -0.75]
    finally:
        storage.close()


def test_the_change_log_counts_pending_changes_per_scope_and_serves_only_a_vector_of_the_current_text(database):
    """Kills `PostgresVectorLog.pending__mutmut_2` (`scope_where(None)`: a scope's pending count, which
    `memory stats` shows as `pending_index`, counted every scope's changes) and guards `changes_after`'s reuse
    rule: a stored vector serves only for its model and while the record's text is the one it embedded (an
    import that changes the text makes the follower embed it again)."""
    from omne.storage.protocols import IndexItem

    other = Scope(user="v")
    storage = PostgresStorage(database)
    try:
        mine = [Record(kind="fact", text=f"fact {i}", scope=U) for i in range(2)]
        theirs = Record(kind="fact", text="their fact", scope=other)
        storage.records.insert([*mine, theirs])
        assert (storage.vectors.pending(0, U), storage.vectors.pending(0, other), storage.vectors.pending(0)) == (
            2, 1, 3)
        first = storage.vectors.changes_after(0, "m", 1)
        assert [c.record.id for c in first] == [mine[0].id]
        assert storage.vectors.pending(first[-1].position, U) == 1
        storage.vectors.save_vectors("m", [IndexItem(record=r, vector=np.ones(3)) for r in mine])
        storage.records.upsert_raw([mine[1].model_copy(update={"text": "fact 1, corrected"})])
        changes = {c.record.id: c for c in storage.vectors.changes_after(0, "m", 10)}
        assert changes[mine[0].id].vector is not None and changes[mine[0].id].vector.tolist() == [1.0, 1.0, 1.0]
        assert changes[mine[1].id].vector is None  # its text changed after the vector was stored
        assert changes[theirs.id].vector is None
        assert all(c.vector is None for c in storage.vectors.changes_after(0, "another-model", 10))
    finally:
        storage.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_record_whose_writer_died_before_storing_its_vector_is_embedded_after_the_grace_period(database, tmp_path):
    """The writer committed records but never stored their vectors (killed in between): the follower leaves
    them to it for the grace period, indexing what comes after them meanwhile, then embeds them itself."""
    from omne.storage.log_follower import POSITION_FILE, LogFollower

    storage = PostgresStorage(database)
    index = EdgeVectorIndex(tmp_path / "vectors", HashEmbedder.dim)
    embedder = CountingEmbedder()
    clock = Clock()
    follower = LogFollower(storage.vectors, index, embedder, tmp_path / POSITION_FILE, grace_s=2.0, clock=clock)
    try:
        orphan = Record(kind="fact", text="written by a server that died", scope=U)
        storage.records.insert([orphan])  # no vector stored
        own = Record(kind="fact", text="written here", scope=U)
        storage.records.insert([own])
        follower.index_new([own])
        assert embedder.texts == ["written here"] and index.count() == 1  # the orphan waits for its writer
        assert follower.position == 0  # ... and the position stops before it
        clock.now = 1.9
        assert follower.catch_up() == 0 and follower.position == 0  # still within the grace period
        clock.now = 2.0  # the grace period is over (exactly): the follower embeds it itself
        assert follower.catch_up() == 1 and index.count() == 2
        assert embedder.texts == ["written here", "written by a server that died"]
        assert follower.position == 2 and follower.pending() == 0
        assert follower.catch_up() == 0  # applied once only
        late = Record(kind="fact", text="another orphan", scope=U)
        storage.records.insert([late])
        assert follower.catch_up() == 0 and follower.position == 2  # left to its writer ...
        assert follower.catch_up(wait_for_writers=False) == 1 and index.count() == 3  # ... unless asked not to
        assert follower.position == 3
        follower.replay()  # from the start of the log: the next catch-up rewrites every point, embedding none
        assert follower.position == 0 and follower.pending() == 3
        assert follower.catch_up() == 3 and follower.position == 3 and index.count() == 3
        assert len(embedder.texts) == 3
    finally:
        index.close()
        storage.close()


def test_a_follower_reads_the_log_in_pages_counts_every_change_and_what_each_scope_has_pending(database, tmp_path):
    """Kills `LogFollower.catch_up` 8 (the log read without the page limit: a follower far behind loaded every
    change at once) and 20 (only the last page's changes counted), and `pending` 2, 4 (a scope's pending count,
    `memory stats`' `pending_index`, counting every scope's changes)."""
    from omne.storage.log_follower import POSITION_FILE, LogFollower

    other = Scope(user="v")
    storage = PostgresStorage(database)
    index = EdgeVectorIndex(tmp_path / "vectors", HashEmbedder.dim)
    embedder = CountingEmbedder()
    follower = LogFollower(storage.vectors, index, embedder, tmp_path / POSITION_FILE, batch=2)
    limits: list[int] = []
    changes_after = storage.vectors.changes_after

    def paged(position, model, limit):
        limits.append(limit)
        return changes_after(position, model, limit)

    storage.vectors.changes_after = paged  # type: ignore[method-assign]  # the follower's log, watched
    try:
        storage.records.insert([Record(kind="fact", text=f"mine {i}", scope=U) for i in range(5)])
        storage.records.insert([Record(kind="fact", text=f"theirs {i}", scope=other) for i in range(2)])
        assert (follower.pending(U), follower.pending(other), follower.pending()) == (5, 2, 7)
        assert follower.catch_up(wait_for_writers=False) == 7 and index.count() == 7  # no vector stored: embedded
        assert limits and set(limits) == {2} and len(embedder.texts) == 7
        assert (follower.pending(U), follower.pending()) == (0, 0)
    finally:
        index.close()
        storage.close()


async def test_an_index_derived_from_another_database_is_refused_with_the_fix(postgres_cluster, tmp_path,
                                                                            monkeypatch):
    one, two = schema_name("derived_one_"), schema_name("derived_two_")
    monkeypatch.setenv("OMNE_DATABASE_URL", postgres_cluster.create_schema(one))
    await (await _open(tmp_path / "a")).close()
    monkeypatch.setenv("OMNE_DATABASE_URL", postgres_cluster.create_schema(two))
    try:
        with pytest.raises(StorageError) as refused:
            await _open(tmp_path / "a")
        assert str(refused.value) == (
            f"the vector index in {tmp_path / 'a'} was derived from another database's store: give this server a "
            "store directory of its own (--store), or delete that directory's 'vectors' folder and its "
            "index-position.json to rebuild the index from this one")
    finally:
        postgres_cluster.drop_schema(one)
        postgres_cluster.drop_schema(two)


async def _remembered(path, *texts: str) -> list[Record]:
    """Open core `path`, remember each text in U, close it: a store whose index and position are then tampered with."""
    core = await _open(path)
    try:
        return [await core.remember(text, scope=U) for text in texts]
    finally:
        await core.close()


async def test_an_emptied_index_is_rebuilt_from_the_log(database, tmp_path, caplog):
    import shutil

    await _remembered(tmp_path / "a", "a fact worth keeping")
    shutil.rmtree(tmp_path / "a" / "vectors")  # the index went; its position file stayed
    with caplog.at_level(logging.WARNING, logger="omne"):
        again = await _open(tmp_path / "a")
    try:
        assert (await again.stats(U))["vectors"] == 1
        assert f"the vector index in {tmp_path / 'a'} is empty: rebuilding it from the log" in caplog.messages
    finally:
        await again.close()


async def test_an_unreadable_index_position_re_applies_the_whole_log(database, tmp_path, caplog):
    from omne.storage.log_follower import POSITION_FILE, FollowState

    (added,) = await _remembered(tmp_path / "a", "the harbour opens at six")
    position = tmp_path / "a" / POSITION_FILE
    saved = FollowState.model_validate_json(position.read_text())
    position.write_text("{not json")  # e.g. a disk that lost the file's last write
    embedder = CountingEmbedder()
    with caplog.at_level(logging.WARNING, logger="omne"):
        again = await _open(tmp_path / "a", embedder)
    try:
        assert f"unreadable index position {position}: re-applying the whole log to the index" in caplog.messages
        assert (await _ids(again, "harbour"))[0] == added.id and embedder.texts == []  # the stored vector served
        assert FollowState.model_validate_json(position.read_text()) == saved  # caught up, and saved again
    finally:
        await again.close()


class OtherModel(CountingEmbedder):
    name = "another-model"


async def test_an_index_built_with_another_embedding_model_is_rebuilt_with_this_one(database, tmp_path, caplog):
    (added,) = await _remembered(tmp_path / "a", "the boat is called Mango")
    other = OtherModel()
    with caplog.at_level(logging.WARNING, logger="omne"):
        again = await _open(tmp_path / "a", other)
    try:
        assert (f"the vector index in {tmp_path / 'a'} holds {CountingEmbedder.name} vectors: rebuilding it from "
                "the log with another-model") in caplog.messages
        assert other.texts == ["the boat is called Mango"]  # no stored vector of this model: embedded here
        assert (await again.stats(U))["vectors"] == 1 and (await _ids(again, "boat Mango"))[0] == added.id
    finally:
        await again.close()


async def test_an_index_that_lost_points_its_position_covers_is_rebuilt_on_open(database, tmp_path):
    """The position file says every change is in the index, but some points are not (e.g. a power loss kept the
    position and not the index's last pages): opening compares the index with the log, as on SQLite."""
    kept, lost = await _remembered(tmp_path / "a", "the harbour opens at six", "the ferry to Skye leaves at nine")
    index = EdgeVectorIndex(tmp_path / "a" / "vectors", HashEmbedder().dim)
    index.delete([lost.id])
    index.close()
    again = await _open(tmp_path / "a")
    try:
        stats = await again.stats(U)
        assert stats["vectors"] == stats["records"] == 2 and stats["pending_index"] == 0
        assert (await _ids(again, "ferry Skye"))[0] == lost.id and kept.id in await _ids(again, "harbour")
    finally:
        await again.close()


class CountingMiniLM:
    """The shared MiniLM embedder, remembering every text it embedded for a record (queries apart)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


async def _explained(core: MemoryCore, query: str, scope: Scope) -> list[tuple[str, object, dict[str, int]]]:
    from tests.test_contextual_vectors import explained

    return explained(await core.search(query, scope=scope, top_k=10))


async def test_a_core_that_catches_up_serves_contextual_search_as_the_writer_does(database, tmp_path, embedder):
    """The writer stores each message's contextual vector beside its vector; a core that catches up (running, or
    opened later) indexes both without embedding, so a reply found only through the turn it answers is found
    there too, with the same ranks and scores."""
    from tests.test_contextual_vectors import JO, QUERY, _turns

    running, late = CountingMiniLM(embedder), CountingMiniLM(embedder)
    b = await _open(tmp_path / "b", running)
    a = await _open(tmp_path / "a", CountingMiniLM(embedder))
    try:
        stored = await a.add(_turns())
        answer = stored[3].id
        by_writer = await _explained(a, QUERY, JO)
        ranks = dict((i, s) for i, _, s in by_writer)[answer]
        assert ranks["context"] <= 4 < ranks["dense"]  # the contextual vector finds it; its own words do not
        await b.reconcile()  # (its background catch-up may have applied some already)
        assert await _explained(b, QUERY, JO) == by_writer
        c = await _open(tmp_path / "c", late)
        try:
            assert await _explained(c, QUERY, JO) == by_writer
        finally:
            await c.close()
        assert running.texts == [] and late.texts == []
    finally:
        await a.close()
        await b.close()


async def test_a_database_stored_before_contextual_vectors_migrates_and_its_vectors_serve_as_contextual(
        database, tmp_path):
    """Schema 2 kept no contextual vectors: opening migrates it (a column added, nothing rewritten), and a record
    stored then is indexed from its vector alone, which serves as its contextual one, on every server alike."""
    from omne.storage.postgres_schema import MIGRATIONS

    a = await _open(tmp_path / "a")
    try:
        old = await a.remember("the ferry to Skye leaves at nine", scope=U)
    finally:
        await a.close()
    with psycopg_conn(database) as conn:  # as an Omne of schema 2 left it
        conn.execute("ALTER TABLE record_vectors DROP COLUMN context")
        conn.execute("UPDATE omne_schema SET version = 2")
    storage = PostgresStorage(database)
    try:
        [change] = storage.vectors.changes_after(0, CountingEmbedder.name, 10)
        assert change.vector is not None and change.context is None
        with psycopg_conn(database) as conn:
            assert conn.execute("SELECT version FROM omne_schema").fetchone()[0] == len(MIGRATIONS) == 3
    finally:
        storage.close()
    embedder = CountingEmbedder()
    b = await _open(tmp_path / "b", embedder)
    try:
        assert embedder.texts == []
        hit = (await b.search("ferry Skye", scope=U, top_k=1))[0]
        assert hit.record.id == old.id and hit.stages["context"] == hit.stages["dense"] == 1
    finally:
        await b.close()


async def test_a_servers_index_made_before_contextual_vectors_gets_them_without_embedding(database, tmp_path,
                                                                                       embedder):
    """On a shared database the other servers serve a record stored without a contextual vector with its vector
    as the contextual one; a server whose own index predates contextual vectors does the same, embedding nothing."""
    from omne.testing import make_pre_contextual_index
    from tests.test_contextual_vectors import JO, QUERY, _turns, explained

    a = await _open(tmp_path / "a", CountingMiniLM(embedder))
    try:
        stored = await a.add(_turns())
    finally:
        await a.close()
    make_pre_contextual_index(tmp_path / "a" / "vectors")
    with psycopg_conn(database) as conn:  # as an Omne of schema 2 stored them: no contextual vectors
        conn.execute("UPDATE record_vectors SET context = NULL")
    counting = CountingMiniLM(embedder)
    again, fresh = await _open(tmp_path / "a", counting), await _open(tmp_path / "b", counting)
    try:
        assert counting.texts == []
        hits = explained(await again.search(QUERY, scope=JO, top_k=10))
        assert hits == explained(await fresh.search(QUERY, scope=JO, top_k=10))
        assert all(stages["context"] == stages["dense"] for _, _, stages in hits) and len(hits) == len(stored)
    finally:
        await again.close()
        await fresh.close()


def psycopg_conn(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)
