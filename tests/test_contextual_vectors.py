"""Contextual vectors: each message is also embedded after the previous one and searched as `context`."""

from __future__ import annotations

import io
import logging
import pytest

from omne import Edge, EdgeKind, MemoryCore, OmneConfig, Record, RecordKind, Scope
from omne.errors import StorageError
from omne.retrieval.models import ContextConfig
from omne.retrieval.stages import PRESETS
from omne.storage.backends import open_storage
from omne.storage.context import contextual_texts, fill_missing_contexts
from omne.storage.index_payload import DENSE, LEXICAL, index_text
from omne.storage.protocols import IndexItem, StoredVector
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.testing import HashEmbedder, make_pre_contextual_index, open_fast_core

JO = Scope(user="jo", session="s1")
# Sam's answer (turn 3) names nothing the question asks about; only the turn before it does, and other turns
# share the question's words (coach, junior, swim team) without answering it.
TALK = [("Jo", "I got a message from my old coach today."),
        ("Sam", "Oh? What did he want?"),
        ("Jo", "He asked whether I would coach the junior swim team this summer."),
        ("Sam", "You'd be brilliant at it, go for it!"),
        ("Jo", "The swim team's last coach retired in spring."),
        ("Sam", "My cousin coached a junior football team once."),
        ("Jo", "Junior swimmers train at six in the morning, which is brutal."),
        ("Sam", "The team pool reopened last week."),
        ("Jo", "I need new goggles anyway."),
        ("Sam", "Talk soon!")]
QUERY = "What did Sam think about Jo coaching the junior swim team?"


def _windows(stored: list[Record]) -> list[str]:
    """The contextual text of each stored turn after the first (one chain): the two turns before it (one for
    the second), then its own."""
    return [" ".join(index_text(r) for r in stored[max(0, i - 2):i + 1]) for i in range(1, len(stored))]


def _turns(scope: Scope = JO) -> list[Record]:
    return [Record(kind=RecordKind.MESSAGE, scope=scope, role="user", name=who, text=text) for who, text in TALK]


async def _store_with_an_older_index(path) -> list[Record]:
    """A store of the ten turns (hashing embedder) whose index is then made as before contextual vectors."""
    core = await open_fast_core(path)
    try:
        stored = await core.add(_turns())
    finally:
        await core.close()
    make_pre_contextual_index(path / "vectors")
    return stored


async def test_a_reply_is_found_through_the_turn_it_answers(tmp_path, embedder):
    async with await MemoryCore.open(tmp_path / "store", embedder=embedder) as core:
        stored = await core.add(_turns())
        answer = stored[3].id
        hits = {h.record.id: h for h in await core.search(QUERY, scope=JO, top_k=10)}
        # alone, its words are nearly last for MiniLM and BM25 (8th of 10); with the turns before it, the contextual
        # source ranks it 4th (the turns after the question share its context too; without contextual vectors the
        # context source ranks each record as dense does)
        assert hits[answer].stages["dense"] > 5 and hits[answer].stages.get("lexical", 10) > 5
        assert hits[answer].stages["context"] <= 4
        off = await core.search(QUERY, scope=JO, top_k=10, config=PRESETS["default"].model_copy(
            update={"context": None}))
        assert off and all("context" not in h.stages for h in off)  # off: absent from the pipeline and explain
        fused = {h.record.id: h.rank for h in await core.search(QUERY, scope=JO, top_k=10, config=PRESETS["fused"])}
        lifted = {h.record.id: h.rank for h in await core.search(QUERY, scope=JO, top_k=10, config=PRESETS[
            "fused"].model_copy(update={"context": ContextConfig(weight=1.0)}))}
        assert lifted[answer] < fused[answer]


