"""The record log keeps scopes that differ only by agent apart, and an import brings an older copy up to date.

Both gaps were found by mutation: each test's docstring names the change to the code it catches.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from omne import MemoryCore, Record, RecordKind, Scope
from omne.types import EdgeKind
from omne.testing import open_fast_core

PLANNER = Scope(user="u", agent="planner", session="s1")
CODER = Scope(user="u", agent="coder", session="s1")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


async def _export(core: MemoryCore, scope: Scope) -> str:
    out = io.StringIO()
    await core.export_jsonl(out, scope=scope)
    return out.getvalue()


def _message(scope: Scope, minute: int, text: str) -> Record:
    return Record(kind=RecordKind.MESSAGE, scope=scope, role="assistant", name=scope.agent, text=text,
                  event_time=T0 + timedelta(minutes=minute))


async def test_message_chains_of_scopes_that_differ_only_by_agent_stay_apart(fast_core):
    """Mutant caught: the `s_agent IS ?` condition (and its parameter) dropped from `_message_links`' query of a
    scope's live messages: two agents writing the same user and session got one merged chain, and one
    agent's export named the other's records."""
    planner, coder = [], []
    for minute in range(4):  # the two agents' turns interleave in time, one add at a time
        planner += await fast_core.add(_message(PLANNER, 2 * minute, f"planner step {minute}"))
        coder += await fast_core.add(_message(CODER, 2 * minute + 1, f"coder step {minute}"))
    for scope, own in ((PLANNER, planner), (CODER, coder)):
        ids = [r.id for r in own]
        nxt = [(e.src, e.dst) for e in await fast_core.edges(scope=scope) if e.kind is EdgeKind.NEXT]
        assert nxt == list(zip(ids, ids[1:]))  # each agent's own chain, whole, in time order
    both = await fast_core.edges(scope=Scope(user="u", session="s1"))
    assert len([e for e in both if e.kind is EdgeKind.NEXT]) == 6
    exported = await _export(fast_core, PLANNER)
    assert not any(r.id in exported for r in coder)
    assert all(r.id in exported for r in planner)


async def test_importing_a_newer_export_over_an_older_copy_applies_a_forget(fast_core, tmp_path):
    """Mutant caught: import's `ON CONFLICT(id) DO UPDATE SET ...` in `upsert_raw` turned into `DO NOTHING`:
    export, import, forget the record at the source, export, import again left it live and searchable in
    the copy."""
    scope = Scope(user="alice")
    doomed = await fast_core.remember("Alice's old door code is 4471.", scope=scope)
    kept = await fast_core.remember("Alice waters the ferns on Sundays.", scope=scope)
    copy = await open_fast_core(tmp_path / "copy")
    try:
        await copy.import_jsonl((await _export(fast_core, scope)).splitlines())
        assert [h.record.id for h in await copy.search("door code", scope=scope, top_k=5)][0] == doomed.id

        await fast_core.forget(doomed.id, scope=scope)
        renamed = await fast_core.update(kept.id, scope=scope, text="Alice waters the ferns on Saturdays.")
        newer = await _export(fast_core, scope)
        await copy.import_jsonl(newer.splitlines())

        assert (await copy.get(doomed.id, scope=scope)).deleted_at is not None
        assert (await copy.get(kept.id, scope=scope)).superseded_by == renamed.id
        assert [r.id for r in await copy.list(scope=scope)] == [renamed.id]
        assert doomed.id not in {h.record.id for h in await copy.search("door code 4471", scope=scope, top_k=5)}
        stats = await copy.stats(scope)
        assert stats["records"] == stats["vectors"] == 1
        assert await _export(copy, scope) == newer
    finally:
        await copy.close()


# -- the record store's contract, pinned by the storage-log mutation run (benchmarks/RESULTS-mutation.md) ---------


def _open_storage(tmp_path):
    from omne.config import OmneConfig
    from omne.storage import open_storage

    return open_storage(OmneConfig.from_env(tmp_path / "store"))


def _chain(storage, scope: Scope) -> list[tuple[str, str]]:
    """The scope's message chain as (from, to) ids, in write order."""
    return [(e.src, e.dst) for e in storage.records.edges(scope, kinds=[EdgeKind.NEXT])]


