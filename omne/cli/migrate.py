"""`omne memory migrate --from SOURCE --to TARGET`: move a store between a directory (SQLite) and a PostgreSQL
database, either way, with a progress bar per table (omne.storage.migration does the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from omne.cli.common import JsonOpt, emit, server_of
from omne.config import OmneConfig, validate_config
from omne.errors import InvalidInputError

_URL_PREFIXES = ("postgresql://", "postgres://")


def _config(value: str, option: str) -> OmneConfig:
    """The store a --from / --to value names: a postgresql:// URL or a store directory."""
    if value.startswith(_URL_PREFIXES):
        return validate_config(OmneConfig, {"database": value}, what=option)
    if "://" in value:  # another database's URL would otherwise become a directory named after its scheme
        raise InvalidInputError(f"{option} {value}: not a postgresql:// URL; name a store directory or a "
                                "postgresql://user:password@host:port/dbname URL")
    return OmneConfig(store_dir=Path(value).expanduser())


class _Bars:
    """A tqdm bar per table (rows copied of the source's), on stderr; silent when not on a terminal."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(table)
        if bar is None:
            bar = self.bars[table] = tqdm(total=total, desc=f"{table:<13}", unit="row", disable=None, file=sys.stderr)
        bar.total = max(total, done)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def migrate(
    source: Annotated[str, typer.Option("--from", help="The store to copy: a store directory or a postgresql:// URL.")],
    target: Annotated[str, typer.Option("--to", help="Where to copy it: an empty store directory or PostgreSQL "
                                                     "database (or an earlier, interrupted migration to resume).")],
    page: Annotated[int, typer.Option("--page", min=1, max=100_000, help="Rows per transaction.")] = 500,
    as_json: JsonOpt = False,
) -> None:
    """Move a store between SQLite and PostgreSQL, losslessly (every record version, edges, jobs and cursors,
    context state, API key hashes). Run it again to resume an interrupted move; the target's vector index is
    rebuilt from the log when the target is first opened. Stop servers and workers on the source first."""
    from omne.storage.backends import open_storage, storage_exists
    from omne.storage import migrate_storage

    if server_of() is not None:
        raise InvalidInputError("migrate opens both stores itself: drop --server (and OMNE_URL)")
    src, dst = _config(source, "--from"), _config(target, "--to")
    if not storage_exists(src):
        raise InvalidInputError(f"--from {source}: no Omne store there; name a store directory or a postgresql:// URL")
    bars = _Bars()
    from_storage = open_storage(src, must_exist=True)
    try:
        to_storage = open_storage(dst)
        try:
            report = migrate_storage(from_storage, to_storage, page=page, progress=bars)
        finally:
            to_storage.close()
    finally:
        bars.close()
        from_storage.close()
    copied = sum(report.copied.values())
    summary = ", ".join(f"{table.value} {report.total[table]}" for table in report.total)
    text = (f"{'resumed: ' if report.resumed else ''}copied {copied} rows from {report.source} to {report.target}"
            if copied else f"nothing left to copy: {report.target} holds all of {report.source}")
    text += (f"\nthe target holds: {summary}\n{report.to_index} records await indexing: the target's vector index "
             "is rebuilt from the log when the target is first opened (any omne command, omne serve)")
    emit(report.model_dump(mode="json"), as_json, text)
