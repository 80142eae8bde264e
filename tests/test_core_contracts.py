"""MemoryCore's contracts, pinned by tests that kill the `core` module's mutants (`bash benchmarks/mutation/run.sh
core`, see benchmarks/RESULTS-mutation.md): each verb hands on every argument, applies every filter, checks
what it writes and counts what it did. Each test's docstring names the mutants it kills."""

from __future__ import annotations

import asyncio
import json

import pytest

from omne import Record, RecordKind, Scope
from omne.errors import InvalidInputError

ALICE = Scope(user="alice")


async def test_memory_core_ingest_hands_on_every_argument(tmp_path):
    """Kills `MemoryCore.ingest` mutants that drop one of its arguments or pass None instead (options, vision,
    message_id, context, mime, metadata, tags, progress) on the way to `omne.ingest.ingest`: each changes what
    is stored, or what the caller hears, in a way checked here."""
    from autogen_ext.models.replay import ReplayChatCompletionClient

    from omne.ingest import ImageContext, IngestOptions, Provenance
    from omne.testing import open_fast_core
    from tests.ingest_samples import png_bytes

    core = await open_fast_core(tmp_path / "store")
    try:
        message = await core.remember("here are my harbour notes", scope=ALICE)
        events: list[tuple] = []
        text = " ".join(f"The harbour wall {i} was rebuilt in stone after the storm." for i in range(40)).encode()
        result = await core.ingest(text, scope=ALICE, name="notes", mime="text/markdown",
                                   options=IngestOptions(chunk_tokens=16, overlap_tokens=0), message_id=message.id,
                                   metadata={"project": "harbour"}, tags=["survey"],
                                   progress=lambda *event: events.append(event))
        assert len(result.records) > 20  # 16-token chunks (the default of 200 would make two or three)
        assert all(r.source_ids == [message.id] and r.metadata["project"] == "harbour" and "survey" in r.tags
                   for r in result.records)
        assert events  # told how far it got
        assert Provenance.of(result.records[0]).source.mime == "text/markdown"  # sniffed alone, it is plain text

        vision = ReplayChatCompletionClient([json.dumps({"caption": "a lighthouse at dusk", "text": ""})],
                                            model_info={"vision": True, "function_calling": False,
                                                        "json_output": True, "family": "test-vision",
                                                        "structured_output": False})
        seen = await core.ingest(png_bytes((10, 20, 30)), scope=ALICE, name="light.png", vision=vision)
        assert Provenance.of(seen.records[0]).image.caption == "a lighthouse at dusk"
        told = await core.ingest(png_bytes((40, 50, 60)), scope=ALICE, name="boats.png",
                                 context=ImageContext(alt_text="boats in the harbour"))
        assert Provenance.of(told.records[0]).image.caption == "boats in the harbour"
    finally:
        await core.close()


async def test_an_update_is_checked_and_stamped_as_a_new_version(fast_core):
    """Kills `MemoryCore.update` and `supersede` mutants: the new version's `valid_from` left unset instead of now,
    and the schema registry not passed to the check of a new version (`check_records(..., None)`: updating a
    fact of a schema then crashed with AttributeError instead of checking its data)."""
    from datetime import timedelta

    from pydantic import BaseModel

    from omne.types import utcnow

    class Boat(BaseModel):
        name: str
        length_m: float

    fast_core.schemas.register("boat", Boat)
    fact = await fast_core.remember("Our boat", scope=ALICE, kind="fact", schema_name="boat",
                                    data={"name": "Wren", "length_m": 6.5})
    with pytest.raises(InvalidInputError, match="length_m"):
        await fast_core.update(fact.id, scope=ALICE, data={"name": "Wren", "length_m": "long"})
    before = utcnow()
    new = await fast_core.update(fact.id, scope=ALICE, data={"name": "Wren", "length_m": "7"})
    assert new.data == {"name": "Wren", "length_m": 7.0}  # validated, and so normalised, by the schema
    assert new.valid_from is not None and before - timedelta(seconds=1) <= new.valid_from <= utcnow()


