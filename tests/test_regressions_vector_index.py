"""The embedded vector index returns only the asked scope, and a lost index is rebuilt from the log.

Both gaps were found by mutation: each test's docstring names the change to the code it catches.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

import numpy as np
import pytest

from omne import Record, RecordKind, Scope
from omne.storage.protocols import IndexItem
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.testing import open_fast_core

SMALL = Scope(user="a")
LARGE = Scope(user="b")


def _unit(vector: list[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_the_edge_index_returns_only_the_asked_scope_next_to_a_larger_better_scoring_one(tmp_path):
    """Mutant caught: the scope conditions dropped from `edge_filter` (its `must` list starts empty).

    User `b` has 500 points nearer the query than user `a`'s one point; a search in `a`'s scope must still
    return `a`'s point and nothing of `b`'s (dense and lexical), and counting `a`'s scope must count one."""
    index = EdgeVectorIndex(tmp_path / "vectors", dim=4)
    try:
        mine = Record(kind=RecordKind.FACT, scope=SMALL, text="the spare key is under the blue flowerpot")
        theirs = [Record(kind=RecordKind.FACT, scope=LARGE, text=f"spare key flowerpot blue note {i}")
                  for i in range(500)]
        query = _unit([1, 0, 0, 0])
        index.upsert([IndexItem(record=mine, vector=_unit([0.2, 1, 0, 0]))]
                     + [IndexItem(record=r, vector=_unit([1, 0.01 * (i % 7), 0, 0])) for i, r in enumerate(theirs)])
        found = index.search(SMALL, None, dense=query, lexical="spare key blue flowerpot", limit=10)
        assert [h.id for h in found["dense"]] == [mine.id]
        assert [h.id for h in found["lexical"]] == [mine.id]
        assert index.count(SMALL) == 1 and index.count(LARGE) == 500 and index.count() == 501
    finally:
        index.close()


async def test_a_small_scope_finds_its_record_next_to_a_large_scope_with_better_matches(tmp_path):
    """Mutant caught: the scope conditions dropped from `edge_filter` (nothing leaks, since SQL checks the scope
    again, but the index's top candidates are all `b`'s and `a`'s search comes back empty)."""
    core = await open_fast_core(tmp_path / "store")
    try:
        await core.add([Record(kind=RecordKind.FACT, scope=LARGE, text=f"My spare key is under the flowerpot {i}.")
                        for i in range(500)])
        mine = await core.remember("The spare key is under the blue flowerpot.", scope=SMALL)
        hits = await core.search("spare key flowerpot", scope=SMALL, top_k=5)
        assert [h.record.id for h in hits] == [mine.id]
    finally:
        await core.close()


async def test_a_deleted_vector_index_is_rebuilt_from_the_log_on_open(tmp_path, caplog):
    """Mutant caught: `reconcile`'s "index count differs from the log" branch disabled (`if False and ...`):
    with `<store>/vectors` deleted, the reopened store found nothing and said nothing."""
    store = tmp_path / "store"
    core = await open_fast_core(store)
    try:
        kept = await core.remember("The boiler service is due in October.", scope=SMALL)
        gone = await core.remember("This one is forgotten before the index is lost.", scope=SMALL)
        await core.forget(gone.id, scope=SMALL)
    finally:
        await core.close()
    shutil.rmtree(store / "vectors")

    with caplog.at_level(logging.WARNING, logger="omne"):
        core = await open_fast_core(store)
    try:
        assert "rebuilding it" in caplog.text
        stats = await core.stats(SMALL)
        assert stats["records"] == stats["vectors"] == 1 and stats["pending_index"] == 0
        hits = await core.search("boiler service October", scope=SMALL, top_k=5)
        assert [h.record.id for h in hits] == [kept.id]
    finally:
        await core.close()


async def test_an_index_that_lost_some_points_is_rebuilt_on_open(tmp_path):
    """Mutant caught: the same disabled branch of `reconcile`, for an index that lost points without its
    records being marked dirty (e.g. restored from an older backup than the log)."""
    store = tmp_path / "store"
    core = await open_fast_core(store)
    try:
        records = await core.add([Record(kind=RecordKind.FACT, scope=SMALL, text=f"Invoice {i} was paid in cash.")
                                  for i in range(3)])
        await asyncio.to_thread(core._index.delete, [records[0].id])  # behind the log's back
    finally:
        await core.close()
    core = await open_fast_core(store)
    try:
        assert (await core.stats(SMALL))["vectors"] == 3
        hits = await core.search("invoice 0 paid cash", scope=SMALL, top_k=3)
        assert records[0].id in {h.record.id for h in hits}
    finally:
        await core.close()


