"""The standard read-path stages in order, and named RetrievalConfig presets for ablations."""

from __future__ import annotations

from omne.graph.view import GraphCache
from omne.retrieval.entity_stages import EntityBridgeStage
from omne.retrieval.graph_stages import EntityLinkStage, GraphPPRStage, SessionNeighbourStage
from omne.retrieval.models import RetrievalConfig
from omne.retrieval.pipeline import SearchStage
from omne.retrieval.rerank_stages import RerankStage, SpeakerStage, TemporalStage


def default_stages(cache: GraphCache | None = None) -> list[SearchStage]:
    """Speaker and temporal cues -> graph expansion (session neighbours, entity links, PPR) -> re-rank.

    Every stage is a no-op until its RetrievalConfig weight is set (see PRESETS).
    """
    cache = cache or GraphCache()
    return [SpeakerStage(), TemporalStage(), SessionNeighbourStage(), EntityLinkStage(cache),
            EntityBridgeStage(cache), GraphPPRStage(cache), RerankStage()]


_FUSED = {"fusion": "score", "dense_weight": 0.4, "lexical_weight": 0.6, "candidate_k": 100}
# Session neighbours over NEXT edges: bounded per query (the candidates' own edges).
_NEIGHBOURS = {"neighbour_next_weight": 0.4, "neighbour_prev_weight": 0.2, "neighbour_pool": 50}
# ... + personalised PageRank over SIMILAR links from the top 3 hits (needs GraphBuilder's SIMILAR edges and
# a whole-scope graph view: opt-in).
_GRAPH = {**_NEIGHBOURS, "ppr_weight": 0.3, "ppr_seeds": 3, "ppr_expand": 10,
          "ppr_edge_weights": {"next": 0.0, "mentions": 0.0}}
_CUES = {"speaker_boost": 0.2, "temporal_boost": 0.2}

PRESETS: dict[str, RetrievalConfig] = {
    "lexical": RetrievalConfig(mode="lexical", candidate_k=100),
    "dense": RetrievalConfig(mode="dense", candidate_k=100),
    "fused": RetrievalConfig(**_FUSED),
    "fused_graph": RetrievalConfig(**_FUSED, **_GRAPH),
    "full_without_graph": RetrievalConfig(**_FUSED, **_CUES),
    "full": RetrievalConfig(**_FUSED, **_GRAPH, **_CUES),
    # What MemoryCore.open searches with: `full` without PageRank; its cost does not grow with the scope.
    "default": RetrievalConfig(**_FUSED, **_NEIGHBOURS, **_CUES),
}
DEFAULT_PRESET = "default"
