"""Opening a store's database: the one place that picks the storage backend for a configuration (SQLite in the
store directory, or PostgreSQL when `OmneConfig.database` / `OMNE_DATABASE_URL` names a database)."""

from __future__ import annotations

from omne.config import OmneConfig
from omne.errors import NotFoundError
from omne.storage.protocols import Storage
from omne.storage.sqlite_storage import DATABASE_FILE, SQLiteStorage


def storage_exists(config: OmneConfig) -> bool:
    """Whether the configured store has been created (a read never creates an empty one). A PostgreSQL store
    counts as created: its database is named explicitly, and opening it creates nothing beyond Omne's tables."""
    return config.database is not None or (config.store_dir / DATABASE_FILE).is_file()


def open_storage(config: OmneConfig, *, must_exist: bool = False) -> Storage:
    """The configured store's database (created and migrated to the current schema unless `must_exist`);
    close it when done. Raises NotFoundError naming the fix when `must_exist` and there is none."""
    if must_exist and not storage_exists(config):
        raise NotFoundError(f"no Omne store at {config.store_dir}: check --store (or $OMNE_STORE)")
    if config.database is not None:  # records in PostgreSQL (psycopg is imported only here)
        from omne.storage.postgres_storage import PostgresStorage

        return PostgresStorage(config.database)
    return SQLiteStorage(config.store_dir / DATABASE_FILE, min_free_bytes=config.limits.min_free_bytes)
