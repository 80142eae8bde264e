"""A core on a shared PostgreSQL log keeps its index in line (omne.index_upkeep): the follow task, its retries and
what it leaves to a record's writer, per-scope pending counts, a replay after lost points, contextual texts for the
records it embeds itself, and no follower at all on a Qdrant server. Real throwaway PostgreSQL cluster, real
Qdrant Edge indexes; the hashing test embedder, counted. Each docstring names the mutants it kills (`core-follow`,
benchmarks/RESULTS-mutation.md)."""

from __future__ import annotations

import logging

from omne import MemoryCore, Record, Scope
from omne.storage.postgres_storage import PostgresStorage
from tests.test_shared_log_index import U, CountingEmbedder, OtherModel, _ids, _open


async def test_a_follower_that_embeds_records_itself_gives_each_message_its_contextual_text(database, tmp_path):
    """Kills `IndexUpkeep.__init__` 16, 21 (the follower built without the record store its contextual texts come
    from): a server that must embed the log itself (no stored vector of its model) embeds a reply after the
    message before it, as the writer did."""
    from omne import RecordKind
    from omne.storage.index_payload import index_text

    core = await _open(tmp_path / "a")
    try:
        first, second = await core.add([Record(kind=RecordKind.MESSAGE, role="user", text=text, scope=U)
                                         for text in ("Did the ferry leave?", "Yes, at nine.")])
    finally:
        await core.close()
    other = OtherModel()
    again = await _open(tmp_path / "a", other)
    try:
        assert sorted(other.texts) == sorted([first.text, second.text, f"{index_text(first)} {index_text(second)}"])
    finally:
        await again.close()


async def test_a_core_on_a_shared_log_follows_it_in_a_named_task_and_counts_what_each_scope_has_pending(
        database, tmp_path):
    """Kills `IndexUpkeep.open` 15, 17-19 (the follow task unnamed or misnamed: a task dump no longer says what it
    is) and `pending` 5 (`memory stats`' `pending_index` of a scope counting every scope's changes); the task
    ends when the core closes."""
    import asyncio

    def following() -> list[asyncio.Task]:
        return [t for t in asyncio.all_tasks() if t.get_name() == "omne-follow-log"]

    core = await _open(tmp_path / "a")
    try:
        assert len(following()) == 1
        await core._upkeep.stop()  # white box: the follower held still, so what another server wrote stays pending
        assert not following()
        other = Scope(user="v")
        storage = PostgresStorage(database)
        try:
            storage.records.insert([Record(kind="fact", text=f"their fact {i}", scope=other) for i in range(3)])
        finally:
            storage.close()
        assert (await core.stats(U))["pending_index"] == 0 and (await core.stats(other))["pending_index"] == 3
    finally:
        await core.close()


async def test_reconcile_replays_an_index_that_lost_points_and_counts_every_record_it_applied(
        database, tmp_path, caplog):
    """Kills `IndexUpkeep.reconcile` 7 (the replayed records subtracted from the count) and 11 (the replay waiting
    for the writers of records without a vector, as the background catch-up does, where `reconcile` must index
    everything now), and `_follower_lost_points`' warning: an index that lost a point is replayed from the log,
    a record written meanwhile by a server that has not stored its vector yet included."""
    core = await _open(tmp_path / "a")
    try:
        await core._upkeep.stop()  # white box: only reconcile moves the index here
        notes = [await core.remember(f"harbour note {i}", scope=U) for i in range(3)]
        await core._upkeep.reconcile()
        core._index.delete([notes[0].id])  # white box: the index lost a point
        follower = core._upkeep._follower
        replay = follower.replay
        late = Record(kind="fact", text="written as the replay starts", scope=U)

        def replay_while_another_server_writes() -> None:
            storage = PostgresStorage(database)
            try:
                storage.records.insert([late])  # committed; its writer has not stored the vector yet
            finally:
                storage.close()
            replay()

        follower.replay = replay_while_another_server_writes
        with caplog.at_level(logging.WARNING, logger="omne"):
            assert await core.reconcile() == 4
        assert caplog.messages == ["vector index holds 2 points for 3 live records; rebuilding it from the log"]
        stats = await core.stats(U)
        assert stats["vectors"] == stats["records"] == 4 and stats["pending_index"] == 0
    finally:
        await core.close()


async def test_the_follow_task_backs_off_while_catching_up_fails_and_recovers(database, tmp_path, monkeypatch, caplog):
    """Kills `IndexUpkeep._follow_log` mutants of its retry: each failure logged with its reason and the next
    delay, the delay doubled up to its cap and back to the interval after a success, and the task still
    following afterwards (intervals shortened for the test), leaving a record without a vector to its writer
    for the grace period (`wait_for_writers=True`) before embedding it itself."""
    import asyncio

    import omne.index_upkeep

    monkeypatch.setattr(omne.index_upkeep, "FOLLOW_INTERVAL_S", 0.1)
    monkeypatch.setattr(omne.index_upkeep, "_FOLLOW_BACKOFF_MAX_S", 0.3)
    embedder = CountingEmbedder()
    core = await _open(tmp_path / "a", embedder)
    try:
        follower = core._upkeep._follower  # white box: its catch-up fails three times, works once, fails again
        catch_up = follower.catch_up
        outcomes = iter(["fail", "fail", "fail", "ok", "fail"])

        def flaky(**kwargs):
            if next(outcomes, "ok") == "fail":
                raise ConnectionError("database unreachable")
            return catch_up(**kwargs)

        follower.catch_up = flaky
        with caplog.at_level(logging.WARNING, logger="omne"):
            for _ in range(200):  # 10 s at most: a follow task that died never logs the fourth
                if len(caplog.messages) >= 4:
                    break
                await asyncio.sleep(0.05)
        assert caplog.messages == [f"the vector index could not catch up with the shared log (database unreachable); "
                                   f"retrying in {delay} s" for delay in ("0.2", "0.3", "0.3", "0.2")]
        storage = PostgresStorage(database)  # still following: another server's write arrives
        try:
            late = Record(kind="fact", text="the ferry to Skye leaves at nine", scope=U)
            storage.records.insert([late])
        finally:
            storage.close()
        await asyncio.sleep(0.5)  # several catch-ups, well within the grace period its writer has to store its vector
        assert late.text not in embedder.texts  # left to its writer: not embedded twice
        for _ in range(200):  # after the grace period, embedded here
            if late.id in await _ids(core, "ferry Skye"):
                break
            await asyncio.sleep(0.05)
        assert late.id in await _ids(core, "ferry Skye")
    finally:
        await core.close()


async def test_a_core_on_a_shared_log_with_a_qdrant_server_index_follows_no_log(database, tmp_path, local_qdrant):
    """Kills `MemoryCore.__init__` 36 (the shared log handed on with the server backend too): every server shares
    the Qdrant server's collection, so none keeps a derived index or its position (qdrant-client's local mode
    stands in for the server)."""
    from omne import OmneConfig, VectorConfig
    from omne.storage.log_follower import POSITION_FILE

    config = OmneConfig.from_env(tmp_path / "a").model_copy(
        update={"vectors": VectorConfig(backend="server", url="http://qdrant:6333")})
    core = await MemoryCore.open(config=config, embedder=CountingEmbedder())
    try:
        added = await core.remember("the ferry to Skye leaves at nine", scope=U)
        assert (await _ids(core, "ferry Skye"))[0] == added.id
        assert not (tmp_path / "a" / POSITION_FILE).exists()
    finally:
        await core.close()
