"""The connection pool of a PostgreSQL store and the SQL rules its tables share: the scope partition, rows back
to scopes, one transaction per write, and errors that name the fix.

Everything here is synchronous, like the storage protocols: the async core calls it through
`asyncio.to_thread`, and each call borrows a connection from a thread-safe psycopg pool for one statement or
one transaction. Times are `timestamptz`, read back in UTC (every session runs with TIME ZONE 'UTC').
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from omne.errors import InvalidInputError, StorageError
from omne.types import Scope

try:
    import psycopg
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - the extra is part of `make setup`
    raise StorageError("the PostgreSQL store needs psycopg 3: pip install 'omne[postgres]'") from exc

from omne.storage.postgres_schema import migrate
from omne.storage.sql_dialect import POSTGRES, SCOPE_COLUMNS, Dialect, exact_where, partition_where, row_scope

__all__ = ["Conn", "PostgresDatabase", "Row", "SCOPE_COLUMNS", "exact_scope_where", "redact", "row_scope",
           "scope_where"]

T = TypeVar("T")
Row = dict[str, Any]
Conn = psycopg.Connection[Row]
_LOG_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.omne_log'))"


def redact(url: str) -> str:
    """The URL with its password hidden (for messages)."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def scope_where(scope: Scope | None) -> tuple[str, list[Any]]:
    """The scope partition in psycopg's placeholders (see `partition_where`)."""
    return partition_where(scope, POSTGRES)


def exact_scope_where(scope: Scope) -> tuple[str, list[Any]]:
    """Exactly this scope, in psycopg's placeholders (see `exact_where`)."""
    return exact_where(scope, POSTGRES)


def _utc_session(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET TIME ZONE 'UTC'")


class PostgresDatabase:
    """One store's PostgreSQL database (the first schema of the URL's search_path), migrated on open, reached
    through a pool of at most `pool_size` connections. Any number of processes may open it at once."""

    def __init__(self, url: str, *, pool_size: int = 8, connect_timeout_s: float = 30.0) -> None:
        self.url = url
        try:  # one plain connection first: a refused or misconfigured server fails at once with its own reason,
            # where the pool would retry (logging each attempt) until its timeout
            psycopg.connect(url, connect_timeout=max(1, round(connect_timeout_s))).close()
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split())
            raise StorageError(f"cannot open the PostgreSQL store at {redact(url)}: {reason}. Check that the server "
                               "runs, the URL (OMNE_DATABASE_URL or --database) and that its user may create "
                               "tables.") from None
        self.pool: ConnectionPool[Conn] = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, configure=_utc_session,
            kwargs={"autocommit": True, "row_factory": dict_row}, name="omne")
        try:
            self.pool.open(wait=True, timeout=connect_timeout_s)
            with self.pool.connection() as conn:
                migrate(conn)
        except (PoolTimeout, psycopg.Error) as exc:
            self.pool.close()
            raise StorageError(f"cannot open the PostgreSQL store at {redact(url)}: {exc}. Check that the server "
                               "runs, the URL (OMNE_DATABASE_URL or --database) and that its user may create "
                               "tables.") from None

    @property
    def dialect(self) -> Dialect:
        return POSTGRES

    def transaction(self, body: Callable[[Conn], T], *, log_lock: bool = False, what: str = "the record store") -> T:
        """Run `body` in one transaction (rolled back on any exception). `log_lock` serialises it with every other
        write that adds records or changes a message chain: records then get their log position (`seq`) in
        commit order and concurrent writers cannot fork a chain. `what` names the table group in errors."""
        try:
            with self.pool.connection() as conn, conn.transaction():
                if log_lock:
                    conn.execute(_LOG_LOCK)
                return body(conn)
        except UnicodeEncodeError:
            raise InvalidInputError("a value is not valid UTF-8 (it holds undecodable bytes)") from None
        except psycopg.DataError as exc:
            raise InvalidInputError(f"{what} (PostgreSQL) refused a value: {exc}; remove it (e.g. NUL "
                                    "characters) and write again") from None
        except psycopg.IntegrityError as exc:
            raise StorageError(f"write rejected by {what}: {exc}") from exc
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StorageError(f"{what} could not be written ({exc}); nothing was saved. Check that the "
                               f"PostgreSQL server at {redact(self.url)} is reachable.") from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Rows of one read."""
        try:
            with self.pool.connection() as conn:
                return conn.execute(sql, params).fetchall()
        except UnicodeEncodeError:
            raise InvalidInputError("a lookup argument is not valid UTF-8 (it holds undecodable bytes)") from None
        except psycopg.DataError as exc:
            raise InvalidInputError(f"lookup refused by PostgreSQL: {exc}") from None
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StorageError(f"the store could not be read ({exc}); check that the PostgreSQL server at "
                               f"{redact(self.url)} is reachable") from exc

    def close(self) -> None:
        self.pool.close()
