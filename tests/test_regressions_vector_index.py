"""The embedded vector index returns only the asked scope, and a lost index is rebuilt from the log.

Both gaps were found by mutation: each test's docstring names the change to the code it catches.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

import numpy as np

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
