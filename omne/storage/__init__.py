"""Storage: the record log (SQLite, the truth) and the derived vector indexes (Qdrant Edge in-process, or a
Qdrant server), behind the `RecordStore` and `VectorIndex` protocols.

Only the names re-exported here are API (imported on first use: a backend's client library loads only
when that backend is used).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "IndexHit": "protocols", "IndexItem": "protocols", "RecordFilter": "protocols", "RecordStore": "protocols",
    "VectorIndex": "protocols",
    "SQLiteRecordStore": "sqlite_store",
    "EdgeVectorIndex": "qdrant_edge_index",
    "ServerVectorIndex": "qdrant_server_index",
    "index_text": "index_payload",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'omne.storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"omne.storage.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
