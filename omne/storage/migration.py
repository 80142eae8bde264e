"""Moving a store between backends (`omne memory migrate`): one implementation over the `StoreDump` protocol,
for any pair of backends (SQLite store directory, PostgreSQL database).

Lossless: every table is copied as kept, records (every version: current, superseded, forgotten), edges and jobs
with their log positions, so cursors over the log stay valid and an export reads back byte for byte. The vector
index is derived, not copied: every record copied awaits indexing, and the target rebuilds its index from the
log when it is first opened (reconcile). Resumable: records, edges and jobs are copied in log order, one
transaction per page, so the target's newest position in each table is where an interrupted run stopped; the
next run checks that the target is that prefix of the source and continues from there (a complete target copies
nothing more). Move a store that nothing writes to meanwhile (stop its servers and workers first): a run ends by
comparing row counts, newest positions and live records of both, and fails naming the fix when the source changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from pydantic import BaseModel

from omne.errors import InvalidInputError, StorageError
from omne.storage.dump_models import ContextStateRow, Logged, Table
from omne.storage.protocols import Storage, StoreDump
from omne.types import Scope

DEFAULT_PAGE = 500  # rows per page (one target transaction each)
Progress = Callable[[Table, int, int], None]  # (table, rows the target holds, rows the source holds), per page


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


I = TypeVar("I", bound=_HasId)
Dump = Callable[[int, int], list[Logged[I]]]


def _check_log(table: Table, last: int, mine: Dump[I], theirs: Dump[I], fail: Callable[[str], Exception]) -> None:
    """The target's newest row of a table must be the source's row at that position (same id)."""
    own, other = mine(last - 1, 1), theirs(last - 1, 1)
    if own and (not other or other[0].seq != last or other[0].item.id != own[0].item.id):
        raise fail(f"{table.value} at position {last} is not the source's")


def _copy_log(table: Table, after: int, done: int, total: int, dump: Dump[I],
              load: Callable[[Sequence[Logged[I]]], None], page: int, report: Progress) -> int:
    """Copy a table's rows after position `after`, a page per transaction; returns how many were copied."""
    copied = 0
    report(table, done, total)
    while rows := dump(after, page):
        load(rows)
        after, copied = rows[-1].seq, copied + len(rows)
        report(table, done + copied, total)
    return copied


class MigrationReport(BaseModel):
    """What a migration did: rows copied by this run and rows the target holds now, per table."""

    source: str
    target: str
    copied: dict[Table, int]  # rows written by this run (0 everywhere: the target was complete already)
    total: dict[Table, int]
    resumed: bool  # the target held part (or all) of the source already
    to_index: int  # records the target's vector index rebuilds from the log when the target is first opened


def _context_key(row: ContextStateRow) -> tuple[str, Scope]:
    return row.context_id, row.scope


def _all_context_states(dump: StoreDump, page: int) -> list[ContextStateRow]:
    rows: list[ContextStateRow] = []
    while batch := dump.dump_context_states(len(rows), page):
        rows += batch
    return rows


def _not_a_copy(source: Storage, target: Storage, what: str) -> InvalidInputError:
    return InvalidInputError(
        f"the target {target.location} is not empty and is not an earlier migration from {source.location} "
        f"({what}); migrate into an empty store: a new directory for --to, or an empty PostgreSQL database "
        "(or a schema of its own, e.g. postgresql://...?options=-csearch_path%3Dnewschema)")


def _check_resumable(source: Storage, target: Storage, page: int) -> bool:
    """Whether the target holds anything; raises when what it holds is not a prefix of the source."""
    stats = target.dump.table_stats()
    s, t = source.dump, target.dump

    def fail(what: str) -> Exception:
        return _not_a_copy(source, target, what)
    _check_log(Table.RECORDS, stats[Table.RECORDS].last_seq, t.dump_records, s.dump_records, fail)
    _check_log(Table.EDGES, stats[Table.EDGES].last_seq, t.dump_edges, s.dump_edges, fail)
    _check_log(Table.JOBS, stats[Table.JOBS].last_seq, t.dump_jobs, s.dump_jobs, fail)
    keys = {k.key.id for k in source.dump.dump_api_keys()}
    extra_keys = [k.key.id for k in target.dump.dump_api_keys() if k.key.id not in keys]
    if extra_keys:
        raise _not_a_copy(source, target, f"API key {extra_keys[0]} is not the source's")
    extra_cursors = sorted(set(target.dump.dump_cursors()) - set(source.dump.dump_cursors()))
    if extra_cursors:
        raise _not_a_copy(source, target, f"job cursor {extra_cursors[0]!r} is not the source's")
    if stats[Table.CONTEXT_STATE].rows:
        contexts = {_context_key(r) for r in _all_context_states(source.dump, page)}
        extra = [r for r in _all_context_states(target.dump, page) if _context_key(r) not in contexts]
        if extra:
            raise _not_a_copy(source, target, f"context {extra[0].context_id!r} in {extra[0].scope} is not the "
                                              "source's")
    return any(stat.rows for stat in stats.values())