def _two_versions(storage, later: timedelta, text: str = "v1") -> tuple[Record, Record]:
    """A fact written at T0 and its next version, `later`, through the record store itself."""
    old = Record(kind=RecordKind.FACT, scope=PLANNER, text=text, created_at=T0)
    new = old.model_copy(update={"id": "v2-" + old.id, "text": text + "'", "version": 2, "created_at": T0 + later})
    storage.records.insert([old])
    storage.records.supersede(old, new)
    return old, new


def test_history_is_confined_to_the_asked_scope(tmp_path):
    """Mutant caught: `history`'s `scope_where(scope, "+")` given None (another scope's versions of an id leaked)."""
    storage = _open_storage(tmp_path)
    try:
        old, new = _two_versions(storage, timedelta(hours=1), "the deploy is on friday")
        assert [r.text for r in storage.records.history(old.id, PLANNER)] == [old.text, new.text]
        assert storage.records.history(old.id, CODER) == []
        assert storage.records.history(new.id, Scope(user="someone-else")) == []
    finally:
        storage.close()


def test_a_supersedes_edge_carries_the_new_versions_time(tmp_path):
    """Mutant caught: `supersede`'s SUPERSEDES edge built without `created_at=new.created_at` (it took the clock's
    time instead, so an export's edge disagreed with the version it links)."""
    storage = _open_storage(tmp_path)
    try:
        old, new = _two_versions(storage, timedelta(days=1))
        [edge] = storage.records.edges(PLANNER, kinds=[EdgeKind.SUPERSEDES])
        assert (edge.src, edge.dst, edge.created_at) == (new.id, old.id, new.created_at)
    finally:
        storage.close()


def test_taken_and_foreign_ids_are_named_in_the_error(tmp_path):
    """Mutants caught: `_taken_id`'s `or "?"` → `and "?"` (the error said `record id ?`), and
    `foreign_id_error(None)` in `upsert_raw` (an import's refusal did not name the id); `first_taken` not
    remembering the batch's own ids (an id used twice in one batch was named `?`), both messages' wording, and
    `first_foreign`'s default dropped (an import with no foreign id raised StopIteration)."""
    import pytest

    from omne.errors import InvalidInputError

    storage = _open_storage(tmp_path)
    try:
        record = Record(kind=RecordKind.FACT, scope=PLANNER, text="mine")
        storage.records.insert([record])
        with pytest.raises(InvalidInputError) as taken:
            storage.records.insert([Record(kind=RecordKind.FACT, scope=PLANNER, text="fresh"),
                                    record.model_copy(update={"text": "again"})])
        assert str(taken.value) == (f"record id {record.id} is already taken: leave `id` unset for a new record "
                                    "(`update` writes a new version of one)")
        twice = Record(kind=RecordKind.FACT, scope=PLANNER, text="once")
        with pytest.raises(InvalidInputError, match=f"^record id {twice.id} is already taken"):
            storage.records.insert([twice, twice.model_copy(update={"text": "twice"})])
        with pytest.raises(InvalidInputError) as foreign:
            storage.records.upsert_raw([record.model_copy(update={"scope": CODER})])
        assert str(foreign.value) == (f"record {record.id} belongs to another scope: an import replaces only records "
                                      "of the scope it writes (leave such ids out)")
        assert storage.records.count(None) == 1
        storage.records.upsert_raw([record.model_copy(update={"text": "mine, replaced"})])  # its own scope: replaced
        assert [r.text for r in storage.records.get_many([record.id], PLANNER)] == ["mine, replaced"]
    finally:
        storage.close()


def test_the_saved_state_of_an_unknown_context_is_none(tmp_path):
    """Mutant caught: `context_state`'s `if rows` made always true (an unknown context raised IndexError)."""
    storage = _open_storage(tmp_path)
    try:
        assert storage.records.context_state(PLANNER, "never-saved") is None
        storage.records.save_context_state(PLANNER, "ctx", '{"n": 1}', T0)
        assert storage.records.context_state(PLANNER, "ctx") == '{"n": 1}'
        assert storage.records.context_state(CODER, "ctx") is None
    finally:
        storage.close()