async def test_the_contextual_text_is_the_two_previous_messages_of_the_same_chain(tmp_path, embedder):
    async with await MemoryCore.open(tmp_path / "store", embedder=embedder) as core:
        first = await core.add(_turns()[:2])
        later = await core.add(_turns()[2:4])  # the messages before `later[0]` (and `later[1]`) come from the log
        other = await core.add(_turns(Scope(user="jo", session="s2"))[:1])  # another session: its own chain
        fact = await core.remember("Jo's terrier is called Biscuit.", scope=JO)
    storage = open_storage(OmneConfig(store_dir=tmp_path / "store"))
    try:
        texts = contextual_texts(storage.records, first + later + other + [fact])
    finally:
        storage.close()
    assert texts == {first[1].id: f"{index_text(first[0])} {index_text(first[1])}",  # only one before it
                     later[0].id: f"{index_text(first[0])} {index_text(first[1])} {index_text(later[0])}",
                     later[1].id: f"{index_text(first[1])} {index_text(later[0])} {index_text(later[1])}"}


async def test_contextual_vectors_can_be_switched_off_on_the_write_path(tmp_path, embedder):
    async with await MemoryCore.open(tmp_path / "store", embedder=embedder, contextual=False) as core:
        await core.add(_turns())
        hits = await core.search(QUERY, scope=JO, top_k=10, config=PRESETS["default"])
        found = {h.record.id: h.stages for h in hits}
        # without contextual vectors the context source ranks each record by its own vector, as dense does
        assert all(stages.get("context") == stages.get("dense") for stages in found.values())


class Counting:
    """An embedder that remembers every text it embedded for a record (queries apart); `fail_after` calls
    succeed, then it raises (a process killed mid-way)."""

    def __init__(self, inner, fail_after: int | None = None) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.fail_after = fail_after
        self.texts: list[str] = []
        self.calls: list[int] = []  # how many texts each call embedded

    def embed(self, texts):
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise RuntimeError("killed")
            self.fail_after -= 1
        self.texts.extend(texts)
        self.calls.append(len(texts))
        return self.inner.embed(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def explained(hits) -> list[tuple[str, object, dict[str, int]]]:
    """Hits, scores (to float32 rounding: the index computes them in float32) and the vector stages' ranks (BM25
    breaks ties between equal scores by where a point lies in the index, which depends on the order the points
    were written in)."""
    return [(h.record.id, pytest.approx(h.score, rel=1e-6), {k: v for k, v in h.stages.items()
                                                              if k in ("dense", "context")}) for h in hits]


async def test_an_index_made_before_contextual_vectors_gets_them_without_embedding_anything_else(
        tmp_path, embedder, caplog):
    path = tmp_path / "store"
    async with await MemoryCore.open(path, embedder=embedder) as core:
        stored = await core.add(_turns())
        before = explained(await core.search(QUERY, scope=JO, top_k=10))
    make_pre_contextual_index(path / "vectors")
    counting = Counting(embedder)
    with caplog.at_level(logging.WARNING, logger="omne"):
        async with await MemoryCore.open(path, embedder=counting) as core:
            assert (await core.stats())["vectors"] == len(stored)
            after = explained(await core.search(QUERY, scope=JO, top_k=10))
    assert "has no contextual vectors: adding them" in caplog.text
    # the dense vectors were kept: only the nine turns that follow another were embedded, after the (up to) two
    # turns before them
    assert sorted(counting.texts) == sorted(_windows(stored))
    assert after == before and dict((i, st) for i, _, st in after)[stored[3].id]["context"] <= 4


async def test_adding_contextual_vectors_to_an_older_index_resumes_where_it_stopped(tmp_path, embedder):
    path = tmp_path / "store"
    async with await MemoryCore.open(path, embedder=embedder) as core:
        stored = await core.add(_turns())
    make_pre_contextual_index(path / "vectors")
    storage = open_storage(OmneConfig(store_dir=path))
    index = EdgeVectorIndex(path / "vectors", embedder.dim)
    try:
        with pytest.raises(RuntimeError, match="killed"):  # the second batch of four fails
            fill_missing_contexts(index, Counting(embedder, fail_after=1), storage.records, batch=4)
        assert len(index.missing_context(100)) == len(stored) - 4
        resumed = Counting(embedder)
        assert fill_missing_contexts(index, resumed, storage.records, batch=4) == len(resumed.texts) <= 6
        assert index.missing_context(100) == []
        assert fill_missing_contexts(index, resumed, storage.records) == 0
    finally:
        index.close()
        storage.close()


def test_a_qdrant_server_collection_made_before_contextual_vectors_is_searched_without_them(local_qdrant, caplog):
    import numpy as np
    from qdrant_client import models

    from omne.config import VectorConfig
    from omne.storage.protocols import IndexItem
    from omne.storage.qdrant_server_index import ServerVectorIndex

    local = local_qdrant  # the server API, in-process
    record = Record(kind=RecordKind.MESSAGE, scope=JO, text="You'd be brilliant at it")
    item = IndexItem(record=record, vector=np.array([1.0, 0, 0, 0]), context=np.array([0, 1.0, 0, 0]))
    query = np.array([0, 1.0, 0, 0])
    new = ServerVectorIndex(VectorConfig(backend="server", url="http://qdrant:6333"), 4)
    new.upsert([item])
    found = new.search(JO, None, dense=query, lexical=None, limit=5, context=True)
    assert found["context"][0].id == record.id and found["context"][0].score > 0.99
    assert new.missing_context(10) == []  # every point of a collection with contextual vectors has one
    new.set_context({record.id: np.array([0, 0, 1.0, 0])})  # the point keeps its dense vector
    moved = new.search(JO, None, dense=np.array([0, 0, 1.0, 0]), lexical=None, limit=5, context=True)
    assert moved["context"][0].score > 0.99 and moved["dense"][0].score < 0.01
    local.create_collection("old", vectors_config={DENSE: models.VectorParams(size=4, distance=models.Distance.COSINE)},
                            sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)})
    with caplog.at_level(logging.WARNING, logger="omne"):
        old = ServerVectorIndex(VectorConfig(backend="server", url="http://qdrant:6333", collection="old"), 4)
    assert "has no 'context' vectors" in caplog.text and "re-create the collection" in caplog.text
    old.upsert([item])  # no contextual vector is sent to a collection that has none
    assert list(old.search(JO, None, dense=query, lexical=None, limit=5, context=True)) == ["dense"]
    assert old.missing_context(10) == []  # ... and cannot get them
    old.set_context({record.id: query})


