"""Writes that name record ids, on every record store: a record id is unique in the whole store, and scope is a
hard partition for ids too (an import never moves or replaces another scope's record)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from omne.errors import InvalidInputError
from omne.types import Record, Scope


def first_taken(records: Sequence[Record], held: Iterable[str]) -> str | None:
    """The first id of `records` that the store holds (`held`) or that an earlier record of the batch uses."""
    seen = set(held)
    for record in records:
        if record.id in seen:
            return record.id
        seen.add(record.id)
    return None


def first_foreign(records: Sequence[Record], held: Mapping[str, Scope]) -> str | None:
    """The first id of `records` that the store holds (`held`: id -> its scope) in another scope."""
    return next((r.id for r in records if r.id in held and held[r.id] != r.scope), None)


def id_taken_error(record_id: str) -> InvalidInputError:
    return InvalidInputError(f"record id {record_id} is already taken: leave `id` unset for a new record "
                             "(`update` writes a new version of one)")


def foreign_id_error(record_id: str) -> InvalidInputError:
    return InvalidInputError(f"record {record_id} belongs to another scope: an import replaces only records of "
                             "the scope it writes (leave such ids out)")
