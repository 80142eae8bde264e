"""Search request options and results.

`RetrievalConfig` is the single source of truth for the read path: one typed sub-model per stage, `None`
meaning the stage is off. The pipeline builds its stages from it (`omne.retrieval.stages.build_stages`) and
each stage names its hits (`SearchHit.stages`, shown by `--explain`) with its field name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omne.types import Record


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DenseConfig(_Stage):
    """First stage: nearest neighbours of the query's embedding."""

    weight: float = Field(default=1.0, gt=0.0)  # share in fusion


class LexicalConfig(_Stage):
    """First stage: BM25 over the indexed text."""

    weight: float = Field(default=1.0, gt=0.0)  # share in fusion


class ContextConfig(_Stage):
    """First stage: nearest neighbours of the query's embedding among *contextual* vectors, each a record's
    embedding with the two messages before it in its conversation folded in (see `omne.storage.context`), so a short
    reply ('Yes, last week!') is found through the turn it answers. Needs the query embedding, like `dense`."""

    weight: float = Field(default=1.0, gt=0.0)  # share in fusion


class FusionConfig(_Stage):
    """How the first stages' rankings merge: reciprocal rank, or a weighted sum of min-max normalised scores."""

    method: Literal["rrf", "score"] = "rrf"
    rrf_k: int = Field(default=60, ge=1)
    candidate_k: int = Field(default=50, ge=1, le=1000)  # per first-stage retriever


class SpeakerConfig(_Stage):
    """x(1 + boost) for messages by the one speaker the query names (default: the cross-validated x1.5)."""

    boost: float = Field(default=0.5, gt=0.0)


class TemporalConfig(_Stage):
    """x(1 + boost) for records inside a date the query names (default: the cross-validated x2)."""

    boost: float = Field(default=1.0, gt=0.0)


class NeighbourConfig(_Stage):
    """Each candidate lends a share of its score to the next and the previous turn (NEXT edges)."""

    next_weight: float = Field(default=0.4, ge=0.0)
    prev_weight: float = Field(default=0.2, ge=0.0)
    pool: int = Field(default=50, ge=1, le=1000)  # only the best this many candidates lend


# What the learned ranker weighs, per candidate: its own normalised first-stage scores; the same of the message before
# and after it in its chain (NEXT edges), and again of the message before when that one asks a question (what the
# candidate may answer); whether the one speaker the query names said it; whether it falls inside a date the query
# names; log(1 + characters); and whether it ends with a question mark.
RANKER_FEATURES = ("dense", "lexical", "context", "previous.dense", "previous.lexical", "previous.context",
                   "next.dense", "next.lexical", "next.context", "question.dense", "question.lexical",
                   "question.context", "speaker", "date", "log_chars", "asks")


class RankerConfig(_Stage):
    """A learned linear ranker: the best `pool` fused candidates and the messages before and after each are scored
    by `bias + sum(weights[f] * feature f)` (features: RANKER_FEATURES; an unnamed one weighs 0), shown as the
    logistic of that sum. It does the work of the speaker, date and session-neighbour stages in one step; the
    weights are fitted on labelled questions (`omne bench locomo --cv` fits and cross-validates them)."""

    weights: dict[str, float]
    bias: float = 0.0
    pool: int = Field(default=100, ge=1, le=1000)  # fused candidates ranked (with their neighbours); the rest follow

    @model_validator(mode="after")
    def _known_features(self) -> RankerConfig:
        unknown = sorted(set(self.weights) - set(RANKER_FEATURES))
        if unknown:
            raise ValueError(f"unknown ranker feature(s) {', '.join(unknown)}; choose from {', '.join(RANKER_FEATURES)}")
        return self


class EntityLinkConfig(_Stage):
    """Bonus for records mentioning an entity the query names, scaled by the entity's rarity."""

    weight: float = Field(default=0.3, gt=0.0)


class EntityBridgeConfig(_Stage):
    """Bonus via entity nodes whose names are near the query in embedding space."""

    weight: float = Field(default=0.3, gt=0.0)
    entities: int = Field(default=8, ge=1, le=100)  # entity nodes looked up per query
    min_similarity: float = Field(default=0.3, ge=0.0, lt=1.0)  # cosine of query and entity name


class PPRConfig(_Stage):
    """Personalised PageRank over the scope's graph, seeded by the top hits (and the query's entities)."""

    weight: float = Field(default=0.3, gt=0.0)
    seeds: int = Field(default=3, ge=1, le=200)
    alpha: float = Field(default=0.5, gt=0.0, lt=1.0)  # probability of following an edge
    expand: int = Field(default=10, ge=0, le=500)  # graph nodes considered per query
    relevance: float = Field(default=0.0, ge=0.0)  # x(1 + r * own score / top): graph and query agree
    cross_session: bool = False  # only nodes outside the seeds' sessions gain (second-hop evidence)
    # per EdgeKind value; unnamed kinds keep the graph's default weight
    edge_weights: dict[str, float] = Field(default_factory=lambda: {"next": 0.0, "mentions": 0.0})