def test_the_edge_index_applies_each_record_filter_itself(tmp_path):
    """Kills `edge_filter` mutants in its optional filter: a kind, role, tag or time condition dropped or
    loosened (e.g. the range's `gte` removed), or its values swapped. The index must apply the filter itself:
    the top `limit` candidates are taken after filtering, so a loose filter crowds out the matching records."""
    from datetime import datetime, timedelta, timezone

    from omne.storage.protocols import RecordFilter

    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    index = EdgeVectorIndex(tmp_path / "vectors", dim=4)
    try:
        records = [
            Record(kind=RecordKind.FACT, scope=SMALL, text="fact", tags=["a"], event_time=t0),
            Record(kind=RecordKind.MESSAGE, scope=SMALL, role="user", text="user says", tags=["b"],
                   event_time=t0 + timedelta(days=1)),
            Record(kind=RecordKind.MESSAGE, scope=SMALL, role="assistant", text="assistant says",
                   event_time=t0 + timedelta(days=2)),
            Record(kind=RecordKind.SUMMARY, scope=SMALL, text="summary", tags=["a", "c"],
                   event_time=t0 + timedelta(days=3)),
        ]
        index.upsert([IndexItem(record=r, vector=_unit([1, 0.1 * i, 0, 0])) for i, r in enumerate(records)])
        ids = [r.id for r in records]

        def found(**flt) -> set[str]:
            hits = index.search(SMALL, RecordFilter(**flt), dense=_unit([1, 0, 0, 0]), lexical=None, limit=10)
            return {h.id for h in hits["dense"]}

        assert found() == set(ids)
        assert found(kinds=(RecordKind.MESSAGE,)) == {ids[1], ids[2]}
        assert found(kinds=(RecordKind.FACT, RecordKind.SUMMARY)) == {ids[0], ids[3]}
        assert found(roles=("user",)) == {ids[1]}
        assert found(tags=("a",)) == {ids[0], ids[3]}
        assert found(tags=("b", "c")) == {ids[1], ids[3]}
        assert found(start=t0 + timedelta(days=1)) == {ids[1], ids[2], ids[3]}
        assert found(end=t0 + timedelta(days=1)) == {ids[0], ids[1]}
        assert found(start=t0 + timedelta(days=1), end=t0 + timedelta(days=2)) == {ids[1], ids[2]}
        assert found(kinds=(RecordKind.MESSAGE,), start=t0 + timedelta(days=2)) == {ids[2]}
    finally:
        index.close()


def test_lexical_weights_come_from_the_asked_scope_alone(tmp_path):
    """Kills `EdgeVectorIndex.search` mutants in the BM25 request: its IDF parameters dropped (`params=None`,
    `idf=None`, `corpus=None`: term rarity counted over every scope in the shard) or its query removed.

    In `a`'s scope "alpha" is rarer than "beta", so the record "alpha" leads; `b` has fifty records with
    "alpha". Counted over the whole shard, `b`'s data would push `a`'s best match to last, and the ranking
    would tell `a` how often `b` wrote a word."""
    index = EdgeVectorIndex(tmp_path / "vectors", dim=4)
    try:
        mine = [Record(kind=RecordKind.FACT, scope=SMALL, text=t) for t in ("alpha", "beta", "beta gamma")]
        theirs = [Record(kind=RecordKind.FACT, scope=LARGE, text=f"alpha filler{i}") for i in range(50)]
        index.upsert([IndexItem(record=r, vector=_unit([1, 0, 0, 0])) for r in mine + theirs])
        hits = index.search(SMALL, None, dense=None, lexical="alpha beta", limit=5)["lexical"]
        assert [h.id for h in hits] == [r.id for r in mine]
        assert hits[0].score > 1.5 * hits[1].score and [h.rank for h in hits] == [1, 2, 3]
    finally:
        index.close()


