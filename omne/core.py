"""MemoryCore: the async API over the record log and its derived indexes."""

from __future__ import annotations

import builtins

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import numpy as np
from pydantic import ValidationError

from omne.config import OmneConfig
from omne.embedding import Embedder, LazyMiniLM
from omne.errors import InvalidInputError, NotFoundError
from omne.export import write_lines
from omne.index_upkeep import IndexUpkeep
from omne.retrieval.models import RetrievalConfig, SearchHit
from omne.retrieval.pipeline import Retriever, SearchContext
from omne.schemas import SchemaRegistry
from omne.storage.backends import open_storage
from omne.storage.job_models import Job, JobStatus
from omne.storage.protocols import IndexHit, JobStore, KeyStore, RecordFilter, Storage, VectorIndex
from omne.types import Edge, Record, RecordKind, Scope, new_id, utcnow
from omne.validation import check_content, check_records, describe_validation_error, require_query, require_scope

if TYPE_CHECKING:
    from omne.agents.blocks import Block
    from omne.construction.pipeline import Construction, JobOutcome, ProcessReport
    from omne.ingest.images import ImageContext
    from omne.ingest.models import IngestOptions, IngestResult
    from omne.ingest.writer import Progress
    from omne.service.client import RemoteMemoryCore

log = logging.getLogger("omne")

def _open_index(config: OmneConfig, dim: int) -> VectorIndex:
    if config.vectors.backend == "server":
        from omne.storage.qdrant_server_index import ServerVectorIndex

        return ServerVectorIndex(config.vectors, dim)
    from omne.storage.qdrant_edge_index import EdgeVectorIndex

    return EdgeVectorIndex(config.store_dir / "vectors", dim, min_free_bytes=config.limits.min_free_bytes,
                           auto_optimize_after=config.vectors.auto_optimize_after)


def _record_filter(what: str, kinds: Sequence[RecordKind | str] | None, roles: Sequence[str] | None,
                   tags: Sequence[str] | None, start: datetime | None, end: datetime | None) -> RecordFilter:
    """The filter a caller asked for, validated at the edge (`what` names the call in the error)."""
    try:
        return RecordFilter(kinds=tuple(RecordKind(k) for k in kinds) if kinds else None,
                            roles=tuple(roles) if roles else None, tags=tuple(tags) if tags else None,
                            start=start, end=end)
    except ValueError as exc:
        raise InvalidInputError(f"invalid {what} filter: {exc}") from None


MAX_LIMIT = 1_000_000_000


class WriteHook(Protocol):
    """Runs after `MemoryCore.add` committed and indexed records (e.g. omne.graph.GraphBuilder, construction
    planning); `vectors` maps record id to its embedding. A failing hook is logged: the write stands."""

    async def after_add(self, core: MemoryCore, records: Sequence[Record],
                        vectors: Mapping[str, np.ndarray]) -> None: ...


def _check_limit(limit: int | None) -> None:
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT:,} (or left out for no limit)")