async def test_an_import_is_written_in_batches_of_the_batch_limit(tmp_path, monkeypatch):
    """Kills the `MemoryCore.import_jsonl` mutant whose batches lost their step (`range(0, n)`: a batch starting
    at every record, so each record was written up to `max_batch` times)."""
    from omne import MemoryCore, OmneConfig
    from omne.testing import HashEmbedder

    config = OmneConfig(store_dir=tmp_path / "store", limits={"max_batch": 2})
    core = await MemoryCore.open(config=config, embedder=HashEmbedder())
    try:
        for i in range(5):
            await core.remember(f"note {i}", scope=ALICE)
        lines = [line async for line in core.export_lines(scope=ALICE)]
        written: list[int] = []
        upsert_raw = core._store.upsert_raw  # white box: count the store's writes

        def counting(records, edges=()):
            written.append(len(records))
            return upsert_raw(records, edges)

        monkeypatch.setattr(core._store, "upsert_raw", counting)
        assert await core.import_jsonl(lines) == 5
        assert written == [2, 2, 1]
    finally:
        await core.close()


async def test_remember_list_and_stats_keep_their_contracts(fast_core):
    """Kills `MemoryCore` mutants: `remember` dropping its extra fields (`**fields`) or its error message,
    `list` not checking its limit or naming another call in a filter error, and `stats` counting pending index
    work over the whole store instead of the scope (`pending(None)`) or losing its `store` entry."""
    bob = Scope(user="bob")
    note = await fast_core.remember("The ferry leaves at nine.", scope=ALICE, name="Sam", tags=["travel"],
                                    importance=0.9, metadata={"source": "chat"})
    assert (note.name, note.tags, note.importance, note.metadata) == ("Sam", ["travel"], 0.9, {"source": "chat"})
    with pytest.raises(InvalidInputError) as bad:
        await fast_core.remember("x", scope=ALICE, importance=5)
    assert str(bad.value).startswith("invalid record: importance: ")
    for limit in (0, -1):
        with pytest.raises(InvalidInputError, match="^limit must be between 1 and"):
            await fast_core.list(scope=ALICE, limit=limit)
    with pytest.raises(InvalidInputError, match="^invalid list filter: "):
        await fast_core.list(scope=ALICE, kinds=["not-a-kind"])
    await fast_core.remember("Bob's note", scope=bob)
    await fast_core.remember("Bob's other note", scope=bob)
    await asyncio.to_thread(fast_core._store.mark_all_dirty)  # white box: every record awaits indexing
    assert (await fast_core.stats(ALICE))["pending_index"] == 1
    whole = await fast_core.stats()
    assert whole["pending_index"] == 3 and whole["store"] == str(fast_core.config.store_dir)


async def test_connect_hands_its_arguments_to_the_client_and_schemas_are_listed(fast_core, monkeypatch):
    """Kills `MemoryCore.connect` mutants (the URL, key or timeout not handed on) and `fact_schemas` ones. The
    client is only built here: what it would send is read from its httpx client (white box), no server runs."""
    from typing import ClassVar

    from pydantic import BaseModel

    from omne import MemoryCore

    monkeypatch.delenv("OMNE_URL", raising=False)
    monkeypatch.delenv("OMNE_API_KEY", raising=False)
    client = MemoryCore.connect("http://127.0.0.1:9/", api_key="k-1", timeout_s=7.5)
    try:
        assert client.url == "http://127.0.0.1:9"
        assert client._http.headers["Authorization"] == "Bearer k-1" and client._http.timeout.read == 7.5
    finally:
        await client.close()
    default = MemoryCore.connect("http://127.0.0.1:9")
    try:
        assert "Authorization" not in default._http.headers and default._http.timeout.read == 60.0
    finally:
        await default.close()

    class Boat(BaseModel):
        name: str
        length_m: float
        identity_fields: ClassVar[tuple[str, ...]] = ("name",)

    fast_core.schemas.register("boat", Boat)
    schemas = await fast_core.fact_schemas()
    assert schemas["boat"] == ["name"] and list(schemas) == sorted(schemas)