def test_list_applies_its_filter_and_lists_everything_without_one(tmp_path):
    """Mutants caught: `_filter_sql`'s `if flt is None` → `is not None` (a filtered list returned every kind, and
    an unfiltered one crashed), and each of its conditions (kinds, roles, any-of tags, inclusive time bounds)
    dropped, inverted or given the wrong parameters; `list`'s `live_only=True` default and its `text_contains`
    condition."""
    from omne.storage.protocols import RecordFilter

    storage = _open_storage(tmp_path)
    try:
        fact = Record(kind=RecordKind.FACT, scope=PLANNER, text="a fact", created_at=T0)
        note = Record(kind=RecordKind.INSIGHT, scope=PLANNER, text="an insight", created_at=T0 + timedelta(minutes=1))
        storage.records.insert([fact, note])
        assert [r.id for r in storage.records.list(PLANNER)] == [fact.id, note.id]
        assert [r.id for r in storage.records.list(PLANNER, RecordFilter(kinds=(RecordKind.INSIGHT,)))] == [note.id]
        said = _message(PLANNER, 5, "said")
        tagged = Record(kind=RecordKind.FACT, scope=PLANNER, text="tagged", tags=["ops", "db"], created_at=T0,
                        event_time=T0 + timedelta(minutes=10))
        storage.records.insert([said, tagged])

        def ids(**fields) -> list[str]:
            return [r.id for r in storage.records.list(PLANNER, RecordFilter(**fields))]

        assert ids(kinds=(RecordKind.FACT, RecordKind.MESSAGE)) == [fact.id, said.id, tagged.id]
        assert ids(roles=("assistant",)) == [said.id] and ids(roles=("user", "assistant")) == [said.id]
        assert ids(tags=("db",)) == [tagged.id] and ids(tags=("web", "ops")) == [tagged.id] and ids(tags=("web",)) == []
        assert ids(start=T0 + timedelta(minutes=5)) == [said.id, tagged.id]
        assert ids(end=T0 + timedelta(minutes=5)) == [fact.id, note.id, said.id]
        assert ids(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=5)) == [note.id, said.id]
        assert ids(kinds=(RecordKind.FACT,), tags=("ops",), start=T0 + timedelta(minutes=10),
                   end=T0 + timedelta(minutes=10)) == [tagged.id]
        assert ids(kinds=(RecordKind.MESSAGE,), roles=("assistant",)) == [said.id]
        assert [r.id for r in storage.records.list(PLANNER, text_contains="TAGG")] == [tagged.id]
        storage.records.mark_deleted(note, T0 + timedelta(days=1))
        assert note.id not in [r.id for r in storage.records.list(PLANNER)]  # live only, by default
        assert note.id in [r.id for r in storage.records.list(PLANNER, live_only=False)]
    finally:
        storage.close()


def test_live_facts_returns_each_live_record_once_across_pages(tmp_path):
    """Mutants caught: `live_facts`' pages of 500 ids (`range(0, len(ids), 500)` → `range(0, 500)`, no step,
    starting at 1, a step of 501; a page of 501), which skipped or repeated ids past the first page, and
    `name=None` in the facts it returns."""
    storage = _open_storage(tmp_path)
    try:
        records = [Record(kind=RecordKind.MESSAGE, scope=PLANNER, role="assistant", name=f"agent-{i}", text=f"m {i}",
                          created_at=T0 + timedelta(seconds=i)) for i in range(1002)]
        other = Record(kind=RecordKind.FACT, scope=CODER, text="not the planner's")
        storage.records.insert([*records, other])
        gone = records[1001]
        storage.records.mark_deleted(gone, T0 + timedelta(days=1))
        ids = [r.id for r in records] + [other.id]
        facts = storage.records.live_facts(ids, PLANNER)
        assert sorted(f.id for f in facts) == sorted(r.id for r in records[:1001])  # each once, in any order
        assert sorted(f.name for f in facts) == sorted(f"agent-{i}" for i in range(1001))
        assert {f.scope for f in facts} == {PLANNER}
    finally:
        storage.close()


def test_a_new_version_closes_the_old_ones_validity_and_a_stale_one_is_refused(tmp_path):
    """Mutants caught: `supersede`'s `valid_to = COALESCE(valid_to, new.valid_from or new.created_at)` with `and`
    (the old version stayed valid forever), and its refusal's message."""
    import pytest

    from omne.errors import InvalidInputError

    storage = _open_storage(tmp_path)
    try:
        old, new = _two_versions(storage, timedelta(hours=2))
        [closed] = storage.records.get_many([old.id], PLANNER)
        assert closed.valid_to == new.created_at and closed.superseded_by == new.id
        dated = new.model_copy(update={"id": "v3-" + old.id, "text": "v3", "version": 3,
                                       "valid_from": T0 + timedelta(days=3), "created_at": T0 + timedelta(days=4)})
        storage.records.supersede(new, dated)
        assert storage.records.get_many([new.id], PLANNER)[0].valid_to == dated.valid_from
        with pytest.raises(InvalidInputError) as error:
            storage.records.supersede(old, old.model_copy(update={"id": "v2b-" + old.id, "version": 2}))
        assert str(error.value) == (f"record {old.id} is no longer current (superseded or forgotten by a concurrent "
                                    "write); update its current version (see history)")
    finally:
        storage.close()


