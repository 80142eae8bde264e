"""The read path's later stages built from a RetrievalConfig, and named presets for ablations."""

from __future__ import annotations

from typing import Any

from omne.retrieval.context import SearchStage
from omne.retrieval.entity_stages import EntityBridgeStage
from omne.retrieval.graph_stages import EntityLinkStage, GraphPPRStage, SessionNeighbourStage
from omne.retrieval.models import (STAGE_ORDER, ContextConfig, DenseConfig, FusionConfig, LexicalConfig,
                                   NeighbourConfig, PPRConfig, RankerConfig, RetrievalConfig, SpeakerConfig,
                                   TemporalConfig)
from omne.retrieval.ranker_stage import RankerStage
from omne.retrieval.rerank_stages import RerankStage, SpeakerStage, TemporalStage

# RetrievalConfig field -> the stage it configures (its `name` is the field name, see STAGE_ORDER).
STAGE_TYPES: dict[str, Any] = {stage.name: stage for stage in (
    RankerStage, SpeakerStage, TemporalStage, SessionNeighbourStage, EntityLinkStage, EntityBridgeStage, GraphPPRStage,
    RerankStage)}
assert tuple(STAGE_TYPES) == STAGE_ORDER


def build_stages(config: RetrievalConfig) -> list[SearchStage]:
    """The later stages `config` switches on, in pipeline order: the learned ranker -> speaker and temporal cues
    -> graph expansion (session neighbours, entity links, entity bridge, PageRank) -> re-rank."""
    return [STAGE_TYPES[name](getattr(config, name)) for name in config.enabled_stages()]


# Dense + BM25 fused by normalised scores (BM25 leads).
_FUSED = RetrievalConfig(dense=DenseConfig(weight=0.4), lexical=LexicalConfig(weight=0.6),
                         fusion=FusionConfig(method="score", candidate_k=100))
# Session neighbours over NEXT edges: bounded per query (the candidates' own edges).
_NEIGHBOURS = {"session_neighbours": NeighbourConfig()}
# ... + personalised PageRank over SIMILAR links from the top 3 hits (needs GraphBuilder's SIMILAR edges and
# a whole-scope graph view: opt-in).
_GRAPH = {**_NEIGHBOURS, "graph_ppr": PPRConfig()}
# ... + speaker and date cues as first tuned (x1.2 each; on all five conversations).
_CUES = {"speaker": SpeakerConfig(boost=0.2), "temporal": TemporalConfig(boost=0.2)}
# ... + contextual vectors (each message embedded after the previous one) as a third source.
_CONTEXT = {"context": ContextConfig(weight=0.25)}
# Stages weighted by hand-set shares, each share chosen by leave-one-conversation-out cross-validation on LoCoMo's
# development split (benchmarks/RESULTS-locomo.md): BM25 0.7 beside dense 0.3 and contextual 0.35 (a quarter of the
# fused score), x1.5 for the one speaker a query names, x2 inside a date it names, session neighbours as above.
_WEIGHTED = RetrievalConfig(dense=DenseConfig(weight=0.3), lexical=LexicalConfig(weight=0.7),
                            context=ContextConfig(weight=0.35), fusion=FusionConfig(method="score", candidate_k=100),
                            speaker=SpeakerConfig(), temporal=TemporalConfig(), **_NEIGHBOURS)
# What MemoryCore.open searches with: the same candidates (their fused order picks the 100 the ranker scores), then
# the learned ranker in place of the speaker, date and neighbour stages. Weights fitted on all five development
# conversations by `omne bench locomo --cv` (which also scores them fitted on four, on the fifth).
RANKER_WEIGHTS = {
    "dense": 0.5778, "lexical": 3.8928, "context": 1.8,
    "previous.dense": 0.1378, "previous.lexical": 0.1965, "previous.context": 0.7093,
    "next.dense": 0.3942, "next.lexical": 0.742, "next.context": 0.901,
    "question.dense": 0.3873, "question.lexical": 2.3841, "question.context": 0.5325,
    "speaker": 1.0739, "date": 5.5515, "log_chars": 0.9587, "asks": -0.6174,
}
_DEFAULT = _WEIGHTED.model_copy(update={"ranker": RankerConfig(weights=RANKER_WEIGHTS, bias=-5.9177), "speaker": None,
                                        "temporal": None, "session_neighbours": None})

PRESETS: dict[str, RetrievalConfig] = {
    "lexical": RetrievalConfig(dense=None, fusion=FusionConfig(candidate_k=100)),
    "dense": RetrievalConfig(lexical=None, fusion=FusionConfig(candidate_k=100)),
    "fused": _FUSED,
    "fused_graph": _FUSED.model_copy(update=_GRAPH),
    "full_without_graph": _FUSED.model_copy(update=_CUES),
    # `default` + PageRank over SIMILAR links (opt-in: needs GraphBuilder's links and a whole-scope graph view).
    "full": _DEFAULT.model_copy(update={"graph_ppr": PPRConfig()}),
    # What MemoryCore.open searches with; its cost does not grow with the scope.
    "default": _DEFAULT,
    # The default before the learned ranker: fused scores, speaker and date boosts, session neighbours.
    "default_weighted": _WEIGHTED,
    # The default before its weights were chosen by cross-validation (they were chosen on all five conversations),
    # and the same without contextual vectors: kept as ablations.
    "default_hand_tuned": _FUSED.model_copy(update={**_NEIGHBOURS, **_CUES, **_CONTEXT}),
    "default_without_context": _FUSED.model_copy(update={**_NEIGHBOURS, **_CUES}),
}
DEFAULT_PRESET = "default"