async def test_a_previous_message_written_earlier_is_read_from_the_log(tmp_path):
    """Kills `preceding_messages` mutants that drop the log lookup: a message whose previous ones were written by
    an earlier `add` must still get them in its contextual text, the second step of the walk included."""
    core = await open_fast_core(tmp_path / "store")
    try:
        first = await core.add(_turns()[:2])
        later = await core.add(_turns()[2:4])
    finally:
        await core.close()
    storage = open_storage(OmneConfig(store_dir=tmp_path / "store"))
    try:
        assert contextual_texts(storage.records, later) == {
            later[0].id: f"{index_text(first[0])} {index_text(first[1])} {index_text(later[0])}",
            later[1].id: f"{index_text(first[1])} {index_text(later[0])} {index_text(later[1])}"}
    finally:
        storage.close()


async def test_a_contextual_text_never_takes_a_message_of_another_scope(tmp_path):
    """Kills `preceding_messages` mutants that look links or records up without the scope (`store.links(None,
    ...)`, `store.get_many(missing, None)`). Edges name any record ids: `jo`'s own NEXT edge from `kim`'s message
    must not fold `kim`'s text into `jo`'s vectors (the walk stops there, one step or two away), and `kim`'s NEXT
    edge into `jo`'s message must not displace `jo`'s real previous message (it is newer, so it would win)."""
    kim = Scope(user="kim", session="s1")
    core = await open_fast_core(tmp_path / "store")
    try:
        jo_turns = await core.add(_turns()[:3])
        (secret,) = await core.add([Record(kind=RecordKind.MESSAGE, scope=kim, role="user", text="kim's secret")])
        await core.add_edges([Edge(scope=JO, src=secret.id, dst=jo_turns[0].id, kind=EdgeKind.NEXT),
                              Edge(scope=kim, src=secret.id, dst=jo_turns[2].id, kind=EdgeKind.NEXT)])
    finally:
        await core.close()
    storage = open_storage(OmneConfig(store_dir=tmp_path / "store"))
    try:
        texts = contextual_texts(storage.records, jo_turns)
    finally:
        storage.close()
    assert texts == {jo_turns[1].id: f"{index_text(jo_turns[0])} {index_text(jo_turns[1])}",
                     jo_turns[2].id: f"{index_text(jo_turns[0])} {index_text(jo_turns[1])} {index_text(jo_turns[2])}"}


