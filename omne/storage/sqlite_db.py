"""The one SQLite connection of a store (WAL, serialised by a lock) and the SQL rules its tables share: the
scope partition (the time format and rows back to scopes are omne.storage.sql_dialect's, re-exported)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from omne.errors import InvalidInputError, StorageError
from omne.storage.space import DEFAULT_MIN_FREE_BYTES, require_free_space
from omne.storage.sql_dialect import SQLITE, Dialect, dt, exact_where, partition_where, row_scope, ts
from omne.storage.sqlite_schema import open_database
from omne.types import Scope

__all__ = ["SQLiteDatabase", "SQLParam", "dt", "exact_scope_where", "row_scope", "scope_values", "scope_where", "ts"]
T = TypeVar("T")
SQLParam = str | int | float | bytes | None


def scope_where(scope: Scope | None, prefix: str = "") -> tuple[str, list[SQLParam]]:
    """The scope partition in SQLite's placeholders (see `partition_where`).

    Lookups by id pass prefix="+": the unary plus keeps the same filter but stops SQLite from choosing
    the scope index over the id index (with 10+ ids it otherwise scanned the whole scope: 41 ms for 30
    ids at 100k records in one scope, versus well under a millisecond by id)."""
    return partition_where(scope, SQLITE, prefix)


def exact_scope_where(scope: Scope) -> tuple[str, list[SQLParam]]:
    """Exactly this scope, in SQLite's placeholders (see `exact_where`)."""
    return exact_where(scope, SQLITE)


def scope_values(scope: Scope) -> tuple[str | None, str | None, str | None, str | None]:
    """The four scope columns (s_user, s_agent, s_session, s_team) of a row written in `scope`."""
    return scope.user, scope.agent, scope.session, scope.team


class SQLiteDatabase:
    """One store's SQLite file, migrated on open: one connection (thread-shareable) serialised by a lock."""

    def __init__(self, path: Path, *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self.conn = open_database(path, what="the record store", foreign_keys=True)
        self.lock = threading.RLock()

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    def transaction(self, body: Callable[[sqlite3.Connection], T], *, what: str = "the record store") -> T:
        """Run `body` in one IMMEDIATE transaction; any exception rolls everything back. `what` names the
        table group in errors."""
        require_free_space(self.path.parent, self.min_free_bytes)
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    out = body(self.conn)
                    self.conn.execute("COMMIT")
                    return out
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                raise StorageError(f"write rejected by {what}: {exc}") from exc
            except sqlite3.OperationalError as exc:
                raise StorageError(f"{what} could not be written ({exc}); nothing was saved. "
                                   "Check free disk space and write permission on the store directory.") from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read (outside any transaction of another thread)."""
        with self.lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except UnicodeEncodeError:  # an id, filter or text argument holding undecodable bytes
                raise InvalidInputError("a lookup argument is not valid UTF-8 (it holds undecodable bytes)") from None

    def close(self) -> None:
        with self.lock:
            self.conn.close()
