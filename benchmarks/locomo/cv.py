"""Leave-one-conversation-out cross-validation of the read path's tunable weights.

The store is built once; every configuration of a small, general grid is scored on every question by
re-running searches only (query vectors cached). Then, for each conversation in turn, the configuration
with the best mean R@5 + R@10 on the *other* conversations is chosen and scored on the held-out one. The
question-weighted mean over the held-out scores estimates recall on conversations the tuning never saw.
A configuration with a learned ranker is cross-validated the same way, its weights fitted on the other
conversations instead of chosen from a grid (`fitted_report`; the fit is benchmarks.locomo.ranker_fit).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel

from omne.errors import InvalidInputError
from omne.retrieval.models import (ContextConfig, DenseConfig, FusionConfig, LexicalConfig, NeighbourConfig,
                                   RetrievalConfig)

OBJECTIVE_KS = (5, 10)  # what the tuning maximises: mean of these recalls over the training questions
# Each around the shipped default (omne.retrieval.stages), which is the middle point of every axis.
DENSE_SHARES = (0.2, 0.3, 0.4)  # dense weight in score fusion; BM25 gets the rest
NEXT_WEIGHTS = (0.2, 0.4, 0.6)  # share of a hit's score lent to the next turn; half of it to the previous
CUE_BOOSTS = (0.3, 0.5, 0.75)  # the speaker boost, where on; the temporal boost is twice it, where on
CONTEXT_WEIGHTS = (0.25, 0.35, 0.5)  # contextual vectors' weight beside dense + BM25 (1), where on


class QuestionScore(BaseModel):
    """One question's recall@k under one configuration, and the conversation it belongs to."""

    conversation: int
    category: str
    recall: dict[int, float]


class CVFold(BaseModel):
    held_out: str  # the held-out conversation's sample id
    questions: int
    chosen: str  # grid configuration picked on the other conversations
    recall_at: dict[str, float]


class CVReport(BaseModel):
    """Cross-validated recall (`recall_at`) beside the grid's best configuration chosen on all the data."""

    recall_at: dict[str, float]
    in_sample_best: str
    in_sample_recall_at: dict[str, float]
    folds: list[CVFold]
    grid: dict[str, RetrievalConfig]


def tuning_grid(base: RetrievalConfig) -> dict[str, RetrievalConfig]:
    """`base` with its fusion weights, session-neighbour shares and (where on) speaker and temporal boosts and
    the contextual source's weight varied; nothing dataset-specific."""
    neighbours = base.session_neighbours or NeighbourConfig()
    fusion = base.fusion if base.fusion.method == "score" else FusionConfig(method="score", candidate_k=100)
    cues = CUE_BOOSTS if base.speaker is not None or base.temporal is not None else (None,)
    contexts = CONTEXT_WEIGHTS if base.context is not None else (None,)
    grid: dict[str, RetrievalConfig] = {}
    for dense, nxt, boost, context in itertools.product(DENSE_SHARES, NEXT_WEIGHTS, cues, contexts):
        update: dict[str, object] = {
            "dense": DenseConfig(weight=dense), "lexical": LexicalConfig(weight=round(1 - dense, 3)),
            "fusion": fusion,
            "session_neighbours": neighbours.model_copy(update={"next_weight": nxt, "prev_weight": nxt / 2})}
        name = f"cv:dense{dense:.1f}-next{nxt:.1f}"
        if context is not None:
            name += f"-context{context:.2f}"
            update["context"] = ContextConfig(weight=context)
        if boost is not None:
            name += f"-cues{boost:.2f}"
            update.update({stage: getattr(base, stage).model_copy(update={"boost": boost * factor})
                           for stage, factor in (("speaker", 1), ("temporal", 2)) if getattr(base, stage) is not None})
        grid[name] = base.model_copy(update=update)
    return grid


def _mean_recall(scores: Sequence[QuestionScore], ks: Sequence[int]) -> dict[str, float]:
    return {str(k): round(float(np.mean([s.recall[k] for s in scores])), 4) if scores else 0.0 for k in ks}


def _objective(scores: Sequence[QuestionScore]) -> float:
    return float(np.mean([np.mean([s.recall[k] for k in OBJECTIVE_KS]) for s in scores])) if scores else 0.0


def cross_validate(scores: Mapping[str, Sequence[QuestionScore]], conversations: Sequence[str],
                   grid: Mapping[str, RetrievalConfig], ks: Sequence[int]) -> CVReport:
    """Leave one conversation out over `scores[config name]` (ties go to the earlier grid entry)."""
    if len(conversations) < 2:
        raise InvalidInputError("cross-validation needs at least two conversations in the data file")
    names = list(grid)

    def best(keep: set[int]) -> str:
        return max(names, key=lambda n: (_objective([s for s in scores[n] if s.conversation in keep]),
                                          -names.index(n)))

    folds: list[CVFold] = []
    held: list[QuestionScore] = []
    everyone = set(range(len(conversations)))
    for number, sample in enumerate(conversations):
        chosen = best(everyone - {number})
        fold = [s for s in scores[chosen] if s.conversation == number]
        held += fold
        folds.append(CVFold(held_out=sample, questions=len(fold), chosen=chosen, recall_at=_mean_recall(fold, ks)))
    overall = best(everyone)
    return CVReport(recall_at=_mean_recall(held, ks), in_sample_best=overall,
                    in_sample_recall_at=_mean_recall(scores[overall], ks), folds=folds, grid=dict(grid))


def fitted_report(held_out: Sequence[tuple[str, str, Sequence[QuestionScore]]], everyone: Sequence[QuestionScore],
                  fits: Mapping[str, RetrievalConfig], ks: Sequence[int]) -> CVReport:
    """The estimate for configurations fitted per fold: `held_out` holds, per conversation, (its sample id, the
    name in `fits` of the configuration fitted without it, its questions' scores under that configuration);
    `everyone` is every question's score under the fit on all conversations (`fits`' last entry)."""
    if len(held_out) < 2:
        raise InvalidInputError("cross-validation needs at least two conversations in the data file")
    folds = [CVFold(held_out=sample, questions=len(scores), chosen=name, recall_at=_mean_recall(scores, ks))
             for sample, name, scores in held_out]
    pooled = [s for _, _, scores in held_out for s in scores]
    return CVReport(recall_at=_mean_recall(pooled, ks), in_sample_best=list(fits)[-1],
                    in_sample_recall_at=_mean_recall(everyone, ks), folds=folds, grid=dict(fits))