async def test_upgrading_an_older_index_says_so_and_keeps_the_segment_policy(tmp_path, caplog):
    """Kills `EdgeVectorIndex._upgrade` mutants: its warning's text or argument changed, and the upgraded shard
    loaded without this version's config (`EdgeShard.load(path)`), which drops the segment policy: then a write
    past `auto_optimize_after` no longer builds the graph of the points waiting for one."""
    path = tmp_path / "store"
    core = await open_fast_core(path)
    try:
        await core.add([Record(kind=RecordKind.FACT, scope=JO, text=f"fact {i} about kayaks") for i in range(300)])
    finally:
        await core.close()
    make_pre_contextual_index(path / "vectors")
    with caplog.at_level(logging.WARNING, logger="omne"):
        index = EdgeVectorIndex(path / "vectors", 384, auto_optimize_after=200)
    try:
        assert (f"the vector index at {path / 'vectors'} has no contextual vectors: adding them (its dense vectors "
                "are kept; only each message's contextual text is embedded)") in caplog.messages
        assert len(index.missing_context(7)) == 7  # a page of the asked size
        fill_missing_contexts(index, HashEmbedder(), None)  # as reconcile does: each point gets its second vector
        assert index.unindexed() == 300
        index.upsert([IndexItem(record=Record(kind=RecordKind.FACT, scope=JO, text="one more"),
                                vector=HashEmbedder().embed(["one more"])[0])])
        assert index.auto_optimizations == 1 and index.unindexed() == 0
    finally:
        index.close()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_adding_contextual_vectors_shows_its_progress_on_a_terminal_only(tmp_path, monkeypatch, caplog):
    """Kills `fill_missing_contexts` mutants of its log line (text or count dropped) and of its progress bar: the
    total, description or unit changed or dropped, `disable=None` dropped (a bar then fills a log file or a
    pipe) and `leave=False` changed (the finished bar stays on the screen); its first page not of `batch`
    points, and a non-zero answer when nothing was missing."""
    path = tmp_path / "store"
    core = await open_fast_core(path)
    try:
        await core.add(_turns())
    finally:
        await core.close()

    def upgrade(stderr: io.StringIO) -> str:
        make_pre_contextual_index(path / "vectors")
        storage = open_storage(OmneConfig(store_dir=path))
        index = EdgeVectorIndex(path / "vectors", 384)
        monkeypatch.setattr("sys.stderr", stderr)
        try:
            with caplog.at_level(logging.WARNING, logger="omne"):
                assert fill_missing_contexts(index, HashEmbedder(), storage.records, batch=4) == len(TALK) - 1
            assert fill_missing_contexts(index, HashEmbedder(), storage.records) == 0  # nothing left to do
        finally:
            monkeypatch.undo()
            index.close()
            storage.close()
        return stderr.getvalue()

    shown = upgrade(_Terminal())
    assert "adding contextual vectors to an index made before them (10 points)" in caplog.messages
    assert shown.startswith("\rcontextual vectors:   0%|") and f"| 0/{len(TALK)} [" in shown and "point/s]" in shown
    assert shown.endswith("\r") and not shown.endswith("\n")  # cleared when done
    assert upgrade(io.StringIO()) == ""  # not a terminal: no bar
    make_pre_contextual_index(path / "vectors")  # and the work goes in pages of `batch` points, from the first
    storage = open_storage(OmneConfig(store_dir=path))
    index = EdgeVectorIndex(path / "vectors", 384)
    try:
        with pytest.raises(RuntimeError, match="killed"):
            fill_missing_contexts(index, Counting(HashEmbedder(), fail_after=1), storage.records, batch=4)
        assert len(index.missing_context(100)) == len(TALK) - 4
    finally:
        index.close()
        storage.close()


