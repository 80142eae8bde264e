"""What the two SQL backends share, and the little in which they differ.

Table stores written once for both (the API key store) spell their SQL with `?` placeholders and pass times
through the database's `Dialect`; each database says how its driver wants them. Rows come back as mappings
by column name on both (sqlite3.Row, psycopg's dict rows).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from omne.types import Scope

T = TypeVar("T")
SCOPE_COLUMNS = ("s_user", "s_agent", "s_session", "s_team")


def ts(value: datetime | None) -> str | None:
    """SQLite's one time format for every table: ISO 8601 with microseconds and the UTC offset (sorts as text)."""
    return None if value is None else value.isoformat(timespec="microseconds")


def dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class Dialect:
    """How one backend's driver takes placeholders and times (PostgreSQL keeps `timestamptz`, SQLite ISO text)."""

    placeholder: str
    native_times: bool

    def sql(self, text: str) -> str:
        """`text`, written with `?` placeholders, in this driver's style (no statement holds a literal `?`)."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def time_in(self, value: datetime | None) -> datetime | str | None:
        return value if self.native_times else ts(value)

    def time_out(self, value: Any) -> datetime | None:
        return value if self.native_times else dt(value)


SQLITE = Dialect(placeholder="?", native_times=False)
POSTGRES = Dialect(placeholder="%s", native_times=True)


def partition_where(scope: Scope | None, dialect: Dialect, prefix: str = "") -> tuple[str, list[Any]]:
    """The one scope-partition rule as SQL: every field the scope sets must match; None is the whole store, for
    admin counts and lists only. `prefix` goes before each column (SQLite lookups by id pass "+")."""
    if scope is None:
        return "1=1", []
    values = scope.fields()
    return " AND ".join(f"{prefix}s_{key} = {dialect.placeholder}" for key in values), list(values.values())


def exact_where(scope: Scope, dialect: Dialect) -> tuple[str, list[Any]]:
    """A condition matching exactly this scope (unset fields must be unset), unlike the partition rule."""
    values = (scope.user, scope.agent, scope.session, scope.team)
    clauses = [f"{c} IS NULL" if v is None else f"{c} = {dialect.placeholder}" for c, v in zip(SCOPE_COLUMNS, values)]
    return " AND ".join(clauses), [v for v in values if v is not None]


class SQLTables(Protocol):
    """A store's SQL database as table stores written once use it: its dialect, reads and one-transaction writes
    (the body gets the driver's connection; `execute` returns a cursor with `rowcount` on both)."""

    @property
    def dialect(self) -> Dialect: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Any]: ...

    def transaction(self, body: Callable[[Any], T], *, what: str = "the record store") -> T: ...


@functools.lru_cache(maxsize=4096)
def _scope(user: str | None, agent: str | None, session: str | None, team: str | None) -> Scope:
    return Scope(user=user, agent=agent, session=session, team=team)


def row_scope(row: Any) -> Scope:
    """The scope a row was written with (frozen, so one object per distinct value is shared safely)."""
    return _scope(row["s_user"], row["s_agent"], row["s_session"], row["s_team"])
