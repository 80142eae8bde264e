"""The API keys of `omne serve` (hashes only), in either SQL backend's `api_keys` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omne.storage.sql_dialect import SCOPE_COLUMNS, Dialect, SQLTables, row_scope
from omne.types import ApiKey

INSERT_KEY = ("INSERT INTO api_keys (id, key_hash, s_user, s_agent, s_session, s_team, admin, label, created_at, "
              "revoked_at) VALUES (?,?,?,?,?,?,?,?,?,?)")


def row_key(row: Any, dialect: Dialect) -> ApiKey:
    """The key an `api_keys` row holds."""
    scoped = any(row[c] is not None for c in SCOPE_COLUMNS)
    created = dialect.time_out(row["created_at"])
    assert created is not None  # NOT NULL column
    return ApiKey(id=row["id"], scope=row_scope(row) if scoped else None, admin=bool(row["admin"]),
                  label=row["label"], created_at=created, revoked_at=dialect.time_out(row["revoked_at"]))


def key_row(key: ApiKey, key_hash: str, dialect: Dialect) -> tuple[object, ...]:
    """The values of INSERT_KEY for `key`."""
    s = key.scope
    return (key.id, key_hash, s and s.user, s and s.agent, s and s.session, s and s.team, key.admin, key.label,
            dialect.time_in(key.created_at), dialect.time_in(key.revoked_at))


class SQLKeyStore:
    """API keys, each bound to a scope or admin; only a hash of each key is kept."""

    def __init__(self, db: SQLTables) -> None:
        self._db = db
        self._dialect = db.dialect

    def add_api_key(self, key: ApiKey, key_hash: str) -> None:
        self._db.transaction(lambda conn: conn.execute(self._dialect.sql(INSERT_KEY),
                                                       key_row(key, key_hash, self._dialect)), what="the key store")

    def api_keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        """The store's API keys, oldest first."""
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = self._db.query(f"SELECT * FROM api_keys{where} ORDER BY created_at")
        return [row_key(row, self._dialect) for row in rows]

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key (revoked or not) whose hash this is, or None."""
        rows = self._db.query(self._dialect.sql("SELECT * FROM api_keys WHERE key_hash = ?"), [key_hash])
        return row_key(rows[0], self._dialect) if rows else None

    def revoke_api_key(self, key_id: str, when: datetime) -> bool:
        """Revoke a key by id; False when no live key has that id."""
        sql = self._dialect.sql("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        changed: int = self._db.transaction(
            lambda conn: conn.execute(sql, (self._dialect.time_in(when), key_id)).rowcount, what="the key store")
        return changed == 1
