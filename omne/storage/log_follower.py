"""A vector index that one server derives, on its own, from the change log of a database several servers share.

Each server keeps its own index (Qdrant Edge in its own store directory) and its own position in the shared log
(a file beside the index: it describes that index, not the database). Catching up applies every record that
changed after the position, in log order: live ones are upserted with the vector stored beside the record, and
superseded or forgotten ones leave the index. A record without a stored vector is usually being embedded by the
server that wrote it, so it is left for `grace_s` seconds (its writer stores the vector within milliseconds)
and embedded here after that (its writer died, or never embedded it); the position then stops just before it,
and what was applied beyond it is remembered so that it is not applied twice.

A record's contextual vector (omne.storage.context) is stored beside its vector by whoever embedded it, so a
server that catches up indexes both without embedding anything; a record stored with none (no previous message,
a writer with contextual vectors off, or a vector stored before the database kept contextual ones) uses its
vector as its contextual one on every server alike.

Replaying from position 0 rewrites every point (each record is in the log once, at its latest position: live
ones are upserted, the others deleted), which is how an emptied index, or one built with another embedding
model, is rebuilt without a manual step.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from omne.embedding import Embedder
from omne.errors import StorageError
from omne.storage.context import embed_records
from omne.storage.protocols import IndexChange, IndexItem, RecordStore, VectorIndex, VectorLog
from omne.types import Record, Scope

log = logging.getLogger("omne")

POSITION_FILE = "index-position.json"  # in the store directory, beside the index it describes
GRACE_S = 2.0  # how long a record without a vector is left to the server that wrote it
BATCH = 256


class FollowState(BaseModel):
    """What a derived index has applied: the store and model it was built from, and its position in the log."""

    store_id: str
    model: str
    position: int = 0


class LogFollower:
    """Keeps one vector index in step with a shared database's change log (see the module docstring).

    Not thread-safe: its owner (MemoryCore) runs one call at a time, under its write lock."""

    def __init__(self, vector_log: VectorLog, index: VectorIndex, embedder: Embedder, state_file: Path, *,
                 context_from: RecordStore | None = None, grace_s: float = GRACE_S, batch: int = BATCH,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`context_from`: the record store whose message chains give what this server embeds a contextual
        vector too (None: it embeds none; stored ones are indexed all the same)."""
        self._log = vector_log
        self._context_from = context_from
        self._index = index
        self._embedder = embedder
        self._file = state_file
        self._grace_s = grace_s
        self._batch = batch
        self._clock = clock
        self._applied: dict[str, int] = {}  # record id -> position applied, for positions beyond the saved one
        self._waiting: dict[str, float] = {}  # record id -> when it was first seen without a vector
        self._loaded: FollowState | None = None  # read on first use (it queries the database and the index)

    @property
    def _state(self) -> FollowState:
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def _load(self) -> FollowState:
        """The saved state, checked against this database and model; a new one (saved) for a new index."""
        fresh = FollowState(store_id=self._log.store_id(), model=self._embedder.name)
        try:
            saved = FollowState.model_validate_json(self._file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self._save(fresh)
        except (OSError, ValidationError, ValueError):
            log.warning("unreadable index position %s: re-applying the whole log to the index", self._file)
            return self._save(fresh)
        where = self._file.parent
        if saved.store_id != fresh.store_id:
            raise StorageError(f"the vector index in {where} was derived from another database's store: give "
                               "this server a store directory of its own (--store), or delete that directory's "
                               "'vectors' folder and its index-position.json to rebuild the index from this one")
        if saved.model != fresh.model:  # every point is rewritten with the new model's vectors on the way
            log.warning("the vector index in %s holds %s vectors: rebuilding it from the log with %s", where,
                        saved.model, fresh.model)
            return self._save(fresh)
        if saved.position and self._index.count() == 0:
            log.warning("the vector index in %s is empty: rebuilding it from the log", where)
            return self._save(fresh)
        return saved

    @property
    def position(self) -> int:
        """The log position up to which every change is in the index."""
        return self._state.position

    def pending(self, scope: Scope | None = None) -> int:
        """How many records (of one scope when given) changed after the position."""
        return self._log.pending(self._state.position, scope)

    def index_new(self, records: Sequence[Record]) -> dict[str, np.ndarray]:
        """Embed records this server has just committed, store their vectors for every server, and catch up
        (which indexes them); returns the vectors by record id."""
        live = [r for r in records if r.live]
        items = self._embed(live)
        self._log.save_vectors(self._embedder.name, items)
        self.catch_up()
        return {item.record.id: item.vector for item in items}

    def catch_up(self, *, wait_for_writers: bool = True) -> int:
        """Apply every change after the position; returns how many records were applied. `wait_for_writers`:
        leave a record without a vector to its writer for the grace period (the background catch-up), or embed
        it at once (opening, an explicit reconcile: afterwards the index holds everything)."""
        scan = self._state.position
        first_waiting: int | None = None
        done = 0
        while changes := self._log.changes_after(scan, self._embedder.name, self._batch):
            todo = [c for c in changes if self._applied.get(c.record.id) != c.position]
            waiting = self._apply(todo, wait_for_writers)
            done += len(todo) - len(waiting)
            if waiting and first_waiting is None:
                first_waiting = waiting[0]
            scan = changes[-1].position
            if len(changes) < self._batch:
                break
        safe = scan if first_waiting is None else first_waiting - 1
        self._applied = {i: p for i, p in self._applied.items() if p > safe}
        if safe != self._state.position:
            self._loaded = self._save(self._state.model_copy(update={"position": safe}))
        return done

    def _apply(self, changes: Sequence[IndexChange], wait_for_writers: bool) -> list[int]:
        """Index `changes`; returns the positions of those left waiting for their writer's vector."""
        now = self._clock()
        ready = [IndexItem(record=c.record, vector=c.vector, context=c.context)
                 for c in changes if c.record.live and c.vector is not None]
        due: list[IndexChange] = []
        waiting: list[IndexChange] = []
        for c in changes:
            if c.record.live and c.vector is None:
                seen = self._waiting.setdefault(c.record.id, now)
                (waiting if wait_for_writers and now - seen < self._grace_s else due).append(c)
        embedded = self._embed([c.record for c in due])
        self._log.save_vectors(self._embedder.name, embedded)
        self._index.upsert([*ready, *embedded])
        self._index.delete([c.record.id for c in changes if not c.record.live])
        left = {c.record.id for c in waiting}
        for c in changes:
            if c.record.id not in left:
                self._applied[c.record.id] = c.position
                self._waiting.pop(c.record.id, None)
        return [c.position for c in waiting]

    def _embed(self, records: Sequence[Record]) -> list[IndexItem]:
        return embed_records(self._embedder, records, self._context_from)

    def _save(self, state: FollowState) -> FollowState:
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(state.model_dump_json(), encoding="utf-8")
        os.replace(tmp, self._file)  # whole or not at all
        return state