async def test_optimize_builds_the_waiting_graph_once(tmp_path):
    """Kills `IndexUpkeep.optimize` / `MemoryCore.optimize` mutants that skip the build or lose its answer."""
    from omne import MemoryCore, OmneConfig
    from omne.testing import HashEmbedder

    # 1,500 points: past the segment policy's indexing threshold for batches of 2,000, short of the automatic build
    config = OmneConfig(store_dir=tmp_path / "store", vectors={"auto_optimize_after": 2000})
    core = await MemoryCore.open(config=config, embedder=HashEmbedder())
    try:
        await core.add([Record(kind=RecordKind.FACT, scope=ALICE, text=f"fact {i} about kayaks") for i in range(1500)])
        assert core._index.unindexed() == 1500  # white box: nothing built by itself
        assert await core.optimize() is True and core._index.unindexed() == 0
        assert await core.optimize() is False  # nothing left to build
    finally:
        await core.close()


async def test_list_and_search_apply_every_filter_they_are_given(fast_core):
    """Kills `MemoryCore.list`, `search` and `_record_filter` mutants that drop one filter on its way to the
    store or the index (kinds, roles, tags, start, end, limit, newest_first, text_contains, include_history),
    change search's default `top_k` of 10 or the call named in a filter error, and `_check_limit`'s inclusive
    upper bound."""
    from datetime import datetime, timedelta, timezone

    from omne.core import MAX_LIMIT

    t0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
    said = [Record(kind=RecordKind.MESSAGE, scope=ALICE, role=role, text=f"kayak trip note {i}", tags=[tag],
                   event_time=t0 + timedelta(days=i))
            for i, (role, tag) in enumerate([("user", "a"), ("assistant", "b"), ("user", "b"), ("assistant", "a")])]
    stored = await fast_core.add(said + [Record(kind=RecordKind.FACT, scope=ALICE, text=f"kayak fact {i}",
                                                event_time=t0 + timedelta(days=10 + i)) for i in range(8)])
    ids = [r.id for r in stored]

    async def listed(**kwargs) -> list[str]:
        return [r.id for r in await fast_core.list(scope=ALICE, **kwargs)]

    assert await listed(kinds=["message"]) == ids[:4]
    assert await listed(roles=["user"]) == [ids[0], ids[2]]
    assert await listed(tags=["a"]) == [ids[0], ids[3]]
    assert await listed(kinds=["message"], start=t0 + timedelta(days=1)) == ids[1:4]
    assert await listed(kinds=["message"], end=t0 + timedelta(days=1)) == ids[:2]
    assert await listed(limit=2) == ids[:2]
    assert await listed(kinds=["message"], newest_first=True) == ids[3::-1]
    assert await listed(text_contains="note 2") == [ids[2]]
    await fast_core.update(ids[4], scope=ALICE, text="kayak fact 0, corrected")
    assert len(await listed(kinds=["fact"], include_history=True)) == len(await listed(kinds=["fact"])) + 1
    assert len(await fast_core.list(scope=ALICE, limit=MAX_LIMIT)) == 12  # the bound itself is allowed

    async def found(**kwargs) -> set[str]:
        return {h.record.id for h in await fast_core.search("kayak trip note", scope=ALICE, **kwargs)}

    assert await found(roles=["assistant"]) == {ids[1], ids[3]}
    assert await found(tags=["b"]) == {ids[1], ids[2]}
    assert len(await fast_core.search("kayak", scope=ALICE)) == 10
    with pytest.raises(InvalidInputError, match="^invalid search filter: "):
        await fast_core.search("kayak", scope=ALICE, kinds=["boat"])