def test_an_unchained_message_stays_out_of_the_chain_when_updated(tmp_path):
    """Mutant caught: `supersede` linking the new version (`if chained` → `if chained or True`): a message written
    without chaining (`link_messages=False`) joined its scope's chain when it was updated."""
    storage = _open_storage(tmp_path)
    try:
        first, second = _message(PLANNER, 0, "one"), _message(PLANNER, 1, "two")
        storage.records.insert([first, second], link_messages=True)
        loose = _message(PLANNER, 2, "three")
        storage.records.insert([loose])
        storage.records.supersede(loose, loose.model_copy(update={"id": "v2-" + loose.id, "text": "three!", "version": 2}))
        assert _chain(storage, PLANNER) == [(first.id, second.id)]
    finally:
        storage.close()


def test_new_messages_follow_the_newest_live_message_before_them_not_the_scopes_earliest(tmp_path):
    """Mutants caught: `_Chain.latest_at_or_before` returning None, or looking up `t <= NULL` (which finds
    nothing): the new message was then merged from the scope's earliest live message, here one written without
    chaining, so it hung off that loose message and the chain lost its link from the newest chained one."""
    storage = _open_storage(tmp_path)
    try:
        first, second = _message(PLANNER, 1, "one"), _message(PLANNER, 2, "two")
        storage.records.insert([first, second], link_messages=True)
        loose = _message(PLANNER, 0, "written without chaining, before both")
        storage.records.insert([loose])
        third = _message(PLANNER, 3, "three")
        storage.records.insert([third], link_messages=True)
        assert _chain(storage, PLANNER) == [(first.id, second.id), (second.id, third.id)]
    finally:
        storage.close()


def test_every_field_of_a_record_and_an_edge_reads_back_as_written(tmp_path):
    """Mutants caught: a field dropped, renamed or set to None in the row codecs (`_record_row`, `_row_record`,
    `_edge_row`, `_row_edge`) or in `live_facts`' facts, and `_edges_sql`'s placeholders for two kinds. Every field
    is set, to a value unlike its default, and read back by each read: by id, listed, iterated in log order, as
    history, and (the live one) as facts."""
    from omne.storage.protocols import RecordFacts
    from omne.types import Edge

    scope = Scope(user="u", agent="a", session="s", team="t")
    live = Record(kind=RecordKind.MESSAGE, scope=scope, text="the kettle is blue — ünïcode ✓", role="assistant",
                  name="planner", data={"ü": [1, 2.5, None], "n": {"deep": True}}, schema_name="preference",
                  tags=["kitchen", "日本"], importance=0.25, source_ids=["src-1", "src-2"],
                  metadata={"turn": 3, "é": "ü"},
                  created_at=T0, event_time=T0 - timedelta(days=2), valid_from=T0 - timedelta(days=1),
                  valid_to=T0 + timedelta(days=9), version=3)
    old = Record(kind=RecordKind.FACT, scope=scope, text="the kettle was red", created_at=T0 - timedelta(days=3),
                 superseded_by=live.id, deleted_at=T0 + timedelta(hours=1), version=2)
    edge = Edge(scope=scope, src=live.id, dst=old.id, kind=EdgeKind.DERIVED_FROM, weight=0.75, data={"why": "ü"},
                created_at=T0 + timedelta(minutes=5))
    storage = _open_storage(tmp_path)
    try:
        storage.records.insert([old, live], [edge])
        assert storage.records.get_many([live.id, old.id], scope) == [live, old]
        assert storage.records.list(scope, live_only=False) == [old, live]
        assert list(storage.records.iter_all(scope)) == [old, live]
        assert storage.records.history(live.id, scope) == [old, live]
        assert storage.records.live_facts([old.id, live.id], scope) == [RecordFacts(
            id=live.id, kind=RecordKind.MESSAGE, scope=scope, role="assistant", name="planner",
            tags=("kitchen", "日本"), when=live.event_time, chars=len(live.text), asks=False)]
        assert len(live.text) == 30  # characters, not bytes, on either store
        assert storage.records.edges(scope) == [edge]
        assert storage.records.edges(scope, kinds=[EdgeKind.NEXT, EdgeKind.DERIVED_FROM]) == [edge]  # any of two
        assert storage.records.links(scope, EdgeKind.DERIVED_FROM, [old.id]) == [(live.id, old.id)]
    finally:
        storage.close()


