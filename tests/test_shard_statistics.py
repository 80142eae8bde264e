"""BM25 reads the shard's own term statistics only while they equal those counted under the search's filter.

`EdgeVectorIndex` stops counting term statistics under a filter once it has seen the shard's own give the same
scores (one user's store, nothing deleted); these tests pin that the scores stay those of the scope alone as
other scopes, kinds, deletes and overwrites come and go.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from omne import Record, RecordKind, Scope
from omne.storage.protocols import IndexHit, IndexItem, RecordFilter
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.storage.shard_statistics import AGREEMENTS, ShardStatistics, filter_key, same_scores

MINE = Scope(user="a")
THEIRS = Scope(user="b")
UNIT = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)


@pytest.fixture
def index(tmp_path) -> Iterator[EdgeVectorIndex]:
    index = EdgeVectorIndex(tmp_path / "vectors", dim=4)
    yield index
    index.close()


def _add(index: EdgeVectorIndex, records: list[Record]) -> list[Record]:
    index.upsert([IndexItem(record=r, vector=UNIT) for r in records])
    return records


def _lexical(index: EdgeVectorIndex, flt: RecordFilter | None = None) -> list[tuple[str, float]]:
    return [(h.id, round(h.score, 5)) for h in index.search(MINE, flt, dense=None, lexical="alpha beta",
                                                            limit=10)["lexical"]]


def _facts(scope: Scope, texts: list[str]) -> list[Record]:
    return [Record(kind=RecordKind.FACT, scope=scope, text=t) for t in texts]


MY_FACTS = ["alpha", "beta", "beta gamma"]


def test_a_scope_keeps_its_own_scores_as_other_scopes_and_deletes_come_and_go(index, tmp_path):
    """`a`'s BM25 scores are always those of `a`'s live records alone, whatever else the shard holds or still
    counts: `b`'s fifty "alpha" records, deleted records (overwrites: the next test)."""
    fresh = EdgeVectorIndex(tmp_path / "fresh", dim=4)  # the three facts and nothing else, ever
    try:
        _add(fresh, _facts(MINE, MY_FACTS))
        only_facts = [score for _, score in _lexical(fresh)]
    finally:
        fresh.close()
    mine = _add(index, _facts(MINE, MY_FACTS))
    fillers = _add(index, _facts(MINE, [f"zzz{i} yyy" for i in range(10)]))
    for _ in range(AGREEMENTS):
        assert [i for i, _ in _lexical(index)] == [r.id for r in mine]  # "alpha" is the rarer term in a's records
    assert index._statistics.known(filter_key(MINE, None)) is True  # white box: the shard's own are read now

    def scores() -> list[float]:
        return [score for _, score in _lexical(index)]

    index.delete([r.id for r in fillers])  # the shard still counts them: only counting gives the fresh scores
    assert scores() == pytest.approx(only_facts, rel=1e-5)
    assert scores() == pytest.approx(only_facts, rel=1e-5)  # and learned so
    theirs = _add(index, _facts(THEIRS, [f"alpha filler{i}" for i in range(50)]))
    assert scores() == pytest.approx(only_facts, rel=1e-5)
    index.delete([r.id for r in theirs])
    assert scores() == pytest.approx(only_facts, rel=1e-5)


def test_another_scope_writing_ends_the_shard_statistics_of_a_scope_that_held_every_point(index):
    mine = _add(index, _facts(MINE, MY_FACTS))
    alone = _lexical(index)
    assert [i for i, _ in alone] == [r.id for r in mine]
    for _ in range(AGREEMENTS):
        assert _lexical(index) == alone
    _add(index, _facts(THEIRS, [f"alpha filler{i}" for i in range(50)]))  # counted over the shard, "alpha" is common
    assert _lexical(index) == alone


def test_an_upsert_that_overwrites_points_ends_the_shard_statistics_and_new_points_keep_them(index):
    """An overwritten point may stay counted in the shard's statistics (white box: the answer is read directly)."""
    mine = _add(index, _facts(MINE, MY_FACTS))
    for _ in range(AGREEMENTS):
        _lexical(index)
    assert index._statistics.known(KEY) is True
    _add(index, _facts(MINE, ["delta"]))  # new points the filter matches
    assert index._statistics.known(KEY) is True
    _add(index, mine[:1])  # the same id again
    assert index._statistics.known(KEY) is None
    for _ in range(AGREEMENTS):
        _lexical(index)
    assert index._statistics.known(KEY) is True
    index.set_context({mine[0].id: UNIT})  # vectors replaced in place are overwrites too
    assert index._statistics.known(KEY) is None


def test_a_kinds_filter_counts_term_statistics_over_those_kinds_only(index):
    """The scope holds every point, but a kinds filter does not: among the facts "alpha" is rare, among all the
    scope's records (twenty messages say "alpha") it is common. The unfiltered search runs first, so a cached
    answer that ignored the kinds would be reused wrongly."""
    facts = _add(index, [Record(kind=RecordKind.FACT, scope=MINE, text=t) for t in ("alpha", "beta", "beta gamma")])
    _add(index, [Record(kind=RecordKind.MESSAGE, scope=MINE, role="user", text=f"alpha chatter{i}")
                 for i in range(20)])
    for _ in range(AGREEMENTS):
        everything = _lexical(index)
    assert index._statistics.known(filter_key(MINE, None)) is True  # white box: the unfiltered search reads them
    assert everything[0][0] != facts[0].id  # over all the scope's records "beta" is the rarer word
    only_facts = _lexical(index, RecordFilter(kinds=(RecordKind.FACT,)))
    assert [i for i, _ in only_facts] == [r.id for r in facts]