async def test_add_checks_schemas_writes_its_edges_and_tells_its_hooks(fast_core):
    """Kills `MemoryCore.add` mutants: the schema registry not passed to the check (`check_records(..., None)`),
    the edges left out of the insert, and a write hook called without the core, the records or their vectors."""
    from pydantic import BaseModel

    from omne import Edge, EdgeKind

    class Boat(BaseModel):
        name: str
        length_m: float

    calls: list[tuple] = []

    class Recording:
        async def after_add(self, core, records, vectors) -> None:
            calls.append((core, [r.id for r in records], sorted(vectors)))

    fast_core.schemas.register("boat", Boat)
    fast_core.write_hooks.append(Recording())
    first, second = Record(kind=RecordKind.FACT, scope=ALICE, text="Wren", schema_name="boat",
                           data={"name": "Wren", "length_m": "6.5"}), Record(kind=RecordKind.FACT, scope=ALICE,
                                                                               text="Wren is moored at pier 4")
    stored = await fast_core.add([first, second], [Edge(scope=ALICE, src=first.id, dst=second.id,
                                                        kind=EdgeKind.RELATES)])
    assert stored[0].data == {"name": "Wren", "length_m": 6.5}  # validated, and so normalised
    assert [(e.src, e.dst) for e in await fast_core.edges(scope=ALICE)] == [(first.id, second.id)]
    assert calls == [(fast_core, [first.id, second.id], sorted([first.id, second.id]))]


async def test_a_failing_write_hook_is_logged_and_the_write_stands(fast_core, caplog):
    """Kills `MemoryCore.add` mutants of the failing hook's log line (its text, or the hook's name, dropped)."""
    import logging

    class Exploding:
        async def after_add(self, core, records, vectors) -> None:
            raise RuntimeError("graph builder down")

    fast_core.write_hooks.append(Exploding())
    with caplog.at_level(logging.ERROR, logger="omne"):
        (stored,) = await fast_core.add([Record(kind=RecordKind.FACT, scope=ALICE, text="kept anyway")])
    assert (await fast_core.get(stored.id, scope=ALICE)).text == "kept anyway"
    (entry,) = [r for r in caplog.records if r.name == "omne"]
    assert entry.getMessage() == "write hook Exploding failed after a committed add"
    assert entry.exc_info is not None and "graph builder down" in str(entry.exc_info[1])


async def test_records_indexed_again_by_reconcile_get_their_contextual_texts(tmp_path):
    """Kills the `IndexUpkeep._index_records` mutant that re-indexes without the record store as the source of
    previous messages (`embed_records(..., None)`): a rebuilt index then lost every contextual vector."""
    from omne import MemoryCore
    from omne.storage.index_payload import index_text
    from omne.testing import HashEmbedder

    class Recording(HashEmbedder):
        def __init__(self) -> None:
            self.texts: list[str] = []  # per instance: a class-level list would be shared by every Recording

        def embed(self, texts):
            self.texts.extend(texts)
            return super().embed(texts)

    embedder = Recording()
    core = await MemoryCore.open(tmp_path / "store", embedder=embedder)
    try:
        first, second = await core.add([Record(kind=RecordKind.MESSAGE, scope=ALICE, role="user", text=t)
                                        for t in ("Where is the spare key?", "Under the blue flowerpot.")])
        await asyncio.to_thread(core._store.mark_all_dirty)  # white box: as after a lost index
        embedder.texts.clear()
        assert await core.reconcile() == 2
        assert f"{index_text(first)} {index_text(second)}" in embedder.texts
    finally:
        await core.close()


