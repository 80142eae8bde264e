"""A Qdrant server (or cluster) as the vector index, for scale-out: same points, payloads and filters."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
from qdrant_client import QdrantClient, models

from omne.config import VectorConfig
from omne.errors import BackendUnavailableError
from omne.storage.index_payload import (CONTEXT, DENSE, LEXICAL, SCOPE_KEYS, LexicalEncoder, index_payload,
                                        index_text)
from omne.storage.protocols import IndexHit, IndexItem, RecordFilter, StoredVector
from omne.types import Scope

log = logging.getLogger("omne")


class ServerVectorIndex:
    """`qdrant-client` against `config.url`; several processes may share it."""

    def __init__(self, config: VectorConfig, dim: int) -> None:
        if not config.url:
            raise BackendUnavailableError("vectors.backend is 'server' but no url is set: set vectors.url "
                                          "or OMNE_QDRANT_URL, e.g. http://localhost:6333")
        self._collection = config.collection
        self._lexical = LexicalEncoder()
        self._client = QdrantClient(url=config.url, api_key=config.api_key, timeout=int(config.timeout_s),
                                    check_compatibility=False)  # reachability is checked below, with a clear error
        try:
            exists = self._client.collection_exists(self._collection)
        except Exception as exc:  # connection refused, DNS, TLS, auth
            raise BackendUnavailableError(
                f"cannot reach the Qdrant server at {config.url} ({type(exc).__name__}: {exc}). Start the server, "
                "fix OMNE_QDRANT_URL, or use the embedded default (vectors.backend: edge)."
            ) from exc
        self._context = True
        if exists:
            vectors = self._client.get_collection(self._collection).config.params.vectors
            self._context = isinstance(vectors, dict) and CONTEXT in vectors
            if not self._context:
                log.warning("Qdrant collection %r has no %r vectors (made by an older Omne): searches skip the "
                            "contextual source; re-create the collection to get it back", self._collection, CONTEXT)
        else:
            params = models.VectorParams(size=dim, distance=models.Distance.COSINE)
            self._client.create_collection(
                self._collection,
                vectors_config={DENSE: params, CONTEXT: params},
                sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
            for key in SCOPE_KEYS:
                self._client.create_payload_index(self._collection, key, models.KeywordIndexParams(
                    type=models.KeywordIndexType.KEYWORD, is_tenant=key == "s_user"))
            for key in ("kind", "role", "tags"):
                self._client.create_payload_index(self._collection, key, models.PayloadSchemaType.KEYWORD)
            self._client.create_payload_index(self._collection, "t", models.PayloadSchemaType.FLOAT)

    def _filter(self, scope: Scope, flt: RecordFilter | None) -> models.Filter:
        must: list[models.Condition] = [models.FieldCondition(key=f"s_{k}", match=models.MatchValue(value=v))
                                        for k, v in scope.fields().items()]
        if flt is not None:
            if flt.kinds:
                must.append(models.FieldCondition(key="kind", match=models.MatchAny(any=[k.value for k in flt.kinds])))
            if flt.roles:
                must.append(models.FieldCondition(key="role", match=models.MatchAny(any=list(flt.roles))))
            if flt.tags:
                must.append(models.FieldCondition(key="tags", match=models.MatchAny(any=list(flt.tags))))
            if flt.start or flt.end:
                must.append(models.FieldCondition(key="t", range=models.Range(
                    gte=flt.start.timestamp() if flt.start else None, lte=flt.end.timestamp() if flt.end else None)))
        return models.Filter(must=must)

    def upsert(self, items: Sequence[IndexItem]) -> None:
        points = []
        for item in items:
            indices, values = self._lexical.document(index_text(item.record))
            vector: dict[str, list[float] | models.SparseVector] = {DENSE: item.vector.astype(np.float32).tolist()}
            if self._context:
                context = item.vector if item.context is None else item.context
                vector[CONTEXT] = context.astype(np.float32).tolist()
            if indices:
                vector[LEXICAL] = models.SparseVector(indices=indices, values=values)
            points.append(models.PointStruct(id=item.record.id, vector=vector, payload=index_payload(item.record)))
        if points:
            self._client.upsert(self._collection, points=points, wait=True)

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._client.delete(self._collection, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def search(self, scope: Scope, flt: RecordFilter | None, *, dense: np.ndarray | None,
               lexical: str | None, limit: int, context: bool = False) -> dict[str, list[IndexHit]]:
        condition = self._filter(scope, flt)
        stages: list[str] = []
        requests = []
        if dense is not None:
            vector = dense.astype(np.float32).tolist()
            for stage, using in (("dense", DENSE), ("context", CONTEXT))[:2 if context and self._context else 1]:
                stages.append(stage)
                requests.append(models.QueryRequest(query=vector, using=using, filter=condition, limit=limit))
        if lexical:
            indices, values = self._lexical.query(lexical)
            if indices:
                stages.append("lexical")
                requests.append(models.QueryRequest(query=models.SparseVector(indices=indices, values=values),
                                               using=LEXICAL, filter=condition, limit=limit))
        if not requests:
            return {}
        responses = self._client.query_batch_points(self._collection, requests=requests)
        return {stage: [IndexHit(id=str(p.id), score=p.score, rank=i + 1) for i, p in enumerate(resp.points)]
                for stage, resp in zip(stages, responses)}

    def count(self, scope: Scope | None = None) -> int:
        flt = self._filter(scope, None) if scope is not None else None
        return self._client.count(self._collection, count_filter=flt, exact=True).count

    def missing_context(self, limit: int) -> list[StoredVector]:
        """None: every point of a collection with contextual vectors has one, and a collection without them cannot
        get them (re-create it)."""
        return []

    def set_context(self, vectors: Mapping[str, np.ndarray]) -> None:
        if vectors and self._context:
            self._client.update_vectors(self._collection, points=[
                models.PointVectors(id=i, vector={CONTEXT: v.astype(np.float32).tolist()}) for i, v in vectors.items()],
                wait=True)

    def flush(self) -> None:
        """The server persists on its own."""

    def optimize(self) -> bool:
        """The server optimises in the background."""
        return False

    def close(self) -> None:
        self._client.close()
