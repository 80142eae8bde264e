"""Omne: long-term memory for AutoGen agents.

Every name here is imported on first use, so that `import omne` (and a CLI call through a server) does not
load numpy, the embedder or the storage backends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omne._lazy import lazy_exports

if TYPE_CHECKING:
    from omne.config import LimitsConfig, OmneConfig, VectorConfig
    from omne.core import MemoryCore, WriteHook
    from omne.embedding import Embedder, MiniLMEmbedder
    from omne.errors import (
        BackendUnavailableError, InvalidInputError, NotFoundError, OmneError, StorageError, StoreLockedError,
    )
    from omne.retrieval.models import RetrievalConfig, SearchHit
    from omne.schemas import SchemaRegistry
    from omne.sync import SyncMemoryCore
    from omne.types import Edge, EdgeKind, Record, RecordKind, Scope
    from omne.verbs import CoreVerbs

_EXPORTS = {
    "LimitsConfig": "config", "OmneConfig": "config", "VectorConfig": "config",
    "MemoryCore": "core", "WriteHook": "core",
    "Embedder": "embedding", "MiniLMEmbedder": "embedding",
    "BackendUnavailableError": "errors", "InvalidInputError": "errors", "NotFoundError": "errors",
    "OmneError": "errors", "StorageError": "errors", "StoreLockedError": "errors",
    "RetrievalConfig": "retrieval.models", "SearchHit": "retrieval.models",
    "SchemaRegistry": "schemas",
    "SyncMemoryCore": "sync",
    "Edge": "types", "EdgeKind": "types", "Record": "types", "RecordKind": "types", "Scope": "types",
    "CoreVerbs": "verbs",
}
__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
