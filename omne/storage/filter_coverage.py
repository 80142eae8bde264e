"""When a search may leave its scope filter out: the filter matches every live point of the shard.

Every search carries its scope (and kinds) as a filter, and Qdrant checks it on each point an HNSW or BM25 search
visits: about a fifth of a search at a million points. In a store that holds one scope (one user's embedded store,
the common case) the filter matches every point, so the same search without it finds the same hits. The index
learns that per filter from exact counts, keeps it true through writes, and checks after each unfiltered search
that no write ran during it (a sequence number, bumped as a write begins and as it ends); if one did, the search
runs again with its filter. So a search never returns a point of another scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omne.storage.shard_statistics import FilterAnswers, FilterKey, matches


class FilterCoverage(FilterAnswers[bool]):
    """Per filter: does it match every live point (True), not (False), or not yet known (None)?

    "Yes" ends when a point the filter does not match is written; "no" ends when points are deleted (that can
    leave only matching ones). Answers learned while a write began or ran are not kept.
    """

    def covers(self, key: FilterKey | None) -> bool | None:
        """True when the filter matches every live point, False when not (or when `key` is None: a filter this
        module does not judge), None when not yet known (count, then `learn`)."""
        if key is None:
            return False
        return self._answers.get(key)

    def learn(self, key: FilterKey, token: int, covers: bool) -> None:
        """Record what exact counts taken after `token` said (dropped when a write overlapped them)."""
        with self._lock:
            if self.unchanged(token):
                self._remember(key, covers)

    def _stale(self, payloads: Sequence[Mapping[str, Any]] | None) -> None:
        if payloads is None:
            self._answers = {key: True for key, covers in self._answers.items() if covers}
        else:
            self._answers = {key: covers for key, covers in self._answers.items()
                             if not covers or all(matches(key, p) for p in payloads)}
