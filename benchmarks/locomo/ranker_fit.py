"""Fitting the learned ranker's weights (omne.retrieval.models.RankerConfig) on labelled questions.

One example per question: the features of every candidate the ranker scored, and which candidates are evidence.
The fit is a listwise softmax (the probability the model gives each candidate is the softmax of its linear score;
the loss is the cross-entropy against the evidence, spread evenly), L2-regularised on standardised features and
minimised by L-BFGS: deterministic, no sampling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from omne.errors import InvalidInputError
from omne.retrieval.models import RANKER_FEATURES, RankerConfig, SearchHit

L2 = 1e-3  # on standardised weights; recall was flat from 0 to 0.03 (RESULTS-locomo.md)


@dataclass(frozen=True)
class RankerExample:
    """One question: its candidates' features (rows in RANKER_FEATURES order) and which are evidence."""

    features: np.ndarray
    evidence: np.ndarray  # bool per row


def ranker_example(hits: Sequence[SearchHit], is_evidence: Callable[[str], bool]) -> RankerExample | None:
    """The candidates the ranker scored (a search with a top_k above its pool returns them all), labelled;
    None when none of them is evidence (such a question teaches the softmax nothing)."""
    scored = [h for h in hits if "ranker" in h.stages]
    labels = np.array([is_evidence(h.record.id) for h in scored], dtype=bool)
    if not labels.any():
        return None
    rows = np.array([[h.features.get(f, 0.0) for f in RANKER_FEATURES] for h in scored], dtype=np.float64)
    return RankerExample(features=rows, evidence=labels)


def fit_ranker(examples: Sequence[RankerExample], *, pool: int = 100, l2: float = L2) -> RankerConfig:
    """The weights (on raw features, rounded to 4 decimals) that minimise the listwise loss over `examples`; the
    bias centres the mean candidate's score at 0."""
    if not examples:
        raise InvalidInputError("fitting the ranker needs at least one question with evidence among its candidates")
    stacked = np.concatenate([e.features for e in examples])
    mean, spread = stacked.mean(0), stacked.std(0)
    if not spread.any():
        raise InvalidInputError("the candidates' features never vary, so there is nothing to fit: search with a "
                                "config whose `ranker` is on, and a top_k above its pool")
    spread[spread == 0] = 1.0  # a feature that never varies keeps weight 0
    standardised = [(e.features - mean) / spread for e in examples]
    targets = [e.evidence / e.evidence.sum() for e in examples]

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = 0.0, np.zeros_like(weights)
        for rows, target in zip(standardised, targets):
            scores = rows @ weights
            scores -= scores.max()
            probabilities = np.exp(scores)
            probabilities /= probabilities.sum()
            total -= float(target @ np.log(np.maximum(probabilities, 1e-300)))
            gradient += rows.T @ (probabilities - target)
        n = len(standardised)
        return total / n + l2 * float(weights @ weights), gradient / n + 2 * l2 * weights

    fitted = minimize(loss, np.zeros(len(RANKER_FEATURES)), jac=True, method="L-BFGS-B").x / spread
    weights = {f: round(float(w), 4) for f, w in zip(RANKER_FEATURES, fitted)}
    bias = -sum(weights[f] * float(m) for f, m in zip(RANKER_FEATURES, mean))
    return RankerConfig(weights=weights, bias=round(bias, 4), pool=pool)