class RerankConfig(_Stage):
    """Final re-rank: recency (half-life from the newest candidate), importance, per-session diversity."""

    recency_weight: float = Field(default=0.0, ge=0.0)
    recency_half_life_days: float = Field(default=30.0, gt=0.0)
    importance_weight: float = Field(default=0.0, ge=0.0)
    diversity: float = Field(default=0.0, ge=0.0, lt=1.0)  # x(1 - diversity)^n for the n-th hit of a session


# Candidate sources, fused into one ranking before the later stages.
FIRST_STAGES = ("dense", "lexical", "context")
# Later stages in the order they run; each name is a RetrievalConfig field and what `explain` shows.
STAGE_ORDER = ("ranker", "speaker", "temporal", "session_neighbours", "entity_links", "entity_bridge", "graph_ppr", "rerank")


class RetrievalConfig(BaseModel):
    """Which read-path stages run and how; a stage set to `None` is off (absent from the pipeline).

    `RetrievalConfig()` is hybrid search (dense + BM25, reciprocal rank fusion) with no later stages;
    `omne.retrieval.stages.PRESETS` names tuned configurations. `mode="dense"` / `"lexical"` is shorthand
    for switching the other first stage off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dense: DenseConfig | None = DenseConfig()
    lexical: LexicalConfig | None = LexicalConfig()
    context: ContextConfig | None = None
    fusion: FusionConfig = FusionConfig()
    ranker: RankerConfig | None = None
    speaker: SpeakerConfig | None = None
    temporal: TemporalConfig | None = None
    session_neighbours: NeighbourConfig | None = None
    entity_links: EntityLinkConfig | None = None
    entity_bridge: EntityBridgeConfig | None = None
    graph_ppr: PPRConfig | None = None
    rerank: RerankConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _mode_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "mode" in data:
            data = dict(data)
            mode = data.pop("mode")
            if mode not in ("hybrid", "dense", "lexical"):
                raise ValueError(f"mode must be 'hybrid', 'dense' or 'lexical', not {mode!r}")
            if mode == "dense":
                data["lexical"] = None
            elif mode == "lexical":
                data["dense"] = None
                data["context"] = None
        return data

    @model_validator(mode="after")
    def _one_first_stage(self) -> RetrievalConfig:
        if self.dense is None and self.lexical is None:
            raise ValueError("a retrieval config needs a first stage: set `dense` or `lexical` (or both)")
        if self.context is not None and self.dense is None:
            raise ValueError("`context` searches beside `dense` (it uses the same query embedding): set `dense` "
                             "too, or set `context` to None")
        if self.ranker is not None and self.fusion.method != "score":
            raise ValueError("`ranker` weighs the first stages' normalised scores: set fusion.method to 'score', "
                             "or set `ranker` to None")
        return self

    @property
    def mode(self) -> Literal["hybrid", "dense", "lexical"]:
        """Which first stages run."""
        if self.dense is not None and self.lexical is not None:
            return "hybrid"
        return "dense" if self.dense is not None else "lexical"

    def first_stages(self) -> dict[str, float]:
        """The candidate sources that run (dense, lexical, context) and their shares in fusion."""
        return {name: stage.weight for name in FIRST_STAGES if (stage := getattr(self, name)) is not None}

    def enabled_stages(self) -> list[str]:
        """Names of the later stages that run, in pipeline order."""
        return [name for name in STAGE_ORDER if getattr(self, name) is not None]


@dataclass(slots=True)
class Candidate:
    """A record under consideration: its fused score, the rank each stage gave it and, from score fusion and the
    ranker, the features it was scored by (each first stage's normalised score, then RANKER_FEATURES).

    A plain slotted dataclass, not a pydantic model: hundreds are made per query on the hot path.
    """

    id: str
    score: float = 0.0
    stages: dict[str, int] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)


class SearchHit(BaseModel):
    """One search result: the record, its final score, and which stages found it (`explain`)."""

    record: Record
    score: float
    rank: int
    stages: dict[str, int] = Field(default_factory=dict)
    features: dict[str, float] = Field(default_factory=dict)  # what fusion and the ranker scored it by

    @property
    def found_by(self) -> list[str]:
        """Stage names that put this record among their candidates, best rank first."""
        return sorted(self.stages, key=self.stages.__getitem__)
