"""The PostgreSQL storage of a store: records, jobs and API keys in one database, shared by every process and
server that names it (`OMNE_DATABASE_URL`, `omne --database`, `OmneConfig.database`)."""

from __future__ import annotations

from omne.storage.postgres_db import PostgresDatabase, redact
from omne.storage.postgres_dump import PostgresDump
from omne.storage.postgres_jobs import PostgresJobStore
from omne.storage.sql_keys import SQLKeyStore
from omne.storage.postgres_store import PostgresRecordStore
from omne.storage.postgres_vectors import PostgresVectorLog


class PostgresStorage:
    """Records, jobs and API keys of one store in a PostgreSQL database (the first schema of the URL's
    search_path), created and migrated on open. Any number of processes may open it at once: the guarantees of
    the SQLite store hold across them (see PostgresRecordStore and PostgresJobStore)."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self._db = PostgresDatabase(url, pool_size=pool_size)
        self._records = PostgresRecordStore(self._db)
        self._jobs = PostgresJobStore(self._db)
        self._keys = SQLKeyStore(self._db)
        self._dump = PostgresDump(self._db)
        self._vectors = PostgresVectorLog(self._db)

    @property
    def records(self) -> PostgresRecordStore:
        return self._records

    @property
    def jobs(self) -> PostgresJobStore:
        return self._jobs

    @property
    def keys(self) -> SQLKeyStore:
        return self._keys

    @property
    def dump(self) -> PostgresDump:
        return self._dump

    @property
    def vectors(self) -> PostgresVectorLog:
        """The change log and stored vectors from which each server derives its own vector index."""
        return self._vectors

    @property
    def location(self) -> str:
        return redact(self._db.url)

    def close(self) -> None:
        self._db.close()
