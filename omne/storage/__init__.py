"""Storage: the store's database (the record log, the truth; construction jobs; API keys; schema migrations)
behind the `Storage` protocols (`RecordStore`, `JobStore`, `KeyStore`, and `StoreDump` for `migrate_storage`, which
moves a store between backends; `open_storage` picks the backend), and
the derived vector indexes (Qdrant Edge in-process, or a Qdrant server) behind `VectorIndex`.

Only the names re-exported here are API (imported on first use: a backend's client library loads only
when that backend is used).
"""

from __future__ import annotations

from omne._lazy import lazy_exports

_EXPORTS = {
    "EdgeStamp": "protocols", "IndexHit": "protocols", "IndexItem": "protocols", "JobStore": "protocols",
    "KeyStore": "protocols", "RecordFacts": "protocols", "RecordFilter": "protocols", "RecordStore": "protocols",
    "Storage": "protocols", "StoreDump": "protocols", "VectorIndex": "protocols", "VectorLog": "protocols",
    "IndexChange": "protocols", "migrate_storage": "migration", "MigrationReport": "migration",
    "Backoff": "job_models", "Job": "job_models", "JobError": "job_models", "JobSpec": "job_models",
    "JobStatus": "job_models", "LogEntry": "job_models",
    "open_storage": "backends", "storage_exists": "backends",
    "SQLiteStorage": "sqlite_storage", "PostgresStorage": "postgres_storage",
    "EdgeVectorIndex": "qdrant_edge_index",
    "ServerVectorIndex": "qdrant_server_index",
    "index_text": "index_payload",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