def test_iter_all_yields_every_record_past_a_page_of_1000_in_log_order(tmp_path):
    """Mutant caught: `iter_all`'s next page asked for after `None` instead of the last row's seq (`seq > NULL`
    finds nothing): the scope's records past the first 1000 were never yielded (an export stopped there)."""
    storage = _open_storage(tmp_path)
    try:
        records = [Record(kind=RecordKind.FACT, scope=PLANNER, text=f"fact {i}") for i in range(1001)]
        storage.records.insert([*records[:500], Record(kind=RecordKind.FACT, scope=CODER, text="not the planner's")])
        storage.records.insert(records[500:])
        assert [r.id for r in storage.records.iter_all(PLANNER)] == [r.id for r in records]
    finally:
        storage.close()


def test_get_many_returns_every_asked_record_of_the_scope_across_pages_in_the_order_asked(tmp_path):
    """Mutants caught: `get_many`'s pages of 500 ids (`range(0, 500)`, no step, a step of 501), which dropped every
    id past the first page or skipped one at each page's end."""
    storage = _open_storage(tmp_path)
    try:
        records = [Record(kind=RecordKind.FACT, scope=PLANNER, text=f"fact {i}") for i in range(1001)]
        other = Record(kind=RecordKind.FACT, scope=CODER, text="not the planner's")
        storage.records.insert([*records, other])
        asked = [r.id for r in reversed(records)]
        assert [r.id for r in storage.records.get_many([*asked, other.id, "no-such-id"], PLANNER)] == asked
    finally:
        storage.close()


def test_list_orders_by_time_then_write_order_either_way_and_limits(tmp_path):
    """Mutants caught: `list`'s `ORDER BY t ..., seq ...` with either direction fixed or broken (two records of
    one time came back in the wrong order, oldest first or newest first) and its `LIMIT ?` dropped, broken or
    given None; no storage-level test listed newest first or with a limit."""
    storage = _open_storage(tmp_path)
    try:
        first = Record(kind=RecordKind.FACT, scope=PLANNER, text="first of two at T0", created_at=T0)
        second = Record(kind=RecordKind.FACT, scope=PLANNER, text="second of two at T0", created_at=T0)
        later = Record(kind=RecordKind.FACT, scope=PLANNER, text="later", created_at=T0 + timedelta(minutes=1))
        storage.records.insert([first, second, later])

        def ids(**options) -> list[str]:
            return [r.id for r in storage.records.list(PLANNER, **options)]

        assert ids() == [first.id, second.id, later.id]
        assert ids(newest_first=True) == [later.id, second.id, first.id]
        assert ids(limit=2) == [first.id, second.id]
        assert ids(newest_first=True, limit=2) == [later.id, second.id]
    finally:
        storage.close()


def test_records_await_indexing_until_marked_clean_counted_per_scope(tmp_path):
    """Mutants caught: `count_dirty` counting the whole store for a scope (`scope_where(None)`), and the dirty-flag
    bookkeeping of `mark_clean` and `dirty` (which records, how many, in log order)."""
    storage = _open_storage(tmp_path)
    try:
        mine = [Record(kind=RecordKind.FACT, scope=PLANNER, text=f"fact {i}") for i in range(3)]
        theirs = Record(kind=RecordKind.FACT, scope=CODER, text="the coder's")
        storage.records.insert([*mine, theirs])
        assert (storage.records.count_dirty(PLANNER), storage.records.count_dirty(CODER)) == (3, 1)
        assert storage.records.count_dirty() == 4
        assert [r.id for r in storage.records.dirty(2)] == [mine[0].id, mine[1].id]
        storage.records.mark_clean([mine[0].id, mine[2].id])
        assert (storage.records.count_dirty(PLANNER), storage.records.count_dirty()) == (1, 2)
        assert [r.id for r in storage.records.dirty(10)] == [mine[1].id, theirs.id]
    finally:
        storage.close()