async def test_open_takes_the_store_directory_over_the_configs_and_keeps_the_rest(tmp_path):
    """Kills `MemoryCore.open` mutants of its rule that `store_dir` wins over `config.store_dir` (the test
    negated or loosened, the copy's update dropped or misnamed) and of the `closed` flag's start value."""
    from omne import MemoryCore, OmneConfig
    from omne.testing import HashEmbedder

    config = OmneConfig(store_dir=tmp_path / "b", limits={"max_batch": 3})
    core = await MemoryCore.open(tmp_path / "a", config=config, embedder=HashEmbedder())
    try:
        assert core.config.store_dir == tmp_path / "a" and core.config.limits.max_batch == 3
        assert core.closed is False
    finally:
        await core.close()
    assert core.closed is True and (tmp_path / "a").is_dir() and not (tmp_path / "b").exists()
    same = await MemoryCore.open(config=config, embedder=HashEmbedder())  # no store_dir: the config's
    try:
        assert same.config.store_dir == tmp_path / "b"
    finally:
        await same.close()


async def test_reconcile_counts_what_it_indexed_and_leaves_a_clean_store_alone(tmp_path, monkeypatch, caplog):
    """Kills `IndexUpkeep.reconcile` mutants: a rebuild started when the counts agree (`and` -> `or`), the count
    started at 1 or not summed over batches, and the rebuild's warning text."""
    import logging

    import omne.index_upkeep
    from omne.testing import open_fast_core

    monkeypatch.setattr(omne.index_upkeep, "_RECONCILE_BATCH", 2)  # three batches for five records
    core = await open_fast_core(tmp_path / "store")
    try:
        for i in range(5):
            await core.remember(f"note {i}", scope=ALICE)
        with caplog.at_level(logging.WARNING, logger="omne"):
            assert await core.reconcile() == 0 and not caplog.messages  # in line: nothing to do, nothing said
            await asyncio.to_thread(core._index.delete, [r.id for r in await core.list(scope=ALICE)][:2])
            assert await core.reconcile() == 5  # white box above: the index lost two points, all five re-indexed
        assert caplog.messages == ["vector index holds 3 points for 5 live records; rebuilding it"]
    finally:
        await core.close()


async def test_write_hooks_given_to_open_run_after_each_add(tmp_path):
    """Kills the `MemoryCore.open` mutant that drops its `write_hooks` (`cls(..., None, ...)`)."""
    from omne import MemoryCore
    from omne.testing import HashEmbedder

    seen: list[str] = []

    class Recording:
        async def after_add(self, core, records, vectors) -> None:
            seen.extend(r.text for r in records)

    core = await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder(), write_hooks=[Recording()])
    try:
        await core.remember("the tide turns at six", scope=ALICE)
    finally:
        await core.close()
    assert seen == ["the tide turns at six"]


async def test_an_open_that_fails_while_reconciling_raises_its_own_error_and_releases_the_store(tmp_path):
    """Kills `MemoryCore.open` 42 (the cleanup after a failed open calls `to_thread(None)`: a TypeError then
    hides the open's own error and the store stays held): the index is lost, the embedder that must rebuild it
    fails, and the caller hears the embedder's error; the next open, with a working embedder, rebuilds it."""
    import shutil

    from omne import MemoryCore
    from omne.testing import HashEmbedder

    class Down(HashEmbedder):
        def embed(self, texts):
            raise RuntimeError("embedder down")

    core = await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder())
    try:
        fact = await core.remember("the ferry leaves at nine", scope=ALICE)
    finally:
        await core.close()
    shutil.rmtree(tmp_path / "store" / "vectors")
    with pytest.raises(RuntimeError, match="embedder down"):
        await MemoryCore.open(tmp_path / "store", embedder=Down())
    async with await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder()) as core:
        assert [h.record.id for h in await core.search("ferry", scope=ALICE)] == [fact.id]


async def test_an_embedded_store_starts_no_log_follower(fast_core):
    """Kills `IndexUpkeep.open` 12 (the follower's task started with no follower: on SQLite it failed and logged a
    warning every few seconds): only a store on a shared database follows the log."""
    await fast_core.remember("a note", scope=ALICE)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "omne-follow-log"]
