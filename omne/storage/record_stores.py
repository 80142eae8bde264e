"""Which record store a configuration names: the SQLite log in the store directory (default), or a PostgreSQL
database (`OmneConfig.database` / `OMNE_DATABASE_URL`). Every door opens the log through here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omne.config import OmneConfig

if TYPE_CHECKING:
    from omne.storage.postgres_store import PostgresRecordStore
    from omne.storage.sqlite_store import SQLiteRecordStore

SQLITE_FILE = "records.sqlite3"


def open_record_store(config: OmneConfig, *, min_free_bytes: int | None = None,
                      ) -> SQLiteRecordStore | PostgresRecordStore:
    """Open (creating and migrating if needed) the record store `config` names."""
    if config.database is not None:
        from omne.storage.postgres_store import PostgresRecordStore

        return PostgresRecordStore(config.database)
    from omne.storage.sqlite_store import SQLiteRecordStore

    free = config.limits.min_free_bytes if min_free_bytes is None else min_free_bytes
    return SQLiteRecordStore(config.store_dir / SQLITE_FILE, min_free_bytes=free)


def record_store_exists(config: OmneConfig) -> bool:
    """Whether there is a store to read (read commands never create an empty one where a typo points). A
    PostgreSQL store counts as existing: its database is named explicitly, and opening it creates nothing
    beyond its tables."""
    return config.database is not None or (config.store_dir / SQLITE_FILE).is_file()


def describe_store(config: OmneConfig) -> str:
    """Where the store's record log lives, for messages (a database URL without its password)."""
    if config.database is not None:
        from omne.storage.postgres_store import redact

        return f"{config.store_dir} (records in {redact(config.database)})"
    return str(config.store_dir)
