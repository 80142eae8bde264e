"""The learned linear ranker: one step that weighs a candidate's own first-stage scores, its neighbours' scores (the
question it may answer apart), the speaker and date a query names, and the shape of its text."""

from __future__ import annotations

import math

from omne.retrieval.context import SearchContext, StageTools
from omne.retrieval.filtering import admissible, resort
from omne.retrieval.models import FIRST_STAGES, Candidate, RankerConfig
from omne.retrieval.rerank_stages import named_speaker
from omne.retrieval.temporal import query_intervals, within
from omne.types import RecordKind

_EMPTY: dict[str, float] = {}


def _logistic(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value)) if value > -700 else 0.0


class RankerStage:
    """Scores the best `pool` fused candidates, and the messages before and after each (NEXT edges), by the
    config's linear weights over RANKER_FEATURES; the rest of the candidates follow in fused order, scored 0.

    Each ranked candidate's `features` hold the values it was scored by (`omne memory search --explain`)."""

    name = "ranker"

    def __init__(self, config: RankerConfig) -> None:
        self.config = config

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None:
        cfg = self.config
        if not ctx.candidates:
            return
        # scored by fusion (a hit deeper than the first stages' candidate_k was not): the same pool however many
        # results the search asks for
        fused = ctx.candidates
        pool = [c for c in fused[:cfg.pool] if c.features]
        by_id = {c.id: c for c in fused}
        previous_of, next_of = await tools.chain(ctx, [c.id for c in pool])
        ranked = {c.id: c for c in pool}
        neighbours = [n for c in pool for n in (previous_of.get(c.id), next_of.get(c.id)) if n is not None]
        joining = [n for n in dict.fromkeys(neighbours) if n not in ranked]
        allowed = await admissible(ctx, tools, [n for n in joining if n not in by_id])
        for rank, record_id in enumerate(joining, 1):
            if record_id in by_id:
                ranked[record_id] = by_id[record_id]
            elif record_id in allowed:
                ranked[record_id] = Candidate(id=record_id, stages={self.name: rank})
        facts = await tools.facts(ctx, list(ranked))
        speaker = named_speaker(ctx.query, facts.values())
        intervals = query_intervals(ctx.query)
        weights = cfg.weights
        own: dict[str, dict[str, float]] = {}
        for cand in ranked.values():  # first-stage scores before the ranker adds its features
            own[cand.id] = {stage: cand.features[stage] for stage in FIRST_STAGES if stage in cand.features}
        for cand in ranked.values():
            fact = facts.get(cand.id)
            values = dict(own[cand.id])
            for side, other in (("previous", previous_of.get(cand.id)), ("next", next_of.get(cand.id))):
                for stage, value in (own.get(other, _EMPTY) if other is not None else _EMPTY).items():
                    values[f"{side}.{stage}"] = value
            asked = facts.get(previous_of.get(cand.id, ""))
            if asked is not None and asked.asks:  # the message before asks: this one may be the answer
                for stage, value in own.get(asked.id, _EMPTY).items():
                    values[f"question.{stage}"] = value
            if fact is not None:
                values["speaker"] = float(speaker is not None and fact.kind is RecordKind.MESSAGE
                                          and fact.name == speaker)
                values["date"] = float(within(fact.when, intervals))
                values["log_chars"] = math.log1p(fact.chars)
                values["asks"] = float(fact.asks)
            cand.features = values
            cand.score = _logistic(cfg.bias + sum(w * values.get(f, 0.0) for f, w in weights.items()))
        ctx.candidates = list(ranked.values())
        resort(ctx)
        for rank, cand in enumerate(ctx.candidates, 1):
            cand.stages[self.name] = rank
        for cand in fused:
            if cand.id not in ranked:
                cand.score = 0.0  # below every ranked candidate, in fused order
                ctx.candidates.append(cand)
