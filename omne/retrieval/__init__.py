"""The read path: hybrid candidates (dense + BM25, fused), then re-ranking stages, within one scope.

Only the names re-exported here are API (imported on first use, so that importing one of them does not
load the graph or the stages). Presets: `PRESETS["default"]` (what `MemoryCore.open` uses) and
`PRESETS["full"]` (adds personalised PageRank over `similar` links).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Candidate": "models", "RetrievalConfig": "models", "SearchHit": "models",
    "Retriever": "pipeline", "SearchContext": "pipeline", "SearchStage": "pipeline",
    "reciprocal_rank_fusion": "fusion", "score_fusion": "fusion",
    "DEFAULT_PRESET": "stages", "PRESETS": "stages", "default_stages": "stages",
    "SessionNeighbourStage": "graph_stages", "GraphPPRStage": "graph_stages",
    "EntityBridgeStage": "entity_stages", "EntityLinkStage": "graph_stages",
    "RerankStage": "rerank_stages", "SpeakerStage": "rerank_stages", "TemporalStage": "rerank_stages",
    "query_intervals": "temporal",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'omne.retrieval' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"omne.retrieval.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
