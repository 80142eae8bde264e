"""When BM25 under a search's filter may read the shard's own term statistics instead of counting them.

BM25 scores a scope's records with term statistics counted over that scope alone (scope is a hard partition):
`IdfParams(corpus=filter)`, which counts under the filter on every query (about 5.5 ms at a million points). The
shard also keeps statistics of its own, read without counting, over every point it holds, deleted points included
until a rebuild drops them. The two are the same numbers exactly when the filter covers every point the shard
counts (one user's store with nothing deleted), and then the index reads the shard's own: identical scores.

Whether they are the same is learned, not assumed: a search under a filter not yet judged asks for both, and if
the shard's statistics score its hits exactly as the filter's do, they agree (the document count is part of every
term's weight, so a single foreign or deleted point shows in the scores); after a few agreeing queries the filter
reads the shard's own. Writes keep the answers true.

`FilterAnswers`, the per-filter answers and the write sequence that keeps them true, is shared with
`omne.storage.filter_coverage` (may a search leave its filter out).
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from omne.storage.protocols import IndexHit, RecordFilter
from omne.types import Scope

A = TypeVar("A")
# (scope fields, kinds or None): the filters judged here; others always count under the filter
FilterKey = tuple[tuple[tuple[str, str], ...], frozenset[str] | None]


def filter_key(scope: Scope, flt: RecordFilter | None) -> FilterKey | None:
    """A hashable name for a search's filter, or None for one this module does not judge (roles, tags, time)."""
    if flt is not None and (flt.roles or flt.tags or flt.start or flt.end):
        return None
    kinds = frozenset(k.value for k in flt.kinds) if flt is not None and flt.kinds else None
    return tuple(sorted((f"s_{key}", value) for key, value in scope.fields().items())), kinds


def matches(key: FilterKey, payload: Mapping[str, Any]) -> bool:
    fields, kinds = key
    return all(payload.get(name) == value for name, value in fields) and (kinds is None or payload.get("kind") in kinds)


def same_scores(counted: Sequence[IndexHit], shard: Sequence[IndexHit]) -> bool | None:
    """True when two BM25 rankings of one query agree hit for hit; None when there is nothing to compare."""
    if not counted:
        return None if not shard else False
    return len(counted) == len(shard) and all(
        a.id == b.id and math.isclose(a.score, b.score, rel_tol=1e-9) for a, b in zip(counted, shard))


AGREEMENTS = 3  # queries that must score alike before a filter reads the shard's statistics
_NO = -1


class FilterAnswers(ABC, Generic[A]):
    """What the index has learned per filter, with the write sequence that keeps it honest: a number bumped as each
    write to the shard begins and as it ends (odd while one runs). Work that relies on an answer takes `token()`
    first; `unchanged(token)` after it says whether a write began or ran in between. A subclass says, in `_stale`,
    which answers a write ends."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._max_entries = max_entries
        self._answers: dict[FilterKey, A] = {}
        self._writes = 0
        self._lock = threading.Lock()

    def token(self) -> int:
        """Taken before work whose result relies on (or teaches) an answer."""
        return self._writes

    def unchanged(self, token: int) -> bool:
        """No write ran at `token` or has begun since."""
        return token == self._writes and token % 2 == 0

    def _remember(self, key: FilterKey, answer: A) -> None:
        """Store an answer (lock held; the caller checked its token), within `max_entries`."""
        if len(self._answers) >= self._max_entries:
            self._answers.clear()
        self._answers[key] = answer

    @contextmanager
    def writing(self, payloads: Sequence[Mapping[str, Any]] | None) -> Iterator[None]:
        """Around one write to the shard: points with `payloads` written (an empty list: vectors replaced in place)
        or, with None, points deleted. Writes to one shard must not overlap."""
        with self._lock:
            self._writes += 1
            self._stale(payloads)
        try:
            yield
        finally:
            with self._lock:
                self._writes += 1

    @abstractmethod
    def _stale(self, payloads: Sequence[Mapping[str, Any]] | None) -> None:
        """Forget the answers a write of `payloads` (None: a delete) could end (lock held)."""


class ShardStatistics(FilterAnswers[int]):
    """Per filter: may BM25 read the shard's own term statistics (True), must it count (False), or not yet known.

    "Yes" takes AGREEMENTS queries that scored alike (one query's terms could, by arithmetic coincidence, weigh the
    same over two different corpora; three different queries all doing so cannot be expected); one query that
    scored differently is "no". Answers are kept until a write could change them: an overwrite of an existing point
    ends every "yes" (the shard keeps counting the old version); a point a filter does not match ends that filter's
    "yes"; a delete clears every answer (a deleted point stays counted until a rebuild drops it). Agreements seen
    while a write began or ran are not kept. A search that read "yes" just before a foreign point landed (or before
    an overwrite was noticed, right after the write) scores with that point in its statistics: one query, one
    document's worth of term counts; never a foreign result.
    """

    def known(self, key: FilterKey | None) -> bool | None:
        """The answer for a filter: True (the shard's statistics), False (count), None (ask both and `learn`)."""
        seen = None if key is None else self._answers.get(key)
        if key is None or seen == _NO:
            return False
        return True if seen is not None and seen >= AGREEMENTS else None

    def learn(self, key: FilterKey, token: int, counted: Sequence[IndexHit], shard: Sequence[IndexHit]) -> None:
        """Record what one query scored under counted and under shard statistics."""
        agree = same_scores(counted, shard)
        with self._lock:
            if agree is None or not self.unchanged(token) or self._answers.get(key) == _NO:
                return
            self._remember(key, self._answers.get(key, 0) + 1 if agree else _NO)

    def _stale(self, payloads: Sequence[Mapping[str, Any]] | None) -> None:
        if payloads is None:
            self._answers.clear()
        else:
            self._forget_agreements(lambda key: not all(matches(key, p) for p in payloads))

    def overwritten(self) -> None:
        """Inside `writing`: the write turned out to overwrite existing points (every "yes" is stale)."""
        with self._lock:
            self._forget_agreements(lambda key: True)

    def any_yes(self) -> bool:
        """Whether some filter reads (or is on its way to reading) the shard's statistics: a writer then checks
        for overwrites."""
        with self._lock:  # searches add answers from other threads
            return any(seen > 0 for seen in self._answers.values())

    def _forget_agreements(self, stale: Callable[[FilterKey], bool]) -> None:
        for key in [k for k, seen in self._answers.items() if seen > 0 and stale(k)]:
            del self._answers[key]
