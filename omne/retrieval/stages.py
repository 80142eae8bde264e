"""The read path's later stages built from a RetrievalConfig, and named presets for ablations."""

from __future__ import annotations

from typing import Any

from omne.retrieval.context import SearchStage
from omne.retrieval.entity_stages import EntityBridgeStage
from omne.retrieval.graph_stages import EntityLinkStage, GraphPPRStage, SessionNeighbourStage
from omne.retrieval.models import (STAGE_ORDER, ContextConfig, DenseConfig, FusionConfig, LexicalConfig,
                                   NeighbourConfig, PPRConfig, RetrievalConfig, SpeakerConfig, TemporalConfig)
from omne.retrieval.rerank_stages import RerankStage, SpeakerStage, TemporalStage

# RetrievalConfig field -> the stage it configures (its `name` is the field name, see STAGE_ORDER).
STAGE_TYPES: dict[str, Any] = {stage.name: stage for stage in (
    SpeakerStage, TemporalStage, SessionNeighbourStage, EntityLinkStage, EntityBridgeStage, GraphPPRStage,
    RerankStage)}
assert tuple(STAGE_TYPES) == STAGE_ORDER


def build_stages(config: RetrievalConfig) -> list[SearchStage]:
    """The later stages `config` switches on, in pipeline order: speaker and temporal cues -> graph expansion
    (session neighbours, entity links, entity bridge, PageRank) -> re-rank."""
    return [STAGE_TYPES[name](getattr(config, name)) for name in config.enabled_stages()]


# Dense + BM25 fused by normalised scores (BM25 leads).
_FUSED = RetrievalConfig(dense=DenseConfig(weight=0.4), lexical=LexicalConfig(weight=0.6),
                         fusion=FusionConfig(method="score", candidate_k=100))
# Session neighbours over NEXT edges: bounded per query (the candidates' own edges).
_NEIGHBOURS = {"session_neighbours": NeighbourConfig()}
# ... + personalised PageRank over SIMILAR links from the top 3 hits (needs GraphBuilder's SIMILAR edges and
# a whole-scope graph view: opt-in).
_GRAPH = {**_NEIGHBOURS, "graph_ppr": PPRConfig()}
_CUES = {"speaker": SpeakerConfig(), "temporal": TemporalConfig()}
# ... + contextual vectors (each message embedded after the previous one) as a third source: 0.25 against
# dense 0.4 + BM25 0.6 is a fifth of the fused score; chosen by cross-validation (RESULTS-locomo.md).
_CONTEXT = {"context": ContextConfig(weight=0.25)}

PRESETS: dict[str, RetrievalConfig] = {
    "lexical": RetrievalConfig(dense=None, fusion=FusionConfig(candidate_k=100)),
    "dense": RetrievalConfig(lexical=None, fusion=FusionConfig(candidate_k=100)),
    "fused": _FUSED,
    "fused_graph": _FUSED.model_copy(update=_GRAPH),
    "full_without_graph": _FUSED.model_copy(update=_CUES),
    "full": _FUSED.model_copy(update={**_GRAPH, **_CUES, **_CONTEXT}),
    # What MemoryCore.open searches with: `full` without PageRank; its cost does not grow with the scope.
    "default": _FUSED.model_copy(update={**_NEIGHBOURS, **_CUES, **_CONTEXT}),
    "default_without_context": _FUSED.model_copy(update={**_NEIGHBOURS, **_CUES}),
}
DEFAULT_PRESET = "default"
