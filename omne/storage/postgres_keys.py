"""PostgreSQL key store: the API keys of `omne serve` (hashes only) in a PostgreSQL store's database."""

from __future__ import annotations

from datetime import datetime

from omne.storage.postgres_db import SCOPE_COLUMNS, PostgresDatabase, Row, row_scope
from omne.types import ApiKey


def _row_key(row: Row) -> ApiKey:
    scoped = any(row[c] is not None for c in SCOPE_COLUMNS)
    return ApiKey(id=row["id"], scope=row_scope(row) if scoped else None, admin=row["admin"], label=row["label"],
                  created_at=row["created_at"], revoked_at=row["revoked_at"])


INSERT_KEY = ("INSERT INTO api_keys (id, key_hash, s_user, s_agent, s_session, s_team, admin, label, created_at, "
              "revoked_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")


def _key_row(key: ApiKey, key_hash: str) -> tuple[object, ...]:
    s = key.scope
    return (key.id, key_hash, s and s.user, s and s.agent, s and s.session, s and s.team, key.admin, key.label,
            key.created_at, key.revoked_at)


class PostgresKeyStore:
    """API keys, each bound to a scope or admin; only a hash of each key is kept."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def add_api_key(self, key: ApiKey, key_hash: str) -> None:
        self._db.transaction(lambda conn: conn.execute(INSERT_KEY, _key_row(key, key_hash)), what="the key store")

    def api_keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        """The store's API keys, oldest first."""
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        return [_row_key(row) for row in self._db.query(f"SELECT * FROM api_keys{where} ORDER BY created_at")]

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key (revoked or not) whose hash this is, or None."""
        rows = self._db.query("SELECT * FROM api_keys WHERE key_hash = %s", [key_hash])
        return _row_key(rows[0]) if rows else None

    def revoke_api_key(self, key_id: str, when: datetime) -> bool:
        """Revoke a key by id; False when no live key has that id."""
        return self._db.transaction(lambda conn: conn.execute(
            "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL", (when, key_id)).rowcount,
            what="the key store") == 1
