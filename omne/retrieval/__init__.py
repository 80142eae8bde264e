"""The read path: hybrid candidates (dense + BM25, fused), then re-ranking stages, within one scope.

Only the names re-exported here are API (imported on first use, so that importing one of them does not
load the graph or the stages). Presets: `PRESETS["default"]` (what `MemoryCore.open` uses: dense, BM25 and
contextual vectors fused, then the learned ranker, which weighs each candidate's scores beside its neighbours',
the speaker and date a query names and the shape of its text) and `PRESETS["full"]` (adds personalised PageRank
over `similar` links).
"""

from __future__ import annotations

from omne._lazy import lazy_exports

_EXPORTS = {
    "Candidate": "models", "RetrievalConfig": "models", "SearchHit": "models",
    "DenseConfig": "models", "LexicalConfig": "models", "ContextConfig": "models", "FusionConfig": "models",
    "SpeakerConfig": "models", "RankerConfig": "models", "RANKER_FEATURES": "models", "RankerStage": "ranker_stage",
    "TemporalConfig": "models", "NeighbourConfig": "models", "EntityLinkConfig": "models",
    "EntityBridgeConfig": "models", "PPRConfig": "models", "RerankConfig": "models",
    "Retriever": "pipeline", "SearchContext": "context", "SearchStage": "context", "StageTools": "context",
    "reciprocal_rank_fusion": "fusion", "score_fusion": "fusion",
    "DEFAULT_PRESET": "stages", "PRESETS": "stages", "build_stages": "stages",
    "SessionNeighbourStage": "graph_stages", "GraphPPRStage": "graph_stages",
    "EntityBridgeStage": "entity_stages", "EntityLinkStage": "graph_stages",
    "RerankStage": "rerank_stages", "SpeakerStage": "rerank_stages", "TemporalStage": "rerank_stages",
    "query_intervals": "temporal",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