def test_filter_keys_name_scope_fields_and_kinds_and_leave_other_filters_out():
    assert filter_key(MINE, None) == ((("s_user", "a"),), None)
    assert filter_key(Scope(user="a", session="s"), RecordFilter(kinds=(RecordKind.FACT,))) == (
        (("s_session", "s"), ("s_user", "a")), frozenset({"fact"}))
    assert filter_key(MINE, RecordFilter(roles=("user",))) is None
    assert filter_key(MINE, RecordFilter(tags=("x",))) is None


def _hit(i: str, score: float) -> IndexHit:
    return IndexHit(id=i, score=score, rank=1)


KEY = filter_key(MINE, None)


def _agree(stats: ShardStatistics, key, times: int = AGREEMENTS) -> None:
    for _ in range(times):
        stats.learn(key, stats.token(), *AGREE)


AGREE = ([_hit("x", 2.0), _hit("y", 1.0)], [_hit("x", 2.0), _hit("y", 1.0)])
DIFFER = ([_hit("x", 2.0), _hit("y", 1.0)], [_hit("x", 2.5), _hit("y", 1.0)])


def test_scores_agree_only_hit_for_hit():
    assert same_scores(*AGREE) is True
    assert same_scores(*DIFFER) is False
    assert same_scores([_hit("x", 2.0), _hit("y", 1.0)], [_hit("y", 2.0), _hit("x", 1.0)]) is False
    assert same_scores([_hit("x", 2.0)], [_hit("x", 2.0), _hit("y", 1.0)]) is False
    assert same_scores([], []) is None  # nothing matched: nothing learned
    assert same_scores([], [_hit("x", 1.0)]) is False


def test_answers_are_learned_per_filter_and_none_is_never_judged():
    stats = ShardStatistics()
    assert stats.known(KEY) is None and stats.known(None) is False
    _agree(stats, KEY)
    assert stats.known(KEY) is True and stats.any_yes()
    other = filter_key(MINE, RecordFilter(kinds=(RecordKind.FACT,)))
    assert stats.known(other) is None
    stats.learn(other, stats.token(), *DIFFER)
    assert stats.known(other) is False
    stats.learn(KEY, stats.token(), [], [])
    assert stats.known(KEY) is True  # an empty ranking teaches nothing


def test_writes_keep_the_answers_true():
    stats = ShardStatistics()
    no = filter_key(THEIRS, None)
    _agree(stats, KEY)
    stats.learn(no, stats.token(), *DIFFER)
    with stats.writing([{"s_user": "a", "kind": "fact"}]):  # a new point the filter matches: both stand
        pass
    assert stats.known(KEY) is True and stats.known(no) is False
    with stats.writing([{"s_user": "a"}]):  # an overwrite: the old version is still counted
        stats.overwritten()
    assert stats.known(KEY) is None and stats.known(no) is False
    _agree(stats, KEY)
    with stats.writing([{"s_user": "a"}, {"s_user": "b"}]):  # one point outside the filter
        pass
    assert stats.known(KEY) is None and stats.known(no) is False
    _agree(stats, KEY)
    with stats.writing(None):  # a delete: every answer is asked again
        pass
    assert stats.known(KEY) is None and stats.known(no) is None


def test_an_overwrite_noticed_during_a_write_ends_every_yes_and_keeps_the_nos():
    stats = ShardStatistics()
    no = filter_key(THEIRS, None)
    _agree(stats, KEY)
    stats.learn(no, stats.token(), *DIFFER)
    with stats.writing([{"s_user": "a"}]):
        stats.overwritten()
    assert stats.known(KEY) is None and stats.known(no) is False and not stats.any_yes()


def test_an_answer_learned_across_a_write_is_not_kept():
    stats = ShardStatistics()
    token = stats.token()
    with stats.writing([{"s_user": "b"}]):
        pass
    stats.learn(KEY, token, *AGREE)  # the query may have run before or after the foreign point
    assert stats.known(KEY) is None
    with stats.writing([{"s_user": "a"}]):
        _agree(stats, KEY)  # taken while the write ran
    assert stats.known(KEY) is None
    _agree(stats, KEY)
    assert stats.known(KEY) is True


def test_yes_takes_several_agreeing_queries_and_one_disagreement_is_no():
    stats = ShardStatistics()
    _agree(stats, KEY, AGREEMENTS - 1)
    assert stats.known(KEY) is None and stats.any_yes()  # on its way: a writer checks for overwrites already
    with stats.writing([{"s_user": "b"}]):  # agreements before a foreign point do not count after it
        pass
    _agree(stats, KEY, 1)
    assert stats.known(KEY) is None
    _agree(stats, KEY, AGREEMENTS - 1)
    assert stats.known(KEY) is True
    other = filter_key(THEIRS, None)
    _agree(stats, other, AGREEMENTS - 1)
    stats.learn(other, stats.token(), *DIFFER)
    _agree(stats, other)
    assert stats.known(other) is False
