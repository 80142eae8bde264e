"""MemoryCore's verbs for upper layers (supersede, annotate, similar) and its one set of defaults."""

from __future__ import annotations

import pytest

from omne.config import OmneConfig
from omne.core import MemoryCore
from omne.errors import InvalidInputError
from omne.storage import open_storage
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.testing import HashEmbedder
from omne.types import Record, RecordKind, Scope, new_id, utcnow

ANA = Scope(user="ana")


async def test_a_core_built_directly_has_the_defaults_of_open(tmp_path):
    opened = await MemoryCore.open(tmp_path / "a", embedder=HashEmbedder())
    embedder = HashEmbedder()
    config = OmneConfig(store_dir=tmp_path / "b")
    built = MemoryCore(config, open_storage(config), EdgeVectorIndex(tmp_path / "b" / "vectors", embedder.dim),
                       embedder)
    try:
        assert built.retrieval == opened.retrieval
        assert built.link_messages is opened.link_messages is True
        assert built.write_hooks == opened.write_hooks == []
    finally:
        await built.close()
        await opened.close()


async def test_supersede_writes_versions_built_by_the_caller(fast_core):
    old = await fast_core.remember("the door code is 1234", scope=ANA)
    v2, v3, v4 = new_id(), new_id(), new_id()
    new = old.model_copy(update={"id": v2, "text": "the door code is 9876", "version": 2, "created_at": utcnow()})
    stored = await fast_core.supersede([(old, new)])
    assert [r.text for r in stored] == ["the door code is 9876"]
    assert [r.id for r in await fast_core.history(old.id, scope=ANA)] == [old.id, v2]
    hits = await fast_core.search("door code", scope=ANA)
    assert [h.record.id for h in hits] == [v2]  # the old version left the index
    with pytest.raises(InvalidInputError, match="no longer current"):
        await fast_core.supersede([(old, new.model_copy(update={"id": v3}))])
    with pytest.raises(InvalidInputError, match="keeps its scope and kind"):
        await fast_core.supersede([(new, new.model_copy(update={"id": v4, "kind": RecordKind.INSIGHT}))])


async def test_annotate_changes_importance_and_metadata_in_scope_only(fast_core):
    fact = await fast_core.remember("ana likes sencha", scope=ANA)
    after = await fast_core.annotate(fact.id, scope=ANA, importance=0.9, metadata={"reinforced": 1})
    assert (after.importance, after.metadata, after.version) == (0.9, {"reinforced": 1}, 1)
    with pytest.raises(Exception, match="no record"):
        await fast_core.annotate(fact.id, scope=Scope(user="bo"), importance=0.1, metadata={})
    with pytest.raises(InvalidInputError, match="between 0 and 1"):
        await fast_core.annotate(fact.id, scope=ANA, importance=2.0, metadata={})


async def test_similar_finds_the_nearest_records_of_the_scope(fast_core):
    records = await fast_core.add([Record(kind=RecordKind.FACT, scope=ANA, text="green tea every morning"),
                                   Record(kind=RecordKind.MESSAGE, scope=ANA, text="green tea every morning", role="user"),
                                   Record(kind=RecordKind.FACT, scope=Scope(user="bo"), text="green tea every morning")])
    vector = fast_core.embedder.embed(["green tea every morning"])[0]
    hits = await fast_core.similar(vector, scope=ANA, kinds=[RecordKind.FACT], limit=5)
    assert [h.id for h in hits] == [records[0].id] and hits[0].score > 0.99