async def test_an_upgrade_stores_each_contextual_vector_page_by_page_and_says_when_it_is_done(tmp_path, caplog):
    """Kills `fill_missing_contexts` mutants that store a point's dense vector in place of the contextual one it
    embedded (`vectors.get(None, ...)`), read the pages after the first without their `batch` limit, or change
    or drop the closing log line: on the hashing embedder, each reply's contextual text finds that reply first
    in the `context` ranking with a cosine of 1 after the upgrade, no call embeds more than `batch` texts, and
    the last line counts the texts embedded."""
    path = tmp_path / "store"
    stored = await _store_with_an_older_index(path)
    storage = open_storage(OmneConfig(store_dir=path))
    index = EdgeVectorIndex(path / "vectors", 384)
    counting = Counting(HashEmbedder())
    try:
        with caplog.at_level(logging.WARNING, logger="omne"):
            assert fill_missing_contexts(index, counting, storage.records, batch=3) == len(TALK) - 1
        assert counting.calls and max(counting.calls) <= 3 and sum(counting.calls) == len(TALK) - 1
        assert caplog.messages[-1] == "contextual vectors added (9 contextual texts embedded, dense vectors kept)"
        for text, reply in zip(_windows(stored), stored[1:]):
            top = index.search(JO, None, dense=HashEmbedder().embed([text])[0], lexical=None, limit=1,
                               context=True)["context"][0]
            assert top.id == reply.id and top.score == pytest.approx(1.0, abs=1e-5)
    finally:
        index.close()
        storage.close()


class _IndexThatDropsContexts:
    """A vector index whose `set_context` keeps nothing: it reports the same points as lacking a contextual
    vector on every call (it fails the test on a fourth call, where an upgrade without a guard would loop on)."""

    def __init__(self, points: list[StoredVector]) -> None:
        self.points, self.asked = points, 0

    def missing_context(self, limit: int) -> list[StoredVector]:
        self.asked += 1
        assert self.asked <= 3, "fill_missing_contexts asked again for points it had just given a vector"
        return self.points[:limit]

    def set_context(self, vectors) -> None:
        pass

    def count(self) -> int:
        return len(self.points)


def test_an_upgrade_stops_with_a_clear_error_when_the_index_does_not_keep_contextual_vectors():
    """An index that does not keep the contextual vectors written to it (a broken backend, or mutants of
    `missing_context`'s filter) used to make an upgrade loop forever; it now stops at the second page with an
    error naming the way out."""
    points = [StoredVector(id=f"r{i}", vector=HashEmbedder().embed(["x"])[0], scope=JO) for i in range(3)]
    with pytest.raises(StorageError) as refused:
        fill_missing_contexts(_IndexThatDropsContexts(points), HashEmbedder(), None, batch=5)
    assert str(refused.value) == (
        "the vector index still lacks the contextual vector of 3 point(s) it was just given one (e.g. 'r0'): it does "
        "not keep what is written to it. Remove the index (the embedded one is the store's `vectors` folder) and it "
        "is rebuilt from the log when the store next opens.")


