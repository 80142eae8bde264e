"""Search request options and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omne.types import Record


class RetrievalConfig(BaseModel):
    """Which read-path stages run and how. Every stage can be switched off for ablations."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    candidate_k: int = Field(default=50, ge=1, le=1000)  # per first-stage retriever
    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=1.0, ge=0.0)
    lexical_weight: float = Field(default=1.0, ge=0.0)
    # Fusion: reciprocal rank, or a weighted sum of min-max normalised scores ("score").
    fusion: Literal["rrf", "score"] = "rrf"
    # Later stages (omne.retrieval.stages); each is off at 0 so ablations switch them one by one.
    speaker_boost: float = Field(default=0.0, ge=0.0)  # x(1+b) for messages by a speaker the query names
    temporal_boost: float = Field(default=0.0, ge=0.0)  # x(1+b) for records inside a date the query names
    neighbour_next_weight: float = Field(default=0.0, ge=0.0)  # share of a hit's score given to the next turn
    neighbour_prev_weight: float = Field(default=0.0, ge=0.0)  # ... and to the turn before it
    neighbour_pool: int = Field(default=1000, ge=1, le=1000)  # only the best this many candidates lend
    entity_weight: float = Field(default=0.0, ge=0.0)  # bonus for records mentioning the query's entities
    bridge_weight: float = Field(default=0.0, ge=0.0)  # bonus via entities near the query (entity bridge)
    bridge_entities: int = Field(default=8, ge=1, le=100)  # entity nodes looked up per query
    bridge_min_similarity: float = Field(default=0.3, ge=0.0, lt=1.0)  # cosine of query and entity name
    ppr_weight: float = Field(default=0.0, ge=0.0)  # bonus from personalised PageRank seeded by top hits
    ppr_seeds: int = Field(default=10, ge=1, le=200)
    ppr_alpha: float = Field(default=0.5, gt=0.0, lt=1.0)  # probability of following an edge
    ppr_expand: int = Field(default=30, ge=0, le=500)  # graph nodes considered per query
    ppr_relevance: float = Field(default=0.0, ge=0.0)  # x(1 + r * own score / top): graph and query agree
    ppr_cross_session: bool = False  # only nodes outside the seeds' sessions gain (second-hop evidence)
    ppr_edge_weights: dict[str, float] = Field(default_factory=dict)  # per EdgeKind value; unnamed kinds 1.0
    recency_weight: float = Field(default=0.0, ge=0.0)  # bonus for newer records (half-life below)
    recency_half_life_days: float = Field(default=30.0, gt=0.0)
    importance_weight: float = Field(default=0.0, ge=0.0)  # bonus for records above neutral importance
    diversity: float = Field(default=0.0, ge=0.0, lt=1.0)  # penalty for repeated hits from one session


@dataclass(slots=True)
class Candidate:
    """A record under consideration: its fused score and the rank each stage gave it.

    A plain slotted dataclass, not a pydantic model: hundreds are made per query on the hot path.
    """

    id: str
    score: float = 0.0
    stages: dict[str, int] = field(default_factory=dict)


class SearchHit(BaseModel):
    """One search result: the record, its final score, and which stages found it (`explain`)."""

    record: Record
    score: float
    rank: int
    stages: dict[str, int] = Field(default_factory=dict)

    @property
    def found_by(self) -> list[str]:
        """Stage names that put this record among their candidates, best rank first."""
        return sorted(self.stages, key=self.stages.__getitem__)
