"""Helpers for stages that add candidates: the RecordFilter in Python, and candidate bookkeeping."""

from __future__ import annotations

from collections.abc import Iterable

from omne.retrieval.facts import RecordFacts
from omne.retrieval.models import Candidate
from omne.retrieval.context import SearchContext, StageTools
from omne.storage.protocols import RecordFilter
from omne.types import Record, RecordKind


def record_matches(record: Record | RecordFacts, flt: RecordFilter | None) -> bool:
    """True when a record passes the filter (kinds, roles, tags, time), as the indexes apply it."""
    if flt is None:
        return True
    if flt.kinds and record.kind not in flt.kinds:
        return False
    if flt.roles and record.role not in flt.roles:
        return False
    if flt.tags and not set(flt.tags) & set(record.tags):
        return False
    when = record.when
    return not ((flt.start and when < flt.start) or (flt.end and when > flt.end))


async def admissible(ctx: SearchContext, tools: StageTools, ids: Iterable[str]) -> dict[str, RecordFacts]:
    """The records of the query's scope, among `ids`, that pass its filter (facts; liveness is checked
    when the hits are loaded). Entities (graph nodes) are admitted only when the filter asks for them."""
    wanted = list(dict.fromkeys(ids))
    records = await tools.facts(ctx, wanted)
    allow_entities = bool(ctx.flt and ctx.flt.kinds and RecordKind.ENTITY in ctx.flt.kinds)
    return {i: r for i, r in records.items() if record_matches(r, ctx.flt)  # facts are of the scope already
            and (allow_entities or r.kind is not RecordKind.ENTITY)}


def bump(ctx: SearchContext, by_id: dict[str, Candidate], record_id: str, bonus: float, stage: str,
         rank: int) -> None:
    """Add `bonus` to a candidate (creating it when new) and note the stage that touched it."""
    cand = by_id.get(record_id)
    if cand is None:
        cand = by_id[record_id] = Candidate(id=record_id)
        ctx.candidates.append(cand)
    cand.score += bonus
    cand.stages.setdefault(stage, rank)


async def apply_bonuses(ctx: SearchContext, tools: StageTools, bonuses: dict[str, float], stage: str) -> None:
    """Add each record's bonus (ranked best first under `stage`); records not yet candidates join only when
    they are admissible (live, in scope, matching the filter); then re-sort the candidates."""
    by_id = {c.id: c for c in ctx.candidates}
    allowed = await admissible(ctx, tools, [i for i in bonuses if i not in by_id])
    for rank, record_id in enumerate(sorted(bonuses, key=lambda i: (-bonuses[i], i)), 1):
        if record_id in by_id or record_id in allowed:
            bump(ctx, by_id, record_id, bonuses[record_id], stage, rank)
    resort(ctx)


def _tie_key(cand: Candidate) -> tuple[int, str]:
    return (min(cand.stages.values()) if cand.stages else 0, cand.id)


def resort(ctx: SearchContext) -> None:
    """Order candidates best first, deterministically: by score, then best stage rank, then id.

    Sorts by score alone and orders only the (rare) runs of equal scores by the tie-break, which is
    the same order as one sort on the full key at a fraction of the cost on the hot path.
    """
    cands = ctx.candidates
    cands.sort(key=_neg_score)
    start = 0
    for i in range(1, len(cands) + 1):
        if i == len(cands) or cands[i].score != cands[start].score:
            if i - start > 1:
                cands[start:i] = sorted(cands[start:i], key=_tie_key)
            start = i


def _neg_score(cand: Candidate) -> float:
    return -cand.score