def test_a_delete_refused_for_disk_space_says_the_log_has_the_change(tmp_path):
    """Kills `EdgeVectorIndex.delete` and `upsert` mutants of their free-space refusal (`refused=` dropped, None
    or changed): the change is already in the log, so the message must not say that nothing was written."""
    from omne.errors import StorageError

    index = EdgeVectorIndex(tmp_path / "vectors", dim=4)
    try:
        index.min_free_bytes = 1 << 62  # more than any disk has
        with pytest.raises(StorageError) as refused:
            index.delete(["some-id"])
        assert "; the change is committed to the log but the index still lists the records. Free some" in str(
            refused.value)
        index.delete([])  # nothing to delete: no disk check
        with pytest.raises(StorageError) as unwritten:  # and a write: its records are in the log already
            index.upsert([IndexItem(record=Record(kind=RecordKind.FACT, scope=SMALL, text="x"),
                                    vector=_unit([1, 0, 0, 0]))])
        assert "; the records are committed to the log but not yet searchable. Free some" in str(unwritten.value)
    finally:
        index.close()


def test_an_index_that_does_not_fit_this_version_is_rebuilt_empty(tmp_path, caplog):
    """Kills `EdgeVectorIndex._upgrade` mutants of its rebuild branch: the warning's text or arguments changed,
    and `shutil.rmtree(None)` (the open then failed with StorageError). An index made for other vectors (here
    4 dimensions, opened as 8) is derived data: it is removed and made again, and says so."""
    path = tmp_path / "vectors"
    old = EdgeVectorIndex(path, dim=4)
    old.upsert([IndexItem(record=Record(kind=RecordKind.FACT, scope=SMALL, text="x"), vector=_unit([1, 0, 0, 0]))])
    old.close()
    with caplog.at_level(logging.WARNING, logger="omne"):
        index = EdgeVectorIndex(path, dim=8)
    try:
        (message,) = [m for m in caplog.messages if "does not fit" in m]
        assert message.startswith(f"the vector index at {path} does not fit this version of Omne (")
        assert "vector 'context' already exists with different parameters" in message
        assert message.endswith("); rebuilding it from the record log")
        assert index.count() == 0
        record = Record(kind=RecordKind.FACT, scope=SMALL, text="eight dimensions now")
        index.upsert([IndexItem(record=record, vector=_unit([1, 0, 0, 0, 0, 0, 0, 0]))])
        assert [h.id for h in index.search(SMALL, None, dense=_unit([1, 0, 0, 0, 0, 0, 0, 0]), lexical=None,
                                           limit=3)["dense"]] == [record.id]
    finally:
        index.close()


def test_an_index_taken_by_another_process_during_its_upgrade_is_never_removed(tmp_path, monkeypatch):
    """Kills `EdgeVectorIndex._upgrade` mutants of its lock check ("WouldBlock" changed, negated or looked for in
    `str(None)`): had another process taken the index between the first open and the upgrade's, the upgrade
    would remove an index in use. The binding is made to answer "incompatible" and then "WouldBlock"."""
    import qdrant_edge as q

    from omne.errors import StoreLockedError

    path = tmp_path / "vectors"
    EdgeVectorIndex(path, dim=4).close()
    answers = iter(["Service internal error: incompatible configuration", "Can't init WAL: Kind(WouldBlock)"])

    def load(*args, **kwargs):
        raise Exception(next(answers))  # the binding's plain Exception

    monkeypatch.setattr(q.EdgeShard, "load", load)
    with pytest.raises(StoreLockedError, match="open in another process"):
        EdgeVectorIndex(path, dim=4)
    assert (path / "segments").exists() or (path / "wal").exists()


def test_only_a_message_is_indexed_with_its_speakers_name():
    """Kills `index_text` 3 (the speaker's name put before the text of every record but messages)."""
    from omne.storage.index_payload import index_text

    said = Record(kind=RecordKind.MESSAGE, scope=SMALL, role="user", name=" Jo ", text="I got the job")
    assert index_text(said) == 'Jo: "I got the job"'
    assert index_text(said.model_copy(update={"name": "  "})) == "I got the job"
    assert index_text(Record(kind=RecordKind.FACT, scope=SMALL, name="jobs", text="Jo works at the port")) == (
        "Jo works at the port")


