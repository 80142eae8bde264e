"""Re-ranking stages: speaker awareness, temporal cues, and time / importance / diversity."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from omne.retrieval.context import SearchContext, StageTools
from omne.retrieval.facts import RecordFacts
from omne.retrieval.filtering import resort
from omne.retrieval.models import RerankConfig, SpeakerConfig, TemporalConfig
from omne.retrieval.temporal import query_intervals, within
from omne.types import RecordKind

# candidates a re-ranking stage looks at: LoCoMo recall at 5 to 50 is the same to four decimals with 150 as with 200
# (RESULTS-locomo.md), and a quarter fewer records' facts are read (about 0.6 ms a search at a million records)
_POOL = 150


def named_speaker(query: str, facts: Iterable[RecordFacts]) -> str | None:
    """The one speaker of these messages that the query names (whole words, any case); None for none or several."""
    folded = query.casefold()
    speakers = {f.name for f in facts if f.kind is RecordKind.MESSAGE and f.name}
    named = [n for n in speakers if re.search(rf"(?<!\w){re.escape(n.casefold())}(?!\w)", folded)]
    return named[0] if len(named) == 1 else None


class SpeakerStage:
    """Messages spoken by a person the query names rank higher (x(1 + boost)).

    Only when the query names exactly one of the speakers among the candidates: 'What did Ana say
    about ...' prefers Ana's own turns, while a question naming both speakers is left alone.
    """

    name = "speaker"

    def __init__(self, config: SpeakerConfig) -> None:
        self.config = config

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None:
        boost = self.config.boost
        if not ctx.candidates:
            return
        pool = ctx.candidates[:_POOL]
        records = await tools.facts(ctx, [c.id for c in pool])
        who = named_speaker(ctx.query, records.values())
        if who is None:
            return
        for rank, cand in enumerate(pool, 1):
            record = records.get(cand.id)
            if record is not None and record.kind is RecordKind.MESSAGE and record.name == who:
                cand.score *= 1 + boost
                cand.stages.setdefault(self.name, rank)
        resort(ctx)


class TemporalStage:
    """Records whose time falls inside a date the query names rank higher (x(1 + boost))."""

    name = "temporal"

    def __init__(self, config: TemporalConfig) -> None:
        self.config = config

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None:
        boost = self.config.boost
        if not ctx.candidates:
            return
        intervals = query_intervals(ctx.query)
        if not intervals:
            return
        pool = ctx.candidates[:_POOL]
        records = await tools.facts(ctx, [c.id for c in pool])
        for rank, cand in enumerate(pool, 1):
            record = records.get(cand.id)
            if record is not None and within(record.when, intervals):
                cand.score *= 1 + boost
                cand.stages.setdefault(self.name, rank)
        resort(ctx)


class RerankStage:
    """Final re-rank: recency (exponential half-life from the newest candidate), importance, and a
    diversity penalty for the n-th hit from one session (x(1 - diversity)^n)."""

    name = "rerank"

    def __init__(self, config: RerankConfig) -> None:
        self.config = config

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None:
        cfg = self.config
        if not ctx.candidates:
            return
        pool = ctx.candidates[:_POOL]
        records = await tools.load(ctx, [c.id for c in pool])
        top = pool[0].score
        newest = max((r.when for r in records.values()), default=None)
        for rank, cand in enumerate(pool, 1):
            record = records.get(cand.id)
            if record is None:
                continue
            cand.stages.setdefault(self.name, rank)
            if cfg.recency_weight > 0 and newest is not None:
                age_days = (newest - record.when).total_seconds() / 86400
                cand.score += cfg.recency_weight * top * math.pow(0.5, age_days / cfg.recency_half_life_days)
            if cfg.importance_weight > 0:
                cand.score += cfg.importance_weight * top * (record.importance - 0.5)
        resort(ctx)
        if cfg.diversity > 0:
            seen: dict[str | None, int] = {}
            for cand in pool:
                record = records.get(cand.id)
                session = record.scope.session if record else None
                cand.score *= (1 - cfg.diversity) ** seen.get(session, 0)
                seen[session] = seen.get(session, 0) + 1
            resort(ctx)
