"""MemoryCore.open's defaults: messages linked in order (NEXT) on write, the learned ranker (which weighs each
candidate's neighbours over those links) on read."""

from __future__ import annotations

from omne import MemoryCore, Record, RecordKind, RetrievalConfig, Scope
from omne.retrieval.stages import PRESETS
from omne.types import EdgeKind

ANA = Scope(user="ana", session="s1")
TALK = [("user", "I adopted a cat from the shelter last spring."),
        ("assistant", "Lovely! What did you call her?"),
        ("user", "Mimsy, after the poem."),
        ("user", "Separately: my passport expires in March."),
        ("assistant", "Renew it at least six weeks before you travel.")]


async def _talk(core: MemoryCore, scope: Scope = ANA) -> list[Record]:
    return await core.add([Record(kind=RecordKind.MESSAGE, scope=scope, role=role, text=text) for role, text in TALK])


async def test_messages_of_a_session_are_linked_in_order_and_only_within_it(fast_core):
    stored = await _talk(fast_core)
    later = await fast_core.add([Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", text="One more thing.")])
    other = await _talk(fast_core, Scope(user="ana", session="s2"))
    ids = [r.id for r in stored + later]
    nxt = [(e.src, e.dst) for e in await fast_core.edges(scope=ANA) if e.kind is EdgeKind.NEXT]
    assert nxt == list(zip(ids, ids[1:]))  # one chain across two add calls, no duplicates
    second = {r.id for r in other}
    assert all((e.src in second) == (e.dst in second) for e in await fast_core.edges(scope=Scope(user="ana")))


async def test_the_turn_after_a_hit_is_lifted_through_its_neighbour(fast_core):
    stored = await _talk(fast_core)
    answer = stored[2]  # "Mimsy, after the poem." shares no word with the query
    hits = await fast_core.search("what did you call the cat you adopted", scope=ANA, top_k=3)
    by_id = {h.record.id: h for h in hits}
    assert answer.id in by_id and "ranker" in by_id[answer.id].stages
    assert by_id[answer.id].features["previous.lexical"] > 0  # the question before it matches
    plain = await fast_core.search("what did you call the cat you adopted", scope=ANA, top_k=5,
                                   config=RetrievalConfig())  # reciprocal rank fusion, no later stages
    assert all("ranker" not in h.stages and not h.features for h in plain)
    assert fast_core.retrieval == PRESETS["default"]


async def test_message_links_and_retrieval_can_be_switched_off(tmp_path):
    from omne.testing import HashEmbedder

    core = await MemoryCore.open(tmp_path / "bare", embedder=HashEmbedder(), link_messages=False,
                                 retrieval=RetrievalConfig())
    try:
        await _talk(core)
        assert await core.edges(scope=ANA) == []
        hits = await core.search("what did you call the cat you adopted", scope=ANA, top_k=5)
        assert hits and all(set(h.stages) <= {"dense", "lexical"} for h in hits)
    finally:
        await core.close()


async def test_stages_read_only_live_facts_of_the_query_scope(fast_core):
    stored = await _talk(fast_core)
    other = await _talk(fast_core, Scope(user="bo"))
    await fast_core.forget(stored[0].id, scope=ANA)
    renamed = await fast_core.update(stored[2].id, scope=ANA, text="Mimsy, after the Carroll poem.")
    asked = [r.id for r in stored + other] + [renamed.id]
    facts = {f.id: f for f in fast_core._store.live_facts(asked, ANA)}
    assert set(facts) == {stored[1].id, stored[3].id, stored[4].id, renamed.id}
    fact = facts[stored[1].id]
    assert (fact.kind, fact.role, fact.scope, fact.when, fact.tags) == (
        RecordKind.MESSAGE, "assistant", ANA, stored[1].when, ())
    links = fast_core._store.links(ANA, EdgeKind.NEXT, [stored[1].id])
    assert links == [(stored[1].id, renamed.id)]  # the forgotten head left the chain; the new version took its place
    assert fast_core._store.links(Scope(user="bo"), EdgeKind.NEXT, [stored[1].id]) == []  # another scope's edges


async def test_facts_say_how_long_a_text_is_and_whether_it_asks(fast_core):
    texts = ["Lovely! What did you call her?", "Really?\n\t ", "Why? Because it rained.", "ünïcode ✓?"]
    stored = await fast_core.add([Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", text=t) for t in texts])
    facts = {f.id: f for f in fast_core._store.live_facts([r.id for r in stored], ANA)}
    assert [(facts[r.id].chars, facts[r.id].asks) for r in stored] == [
        (30, True), (10, True), (23, False), (10, True)]  # characters, trailing whitespace aside, on every store


async def test_the_full_preset_switches_on_per_store_as_the_readme_shows(tmp_path, embedder):
    from omne.graph import GraphBuilder

    core = await MemoryCore.open(tmp_path / "full", embedder=embedder, write_hooks=[GraphBuilder()],
                                 retrieval=PRESETS["full"])
    try:
        stored = await _talk(core)
        await core.add([Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", text="My passport expires in March.")])
        kinds = {e.kind for e in await core.edges(scope=Scope(user="ana"))}  # graph links live in the user scope
        assert {EdgeKind.NEXT, EdgeKind.SIMILAR, EdgeKind.MENTIONS} <= kinds
        hits = await core.search("what did you call the cat you adopted", scope=ANA, top_k=5)
        assert core.retrieval == PRESETS["full"] and stored[2].id in {h.record.id for h in hits}
    finally:
        await core.close()


async def test_concurrent_and_late_batches_leave_one_chain_per_session(fast_core):
    import asyncio
    from datetime import datetime, timedelta, timezone

    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    batches = [[Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", text=f"batch {b} message {i}",
                       event_time=start + timedelta(minutes=10 * b + i)) for i in range(5)] for b in range(8)]
    late, rest = batches[3], batches[:3] + batches[4:]
    await asyncio.gather(*(fast_core.add(b) for b in rest))
    await fast_core.add(late)  # an earlier stretch of the conversation arrives last: spliced into place
    nxt = [(e.src, e.dst) for e in await fast_core.edges(scope=ANA) if e.kind is EdgeKind.NEXT]
    in_time_order = [r.id for b in batches for r in b]
    assert sorted(nxt) == sorted(zip(in_time_order, in_time_order[1:]))  # one chain, no fork, no gap


async def test_a_batch_older_than_every_stored_message_becomes_the_head_of_the_chain(fast_core):
    # What the concurrent test hits when the earliest batch happens to commit last: it has no predecessor
    # in time, so it must link to the stored chain's first message instead of starting a second chain.
    from datetime import datetime, timedelta, timezone

    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    early, middle, late = ([Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", text=f"part {p} turn {i}",
                                   event_time=start + timedelta(minutes=10 * p + i)) for i in range(3)]
                           for p in range(3))
    for batch in (late, middle, early):
        await fast_core.add(batch)
    nxt = [(e.src, e.dst) for e in await fast_core.edges(scope=ANA) if e.kind is EdgeKind.NEXT]
    in_time_order = [r.id for r in early + middle + late]
    assert sorted(nxt) == sorted(zip(in_time_order, in_time_order[1:]))


async def test_turns_that_interleave_with_stored_turns_are_merged_into_one_chain_in_time(fast_core):
    # Two agents writing one team scope: each batch spans the other's turns in time.
    from datetime import datetime, timedelta, timezone

    start = datetime(2024, 5, 1, tzinfo=timezone.utc)

    def turns(name: str, minutes: list[int]) -> list[Record]:
        return [Record(kind=RecordKind.MESSAGE, scope=ANA, role="assistant", name=name, text=f"{name} at {m}",
                       event_time=start + timedelta(minutes=m)) for m in minutes]

    first = await fast_core.add(turns("planner", [0, 2, 4, 6]))
    second = await fast_core.add(turns("coder", [1, 4, 5, 9]))  # 4 ties with a stored turn: stored goes first
    third = await fast_core.add(turns("critic", [3, 7]))
    by_time = [first[0], second[0], first[1], third[0], first[2], second[1], second[2], first[3], third[1], second[3]]
    ids = [r.id for r in by_time]
    nxt = [(e.src, e.dst) for e in await fast_core.edges(scope=ANA) if e.kind is EdgeKind.NEXT]
    assert sorted(nxt) == sorted(zip(ids, ids[1:]))


async def test_forget_and_update_keep_the_chain_on_live_messages(fast_core):
    stored = await _talk(fast_core)
    ids = [r.id for r in stored]
    await fast_core.forget(ids[1], scope=ANA)  # the turn's neighbours now link to each other
    renamed = await fast_core.update(ids[3], scope=ANA, text="Separately: my passport expires in April.")
    later = await fast_core.add([Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", text="Thanks!")])
    chain = [ids[0], ids[2], renamed.id, ids[4], later[0].id]  # the new version takes the old one's place
    nxt = [(e.src, e.dst) for e in await fast_core.edges(scope=ANA) if e.kind is EdgeKind.NEXT]
    assert sorted(nxt) == sorted(zip(chain, chain[1:]))
    links = fast_core._store.links(ANA, EdgeKind.NEXT, [renamed.id])  # what session neighbours read
    assert sorted(links) == sorted([(ids[2], renamed.id), (renamed.id, ids[4])])
    assert [v.id for v in await fast_core.history(renamed.id, scope=ANA)] == [ids[3], renamed.id]


async def test_an_update_that_moves_a_message_in_time_moves_it_in_the_chain(fast_core):
    from datetime import datetime, timedelta, timezone

    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    stored = await fast_core.add([Record(kind=RecordKind.MESSAGE, scope=ANA, role=role, text=text,
                                         event_time=start + timedelta(minutes=i)) for i, (role, text) in enumerate(TALK)])
    ids = [r.id for r in stored]
    moved = await fast_core.update(ids[0], scope=ANA, event_time=start + timedelta(minutes=2, seconds=30))
    chain = [ids[1], ids[2], moved.id, ids[3], ids[4]]
    nxt = [(e.src, e.dst) for e in await fast_core.edges(scope=ANA) if e.kind is EdgeKind.NEXT]
    assert sorted(nxt) == sorted(zip(chain, chain[1:]))