def test_a_link_made_again_keeps_its_derived_id_and_each_link_carries_the_time_of_its_write(tmp_path):
    """Mutants caught: `next_edge` without its derived id (a random one: the link a forget rebuilds got a new id,
    and the same chain written twice got two sets of ids) or with another derivation, and without
    `created_at=when` (the clock's time instead of the write's: the first message's, or the forget's)."""
    from omne.types import stable_id

    storage = _open_storage(tmp_path)
    try:
        first = _message(PLANNER, 0, "one").model_copy(update={"created_at": T0})
        last = _message(PLANNER, 2, "three").model_copy(update={"created_at": T0})
        storage.records.insert([first, last], link_messages=True)
        [original] = storage.records.edges(PLANNER, kinds=[EdgeKind.NEXT])
        middle = _message(PLANNER, 1, "two")
        storage.records.insert([middle], link_messages=True)
        storage.records.mark_deleted(middle, T0 + timedelta(days=1))
        [bridge] = storage.records.edges(PLANNER, kinds=[EdgeKind.NEXT])
        assert (bridge.src, bridge.dst) == (original.src, original.dst) == (first.id, last.id)
        assert bridge.id == original.id == stable_id(first.id, last.id, "next")
        assert (original.created_at, bridge.created_at) == (T0, T0 + timedelta(days=1))
    finally:
        storage.close()


def test_one_batch_links_each_scopes_messages_and_a_stored_message_of_the_same_time_goes_first(tmp_path):
    """Mutants caught: `message_links` keeping only the last scope's links of a batch (`links = ...`), and its
    overlap walk stopping before a stored message whose time equals the batch's last (`<` for `<=`), which then
    went after the new ones instead of before (stored before new on equal times)."""
    storage = _open_storage(tmp_path)
    try:
        stored, tied = _message(PLANNER, 0, "stored at 0"), _message(PLANNER, 3, "stored at 3")
        storage.records.insert([stored, tied], link_messages=True)
        early, late = _message(PLANNER, 1, "new at 1"), _message(PLANNER, 3, "new at 3")
        coder = [_message(CODER, 1, "coder at 1"), _message(CODER, 2, "coder at 2")]
        storage.records.insert([early, late, *coder], link_messages=True)
        planner_chain = _chain(storage, PLANNER)
        ids = [stored.id, early.id, tied.id, late.id]
        assert sorted(planner_chain) == sorted(zip(ids, ids[1:]))
        assert _chain(storage, CODER) == [
            (coder[0].id, coder[1].id)]
    finally:
        storage.close()


# -- pinned by the storage-postgres mutation run (now postgres-store and postgres-db, benchmarks/RESULTS-mutation.md);
# both backends ----------------------------------------------------------------------------------------------------


def test_an_updated_message_takes_its_place_in_the_chain(tmp_path):
    """Kills `PostgresRecordStore.supersede` mutants 29 (`chained = None`), 32 (`_unchain(conn, old, None)`) and 37
    (`if (chained) and False`): the new version of a chained message was left out of the chain (its neighbours
    bridged around it), or the bridge was built without a time. Updating the middle message of a chain puts the
    new version where the old one was."""
    storage = _open_storage(tmp_path)
    try:
        first, middle, last = (_message(PLANNER, m, t) for m, t in ((0, "one"), (1, "two"), (2, "three")))
        storage.records.insert([first, middle, last], link_messages=True)
        edited = middle.model_copy(update={"id": "v2-" + middle.id, "text": "two, edited", "version": 2})
        storage.records.supersede(middle, edited)
        assert sorted(_chain(storage, PLANNER)) == sorted([(first.id, edited.id), (edited.id, last.id)])
        assert [r.text for r in storage.records.list(PLANNER)] == ["one", "two, edited", "three"]
    finally:
        storage.close()


