"""Fusion of the first stages' rankings: reciprocal rank, or normalised scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omne.retrieval.models import FIRST_STAGES, Candidate
from omne.storage.protocols import IndexHit

_STAGE_ORDER = FIRST_STAGES
# A stage's weakest hit still counts: min-max scaling maps a stage's scores to [_FLOOR, 1], so a hit two
# stages found never shows (or fuses to) 0 because it was last in both lists.
_FLOOR = 0.001


def _order(candidate: Candidate) -> tuple[float, int, tuple[int, ...], str]:
    """Best score first; ties by best single rank, then by the ranks in a fixed stage order (so two hits
    that swap ranks between dense and lexical tie-break the same way every run), then by id."""
    ranks = tuple(candidate.stages.get(stage, 1 << 30) for stage in _STAGE_ORDER)
    return (-candidate.score, min(candidate.stages.values()), ranks, candidate.id)


def reciprocal_rank_fusion(rankings: Mapping[str, Sequence[IndexHit]], *, k: int,
                           weights: Mapping[str, float] | None = None) -> list[Candidate]:
    """Score each id by sum(weight / (k + rank)) over the stages that found it; best first.

    Ties break deterministically (see `_order`).
    """
    merged: dict[str, Candidate] = {}
    for stage, hits in rankings.items():
        weight = 1.0 if weights is None else weights.get(stage, 1.0)
        for hit in hits:
            cand = merged.setdefault(hit.id, Candidate(id=hit.id))
            cand.score += weight / (k + hit.rank)
            cand.stages[stage] = hit.rank
    return sorted(merged.values(), key=_order)


def score_fusion(rankings: Mapping[str, Sequence[IndexHit]], *,
                 weights: Mapping[str, float] | None = None, depth: int | None = None) -> list[Candidate]:
    """Score each id by the weighted sum of its min-max normalised scores (each stage's scaled to [0.001, 1],
    weights scaled to sum to 1); each candidate's `features` keep its normalised score per stage.

    Only each stage's first `depth` hits are scaled and scored (a deeper hit joins as a candidate that stage
    adds nothing to), so a search that asks for more results than `depth` ranks its first ones exactly as a
    shorter search does. Unlike reciprocal rank, this keeps how far apart hits are; ties break as in RRF.
    """
    present = {stage: hits for stage, hits in rankings.items() if hits}
    total = sum((1.0 if weights is None else weights.get(s, 1.0)) for s in present) or 1.0
    merged: dict[str, Candidate] = {}
    for stage, hits in present.items():
        weight = (1.0 if weights is None else weights.get(stage, 1.0)) / total
        scored = hits[:depth] if depth is not None else hits
        high, low = max(h.score for h in scored), min(h.score for h in scored)
        span = high - low
        for position, hit in enumerate(hits):
            cand = merged.setdefault(hit.id, Candidate(id=hit.id))
            cand.stages[stage] = hit.rank
            if depth is not None and position >= depth:
                continue
            scaled = _FLOOR + (1.0 - _FLOOR) * ((hit.score - low) / span if span > 0 else 1.0)
            cand.score += weight * scaled
            cand.features[stage] = scaled
    return sorted(merged.values(), key=_order)
