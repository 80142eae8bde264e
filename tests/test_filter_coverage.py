"""A search leaves its scope filter out only while the filter matches every point of the shard.

`EdgeVectorIndex` learns per filter (from exact counts) that it matches every live point, searches without it
then (same hits, no per-point check), and must never return another scope's point: not after another scope's
write, not when that write lands during the search itself. Three checks read `index._coverage` to pin that the
unfiltered path is the one under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from omne import Record, RecordKind, Scope
from omne.storage.filter_coverage import FilterCoverage
from omne.storage.protocols import IndexItem, RecordFilter
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.storage.shard_statistics import filter_key
from tests import test_shard_statistics as _statistics

index = _statistics.index  # the fixture: an empty index of 4-d vectors
MINE, THEIRS, QUERY = _statistics.MINE, _statistics.THEIRS, _statistics.UNIT


def _records(scope: Scope, n: int, kind: RecordKind = RecordKind.FACT) -> list[Record]:
    return [Record(kind=kind, scope=scope, text=f"alpha note {i}") for i in range(n)]


def _add(index: EdgeVectorIndex, records: list[Record], vector: np.ndarray | None = None) -> list[Record]:
    rng = np.random.default_rng(len(records))
    index.upsert([IndexItem(record=r, vector=vector if vector is not None else
                            np.abs(rng.standard_normal(4)).astype(np.float32)) for r in records])
    return records


def _found(index: EdgeVectorIndex, flt: RecordFilter | None = None) -> dict[str, list[str]]:
    hits = index.search(MINE, flt, dense=QUERY, lexical="alpha", limit=50, context=True)
    return {stage: [h.id for h in found] for stage, found in hits.items()}


def _filtered(index: EdgeVectorIndex, flt: RecordFilter | None = None) -> dict[str, list[str]]:
    """The same search with the filter always applied."""
    real = index._coverage.covers
    index._coverage.covers = lambda key: False  # type: ignore[method-assign]
    try:
        return _found(index, flt)
    finally:
        index._coverage.covers = real  # type: ignore[method-assign]


def test_one_scope_searched_without_its_filter_finds_the_same_hits_and_never_another_scopes(index):
    mine = {r.id for r in _add(index, _records(MINE, 20))}
    first = _found(index)
    assert index._coverage.covers(filter_key(MINE, None)) is True  # the unfiltered path
    assert first == _filtered(index) and set(first["dense"]) == mine
    (theirs,) = _add(index, _records(THEIRS, 1), vector=QUERY)  # the nearest point of all, in another scope
    after = _found(index)
    assert all(theirs.id not in found for found in after.values())
    assert after == first and index._coverage.covers(filter_key(MINE, None)) is False


class _WriteDuringSearch:
    """The shard, but another scope's write lands just before the first batch of searches runs."""

    def __init__(self, index: EdgeVectorIndex, write: list[Record]) -> None:
        self._index, self._shard, self._write = index, index._shard, write
        self.batches = 0

    def query_batch(self, request: Any) -> Any:
        self.batches += 1
        if self._write:
            records, self._write = self._write, []
            self._index._shard = self._shard  # the write itself goes to the real shard
            try:
                _add(self._index, records, vector=QUERY)
            finally:
                self._index._shard = self  # type: ignore[assignment]
        return self._shard.query_batch(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shard, name)


def test_a_write_that_lands_during_an_unfiltered_search_never_shows_in_it(index):
    _add(index, _records(MINE, 20))
    expected = _found(index)
    assert index._coverage.covers(filter_key(MINE, None)) is True
    theirs = _records(THEIRS, 1)
    shard = _WriteDuringSearch(index, theirs)
    index._shard = shard  # type: ignore[assignment]
    try:
        found = _found(index)
    finally:
        index._shard = shard._shard
    assert shard.batches == 2  # the unfiltered batch saw the write land, and the search ran again filtered
    assert all(theirs[0].id not in hits for hits in found.values()) and found == expected


def test_deleting_the_other_scopes_points_lets_a_search_leave_its_filter_out_again(index):
    _add(index, _records(MINE, 10))
    theirs = _add(index, _records(THEIRS, 5), vector=QUERY)
    before = _found(index)
    assert index._coverage.covers(filter_key(MINE, None)) is False
    assert not {r.id for r in theirs} & {i for hits in before.values() for i in hits}
    index.delete([r.id for r in theirs])
    assert _found(index) == before and index._coverage.covers(filter_key(MINE, None)) is True


def test_a_kinds_filter_that_leaves_out_some_of_the_scopes_points_is_kept(index):
    facts = {r.id for r in _add(index, _records(MINE, 10))}
    _add(index, _records(MINE, 5, kind=RecordKind.MESSAGE), vector=QUERY)
    only_facts = RecordFilter(kinds=(RecordKind.FACT,))
    found = _found(index, only_facts)
    assert set(found["dense"]) == facts and set(found["lexical"]) == facts
    assert index._coverage.covers(filter_key(MINE, only_facts)) is False


def test_answers_hold_only_through_writes_that_cannot_change_them():
    coverage, key = FilterCoverage(), filter_key(MINE, None)
    other = filter_key(THEIRS, None)
    token = coverage.token()
    with coverage.writing([{"s_user": "a"}]):
        assert not coverage.unchanged(token) and not coverage.unchanged(coverage.token())
        coverage.learn(key, coverage.token(), True)  # counted while a write ran: not kept
    assert coverage.covers(key) is None and not coverage.unchanged(token)
    coverage.learn(key, coverage.token(), True)
    coverage.learn(other, coverage.token(), False)
    with coverage.writing([{"s_user": "a"}]), coverage.writing([]):  # its own points; vectors replaced in place
        pass
    assert coverage.covers(key) is True and coverage.covers(other) is False
    with coverage.writing(None):  # a delete can only leave fewer foreign points: "no" is asked again
        pass
    assert coverage.covers(key) is True and coverage.covers(other) is None
    with coverage.writing([{"s_user": "b"}]):  # another scope's point: "yes" is asked again
        pass
    assert coverage.covers(key) is None and coverage.covers(None) is False
