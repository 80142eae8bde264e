"""The memory graph: offline entity extraction, resolution, edges built on the write path, queries, scope."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from omne import MemoryCore, Record, RecordKind, RetrievalConfig, Scope
from omne.graph import (
    CapitalisedSpanExtractor, EntityResolver, GraphBuilder, GraphBuilderConfig, GraphView,
)
from omne.graph.resolution import KnownEntity, entity_key
from omne.retrieval.models import EntityLinkConfig, NeighbourConfig, PPRConfig
from omne.retrieval.stages import PRESETS
from omne.types import Edge, EdgeKind

T0 = datetime(2024, 3, 3, 9, 0, tzinfo=timezone.utc)
T1 = datetime(2024, 4, 21, 18, 0, tzinfo=timezone.utc)
CHAT = [
    ("Ilse", "s1", "I repaired the clock tower in Quedlinburg with Tomas."),
    ("Tomas", "s1", "The brass pendulum of the Quedlinburg tower was hard."),
    ("Ilse", "s1", "Next I want to visit New York City."),
    ("Tomas", "s2", "Pebble, my greyhound, loves the beach near Rotterdam."),
    ("Ilse", "s2", "Mel from Rotterdam runs the marathon with me."),
]


def chat(scope_user: str) -> list[Record]:
    return [Record(kind=RecordKind.MESSAGE, scope=Scope(user=scope_user, session=session), text=text, name=name,
                   role="user", event_time=T0 if session == "s1" else T1) for name, session, text in CHAT]


@pytest.fixture
async def graph_core(tmp_path, embedder):
    core = await MemoryCore.open(tmp_path / "g", embedder=embedder,
                                 write_hooks=[GraphBuilder(config=GraphBuilderConfig(similar_threshold=0.3))])
    yield core
    await core.close()


def test_offline_extractor_is_deterministic_and_skips_sentence_starts():
    extractor = CapitalisedSpanExtractor()
    text = "Wow! I met Anna Berg in New York City. The Rotterdam marathon was great; NASA called. Thanks Anna's dad."
    first = [m.surface for m in extractor.extract_text(text)]
    assert first == [m.surface for m in extractor.extract_text(text)]
    assert first == ["Anna Berg", "New York City", "Rotterdam", "NASA", "Anna"]
    assert "offline" in extractor.name


class _TableEmbedder:
    """Test double: fixed vectors per text (unknown texts get an orthogonal axis)."""

    name, dim = "table", 3

    def embed(self, texts):
        table = {"NYC": [1, 0, 0], "New York City": [0.99, 0.1, 0], "Melanie": [0, 1, 0], "Quedlinburg": [0.5, 0.5, 0.7]}
        return np.array([table.get(t, [0, 0, 1]) for t in texts], dtype=np.float32)


def test_resolution_exact_then_fuzzy_then_embedding():
    known = [KnownEntity(id=str(i), name=n, key=entity_key(n)) for i, n in enumerate(
        ["Melanie", "New York City", "Quedlinburg"])]
    resolver = EntityResolver(_TableEmbedder())
    got = {r.surface: (r.entity_id, r.method) for r in resolver.resolve(
        ["melanie", "Mel", "Quedlinbrg", "NYC", "Paris"], known)}
    assert got == {"melanie": ("0", "exact"), "Mel": ("0", "prefix"), "Quedlinbrg": ("2", "fuzzy"),
                   "NYC": ("1", "embedding"), "Paris": (None, "new")}


async def test_builder_writes_next_mentions_and_similar_edges(graph_core):
    records = await graph_core.add(chat("u1"))
    scope = Scope(user="u1")
    edges = await graph_core.edges(scope=scope)
    kinds = {k: [e for e in edges if e.kind is k] for k in EdgeKind}
    text = {r.id: r.text for r in records}
    # NEXT: consecutive messages of one session, never across sessions
    assert [(text[e.src][:12], text[e.dst][:12]) for e in kinds[EdgeKind.NEXT]] == [
        ("I repaired t", "The brass pe"), ("The brass pe", "Next I want "), ("Pebble, my g", "Mel from Rot")]
    entities = {r.id: r.text for r in await graph_core.list(scope=scope, kinds=["entity"])}
    assert {"Ilse", "Tomas", "Quedlinburg", "Rotterdam", "New York City", "Pebble"} <= set(entities.values())
    assert "Mel" in entities.values() and "Next I" not in entities.values()  # no Melanie here to merge 'Mel' into
    mentions = {(text[e.src][:12], entities[e.dst]) for e in kinds[EdgeKind.MENTIONS]}
    assert ("I repaired t", "Quedlinburg") in mentions and ("The brass pe", "Quedlinburg") in mentions
    assert ("I repaired t", "Tomas") in mentions
    assert kinds[EdgeKind.SIMILAR], "related records get similarity links"
    assert all(e.src < e.dst and e.src in text and e.dst in text and 0.3 <= e.weight <= 1.0
               for e in kinds[EdgeKind.SIMILAR])


async def test_same_input_gives_same_graph(tmp_path, embedder, separate_database):
    shapes = []
    for run in range(2):
        separate_database()  # two separate stores
        async with await MemoryCore.open(tmp_path / f"d{run}", embedder=embedder,
                                         write_hooks=[GraphBuilder()]) as core:
            records = await core.add(chat("u1"))
            text = {r.id: r.text for r in records}
            text.update({r.id: "entity:" + r.text for r in await core.list(scope=Scope(user="u1"), kinds=["entity"])})
            edges = await core.edges(scope=Scope(user="u1"))
            # SIMILAR is symmetric and stored with src < dst by (random) record id: compare its ends unordered
            shapes.append(sorted((*(sorted((text[e.src], text[e.dst])) if e.kind is EdgeKind.SIMILAR
                                    else (text[e.src], text[e.dst])), e.kind.value, round(e.weight, 4))
                                 for e in edges))
            shapes.append(sorted(i for i in text if text[i].startswith("entity:")))  # entity ids are stable
    assert shapes[0] == shapes[2] and shapes[1] == shapes[3]
    assert len(shapes[0]) > 10


def test_graph_view_queries_are_deterministic():
    scope = Scope(user="u")
    ids = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(6)]
    edges = [Edge(scope=scope, src=ids[0], dst=ids[1], kind=EdgeKind.NEXT),
             Edge(scope=scope, src=ids[1], dst=ids[2], kind=EdgeKind.NEXT),
             Edge(scope=scope, src=ids[2], dst=ids[5], kind=EdgeKind.MENTIONS, data={"surface": "Anna"}),
             Edge(scope=scope, src=ids[3], dst=ids[5], kind=EdgeKind.MENTIONS, data={"surface": "Anna"})]
    view = GraphView(scope, edges)
    assert view.neighbours(ids[1], [EdgeKind.NEXT]) == [ids[0], ids[2]]
    assert view.neighbours(ids[2], [EdgeKind.NEXT]) == [ids[1]]
    assert view.neighbourhood([ids[0]], depth=2) == {ids[0], ids[1], ids[2]}
    assert view.path(ids[0], ids[3]) == [ids[0], ids[1], ids[2], ids[5], ids[3]]
    assert view.path(ids[0], ids[4]) == []
    assert view.entities_in("what did anna say?") == [ids[5]]
    ranks = view.personalized_pagerank({ids[0]: 1.0}, alpha=0.85)
    assert ranks == view.personalized_pagerank({ids[0]: 1.0}, alpha=0.85)
    assert ranks[ids[1]] > ranks[ids[2]] > ranks[ids[3]] > 0
    assert abs(sum(ranks.values()) - 1.0) < 1e-6


async def test_expansion_respects_scope_filter_and_explains_itself(graph_core):
    await graph_core.add(chat("u1"))
    other = await graph_core.add(chat("u2"))
    config = PRESETS["full"].model_copy(update={"graph_ppr": PPRConfig(weight=0.5),
                                                "entity_links": EntityLinkConfig(weight=0.3)})
    hits = await graph_core.search("Quedlinburg clock tower", scope=Scope(user="u1"), top_k=20, config=config)
    assert hits and all(h.record.scope.user == "u1" for h in hits)
    assert not {h.record.id for h in hits} & {r.id for r in other}
    expanded = [h for h in hits if "session_neighbours" in h.stages or "graph_ppr" in h.stages]
    assert expanded, "graph stages name themselves in SearchHit.stages"
    # a time filter binds the expansion too: nothing from session 2 (T1) enters a search ending before it
    early = await graph_core.search("Quedlinburg clock tower", scope=Scope(user="u1"), top_k=20, config=config,
                                    end=T0, kinds=["message"])
    assert early and all(h.record.when <= T0 and h.record.kind is RecordKind.MESSAGE for h in early)
    # a session scope sees only its session: no NEXT or entity links reach outside it
    s2 = await graph_core.search("Quedlinburg", scope=Scope(user="u1", session="s2"), top_k=20, config=config)
    assert all(h.record.scope.session == "s2" for h in s2)


async def test_session_neighbour_stage_adds_the_following_turn(graph_core):
    records = await graph_core.add(chat("u1"))
    base = RetrievalConfig(mode="lexical")
    hits = await graph_core.search("pendulum", scope=Scope(user="u1"), top_k=5, config=base, kinds=["message"])
    assert [h.record.id for h in hits] == [records[1].id]
    grown = await graph_core.search("pendulum", scope=Scope(user="u1"), top_k=5, kinds=["message"],
                                    config=base.model_copy(update={"session_neighbours": NeighbourConfig(
                                        next_weight=0.5, prev_weight=0.25)}))
    ids = [h.record.id for h in grown]
    assert ids == [records[1].id, records[2].id, records[0].id]
    assert grown[1].found_by == ["session_neighbours"]