def test_annotate_changes_only_a_live_records_importance_and_metadata_and_marks_it_for_the_index(tmp_path):
    """Kills `PostgresRecordStore.annotate` mutants 1-7, 9, 10 and 13 (*no tests* in the run: no selected test
    annotated on PostgreSQL; 8, 11 and 12 only change the SQL's letter case): the transaction or statement dropped
    or broken (`None`, `XX...XX`, the placeholders upper-cased to `%S`, which psycopg refuses), the parameters
    dropped, and the metadata written as `null` (`_dumps(None)`). A live record gets the new importance and
    metadata, keeps its text, and awaits indexing again; a superseded or forgotten one is left as it was."""
    storage = _open_storage(tmp_path)
    try:
        live = Record(kind=RecordKind.FACT, scope=PLANNER, text="the build is green", importance=0.5,
                      metadata={"seen": 1})
        gone = Record(kind=RecordKind.FACT, scope=PLANNER, text="the build was red", importance=0.5,
                      metadata={"seen": 1})
        storage.records.insert([live, gone])
        storage.records.mark_deleted(gone, T0)
        old, new = _two_versions(storage, timedelta(hours=1), "the release is on monday")
        storage.records.mark_clean([live.id, gone.id, old.id, new.id])
        storage.records.annotate(live.id, importance=0.9, metadata={"seen": 2, "note": "ünï ✓"})
        for stale in (gone, old):
            storage.records.annotate(stale.id, importance=0.1, metadata={"seen": 99})
        got = {r.id: r for r in storage.records.get_many([live.id, gone.id, old.id], PLANNER)}
        assert (got[live.id].importance, got[live.id].metadata, got[live.id].text) == (
            0.9, {"seen": 2, "note": "ünï ✓"}, "the build is green")
        assert [(got[r.id].importance, got[r.id].metadata) for r in (gone, old)] == [(0.5, {"seen": 1}), (0.5, {})]
        assert [r.id for r in storage.records.dirty(10)] == [live.id]
    finally:
        storage.close()


def test_marking_every_record_dirty_counts_and_marks_every_version_of_every_scope(tmp_path):
    """Kills `PostgresRecordStore.mark_all_dirty` mutants 1-4 (*no tests* in the run: no selected test rebuilt an
    index on PostgreSQL): the transaction or statement dropped or broken, or the count not returned. The
    index rebuild marks every row, history and other scopes included, and reports how many."""
    storage = _open_storage(tmp_path)
    try:
        old, new = _two_versions(storage, timedelta(hours=1))
        theirs = Record(kind=RecordKind.FACT, scope=CODER, text="the coder's")
        storage.records.insert([theirs])
        storage.records.mark_clean([old.id, new.id, theirs.id])
        assert storage.records.count_dirty() == 0
        assert storage.records.mark_all_dirty() == 3
        assert (storage.records.count_dirty(), storage.records.count_dirty(CODER)) == (3, 1)
    finally:
        storage.close()


def test_edges_touching_records_and_the_edge_stamp_stay_in_the_asked_scope(tmp_path):
    """Kills `PostgresRecordStore.edges__mutmut_8` (`record_ids` not passed on: every edge of the scope came back
    for edges touching one record) and `edge_stamp__mutmut_2` (`scope_where(None)`: the stamp counted every
    scope's edges, so another scope's write changed it)."""
    from omne.types import Edge

    storage = _open_storage(tmp_path)
    try:
        a, b, c = (Record(kind=RecordKind.FACT, scope=PLANNER, text=t) for t in ("a", "b", "c"))
        ab = Edge(scope=PLANNER, src=a.id, dst=b.id, kind=EdgeKind.RELATES, weight=0.5, created_at=T0)
        bc = Edge(scope=PLANNER, src=b.id, dst=c.id, kind=EdgeKind.RELATES, weight=0.25, created_at=T0)
        storage.records.insert([a, b, c], [ab, bc])
        assert storage.records.edges(PLANNER, record_ids=[a.id]) == [ab]
        assert storage.records.edges(PLANNER, record_ids=[c.id]) == [bc]
        assert storage.records.edges(PLANNER, record_ids=[b.id]) == [ab, bc]
        stamp = storage.records.edge_stamp(PLANNER)
        assert (stamp[0], stamp[2]) == (2, 0.75)
        x, y = (Record(kind=RecordKind.FACT, scope=CODER, text=t) for t in ("x", "y"))
        storage.records.insert([x, y], [Edge(scope=CODER, src=x.id, dst=y.id, kind=EdgeKind.RELATES, weight=4.0,
                                             created_at=T0)])
        assert storage.records.edge_stamp(PLANNER) == stamp
        assert storage.records.edge_stamp(CODER)[0] == 1
    finally:
        storage.close()


