"""How a core keeps its vector index in line with the record log, the truth: it indexes what the core commits,
reconciles the two on open and after changes, and on a database several servers share follows the change log
the other servers write (omne.storage.log_follower)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from omne.embedding import Embedder
from omne.storage.context import embed_records, fill_missing_contexts
from omne.storage.log_follower import POSITION_FILE, LogFollower
from omne.storage.protocols import RecordStore, VectorIndex, VectorLog
from omne.types import Record, Scope

log = logging.getLogger("omne")

_RECONCILE_BATCH = 256
FOLLOW_INTERVAL_S = 0.2  # how often a server on a shared database catches its own index up with the log
_FOLLOW_BACKOFF_MAX_S = 5.0


class IndexUpkeep:
    """The vector index of one core, derived from its record store. With a `vector_log` (a database several
    servers share, each with a local index) the index follows that log; without one, dirty flags in the
    store say what is still to index. Index writes are serialised by one lock."""

    def __init__(self, store: RecordStore, index: VectorIndex, embedder: Embedder, *, contextual: bool,
                 vector_log: VectorLog | None, store_dir: Path) -> None:
        self._store = store
        self._index = index
        self._embedder = embedder
        # with contextual vectors (the `context` stage), where each message's previous one is found
        self._context_from = store if contextual else None
        self._lock = asyncio.Lock()  # a concurrent forget/update must not be overtaken by an upsert
        self._follower = None if vector_log is None else LogFollower(
            vector_log, index, embedder, store_dir / POSITION_FILE, context_from=self._context_from)
        self._following: asyncio.Task[None] | None = None
        self._stop_following = asyncio.Event()

    @property
    def contextual(self) -> bool:
        return self._context_from is not None

    @property
    def follows_log(self) -> bool:
        """Whether the index follows a shared change log (records are then indexed as soon as they are written,
        not left for a catch-up to find)."""
        return self._follower is not None

    async def open(self) -> None:
        """Bring an index just opened in line with the log, and on a shared database start following it. An index
        made before contextual vectors gets them, its dense vectors kept; a server on a shared database embeds
        none (every server serves those records' vectors as their contextual ones)."""
        await asyncio.to_thread(fill_missing_contexts, self._index, self._embedder,
                                self._context_from if self._follower is None else None)
        await self.reconcile()
        if self._follower is not None:
            self._following = asyncio.create_task(self._follow_log(), name="omne-follow-log")

    async def stop(self) -> None:
        """Stop following the log; a catch-up in flight finishes first (its thread uses the index)."""
        if self._following is not None:
            self._stop_following.set()
            await self._following
            self._following = None

    def pending(self, scope: Scope | None) -> int:
        """How many records (of `scope`, or all) the index has still to take in."""
        return self._store.count_dirty(scope) if self._follower is None else self._follower.pending(scope)

    async def index_written(self, records: Sequence[Record]) -> dict[str, np.ndarray]:
        """Index records the core has just committed; returns their vectors. On a shared database the vectors are
        stored beside the records too, for the other servers, and the index catches up with the log."""
        async with self._lock:
            if self._follower is not None:
                return await asyncio.to_thread(self._follower.index_new, records)
            return await self._index_records(records)

    async def _index_records(self, records: Sequence[Record]) -> dict[str, np.ndarray]:
        """Embed (batched: each record's text, and its contextual text when it has one, see
        omne.storage.context) and upsert live records; delete the others; mark them clean; return the vectors."""
        live = [r for r in records if r.live]
        gone = [r.id for r in records if not r.live]
        items = await asyncio.to_thread(embed_records, self._embedder, live, self._context_from)
        await asyncio.to_thread(self._index.upsert, items)
        await asyncio.to_thread(self._index.delete, gone)
        await asyncio.to_thread(self._store.mark_clean, [r.id for r in records])
        return {item.record.id: item.vector for item in items}

    async def reconcile(self) -> int:
        """Bring the index in line with the log; returns how many records were re-indexed (see
        `MemoryCore.reconcile`)."""
        if self._follower is not None:
            done = await self._catch_up(wait_for_writers=False)
            async with self._lock:
                lost = await asyncio.to_thread(self._follower_lost_points)
            return done + (await self._catch_up(wait_for_writers=False) if lost else 0)
        async with self._lock:
            live = await asyncio.to_thread(self._store.count)
            vectors = await asyncio.to_thread(self._index.count)
            if live != vectors and not await asyncio.to_thread(self._store.dirty, 1):
                log.warning("vector index holds %d points for %d live records; rebuilding it", vectors, live)
                await asyncio.to_thread(self._store.mark_all_dirty)
            done = 0
            while batch := await asyncio.to_thread(self._store.dirty, _RECONCILE_BATCH):
                await self._index_records(batch)
                done += len(batch)
            return done

    def _follower_lost_points(self) -> bool:
        """Whether the derived index holds fewer or more points than the log has live records with nothing pending
        (checked before and after counting, so another server's write in between is not taken for a loss); if
        so the follower replays the log from its start (stored vectors: nothing is embedded again)."""
        assert self._follower is not None
        if self._follower.pending():
            return False
        live, vectors = self._store.count(), self._index.count()
        if live == vectors or self._follower.pending():
            return False
        log.warning("vector index holds %d points for %d live records; rebuilding it from the log", vectors, live)
        self._follower.replay()
        return True

    async def _catch_up(self, *, wait_for_writers: bool) -> int:
        assert self._follower is not None
        async with self._lock:
            return await asyncio.to_thread(self._follower.catch_up, wait_for_writers=wait_for_writers)

    async def _follow_log(self) -> None:
        """Catch up with the shared log until `stop` (a failure is logged and retried, backing off)."""
        delay = FOLLOW_INTERVAL_S
        while True:
            try:
                await asyncio.wait_for(self._stop_following.wait(), delay)
                return
            except TimeoutError:
                pass
            try:
                await self._catch_up(wait_for_writers=True)  # a record's writer stores its vector: no embedding twice
                delay = FOLLOW_INTERVAL_S
            except Exception as exc:  # noqa: BLE001 - e.g. the database is unreachable for a while: try again
                delay = min(delay * 2, _FOLLOW_BACKOFF_MAX_S)
                log.warning("the vector index could not catch up with the shared log (%s); retrying in %.1f s",
                            exc, delay)

    async def optimize(self) -> bool:
        """Build the index's HNSW graph now (see `MemoryCore.optimize`)."""
        async with self._lock:
            return await asyncio.to_thread(self._index.optimize)