def test_bm25_stems_drops_stop_words_and_weighs_against_an_average_of_24_terms():
    """Kills `LexicalEncoder.__init__` mutants that drop or change its BM25 settings: English stemming and stop
    words ("the running dogs" and "run dog" share their two terms), and an average document of 24 terms (a
    document of 24 distinct terms weighs each 1; a shorter one more)."""
    from omne.storage.index_payload import LexicalEncoder

    lexical = LexicalEncoder()
    terms, weights = lexical.document("the running dogs")
    assert len(terms) == 2 and sorted(terms) == sorted(lexical.query("run dog")[0])
    terms, weights = lexical.document(" ".join(f"term{i}" for i in range(24)))
    assert len(terms) == 24 and weights == pytest.approx([1.0] * 24)
    assert all(w > 1.0 for w in lexical.document("harbour ferry")[1])


def test_the_segment_policy_keeps_each_build_to_about_two_batches():
    """Kills `segment_policy` mutants of its arithmetic: a point of a 384-dimensional index takes about 2 KiB
    (384 floats and room for its terms and payload), a segment holds two batches of `build_every` points, up to
    48 segments live side by side, and the optimiser indexes a segment once it holds half a batch (capped at
    Qdrant's default)."""
    from omne.storage.qdrant_edge_index import segment_policy

    small = segment_policy(384, 1000)
    assert (small.max_segment_size, small.default_segment_number, small.indexing_threshold) == (4001, 48, 1001)
    assert segment_policy(768, 1000).max_segment_size == 7001  # 3.5 KiB a point
    assert segment_policy(384, 25_000).indexing_threshold == 10_000
    assert segment_policy(384, None) is None


def test_the_index_keeps_a_payload_index_for_every_filter_it_applies(tmp_path):
    """Kills `_create` mutants that misname or drop a payload index, or mark the wrong key as the tenant: scope
    keys, kind, role and tags as keywords (the user as tenant), the time as a float. Without them a filtered
    search scans every point (white box: the shard's payload schema)."""
    import qdrant_edge as q

    index = EdgeVectorIndex(tmp_path / "vectors", dim=4)
    try:
        schema = index._shard.info().payload_schema
        keywords = {"s_user", "s_agent", "s_session", "s_team", "kind", "role", "tags"}
        assert set(schema) == keywords | {"t"}
        assert all(schema[k].data_type == q.PayloadSchemaType.Keyword for k in keywords)
        assert schema["t"].data_type == q.PayloadSchemaType.Float
        assert {k for k in keywords if getattr(schema[k].params, "is_tenant", False)} == {"s_user"}
    finally:
        index.close()


def _index_of_five(path) -> None:
    index = EdgeVectorIndex(path, dim=4)
    try:
        index.upsert([IndexItem(record=Record(kind=RecordKind.FACT, scope=SMALL, text=f"note {i}"),
                                vector=_unit([1, i, 0, 0])) for i in range(5)])
    finally:
        index.close()


@pytest.mark.parametrize("lost", ["wal", "segments"])
def test_an_index_that_lost_its_wal_or_its_segments_folder_opens_with_its_points(tmp_path, lost):
    """Kills `EdgeVectorIndex.__init__` mutants of its "an index is here" test (`or` -> `and`, either folder
    misnamed): an index with one of its two folders is loaded, not created again over what is left."""
    _index_of_five(tmp_path / "vectors")
    shutil.rmtree(tmp_path / "vectors" / lost)
    index = EdgeVectorIndex(tmp_path / "vectors", dim=4)
    try:
        assert index.count() == 5
    finally:
        index.close()


def test_an_index_open_twice_or_unreadable_says_what_to_do(tmp_path):
    """Kills `EdgeVectorIndex.__init__` mutants of its two refusals' words: an index another owner holds (here
    this process) names the one-owner rule and its three ways out; an unreadable one names its path."""
    from omne.errors import StorageError, StoreLockedError

    index = EdgeVectorIndex(tmp_path / "vectors", dim=4)
    try:
        with pytest.raises(StoreLockedError) as held:
            EdgeVectorIndex(tmp_path / "vectors", dim=4)
    finally:
        index.close()
    assert str(held.value) == (
        f"the vector index at {tmp_path / 'vectors'} is open in another process. An embedded store has one owner "
        "process: stop the other one, make it the owner with `omne serve` and connect the others to it "
        "(MemoryCore.connect(url), --server URL), or point every process at a Qdrant server (OMNE_QDRANT_URL).")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "segments").write_text("not a folder")
    with pytest.raises(StorageError, match=f"^cannot open the vector index at {broken}: .*segments"):
        EdgeVectorIndex(broken, dim=4)
