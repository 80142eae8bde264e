"""Writing one file's records: nothing if unchanged, new records, or new versions that supersede the
old ones (kept in history). Records are committed and embedded in batches."""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from omne.ingest.models import Provenance
from omne.types import Edge, EdgeKind, Record, RecordKind, Scope, utcnow
from omne.validation import check_records

if TYPE_CHECKING:
    from omne.core import MemoryCore
    from omne.verbs import CoreVerbs

Progress = Callable[[str, int, int], None]  # (stage, done, total)

_locks: weakref.WeakKeyDictionary[object, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def source_tag(key: str) -> str:
    """The tag that marks every record of one source (a file path or a given name)."""
    return "source:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def source_lock(core: CoreVerbs, scope: Scope, key: str) -> asyncio.Lock:
    """Serialise ingests of one source in one scope (two at once would both write a version)."""
    per_core = _locks.setdefault(core, {})
    return per_core.setdefault(f"{scope}\x00{key}", asyncio.Lock())


async def live_records(core: CoreVerbs, scope: Scope, key: str) -> list[Record]:
    """The current records of a source written with exactly this scope, in chunk order.

    (A query scope also sees narrower scopes' records; those belong to their own scope's copy.)
    """
    found = await core.list(scope=scope, kinds=[RecordKind.DOCUMENT], tags=[source_tag(key)])
    prov = {r.id: p for r in found if (p := Provenance.of(r)) is not None}
    mine = [r for r in found if r.scope == scope and r.id in prov and prov[r.id].source.source == key]
    return sorted(mine, key=lambda r: (prov[r.id].chunk, r.created_at))


def is_current(records: Sequence[Record], sha256: str, count: int | None = None) -> bool:
    """True when the live records are one complete ingest of this exact content."""
    if not records:
        return False
    provs = [p for r in records if (p := Provenance.of(r)) is not None]
    if len(provs) != len(records):
        return False
    expected = count if count is not None else provs[0].chunks
    return (all(p.source.sha256 == sha256 and p.chunks == expected for p in provs)
            and sorted(p.chunk for p in provs) == list(range(expected)))


def attach_edges(message_id: str | None, scope: Scope, records: Sequence[Record]) -> list[Edge]:
    """message --attached--> each record of an attachment."""
    if not message_id:
        return []
    return [Edge(scope=scope, src=message_id, dst=r.id, kind=EdgeKind.ATTACHED) for r in records]


async def write_version(core: MemoryCore, scope: Scope, old: Sequence[Record], new: Sequence[Record], *,
                        message_id: str | None, batch_size: int, progress: Progress | None = None,
                        ) -> tuple[list[Record], int, int]:
    """Store `new` as the source's current records; returns (stored, superseded, forgotten).

    New chunk i supersedes old chunk i (same id lineage in history); extra new chunks are added;
    extra old chunks are forgotten explicitly. Nothing is removed from the log.
    """
    now = utcnow()
    stored: list[Record] = []
    pairs = list(zip(old, new))
    versions = [n.model_copy(update={"version": o.version + 1, "valid_from": now}) for o, n in pairs]
    versions += list(new[len(pairs):])
    limit = core.config.limits.max_batch
    versions = [checked for i in range(0, len(versions), limit)  # refuse bad records before any write
                for checked in check_records(versions[i:i + limit], core.config.limits, core.schemas)]
    total = len(versions)
    for start in range(0, total, batch_size):
        batch = versions[start:start + batch_size]
        replaced = [(pairs[i][0], rec) for i, rec in enumerate(batch, start) if i < len(pairs)]
        added = [rec for i, rec in enumerate(batch, start) if i >= len(pairs)]
        if replaced:  # the new versions are indexed, the old ones leave the index
            await core.supersede(replaced, attach_edges(message_id, scope, [r for _, r in replaced]))
        if added:
            await core.add(added, attach_edges(message_id, scope, added))
        stored.extend(batch)
        if progress is not None:
            progress("store", len(stored), total)
    extra = old[len(pairs):]
    for record in extra:
        await core.forget(record.id, scope=scope)
    return stored, len(pairs), len(extra)
