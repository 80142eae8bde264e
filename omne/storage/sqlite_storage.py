"""The embedded SQLite storage of a store directory: one database file, one connection, three table groups."""

from __future__ import annotations

from pathlib import Path

from omne.storage.space import DEFAULT_MIN_FREE_BYTES
from omne.storage.sqlite_db import SQLiteDatabase
from omne.storage.sqlite_dump import SQLiteDump
from omne.storage.sqlite_jobs import SQLiteJobStore
from omne.storage.sql_keys import SQLKeyStore
from omne.storage.sqlite_store import SQLiteRecordStore

DATABASE_FILE = "records.sqlite3"  # inside the store directory


class SQLiteStorage:
    """Records, jobs and API keys of one store in one SQLite file (WAL), migrated to the current schema on open.

    Within a process one `SQLiteStorage` is the owner; other processes may open the same file (SQLite
    serialises their transactions), which is what `omne worker` and `omne keys` beside a server do."""

    def __init__(self, path: Path, *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES) -> None:
        self.path = path
        self._db = SQLiteDatabase(path, min_free_bytes=min_free_bytes)
        self._records = SQLiteRecordStore(self._db)
        self._jobs = SQLiteJobStore(self._db)
        self._keys = SQLKeyStore(self._db)
        self._dump = SQLiteDump(self._db)

    @property
    def records(self) -> SQLiteRecordStore:
        return self._records

    @property
    def jobs(self) -> SQLiteJobStore:
        return self._jobs

    @property
    def keys(self) -> SQLKeyStore:
        return self._keys

    @property
    def dump(self) -> SQLiteDump:
        return self._dump

    @property
    def vectors(self) -> None:
        """None: an embedded store has one owner process, which keeps its index in step by dirty flags."""
        return None

    @property
    def location(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self._db.close()
