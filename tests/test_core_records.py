"""Every record kind survives add -> get and export -> import -> export unchanged; update and forget keep history."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from omne import Edge, EdgeKind, MemoryCore, Record, RecordKind, Scope
from omne.errors import InvalidInputError, NotFoundError

ALICE = Scope(user="alice", agent="planner", session="s1", team="blue")
T0 = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)


def every_kind() -> list[Record]:
    """One record of each kind, each with the optional fields that kind uses filled in."""
    return [
        Record(kind=RecordKind.MESSAGE, scope=ALICE, text="I adopted a greyhound called Biscuit.", role="user",
               name="Alice", event_time=T0, tags=["pets"], importance=0.8, metadata={"turn": 3}),
        Record(kind=RecordKind.SUMMARY, scope=ALICE, text="Alice talked about her new dog.", tags=["session"],
               valid_from=T0, metadata={"method": "extractive summary (offline)"}),
        Record(kind=RecordKind.FACT, scope=ALICE, text="Alice likes long walks.", schema_name="preference",
               data={"holder": "Alice", "item": "long walks", "sentiment": "likes"}, importance=0.9),
        Record(kind=RecordKind.INSIGHT, scope=ALICE, text="Ask about Biscuit when Alice mentions weekends.",
               importance=0.3, tags=["strategy", "dogs"]),
        Record(kind=RecordKind.DOCUMENT, scope=ALICE, text="Greyhounds need about an hour of exercise a day.",
               name="dog-care.pdf", metadata={"page": 2, "chunk": [0, 48], "ünïcode": "日本語 ✓"}),
        Record(kind=RecordKind.BLOCK, scope=ALICE, text="Name: Alice. Dog: Biscuit.", name="human",
               data={"limit": 2000, "read_only": False}),
        Record(kind=RecordKind.ENTITY, scope=ALICE, text="Biscuit", name="Biscuit", data={"type": "animal"},
               event_time=T0 - timedelta(days=3)),
    ]


async def test_every_kind_round_trips_through_add_and_get(core: MemoryCore):
    records = every_kind()
    assert {r.kind for r in records} == set(RecordKind)
    # source_ids point at real records: the summary derives from the message
    records[1] = records[1].model_copy(update={"source_ids": [records[0].id]})
    stored = await core.add(records)
    for original, saved in zip(records, stored):
        fetched = await core.get(original.id, scope=ALICE)
        assert fetched == saved == original, original.kind
        assert fetched.model_dump(mode="json") == original.model_dump(mode="json")
    assert await core.get_many([r.id for r in reversed(records)], scope=ALICE) == list(reversed(records))
    stats = await core.stats()
    assert stats["records"] == stats["vectors"] == len(records)
    assert stats["by_kind"] == {kind.value: 1 for kind in RecordKind}


async def test_update_supersedes_and_keeps_the_old_version(core: MemoryCore):
    old = await core.remember("Alice lives in Lyon.", scope=ALICE, tags=["home"])
    new = await core.update(old.id, scope=ALICE, text="Alice moved to Porto.")
    history = await core.history(old.id, scope=ALICE)
    assert [v.id for v in history] == [old.id, new.id]
    assert history == await core.history(new.id, scope=ALICE)
    first, second = history
    assert first.text == "Alice lives in Lyon." and second.text == "Alice moved to Porto."
    assert first.superseded_by == new.id and first.valid_to is not None and not first.live
    assert second.version == 2 and second.live and second.valid_to is None and second.tags == ["home"]
    assert first.valid_to == second.valid_from
    hits = await core.search("Where does Alice live?", scope=ALICE)
    assert [h.record.id for h in hits] == [new.id]  # the old version left the index, not the log
    edges = await core.edges(scope=ALICE, record_ids=[old.id])
    assert [(e.src, e.dst, e.kind) for e in edges] == [(new.id, old.id, EdgeKind.SUPERSEDES)]
    with pytest.raises(InvalidInputError, match="superseded"):
        await core.update(old.id, scope=ALICE, text="again")
    with pytest.raises(InvalidInputError, match="cannot change 'kind'"):
        await core.update(new.id, scope=ALICE, kind=RecordKind.INSIGHT)
    stats = await core.stats()
    assert stats["records"] == stats["vectors"] == 1 and stats["records_with_history"] == 2


async def test_forget_removes_from_search_but_keeps_history(core: MemoryCore):
    keep = await core.remember("The spare key is under the blue flowerpot.", scope=ALICE)
    gone = await core.remember("The alarm code is 4471.", scope=ALICE)
    forgotten = await core.forget(gone.id, scope=ALICE)
    assert forgotten.deleted_at is not None
    hits = await core.search("alarm code 4471", scope=ALICE, top_k=10)
    assert [h.record.id for h in hits] == [keep.id]
    (logged,) = await core.history(gone.id, scope=ALICE)
    assert logged.text == "The alarm code is 4471." and logged.deleted_at == forgotten.deleted_at
    assert (await core.get(gone.id, scope=ALICE)).deleted_at is not None
    assert [r.id for r in await core.list(scope=ALICE)] == [keep.id]
    assert {r.id for r in await core.list(scope=ALICE, include_history=True)} == {keep.id, gone.id}
    assert (await core.forget(gone.id, scope=ALICE)).deleted_at == forgotten.deleted_at  # idempotent
    stats = await core.stats()
    assert stats["records"] == stats["vectors"] == 1
    with pytest.raises(NotFoundError):
        await core.forget(gone.id, scope=Scope(user="mallory"))


async def _populated(core: MemoryCore) -> list[Record]:
    records = every_kind()
    message, summary = records[0], records[1]
    edges = [Edge(scope=ALICE, src=summary.id, dst=message.id, kind=EdgeKind.DERIVED_FROM, weight=0.7,
                  data={"why": "summarised"}),
             Edge(scope=ALICE, src=message.id, dst=records[6].id, kind=EdgeKind.MENTIONS)]
    await core.add(records, edges=edges)
    await core.update(records[2].id, scope=ALICE, text="Alice likes very long walks.",
                      data={"holder": "Alice", "item": "very long walks", "sentiment": "likes"})
    await core.forget(records[3].id, scope=ALICE)
    await core.add_edges([Edge(scope=ALICE, src=records[4].id, dst=records[6].id, kind=EdgeKind.RELATES)])
    return records


async def test_export_import_export_is_lossless(core: MemoryCore, embedder, tmp_path, separate_database):
    await _populated(core)
    other = Scope(user="bob")
    await core.remember("Bob's record must not travel with Alice's export.", scope=other)
    first = io.StringIO()
    lines = await core.export_jsonl(first, scope=Scope(user="alice"))
    exported = first.getvalue()
    assert lines == len(exported.splitlines()) == 8 + 4  # 7 records + 1 new version; 4 edges (1 supersedes)
    assert "Bob" not in exported
    assert '"deleted_at": null' in exported and exported.count('"superseded_by": null') == 7

    separate_database()  # the import goes to a store of its own (on PostgreSQL: another schema)
    fresh = await MemoryCore.open(tmp_path / "fresh", embedder=embedder)
    try:
        assert await fresh.import_jsonl(exported.splitlines(), scope=Scope(user="alice")) == 12
        second = io.StringIO()
        await fresh.export_jsonl(second, scope=Scope(user="alice"))
        assert second.getvalue() == exported
        for record in [r async for r in core.iter_records(scope=ALICE)]:
            assert await fresh.get(record.id, scope=ALICE) == record
        assert await fresh.edges(scope=ALICE) == await core.edges(scope=ALICE)
        stats = await fresh.stats()
        assert stats["records"] == stats["vectors"] == 6 and stats["records_with_history"] == 8
        assert stats["pending_index"] == 0
        # importing the same export again changes nothing
        await fresh.import_jsonl(exported.splitlines())
        third = io.StringIO()
        await fresh.export_jsonl(third, scope=Scope(user="alice"))
        assert third.getvalue() == exported
    finally:
        await fresh.close()


async def test_import_rejects_lines_outside_the_scope_and_writes_nothing(core: MemoryCore, embedder, tmp_path,
                                                                        separate_database):
    await _populated(core)
    out = io.StringIO()
    await core.export_jsonl(out, scope=ALICE)
    separate_database()
    fresh = await MemoryCore.open(tmp_path / "fresh", embedder=embedder)
    try:
        with pytest.raises(InvalidInputError, match="outside the import scope"):
            await fresh.import_jsonl(out.getvalue().splitlines(), scope=Scope(user="bob"))
        with pytest.raises(InvalidInputError, match="line 2"):
            await fresh.import_jsonl([out.getvalue().splitlines()[0], "{not json"])
        assert (await fresh.stats())["records_with_history"] == 0
    finally:
        await fresh.close()


async def test_stats_for_a_scope_count_only_that_scopes_records_and_vectors(fast_core: MemoryCore):
    bob = Scope(user="bob")
    await fast_core.add([Record(kind=RecordKind.MESSAGE, scope=ALICE, role="user", text=f"alice note {i}")
                         for i in range(3)])
    await fast_core.add([Record(kind=RecordKind.FACT, scope=bob, text="Bob's only fact.")])
    alice, bobs, everyone = await fast_core.stats(ALICE), await fast_core.stats(bob), await fast_core.stats()
    assert (alice["records"], alice["vectors"]) == (3, 3)
    assert (bobs["records"], bobs["vectors"], bobs["by_kind"]) == (1, 1, {"fact": 1})
    assert (everyone["records"], everyone["vectors"]) == (4, 4)


async def test_ids_of_another_scope_cannot_be_taken_overwritten_or_moved(fast_core):
    """Scope is a hard partition for writes that name ids too: adding or importing a record under an id that
    another scope holds, or an edge over another scope's records, changes nothing there (and a taken id is the
    caller's InvalidInputError, not a storage failure)."""
    alice, bob = Scope(user="alice"), Scope(user="bob")
    secret = await fast_core.remember("bob's door code is 4471", scope=bob)
    other = await fast_core.remember("bob's bike is red", scope=bob)
    await fast_core.add_edges([Edge(scope=bob, src=secret.id, dst=other.id, kind="relates", data={"by": "bob"})])

    taken = Record(id=secret.id, kind="fact", text="mine now", scope=alice)
    with pytest.raises(InvalidInputError, match="already taken"):
        await fast_core.add(taken)
    line = json.dumps({"type": "record", "record": taken.model_dump(mode="json")})
    with pytest.raises(InvalidInputError, match="belongs to another scope"):
        await fast_core.import_jsonl([line], scope=alice)
    await fast_core.add_edges([Edge(scope=alice, src=secret.id, dst=other.id, kind="relates", data={"by": "alice"})])
    edge_line = json.dumps({"type": "edge", "edge": Edge(scope=alice, src=secret.id, dst=other.id, kind="relates",
                                                        weight=9.0).model_dump(mode="json")})
    await fast_core.import_jsonl([edge_line], scope=alice)

    assert (await fast_core.get(secret.id, scope=bob)).text == "bob's door code is 4471"
    assert [(e.data, e.weight) for e in await fast_core.edges(scope=bob)] == [({"by": "bob"}, 1.0)]
    assert await fast_core.list(scope=alice) == [] and await fast_core.edges(scope=alice) == []
    # an export replayed into its own scope still updates in place (ids kept)
    await fast_core.update(other.id, scope=bob, text="bob's bike is blue")
    lines = [line async for line in fast_core.export_lines(scope=bob)]
    assert await fast_core.import_jsonl(lines, scope=bob) == len(lines)


async def test_add_with_edges_and_no_records_writes_the_edges(fast_core):
    a = await fast_core.remember("the ferry leaves at nine", scope=ALICE)
    b = await fast_core.remember("the ferry is blue", scope=ALICE)
    assert await fast_core.add([], edges=[Edge(scope=ALICE, src=a.id, dst=b.id, kind="relates")]) == []
    assert [(e.src, e.dst) for e in await fast_core.edges(scope=ALICE)] == [(a.id, b.id)]
