"""Qdrant Edge as the embedded vector index: dense MiniLM vectors + BM25 sparse vectors in-process."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as q

from omne.config import DEFAULT_AUTO_OPTIMIZE_AFTER
from omne.errors import StorageError, StoreLockedError
from omne.storage.index_payload import (CONTEXT, DENSE, LEXICAL, SCOPE_KEYS, LexicalEncoder, index_payload,
                                        index_text)
from omne.storage.protocols import IndexHit, IndexItem, RecordFilter, StoredVector
from omne.storage.filter_coverage import FilterCoverage
from omne.storage.shard_statistics import FilterKey, ShardStatistics, filter_key
from omne.storage.space import DEFAULT_MIN_FREE_BYTES, require_free_space
from omne.types import Scope

log = logging.getLogger("omne")


def edge_filter(scope: Scope, flt: RecordFilter | None) -> q.Filter:
    """The scope partition (always) plus the optional record filter, as a Qdrant Edge filter."""
    must: list[q.ConditionType] = [q.FieldCondition(f"s_{key}", match=q.MatchValue(value)) for key, value in scope.fields().items()]
    if flt is not None:
        if flt.kinds:
            must.append(q.FieldCondition("kind", match=q.MatchAny([k.value for k in flt.kinds])))
        if flt.roles:
            must.append(q.FieldCondition("role", match=q.MatchAny(list(flt.roles))))
        if flt.tags:
            must.append(q.FieldCondition("tags", match=q.MatchAny(list(flt.tags))))
        if flt.start or flt.end:
            must.append(q.FieldCondition("t", range=q.RangeFloat(
                gte=flt.start.timestamp() if flt.start else None, lte=flt.end.timestamp() if flt.end else None)))
    return q.Filter(must=must)


SEGMENTS_BEFORE_MERGING = 48  # indexed segments the optimiser keeps side by side before it merges any

# int8 copies of the dense vectors for the HNSW graphs' distance computations: graph builds and searches both about
# twice as fast; each search rescores its candidates with the float32 vectors (`RESCORED`), which keeps its
# top 100 as close to an exact search as without quantisation (benchmarks/RESULTS-core.md). Set on the indexes this
# version creates; an index made before keeps its settings (switching would rebuild every graph at its next build).
# Memory.Cached loads the int8 vectors at open (about 1 s more per 100k points than Memory.Cold); a reopened
# million-point store then searched at p50 33 ms against 44 ms with Cold (benchmarks/RESULTS-core.md).
QUANTISATION = q.ScalarQuantizationConfig(type=q.ScalarType.Int8, quantile=0.99, memory=q.Memory.Cached)
RESCORED = q.SearchParams(quantization=q.QuantizationSearchParams(rescore=True))


def segment_policy(dim: int, build_every: int | None) -> q.EdgeOptimizersConfig | None:
    """Optimiser settings that keep every HNSW build small: a segment holds at most about two batches of
    `build_every` points, and up to SEGMENTS_BEFORE_MERGING segments live side by side before the optimiser
    merges the smallest (Qdrant's defaults merge everything into one or two segments, so each build
    would redo the whole store: minutes at a million points, with the process blocked)."""
    if build_every is None:
        return None
    point_kb = dim * 4 / 1024 + 0.5  # the dense vector, and room for its sparse terms and payload
    return q.EdgeOptimizersConfig(max_segment_size=int(2 * build_every * point_kb) + 1,
                                  default_segment_number=SEGMENTS_BEFORE_MERGING,
                                  # Qdrant's default (10 MB); lower only when a batch is smaller than that
                                  indexing_threshold=min(10_000, int(build_every * point_kb / 2) + 1))


def _edge_config(dim: int, build_every: int | None, *,
                 quantisation: q.ScalarQuantizationConfig | None = None) -> q.EdgeConfig:
    """The shard's vectors (dense, contextual, BM25) and segment policy; `quantisation` None keeps a loaded
    shard's own setting."""
    params = q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine)
    return q.EdgeConfig(vectors={DENSE: params, CONTEXT: params},
                        sparse_vectors={LEXICAL: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
                        optimizers=segment_policy(dim, build_every), quantization_config=quantisation)


def _filtered(request: q.QueryRequest, condition: q.Filter) -> q.QueryRequest:
    return q.QueryRequest(limit=request.limit, query=request.query, filter=condition, params=request.params,
                          with_payload=False, with_vector=False)


def _hits(points: Sequence[q.ScoredPoint]) -> list[IndexHit]:
    return [IndexHit(id=str(p.id), score=p.score, rank=i + 1) for i, p in enumerate(points)]


class EdgeVectorIndex:
    """One Qdrant Edge shard under `<store>/vectors`. One process may hold it at a time.

    The index reaches its fast state by itself: once `auto_optimize_after` points are not yet in an HNSW
    graph (searched exhaustively, which is fine for tens of thousands but not for a million), the write that
    crosses it builds their graph (`auto_optimizations` counts these). The Qdrant Edge binding holds the
    GIL while it optimises, so a build blocks the process, not only the writer; `segment_policy` bounds each
    build to one batch of new points instead of the whole store: the longest write that built one took 5.2 s in
    a million-point ingest on 2 quiet cores (int8-quantised shard; 11.7 s before quantisation).
    """

    def __init__(self, path: Path, dim: int, *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
                 auto_optimize_after: int | None = DEFAULT_AUTO_OPTIMIZE_AFTER) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self.auto_optimize_after = auto_optimize_after
        self.auto_optimizations = 0
        self._lexical = LexicalEncoder()
        self._lock = threading.Lock()
        self._dim = dim
        self._config = _edge_config(dim, auto_optimize_after)
        self._statistics = ShardStatistics()  # may BM25 under a filter read the shard's own term statistics?
        self._coverage = FilterCoverage()  # may a search leave its filter out (it matches every point)?
        try:
            if (path / "segments").exists() or (path / "wal").exists():
                try:  # the segment policy (auto_optimize_after) applies to older stores too
                    self._shard = q.EdgeShard.load(str(path), self._config)
                except Exception as exc:  # the binding raises plain Exception
                    if "incompatible" not in str(exc).lower():
                        raise
                    self._upgrade(dim)
            else:
                self._create()
        except StorageError:
            raise
        except Exception as exc:  # the binding raises plain Exception
            if "WouldBlock" in str(exc):
                raise StoreLockedError(
                    f"the vector index at {path} is open in another process. An embedded store has one owner "
                    "process: stop the other one, make it the owner with `omne serve` and connect the others to it "
                    "(MemoryCore.connect(url), --server URL), or point every process at a Qdrant server "
                    "(OMNE_QDRANT_URL)."
                ) from exc
            raise StorageError(f"cannot open the vector index at {path}: {exc}") from exc
        # the first write checks (not the open: a process that only reads never counts): a store left
        # unoptimised builds its graph then
        self._unchecked = auto_optimize_after or 0

    def unindexed(self) -> int:
        """Points whose dense vectors are not yet in an HNSW graph (searched exhaustively). The shard counts
        sparse (BM25) vectors as indexed from the start, so points with lexical terms are subtracted; every point
        has both dense vectors (DENSE and CONTEXT), which a build indexes together."""
        info = self._shard.info()
        lexical = self._shard.count(q.CountRequest(filter=q.Filter(must=[q.HasVectorCondition(LEXICAL)])))
        dense_names = len(self._config.vectors)
        return max(0, info.points_count - (info.indexed_vectors_count - lexical) // dense_names)

    def _upgrade(self, dim: int) -> None:
        """Open a shard whose vectors differ from this version's. One made before contextual vectors gets the
        `context` vector added in place (its points get theirs from MemoryCore.reconcile, which keeps their
        dense vectors and embeds only the contextual texts); anything else is derived, so it is rebuilt from
        the log (MemoryCore.reconcile re-indexes every record when the counts differ)."""
        try:
            old = q.EdgeShard.load(str(self.path))
            try:
                old.update(q.UpdateOperation.create_dense_vector(CONTEXT, dim, q.Distance.Cosine))
            finally:
                old.close()
            self._shard = q.EdgeShard.load(str(self.path), self._config)
            log.warning("the vector index at %s has no contextual vectors: adding them (its dense vectors are "
                        "kept; only each message's contextual text is embedded)", self.path)
        except Exception as exc:  # the binding raises plain Exception
            if "WouldBlock" in str(exc):
                raise  # another process holds it: never remove an index in use (the caller names the fix)
            log.warning("the vector index at %s does not fit this version of Omne (%s); rebuilding it from the "
                        "record log", self.path, exc)
            shutil.rmtree(self.path)
            self._create()

    def _create(self) -> None:
        require_free_space(self.path, self.min_free_bytes)
        # only here: a load passes no quantisation setting, so the shard's own one is kept
        self._shard = q.EdgeShard.create(str(self.path), _edge_config(self._dim, self.auto_optimize_after,
                                                                      quantisation=QUANTISATION))
        for key in SCOPE_KEYS:
            self._shard.update(q.UpdateOperation.create_field_index(
                key, q.KeywordIndexParams(is_tenant=key == "s_user")))
        for key in ("kind", "role", "tags"):
            self._shard.update(q.UpdateOperation.create_field_index(key, q.PayloadSchemaType.Keyword))
        self._shard.update(q.UpdateOperation.create_field_index("t", q.PayloadSchemaType.Float))

    def upsert(self, items: Sequence[IndexItem]) -> None:
        if not items:
            return
        points, payloads = [], []
        for item in items:
            indices, values = self._lexical.document(index_text(item.record))
            context = item.vector if item.context is None else item.context
            vectors: dict[str, q.NamedVector] = {DENSE: item.vector.astype(np.float32).tolist(),
                                                 CONTEXT: context.astype(np.float32).tolist()}
            if indices:
                vectors[LEXICAL] = q.SparseVector(indices, values)
            payloads.append(index_payload(item.record))
            points.append(q.Point(item.record.id, vectors, payloads[-1]))
        # a full disk would crash the process (SIGBUS in the index's memory-mapped files): refuse first
        require_free_space(self.path, self.min_free_bytes, refused="the records are committed to the log but not "
                           "yet searchable")
        with self._lock:
            # an overwritten point stays in the shard's own term statistics; the point count shows one (looking the
            # ids up first costs 9 ms a batch at a million points)
            before = self._shard.info().points_count if self._statistics.any_yes() else None
            with self._statistics.writing(payloads), self._coverage.writing(payloads):
                self._shard.update(q.UpdateOperation.upsert_points(points))
                if before is not None and self._shard.info().points_count - before < len(points):
                    self._statistics.overwritten()
            self._unchecked += len(points)
            self._maybe_optimize()

    def _maybe_optimize(self) -> None:
        """After writes (lock held): build the HNSW graph once `auto_optimize_after` points lack one.
        `_unchecked` bounds the unindexed points from above (the count at the last check plus the writes
        since), so most writes decide without asking the shard; after a build the count starts from zero,
        so points the optimiser leaves alone are not retried on every write."""
        if self.auto_optimize_after is None or self._unchecked < self.auto_optimize_after:
            return
        self._unchecked = self.unindexed()  # at least that many: an upper bound again from here
        if self._unchecked >= self.auto_optimize_after:
            self.auto_optimizations += 1
            self._shard.optimize()
            self._unchecked = 0

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            require_free_space(self.path, self.min_free_bytes, refused="the change is committed to the log but the "
                               "index still lists the records")
            with self._lock, self._statistics.writing(None), self._coverage.writing(None):
                self._shard.update(q.UpdateOperation.delete_points(list(ids)))

    def search(self, scope: Scope, flt: RecordFilter | None, *, dense: np.ndarray | None,
               lexical: str | None, limit: int, context: bool = False) -> dict[str, list[IndexHit]]:
        condition = edge_filter(scope, flt)
        key = filter_key(scope, flt)
        coverage = self._coverage.token()
        # where the filter matches every point, the requests leave it out (same hits, no per-point check)
        unfiltered = self._covers(key, condition, coverage)
        target = None if unfiltered else condition  # the filter the requests carry
        stages: list[str] = []
        requests: list[q.QueryRequest] = []
        if dense is not None:
            vector = dense.astype(np.float32).tolist()
            for stage, using in (("dense", DENSE), ("context", CONTEXT))[:2 if context else 1]:
                stages.append(stage)
                requests.append(q.QueryRequest(limit=limit, query=q.Query.Nearest(vector, using=using),
                                               filter=target, params=RESCORED, with_payload=False,
                                               with_vector=False))
        probe = False
        if lexical:
            indices, values = self._lexical.query(lexical)
            if indices:
                # BM25 weighs terms by the scope's (and filter's) own statistics: counted under the filter, or the
                # shard's own where those are known to be the same numbers (omne.storage.shard_statistics)
                known = self._statistics.known(key)
                terms = q.Query.Nearest(q.SparseVector(indices, values), using=LEXICAL)
                stages.append("lexical")
                requests.append(q.QueryRequest(
                    limit=limit, query=terms, filter=target,  # the corpus below is always the filter's
                    params=None if known else q.SearchParams(idf=q.IdfParams(corpus=condition)),
                    with_payload=False, with_vector=False))
                if known is None and key is not None:  # not yet judged: ask the shard's statistics too
                    probe = True
                    requests.append(q.QueryRequest(limit=limit, query=terms, filter=target, with_payload=False,
                                                   with_vector=False))
        if not requests:
            return {}
        token = self._statistics.token()
        results = self._shard.query_batch(q.QueryBatchRequest(requests))
        if unfiltered and not self._coverage.unchanged(coverage):  # a write ran meanwhile (another scope's point?)
            results = self._shard.query_batch(q.QueryBatchRequest([_filtered(r, condition) for r in requests]))
        found = {stage: _hits(points) for stage, points in zip(stages, results)}
        if probe and key is not None:
            self._statistics.learn(key, token, found["lexical"], _hits(results[-1]))
        return found

    def _covers(self, key: FilterKey | None, condition: q.Filter, token: int) -> bool:
        """Whether the filter matches every live point, learned once per filter (and again after writes that
        could change it) from exact counts: about 0.1 s at a million points, on the first search only; a
        filter the shard's estimate already shows to miss points costs no count."""
        if not self._coverage.unchanged(token):  # a write is running: filter
            return False
        covers = self._coverage.covers(key)
        if covers is not None or key is None:
            return bool(covers)
        total = self._shard.info().points_count
        estimate = self._shard.count(q.CountRequest(filter=condition, exact=False)) if total else 0
        covers = estimate == total > 0 and self._shard.count(q.CountRequest(filter=condition, exact=True)) == total
        self._coverage.learn(key, token, covers)
        return covers and self._coverage.unchanged(token)

    def count(self, scope: Scope | None = None) -> int:
        return self._shard.count(q.CountRequest(filter=edge_filter(scope, None) if scope is not None else None))

    def missing_context(self, limit: int) -> list[StoredVector]:
        points, _ = self._shard.scroll(q.ScrollRequest(
            limit=limit, filter=q.Filter(must_not=[q.HasVectorCondition(CONTEXT)]), with_payload=list(SCOPE_KEYS),
            with_vector=[DENSE]))
        found = []
        for point in points:
            payload, vectors = point.payload or {}, point.vector
            assert isinstance(vectors, dict)  # named vectors were asked for
            found.append(StoredVector(id=str(point.id), vector=np.asarray(vectors[DENSE], dtype=np.float32),
                                      scope=Scope(**{k[2:]: v for k, v in payload.items() if k in SCOPE_KEYS})))
        return found

    def set_context(self, vectors: Mapping[str, np.ndarray]) -> None:
        if vectors:
            require_free_space(self.path, self.min_free_bytes)
            with self._lock, self._statistics.writing([]), self._coverage.writing([]):
                self._statistics.overwritten()  # vectors replaced in place
                self._shard.update(q.UpdateOperation.update_vectors(
                    [q.PointVectors(i, {CONTEXT: v.astype(np.float32).tolist()}) for i, v in vectors.items()]))

    def flush(self) -> None:
        with self._lock:
            self._shard.flush()

    def optimize(self) -> bool:
        """Build the HNSW graph over segments grown since the last call (Qdrant Edge has no background
        optimiser); blocks until done. Searches stay correct without it, just slower on large scopes."""
        with self._lock:
            return self._shard.optimize()

    def close(self) -> None:
        with self._lock:
            self._shard.close()
