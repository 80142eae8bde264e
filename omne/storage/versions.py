"""The version walk every record store shares: the records linked to one id by supersession."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from omne.types import Record


def version_history(record_id: str, fetch: Callable[[Sequence[str]], Sequence[Record]]) -> list[Record]:
    """Every version linked to `record_id` by supersession, oldest first. `fetch(ids)` returns the records (of
    the caller's scope) whose id is in `ids` or that `ids` supersede (`superseded_by` in `ids`)."""
    seen: dict[str, Record] = {}
    frontier = [record_id]
    while frontier:
        found = fetch(frontier)
        frontier = []
        for rec in found:
            if rec.id not in seen:
                seen[rec.id] = rec
                frontier.append(rec.id)
                if rec.superseded_by and rec.superseded_by not in seen:
                    frontier.append(rec.superseded_by)
    return sorted(seen.values(), key=lambda r: (r.version, r.created_at))
