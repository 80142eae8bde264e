"""When a search may leave its scope filter out: the filter matches every live point of the shard.

Every search carries its scope (and kinds) as a filter, and Qdrant checks it on each point an HNSW or BM25 search
visits: about a fifth of a search at a million points. In a store that holds one scope (one user's embedded store,
the common case) the filter matches every point, so the same search without it finds the same hits. The index
learns that per filter from exact counts, keeps it true through writes, and checks after each unfiltered search
that no write ran during it (a sequence number, bumped as a write begins and as it ends); if one did, the search
runs again with its filter. So a search never returns a point of another scope.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from omne.storage.shard_statistics import FilterKey, matches


class FilterCoverage:
    """Per filter: does it match every live point (True), not (False), or not yet known (None)?

    "Yes" ends when a point the filter does not match is written; "no" ends when points are deleted (that can
    leave only matching ones). Answers learned while a write began or ran are not kept.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self._max_entries = max_entries
        self._answers: dict[FilterKey, bool] = {}
        self._writes = 0  # odd while a write runs
        self._lock = threading.Lock()

    def covers(self, key: FilterKey | None) -> bool | None:
        """True when the filter matches every live point, False when not (or when `key` is None: a filter this
        module does not judge), None when not yet known (count, then `learn`)."""
        if key is None:
            return False
        return self._answers.get(key)

    def token(self) -> int:
        """Taken before a search (or a count) that relies on an answer: `unchanged(token)` after it says whether
        a write began or ran in between."""
        return self._writes

    def unchanged(self, token: int) -> bool:
        """No write ran at `token` or has begun since."""
        return token == self._writes and token % 2 == 0

    def learn(self, key: FilterKey, token: int, covers: bool) -> None:
        """Record what exact counts taken after `token` said (dropped when a write overlapped them)."""
        with self._lock:
            if not self.unchanged(token):
                return
            if len(self._answers) >= self._max_entries:
                self._answers.clear()
            self._answers[key] = covers

    @contextmanager
    def writing(self, payloads: Sequence[Mapping[str, Any]] | None) -> Iterator[None]:
        """Around one write to the shard: points with `payloads` written (an empty list: vectors replaced in place)
        or, with None, points deleted. Writes to one shard must not overlap."""
        with self._lock:
            self._writes += 1
            if payloads is None:
                self._answers = {key: True for key, covers in self._answers.items() if covers}
            else:
                self._answers = {key: covers for key, covers in self._answers.items()
                                 if not covers or all(matches(key, p) for p in payloads)}
        try:
            yield
        finally:
            with self._lock:
                self._writes += 1