def _verify(source: Storage, target: Storage) -> None:
    """After a run the target holds as many rows as the source in every table, at the same newest positions, and
    as many live records: else the source changed while it was moved (a write between an interrupted run and its
    resumption would otherwise leave, say, an old version live in the target)."""
    theirs, mine = source.dump.table_stats(), target.dump.table_stats()
    differ = [f"{t.value}: {theirs[t].rows} in the source, {mine[t].rows} in the target" for t in Table
              if theirs[t] != mine[t]]
    live = source.records.count(None), target.records.count(None)
    if live[0] != live[1]:
        differ.append(f"live records: {live[0]} in the source, {live[1]} in the target")
    if differ:
        raise StorageError(f"the source {source.location} changed while it was moved ({'; '.join(differ)}): stop "
                           "its servers and workers, then migrate again into an empty target")


def migrate_storage(source: Storage, target: Storage, *, page: int = DEFAULT_PAGE,
                    progress: Progress | None = None) -> MigrationReport:
    """Copy every table of `source` into `target` (empty, or an interrupted or complete earlier migration from the
    same source, which this continues); see the module docstring. Raises InvalidInputError naming the fix when
    the target holds anything else, and StorageError when the source changed while it was moved."""
    if page < 1:
        raise InvalidInputError("page must be at least 1 row")
    if source.location == target.location:
        raise InvalidInputError(f"--from and --to name the same store ({source.location}): name another target")
    resumed = _check_resumable(source, target, page)
    totals = source.dump.table_stats()
    have = target.dump.table_stats()
    copied = {table: 0 for table in Table}
    report = progress or (lambda table, done, total: None)
    s, t = source.dump, target.dump

    def args(table: Table) -> tuple[Table, int, int, int]:
        return table, have[table].last_seq, have[table].rows, totals[table].rows
    copied[Table.RECORDS] = _copy_log(*args(Table.RECORDS), s.dump_records, t.load_records, page, report)
    copied[Table.EDGES] = _copy_log(*args(Table.EDGES), s.dump_edges, t.load_edges, page, report)
    copied[Table.JOBS] = _copy_log(*args(Table.JOBS), s.dump_jobs, t.load_jobs, page, report)
    # the small tables: whole, writing only the rows the target lacks or holds otherwise
    held_states = set(_all_context_states(t, page))
    states = [r for r in _all_context_states(s, page) if r not in held_states]
    for start in range(0, len(states), page):
        t.load_context_states(states[start:start + page])
    report(Table.CONTEXT_STATE, totals[Table.CONTEXT_STATE].rows, totals[Table.CONTEXT_STATE].rows)
    held_cursors = t.dump_cursors()
    cursors = {name: seq for name, seq in s.dump_cursors().items() if held_cursors.get(name) != seq}
    t.load_cursors(cursors)
    report(Table.JOB_CURSORS, totals[Table.JOB_CURSORS].rows, totals[Table.JOB_CURSORS].rows)
    held_keys = {k.key.id for k in t.dump_api_keys()}
    keys = [k for k in s.dump_api_keys() if k.key.id not in held_keys]
    t.load_api_keys(keys)
    report(Table.API_KEYS, totals[Table.API_KEYS].rows, totals[Table.API_KEYS].rows)
    copied.update({Table.CONTEXT_STATE: len(states), Table.JOB_CURSORS: len(cursors), Table.API_KEYS: len(keys)})
    _verify(source, target)
    final = target.dump.table_stats()
    return MigrationReport(source=source.location, target=target.location, copied=copied,
                           total={table: stat.rows for table, stat in final.items()}, resumed=resumed,
                           to_index=target.records.count_dirty())
