"""SQLite key store: the API keys of `omne serve` (hashes only), on the store's one connection."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from omne.storage.sqlite_db import SQLiteDatabase, dt, row_scope, ts
from omne.types import ApiKey


def _row_key(row: sqlite3.Row) -> ApiKey:
    scoped = any(row[c] is not None for c in ("s_user", "s_agent", "s_session", "s_team"))
    created = dt(row["created_at"])
    assert created is not None  # NOT NULL column
    return ApiKey(id=row["id"], scope=row_scope(row) if scoped else None, admin=bool(row["admin"]),
                  label=row["label"], created_at=created, revoked_at=dt(row["revoked_at"]))


INSERT_KEY = ("INSERT INTO api_keys (id, key_hash, s_user, s_agent, s_session, s_team, admin, label, created_at, "
              "revoked_at) VALUES (?,?,?,?,?,?,?,?,?,?)")


def _key_row(key: ApiKey, key_hash: str) -> tuple[object, ...]:
    s = key.scope
    return (key.id, key_hash, s and s.user, s and s.agent, s and s.session, s and s.team, int(key.admin), key.label,
            ts(key.created_at), ts(key.revoked_at))


class SQLiteKeyStore:
    """API keys, each bound to a scope or admin; only a hash of each key is kept."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

    def add_api_key(self, key: ApiKey, key_hash: str) -> None:
        self._db.transaction(lambda conn: conn.execute(INSERT_KEY, _key_row(key, key_hash)), what="the key store")

    def api_keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        """The store's API keys, oldest first."""
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        return [_row_key(row) for row in self._db.query(f"SELECT * FROM api_keys{where} ORDER BY created_at")]

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key (revoked or not) whose hash this is, or None."""
        rows = self._db.query("SELECT * FROM api_keys WHERE key_hash = ?", [key_hash])
        return _row_key(rows[0]) if rows else None

    def revoke_api_key(self, key_id: str, when: datetime) -> bool:
        """Revoke a key by id; False when no live key has that id."""
        def body(conn: sqlite3.Connection) -> int:
            return conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                (ts(when), key_id)).rowcount
        return self._db.transaction(body, what="the key store") == 1
