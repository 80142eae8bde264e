"""Storage: the record log (SQLite, the truth) and the derived vector indexes (Qdrant Edge in-process, or a
Qdrant server), behind the `RecordStore` and `VectorIndex` protocols.

Only the names re-exported here are API (imported on first use: a backend's client library loads only
when that backend is used).
"""

from __future__ import annotations

from omne._lazy import lazy_exports

_EXPORTS = {
    "IndexHit": "protocols", "IndexItem": "protocols", "RecordFilter": "protocols", "RecordStore": "protocols",
    "VectorIndex": "protocols",
    "SQLiteRecordStore": "sqlite_store",
    "EdgeVectorIndex": "qdrant_edge_index",
    "ServerVectorIndex": "qdrant_server_index",
    "index_text": "index_payload",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