async def test_a_message_is_indexed_with_its_contextual_vector_and_found_by_it(tmp_path):
    """Kills `embed_records` mutants that skip the contextual texts or drop their vectors on the way to the index
    (`context=None`, `extra.get(None)`, the `context_from` test negated or short-circuited), on the hashing
    embedder: the query that is exactly a reply's contextual text finds that reply first in the `context`
    stage with a cosine of 1, and `search(context=...)` names its rankings "dense", "context" and "lexical"
    (kills the stage-name and slice mutants of `EdgeVectorIndex.search`). Also the core's switch: on by default
    (`MemoryCore.open`'s and `__init__`'s `contextual`), and `contextual=False` embeds no contextual text
    (`IndexUpkeep`'s `store if contextual else None` mutants)."""
    embedder = HashEmbedder()
    core = await MemoryCore.open(tmp_path / "store", embedder=embedder)
    try:
        first, second = await core.add(_turns()[:2])
        vector = embedder.embed([f"{index_text(first)} {index_text(second)}"])[0]
        rankings = core._index.search(JO, None, dense=vector, lexical="coach", limit=2, context=True)  # white box
        assert sorted(rankings) == ["context", "dense", "lexical"]
        top = rankings["context"][0]
        assert top.id == second.id and top.score == pytest.approx(1.0, abs=1e-5)
        assert rankings["dense"][0].score < 0.99  # alone, the reply is not that text
        assert sorted(core._index.search(JO, None, dense=vector, lexical="coach", limit=2)) == ["dense", "lexical"]
    finally:
        await core.close()
    counting = Counting(embedder)
    async with await MemoryCore.open(tmp_path / "plain", embedder=counting, contextual=False) as plain:
        turns = await plain.add(_turns()[:3])  # no record store to read previous messages from: no crash
    assert counting.texts == [index_text(t) for t in turns]  # and no contextual text embedded


async def test_an_older_index_gets_its_contextual_vectors_when_the_core_opens(tmp_path):
    """Kills `IndexUpkeep.open` mutants that hand the upgrade no embedder or no record store (`None`, or the
    `follower is None` test negated or short-circuited): on the hashing embedder, opening a store whose index
    predates contextual vectors embeds exactly the nine contextual texts of its ten turns."""
    path = tmp_path / "store"
    stored = await _store_with_an_older_index(path)
    counting = Counting(HashEmbedder())
    async with await MemoryCore.open(path, embedder=counting):
        pass
    assert sorted(counting.texts) == sorted(_windows(stored))


async def test_a_next_edge_back_into_its_own_chain_never_folds_a_message_into_its_own_context(tmp_path):
    """Edges are the caller's to add: a NEXT edge from `b` back to `a` makes the chain a loop, and the two-step
    walk back from `a` would come round to `a` itself. Each message's contextual text holds every message at most
    once, and never itself."""
    core = await open_fast_core(tmp_path / "store")
    try:
        a, b = await core.add(_turns()[:2])
        await core.add_edges([Edge(scope=JO, src=b.id, dst=a.id, kind=EdgeKind.NEXT)])
    finally:
        await core.close()
    storage = open_storage(OmneConfig(store_dir=tmp_path / "store"))
    try:
        texts = contextual_texts(storage.records, [a, b])
    finally:
        storage.close()
    assert texts == {a.id: f"{index_text(b)} {index_text(a)}", b.id: f"{index_text(a)} {index_text(b)}"}


async def test_a_long_message_before_a_reply_leaves_the_reply_its_own_words(tmp_path):
    """MiniLM reads the first 256 tokens of a text: a 6,000-character message folded in whole would push the reply
    out of its own contextual vector. Only the end of an earlier message is folded in (`EARLIER_CHARS`), and the
    reply is whole."""
    from omne.storage.context import EARLIER_CHARS

    long = "word " * 1200 + "So, which of the two offers should I take?"
    core = await open_fast_core(tmp_path / "store")
    try:
        asked, reply = await core.add([
            Record(kind=RecordKind.MESSAGE, scope=JO, role="user", name="Jo", text=long),
            Record(kind=RecordKind.MESSAGE, scope=JO, role="user", name="Sam", text="Take the one in Lisbon.")])
    finally:
        await core.close()
    storage = open_storage(OmneConfig(store_dir=tmp_path / "store"))
    try:
        text = contextual_texts(storage.records, [reply])[reply.id]
    finally:
        storage.close()
    assert text == f'Jo: "...{long[-EARLIER_CHARS:]}" {index_text(reply)}'
    assert text.endswith('which of the two offers should I take?" Sam: "Take the one in Lisbon."')