def test_an_import_replaces_a_held_record_exactly_as_given_its_kind_included(tmp_path):
    """Kills `PostgresRecordStore.upsert_raw__mutmut_4` (the import's `ON CONFLICT ... DO UPDATE` set the columns
    from the third on, so a re-imported record kept its old kind; `SQLiteRecordStore.upsert_raw__mutmut_6` is the
    same change on SQLite). An import (e.g. of an edited export) writes each record exactly as given."""
    storage = _open_storage(tmp_path)
    try:
        record = Record(kind=RecordKind.FACT, scope=PLANNER, text="tabs over spaces")
        storage.records.insert([record])
        storage.records.upsert_raw([record.model_copy(update={"kind": RecordKind.INSIGHT,
                                                              "text": "prefers tabs"})])
        [back] = storage.records.get_many([record.id], PLANNER)
        assert (back.kind, back.text) == (RecordKind.INSIGHT, "prefers tabs")
        assert storage.records.count_by_kind(PLANNER) == {"insight": 1}
    finally:
        storage.close()


def test_the_dump_reads_records_edges_and_jobs_a_page_at_a_time(tmp_path):
    """Kills `PostgresDump.dump_records__mutmut_12`, `dump_edges__mutmut_12` and `dump_jobs__mutmut_12` (the page's
    `limit` given as None: PostgreSQL's `LIMIT NULL` is no limit, so every row after the position came back). A
    move or a dump reads each table in pages of the size asked, from the position after the last row read."""
    from omne.storage.job_models import JobSpec
    from omne.types import Edge

    storage = _open_storage(tmp_path)
    try:
        records = [Record(kind=RecordKind.FACT, scope=PLANNER, text=f"fact {i}") for i in range(3)]
        edges = [Edge(scope=PLANNER, src=records[i].id, dst=records[(i + 1) % 3].id, kind=EdgeKind.RELATES,
                      created_at=T0) for i in range(3)]
        storage.records.insert(records, edges)
        storage.jobs.enqueue([JobSpec(key=f"job-{i}", kind="demo", scope=PLANNER) for i in range(3)], now=T0,
                             max_attempts=5)
        dump = storage.dump
        for read, want, name in ((dump.dump_records, [r.id for r in records], lambda r: r.id),
                                 (dump.dump_edges, [e.id for e in edges], lambda e: e.id),
                                 (dump.dump_jobs, ["job-0", "job-1", "job-2"], lambda j: j.key)):
            first = read(0, 2)
            rest = read(first[-1].seq, 2)
            assert (len(first), len(rest)) == (2, 1), read
            assert [name(row.item) for row in first + rest] == want
            assert read(rest[-1].seq, 2) == []
    finally:
        storage.close()


def test_links_are_those_of_the_asked_records_kind_and_scope_only(tmp_path):
    """Kills `PostgresRecordStore.links__mutmut_7` (`_edges_sql(..., None, ...)`: no scope condition, so another
    agent's edge to one of this agent's records came back) and `links__mutmut_9` (`record_ids` not passed on:
    every link of the kind in the scope came back)."""
    from omne.types import Edge

    storage = _open_storage(tmp_path)
    try:
        a, b, c = (Record(kind=RecordKind.FACT, scope=PLANNER, text=t) for t in ("a", "b", "c"))
        mine = [Edge(scope=PLANNER, src=b.id, dst=a.id, kind=EdgeKind.DERIVED_FROM, created_at=T0),
                Edge(scope=PLANNER, src=c.id, dst=b.id, kind=EdgeKind.DERIVED_FROM, created_at=T0),
                Edge(scope=PLANNER, src=a.id, dst=c.id, kind=EdgeKind.RELATES, created_at=T0)]
        storage.records.insert([a, b, c], mine)
        theirs = Record(kind=RecordKind.INSIGHT, scope=CODER, text="the coder's insight, derived from the planner's")
        storage.records.insert([theirs], [Edge(scope=CODER, src=theirs.id, dst=a.id, kind=EdgeKind.DERIVED_FROM,
                                               created_at=T0)])
        assert storage.records.links(PLANNER, EdgeKind.DERIVED_FROM, [a.id]) == [(b.id, a.id)]
        assert storage.records.links(PLANNER, EdgeKind.DERIVED_FROM, [c.id]) == [(c.id, b.id)]
        assert storage.records.links(CODER, EdgeKind.DERIVED_FROM, [a.id]) == [(theirs.id, a.id)]
    finally:
        storage.close()