class MemoryCore:
    """One store of long-term memory. Open with `await MemoryCore.open(...)`; close when done.

    Every method names a scope; the record log (SQLite, or PostgreSQL) is written first and the vector index
    is derived from it, so a crash at any point converges when the store is opened again.
    """

    def __init__(self, config: OmneConfig, storage: Storage, index: VectorIndex, embedder: Embedder,
                 write_hooks: Sequence[WriteHook] | None = None, retrieval: RetrievalConfig | None = None,
                 link_messages: bool = True, contextual: bool = True) -> None:
        """A core over an opened storage and index (`open` opens them; the defaults, explained there, are these)."""
        from omne.retrieval.stages import DEFAULT_PRESET, PRESETS

        self.config = config
        self._storage = storage
        self._store = storage.records
        self._index = index
        self.embedder = embedder
        self.schemas = SchemaRegistry()
        self._retriever = Retriever(self._store, index, embedder)
        self.retrieval = retrieval or PRESETS[DEFAULT_PRESET]  # what `search` runs when given no config
        self.link_messages = link_messages  # chain each scope's messages (NEXT edges) as they are added
        self.write_hooks: builtins.list[WriteHook] = list(write_hooks or [])  # run after indexing, in order
        # On a database several servers share, with a local index: that index follows the shared change log.
        self._upkeep = IndexUpkeep(self._store, index, embedder, contextual=contextual,
                                   vector_log=storage.vectors if config.vectors.backend == "edge" else None,
                                   store_dir=config.store_dir)
        # Set by omne.construction.Construction.attach (which also joins write_hooks): runs jobs (`process`).
        self.construction: Construction | None = None
        self.closed = False  # set by close(); shared-core registries drop closed cores

    @property
    def contextual(self) -> bool:
        """Whether each message is also embedded after the previous one (see `open`)."""
        return self._upkeep.contextual

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    async def open(cls, store_dir: Path | str | None = None, *, config: OmneConfig | None = None,
                   embedder: Embedder | None = None, write_hooks: Sequence[WriteHook] | None = None,
                   retrieval: RetrievalConfig | None = None, link_messages: bool = True,
                   contextual: bool = True) -> MemoryCore:
        """Open (creating if needed) the store and reconcile its indexes with the log.

        Read path by default: dense + BM25 + contextual vectors fused by normalised scores, speaker and date
        cues, and session neighbours (each hit lends part of its score to the turns before and after it),
        i.e. `PRESETS["default"]` (the pipeline runs the stages a RetrievalConfig switches on); the write path
        chains each scope's messages in time order (NEXT edges, written in the same transaction as the
        messages; `link_messages=False` turns this off) and embeds each message a second time after the one
        before it (`omne.storage.context`; `contextual=False` turns this off, and the contextual vector is then
        the dense one; an index made before contextual vectors gets them here, its dense vectors kept). Pass
        `retrieval` (e.g. `PRESETS["full"]`, which adds PageRank and needs `write_hooks=[GraphBuilder()]` for
        SIMILAR links) or `write_hooks` to replace the defaults.

        Locking model: an embedded store (SQLite log + Qdrant Edge shard under `store_dir`) has one owner
        process at a time. Qdrant Edge locks its write-ahead log, so opening a store that another live
        process holds raises `StoreLockedError` at once (nothing is written, nothing waits); the lock dies
        with its process, so after a crash the next open succeeds and reconciles. Within the owner process
        any number of tasks and threads may share one `MemoryCore`: SQLite writes are serialised
        transactions and index writes are idempotent by record id. Several processes on one store need one
        owner process that serves the others, or a Qdrant server (`OMNE_QDRANT_URL`), where every process
        opens the shared SQLite log (WAL, 30 s busy timeout) and the server index. On PostgreSQL
        (`OMNE_DATABASE_URL`) any number of processes, e.g. several `omne serve`, share one memory, each with a
        store directory of its own, whose index follows the shared log (see `reconcile`).
        """
        config = config or OmneConfig.from_env(store_dir)
        if store_dir is not None and config.store_dir != Path(store_dir).expanduser():
            config = config.model_copy(update={"store_dir": Path(store_dir).expanduser()})
        embedder = embedder or LazyMiniLM()  # loaded on the first embedding, not for reads that never embed

        def _open() -> tuple[Storage, VectorIndex]:
            storage = open_storage(config)
            try:
                return storage, _open_index(config, embedder.dim)
            except BaseException:
                storage.close()
                raise

        storage, index = await asyncio.to_thread(_open)
        core = cls(config, storage, index, embedder, write_hooks, retrieval, link_messages, contextual)
        try:
            await core._upkeep.open()
        except BaseException:
            await asyncio.to_thread(core._close_sync)
            raise
        return core

    @staticmethod
    def connect(url: str | None = None, *, api_key: str | None = None, timeout_s: float = 60.0) -> RemoteMemoryCore:
        """A client of an `omne serve` server (default: $OMNE_URL, key $OMNE_API_KEY) with this class's methods,
        arguments, return types and errors; close it when done."""
        from omne.service.client import RemoteMemoryCore

        return RemoteMemoryCore(url, api_key=api_key, timeout_s=timeout_s)

    async def close(self) -> None:
        if self.construction is not None:
            await self.construction.close()
        await self._upkeep.stop()
        await asyncio.to_thread(self._close_sync)
        self.closed = True

    def _close_sync(self) -> None:
        try:
            self._index.close()
        finally:
            self._storage.close()

    @property
    def job_store(self) -> JobStore:
        """The store's construction job queue (omne.construction runs it under its retry policy)."""
        return self._storage.jobs

    @property
    def key_store(self) -> KeyStore:
        """The API keys of `omne serve` for this store (omne.service.auth mints and resolves them)."""
        return self._storage.keys

    async def __aenter__(self) -> MemoryCore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- write path -----------------------------------------------------------------------
    async def add(self, records: Record | Iterable[Record], edges: Sequence[Edge] = ()) -> builtins.list[Record]:
        """Commit records (and optional edges) to the log, then index them. Returns what was stored."""
        batch = [records] if isinstance(records, Record) else list(records)
        if not batch:
            if edges:  # edges alone are still written
                await self.add_edges(edges)
            return []
        checked = check_records(batch, self.config.limits, self.schemas)
        await asyncio.to_thread(self._store.insert, checked, list(edges), link_messages=self.link_messages)
        vectors = await self._upkeep.index_written(checked)
        for hook in self.write_hooks:
            try:
                await hook.after_add(self, checked, vectors)
            except Exception:  # noqa: BLE001 - the write is committed; derived state is rebuilt later
                log.exception("write hook %s failed after a committed add", type(hook).__name__)
        return checked

    async def process(self, *, max_jobs: int | None = None, owner: str | None = None,
                      on_job: Callable[[JobOutcome], Any] | None = None) -> ProcessReport:
        """Run pending construction jobs inline (summaries, facts, ...); see omne.construction."""
        if self.construction is None:
            raise InvalidInputError("memory construction is not enabled for this store; enable it with "
                                    "`await omne.construction.Construction.attach(core, client)`")
        return await self.construction.process(max_jobs=max_jobs, owner=owner, on_job=on_job)

    async def remember(self, text: str, *, scope: Scope, kind: RecordKind | str = RecordKind.FACT,
                       **fields: Any) -> Record:
        """Convenience: build one record from text and add it."""
        try:
            record = Record(text=text, scope=scope, kind=kind, **fields)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid record: {describe_validation_error(exc)}") from None
        return (await self.add(record))[0]

    async def ingest(self, source: Path | str | bytes, *, scope: Scope, name: str | None = None,
                     options: IngestOptions | None = None, vision: Any = None, message_id: str | None = None,
                     context: ImageContext | None = None, mime: str | None = None,
                     metadata: dict[str, Any] | None = None, tags: Sequence[str] = (),
                     progress: Progress | None = None) -> IngestResult:
        """Ingest a file (pdf, docx, xlsx, pptx, csv, html, md, txt, json, or an image) as document
        records with provenance; see `omne.ingest.ingest` for the options."""
        from omne.ingest.pipeline import ingest

        return await ingest(self, source, scope=scope, name=name, options=options, vision=vision,
                            message_id=message_id, context=context, mime=mime, metadata=metadata, tags=tags,
                            progress=progress)

    async def add_edges(self, edges: Sequence[Edge]) -> None:
        """Persist typed edges (idempotent on (src, dst, kind))."""
        await asyncio.to_thread(self._store.add_edges, list(edges))

    async def supersede(self, pairs: Sequence[tuple[Record, Record]], edges: Sequence[Edge] = ()) -> builtins.list[Record]:
        """Write each `new` as the next version of its `old` (one transaction each; the old one is kept, superseded,
        in history), add `edges`, then index the new versions; returns them as stored. For callers that build the
        versions themselves (`update` builds one from changes); an old record that is no longer current fails with
        InvalidInputError."""
        for old, new in pairs:
            if (new.scope, new.kind) != (old.scope, old.kind):
                raise InvalidInputError(f"a new version of record {old.id} keeps its scope and kind")
        checked = check_records([new for _, new in pairs], self.config.limits, self.schemas)
        for (old, _), new in zip(pairs, checked):
            await asyncio.to_thread(self._store.supersede, old, new)
        if edges:
            await self.add_edges(edges)
        if self._upkeep.follows_log:
            await self._upkeep.index_written(checked)  # embedded here at once; the catch-up drops the old versions
        else:
            await self.reconcile()
        return checked

    async def annotate(self, record_id: str, *, scope: Scope, importance: float, metadata: dict[str, Any]) -> Record:
        """Change a live record's importance and metadata in place: bookkeeping such as reinforcement counts, not
        content (a content change is a new version: `update`). Returns the record as stored now."""
        record = await self.get(record_id, scope=scope)
        if not record.live:
            raise InvalidInputError(f"record {record_id} is no longer current; annotate its current version")
        if not 0.0 <= importance <= 1.0:
            raise InvalidInputError("importance must be between 0 and 1")
        await asyncio.to_thread(self._store.annotate, record_id, importance=importance, metadata=dict(metadata))
        await self.reconcile()
        return await self.get(record_id, scope=scope)

    async def update(self, record_id: str, *, scope: Scope, **changes: Any) -> Record:
        """Write a new version of a record; the old one is kept, superseded, in history. A message's new
        version keeps its time (and its place in the session's chain) unless `event_time` is changed."""
        old = await self.get(record_id, scope=scope)
        if old.deleted_at is not None:
            raise InvalidInputError(f"record {record_id} is forgotten, so it has no current version to update (its "
                                    "versions stay in history); add a new record instead")
        if not old.live:
            raise InvalidInputError(f"record {record_id} is superseded; update its current version (see history)")
        for key in ("id", "scope", "kind", "created_at", "version", "superseded_by", "deleted_at"):
            if key in changes:
                raise InvalidInputError(f"update cannot change {key!r}")
        now = utcnow()
        if old.kind is RecordKind.MESSAGE and "event_time" not in changes:
            changes["event_time"] = old.when  # a corrected message was still said when it was said
        data = old.model_dump() | changes | {
            "id": new_id(), "created_at": now, "version": old.version + 1,
            "valid_from": changes.get("valid_from", now), "valid_to": None, "superseded_by": None,
            "source_ids": changes.get("source_ids", old.source_ids),
        }
        try:
            new = Record(**data)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid update: {describe_validation_error(exc)}") from None
        return (await self.supersede([(old, new)]))[0]

    async def forget(self, record_id: str, *, scope: Scope) -> Record:
        """Delete explicitly: the record leaves every index; the log keeps it, marked forgotten."""
        record = await self.get(record_id, scope=scope)
        if record.deleted_at is not None:
            return record
        when = utcnow()
        await asyncio.to_thread(self._store.mark_deleted, record, when)
        await self.reconcile()
        return record.model_copy(update={"deleted_at": when})

    async def reconcile(self) -> int:
        """Bring the vector index in line with the log; returns how many records were re-indexed.

        On a PostgreSQL database with a local index (several servers, one memory), the index catches up with
        the changes every server made since its position in the log, embedding any record that has no stored
        vector; `open` also starts a task that catches up every 0.2 s (omne.index_upkeep) until `close`, which
        leaves a record without a vector to its writer for a grace period (omne.storage.log_follower). Either way,
        an index that disagrees with the log although nothing is pending (it lost points its records or position
        claim it holds) is rebuilt from the log."""
        return await self._upkeep.reconcile()

    async def optimize(self) -> bool:
        """Build the vector index's HNSW graph for data added since the last call, now. Rarely needed: the
        embedded index builds it by itself once `config.vectors.auto_optimize_after` points (25k) lack one,
        one bounded batch at a time, and a Qdrant server optimises on its own. Searches are correct without
        it, but scan unindexed points exhaustively. Returns True if anything was built.

        With the embedded index this blocks the whole process while it runs (the binding holds the GIL:
        about 45 s for 100k new records on 2 cores), so run it at a quiet moment, never per request;
        `omne memory import` runs it after a large import and `omne memory optimize` runs it on demand."""
        return await self._upkeep.optimize()

    # -- read path ------------------------------------------------------------------------
    async def similar(self, vector: np.ndarray, *, scope: Scope, kinds: Sequence[RecordKind | str] | None = None,
                      limit: int = 10) -> builtins.list[IndexHit]:
        """The live records of a scope nearest to an embedding (dense index only, best first, with cosine
        scores): for callers that hold a vector already, e.g. graph building."""
        require_scope(scope)
        if not 1 <= limit <= 1000:
            raise InvalidInputError("limit must be between 1 and 1000")
        flt = _record_filter("similar", kinds, None, None, None, None)
        found = await asyncio.to_thread(self._index.search, scope, flt, dense=vector, lexical=None, limit=limit)
        return found.get("dense", [])

    async def get(self, record_id: str, *, scope: Scope) -> Record:
        """One record by id, any version (superseded and forgotten ones too, marked so: `live`, `deleted_at`), if
        it belongs to the scope."""
        require_scope(scope)
        found = await asyncio.to_thread(self._store.get_many, [record_id], scope)
        if not found:
            raise NotFoundError(f"no record {record_id} in scope {scope}")
        return found[0]

    async def get_many(self, record_ids: Sequence[str], *, scope: Scope,
                       include_forgotten: bool = False) -> builtins.list[Record]:
        """Records by id, in the order asked: a live read, so missing, out-of-scope and forgotten ids are skipped
        (`include_forgotten=True` keeps forgotten ones; `history` and export always show them). A superseded
        version is still returned by its own id."""
        require_scope(scope)
        found = await asyncio.to_thread(self._store.get_many, list(record_ids), scope)
        return found if include_forgotten else [r for r in found if r.deleted_at is None]

    async def search(self, query: str, *, scope: Scope, top_k: int = 10, kinds: Sequence[RecordKind | str] | None = None,
                     tags: Sequence[str] | None = None, roles: Sequence[str] | None = None,
                     start: datetime | None = None, end: datetime | None = None,
                     config: RetrievalConfig | None = None) -> builtins.list[SearchHit]:
        """Hybrid search (dense + BM25, then the read path's stages; `config` defaults to the store's, see
        `open`) within a scope; each hit says which stages found or moved it."""
        require_scope(scope)
        require_query(query)
        if not 1 <= top_k <= 1000:
            raise InvalidInputError("top_k must be between 1 and 1000")
        flt = _record_filter("search", kinds, roles, tags, start, end)
        if flt.start and flt.end and flt.start > flt.end:
            raise InvalidInputError("search start is after end")
        ctx = SearchContext(query=query, scope=scope, flt=flt, config=config or self.retrieval, top_k=top_k)
        return await self._retriever.search(ctx)

    async def list(self, *, scope: Scope, kinds: Sequence[RecordKind | str] | None = None,
                   roles: Sequence[str] | None = None, tags: Sequence[str] | None = None,
                   start: datetime | None = None, end: datetime | None = None, text_contains: str | None = None,
                   limit: int | None = None, newest_first: bool = False, include_history: bool = False,
                   ) -> builtins.list[Record]:
        """Records of a scope in time order, filtered; no ranking."""
        require_scope(scope)
        _check_limit(limit)
        flt = _record_filter("list", kinds, roles, tags, start, end)
        return await asyncio.to_thread(self._store.list, scope, flt, live_only=not include_history, limit=limit,
                                       newest_first=newest_first, text_contains=text_contains)

    async def history(self, record_id: str, *, scope: Scope) -> builtins.list[Record]:
        """Every version of a record, oldest first (superseded and forgotten ones included)."""
        require_scope(scope)
        versions = await asyncio.to_thread(self._store.history, record_id, scope)
        if not versions:
            raise NotFoundError(f"no record {record_id} in scope {scope}")
        return versions

    async def edges(self, *, scope: Scope, record_ids: Sequence[str] | None = None) -> builtins.list[Edge]:
        """Typed edges of a scope, optionally only those touching `record_ids`."""
        require_scope(scope)
        return await asyncio.to_thread(self._store.edges, scope, record_ids=record_ids)

    async def stats(self, scope: Scope | None = None) -> dict[str, Any]:
        """Counts (of one scope when given): live records, vectors in the index, records by kind, records
        awaiting indexing; and the store's path."""
        if scope is not None:
            require_scope(scope)
        def _stats() -> dict[str, Any]:
            return {
                "records": self._store.count(scope),
                "records_with_history": self._store.count(scope, live_only=False),
                "vectors": self._index.count(scope),
                "by_kind": self._store.count_by_kind(scope),
                "pending_index": self._upkeep.pending(scope),
                "store": str(self.config.store_dir),
            }
        return await asyncio.to_thread(_stats)

    async def fact_schemas(self) -> dict[str, builtins.list[str]]:
        """The fact schemas this store validates `data` against (`schemas`): name -> the fields that identify a
        fact of that schema."""
        return {name: builtins.list(self.schemas.identity_fields(name)) for name in self.schemas.names()}

    # -- export / import ------------------------------------------------------------------
    async def export_lines(self, *, scope: Scope) -> AsyncIterator[str]:
        """Every record (all versions) and edge of a scope as JSON lines (each ending in a newline)."""
        async for record in self.iter_records(scope=scope):
            yield json.dumps({"type": "record", "record": record.model_dump(mode="json")}, ensure_ascii=False) + "\n"
        for edge in await self.edges(scope=scope):
            yield json.dumps({"type": "edge", "edge": edge.model_dump(mode="json")}, ensure_ascii=False) + "\n"

    async def export_jsonl(self, out: IO[str], *, scope: Scope) -> int:
        """Write every record (all versions) and edge of a scope as JSON lines; returns lines written."""
        return await write_lines(self.export_lines(scope=scope), out)

    async def import_jsonl(self, lines: Iterable[str], *, scope: Scope | None = None) -> int:
        """Load an export (records keep ids, versions and times). With `scope`, every line must fall in it."""
        if scope is not None:
            require_scope(scope)
        records: builtins.list[Record] = []
        edges: builtins.list[Edge] = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if item.get("type") == "record":
                    records.append(Record.model_validate(item["record"]))
                elif item.get("type") == "edge":
                    edges.append(Edge.model_validate(item["edge"]))
                else:
                    raise InvalidInputError(f"line {number}: unknown type {item.get('type')!r}")
            except (json.JSONDecodeError, KeyError, AttributeError, TypeError) as exc:
                raise InvalidInputError(f"line {number}: not an Omne export line ({exc})") from None
            except RecursionError:
                raise InvalidInputError(f"line {number}: JSON nests too deeply to be an Omne export line") from None
            except ValidationError as exc:
                raise InvalidInputError(f"line {number}: {describe_validation_error(exc)}") from None
            target = records[-1].scope if item["type"] == "record" else edges[-1].scope
            if scope is not None and not scope.contains(target):
                raise InvalidInputError(f"line {number}: scope {target} is outside the import scope {scope}")
            if item["type"] == "record":  # the limits of `add` hold for imports too, before anything is written
                check_content(records[-1], self.config.limits, f"line {number}")
        for start in range(0, len(records), self.config.limits.max_batch):
            chunk = records[start:start + self.config.limits.max_batch]
            await asyncio.to_thread(self._store.upsert_raw, chunk, edges if start == 0 else ())
            if self._upkeep.follows_log:  # embedded here at once, not left for a catch-up to find
                await self._upkeep.index_written(chunk)
        if not records and edges:
            await asyncio.to_thread(self._store.add_edges, edges)
        await self.reconcile()
        return len(records) + len(edges)

    async def iter_records(self, *, scope: Scope) -> AsyncIterator[Record]:
        """Every record of a scope (all versions) in log order."""
        require_scope(scope)
        iterator = self._store.iter_all(scope)
        while True:
            batch = await asyncio.to_thread(lambda: [r for _, r in zip(range(500), iterator)])
            if not batch:
                return
            for record in batch:
                yield record

    # -- agent context state, construction jobs, core blocks ------------------------------------
    async def context_state(self, context_id: str, *, scope: Scope) -> dict[str, Any] | None:
        """The saved state of an agent context (omne.agents.state) in exactly this scope, or None."""
        require_scope(scope)
        text = await asyncio.to_thread(self._store.context_state, scope, context_id)
        return None if text is None else json.loads(text)

    async def save_context_state(self, context_id: str, state: dict[str, Any], *, scope: Scope) -> None:
        """Replace the saved state of an agent context (one transaction)."""
        require_scope(scope)
        await asyncio.to_thread(self._store.save_context_state, scope, context_id,
                                json.dumps(state, ensure_ascii=False), utcnow())

    async def jobs(self, *, scope: Scope | None = None, statuses: Sequence[JobStatus | str] | None = None,
                   limit: int | None = None) -> builtins.list[Job]:
        """Construction jobs (all, or a scope's), oldest first; see omne.construction."""
        if scope is not None:
            require_scope(scope)
        try:
            wanted = [JobStatus(s) for s in statuses or []] or None
        except ValueError:
            raise InvalidInputError(f"job status must be one of {', '.join(s.value for s in JobStatus)}") from None
        _check_limit(limit)
        return await asyncio.to_thread(self._storage.jobs.list, scope=scope, statuses=wanted, limit=limit)

    async def job_counts(self, *, scope: Scope | None = None) -> dict[str, int]:
        """How many construction jobs are pending, running, done and failed (all, or a scope's)."""
        if scope is not None:
            require_scope(scope)
        return await asyncio.to_thread(self._storage.jobs.counts, scope=scope)

    async def retry_failed_jobs(self, *, scope: Scope | None = None) -> int:
        """Put failed construction jobs back to pending; returns how many."""
        if scope is not None:
            require_scope(scope)
        return await asyncio.to_thread(self._storage.jobs.retry_failed, now=utcnow(), scope=scope)

    async def blocks(self, *, scope: Scope) -> builtins.list[Block]:
        """The core memory blocks stored in exactly this scope (latest versions, by label)."""
        from omne.agents.blocks import Block, find_block

        require_scope(scope)
        labels = sorted({r.name for r in await self.list(scope=scope, kinds=[RecordKind.BLOCK])
                         if r.scope == scope and r.name})
        found = [await find_block(self, scope, label) for label in labels]
        return [Block.from_record(r) for r in found if r is not None]

    async def block(self, label: str, *, scope: Scope) -> Block:
        """The latest version of the block `label` in exactly this scope."""
        from omne.agents.blocks import Block, find_block

        require_scope(scope)
        record = await find_block(self, scope, label)
        if record is None:
            raise NotFoundError(f"no memory block {label!r} in scope {scope}")
        return Block.from_record(record)

    async def edit_block(self, label: str, value: str, *, scope: Scope, editor: str = "developer") -> Block:
        """Replace a block's value as the developer (read-only blocks too; the block's limit holds): a new
        version, the old one kept in the block's history."""
        from omne.agents.blocks import CoreMemory

        await self.block(label, scope=scope)
        memory = CoreMemory(self, private_scope=scope, team_scope=None, editor=editor)
        memory.track(label, scope)
        return await memory.set(label, value, as_agent=False)

    async def block_history(self, label: str, *, scope: Scope) -> builtins.list[Block]:
        """Every version of a block, oldest first: its edit history."""
        from omne.agents.blocks import Block

        block = await self.block(label, scope=scope)
        return [Block.from_record(r) for r in await self.history(block.id, scope=scope)]
