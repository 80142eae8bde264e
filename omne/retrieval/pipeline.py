"""The read path: dense and lexical candidates -> fusion -> optional stages -> records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from omne.embedding import Embedder
from omne.retrieval.facts import FactsCache, RecordFacts
from omne.retrieval.fusion import reciprocal_rank_fusion, score_fusion
from omne.retrieval.models import Candidate, RetrievalConfig, SearchHit
from omne.storage.protocols import RecordFilter, RecordStore, VectorIndex
from omne.types import Record, Scope


@dataclass
class SearchContext:
    """State handed from stage to stage for one query."""

    query: str
    scope: Scope
    flt: RecordFilter | None
    config: RetrievalConfig
    top_k: int
    query_vector: np.ndarray | None = None
    candidates: list[Candidate] = field(default_factory=list)
    records: dict[str, Record] = field(default_factory=dict)  # fresh records, loaded lazily
    memo: dict[str, Any] = field(default_factory=dict)  # per-query values stages share (the graph view)


class SearchStage(Protocol):
    """A stage after fusion: expands or re-ranks `ctx.candidates` in place. Must respect `ctx.scope`."""

    name: str

    async def apply(self, ctx: SearchContext, retriever: Retriever) -> None: ...


class Retriever:
    """Runs the read path over a record store and a vector index."""

    def __init__(self, store: RecordStore, index: VectorIndex, embedder: Embedder,
                 stages: list[SearchStage] | None = None) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.stages: list[SearchStage] = list(stages or [])
        self.facts_cache = FactsCache()

    async def embed_query(self, text: str) -> np.ndarray:
        """The query's vector: the embedder's latency-first `embed_query` when it has one."""
        fast = getattr(self.embedder, "embed_query", None)
        if fast is not None:
            return await asyncio.to_thread(fast, text)
        return (await asyncio.to_thread(self.embedder.embed, [text]))[0]

    async def candidates(self, ctx: SearchContext) -> None:
        """First stage: dense and/or lexical candidates, fused (reciprocal rank or normalised scores)."""
        mode = ctx.config.mode
        dense, lexical = mode in ("hybrid", "dense"), mode in ("hybrid", "lexical")
        if dense and ctx.query_vector is None:
            ctx.query_vector = await self.embed_query(ctx.query)
        rankings = await asyncio.to_thread(
            self.index.search, ctx.scope, ctx.flt, dense=ctx.query_vector if dense else None,
            lexical=ctx.query if lexical else None, limit=max(ctx.config.candidate_k, ctx.top_k))
        weights = {"dense": ctx.config.dense_weight, "lexical": ctx.config.lexical_weight}
        if ctx.config.fusion == "score":
            ctx.candidates = score_fusion(rankings, weights=weights)
        else:
            ctx.candidates = reciprocal_rank_fusion(rankings, k=ctx.config.rrf_k, weights=weights)

    async def load(self, ctx: SearchContext, ids: list[str]) -> dict[str, Record]:
        """Fetch (and cache on the context) live records of the query's scope, fresh from the store."""
        missing = [i for i in ids if i not in ctx.records]
        if missing:
            found = await asyncio.to_thread(self.store.get_many, missing, ctx.scope)
            self.facts_cache.put([RecordFacts.of(r) for r in found])
            ctx.records.update((r.id, r) for r in found if r.live)
        return {i: ctx.records[i] for i in ids if i in ctx.records}

    async def facts(self, ctx: SearchContext, ids: list[str]) -> dict[str, RecordFacts]:
        """The immutable fields of records of the query's scope (cached across queries; may include
        records forgotten since, which the final load drops)."""
        # id(interned scope) -> (that scope, visible?); holding the scope keeps its id from being reused
        visible: dict[int, tuple[Scope, bool]] = ctx.memo.setdefault("visible_scopes", {})
        found: dict[str, RecordFacts] = {}
        for i, f in self.facts_cache.get(ids).items():
            seen = visible.get(id(f.scope))
            if seen is None or seen[0] is not f.scope:
                seen = visible[id(f.scope)] = (f.scope, ctx.scope.contains(f.scope))
            if seen[1]:
                found[i] = f
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            facts = await asyncio.to_thread(self.store.live_facts, missing, ctx.scope)
            found.update((f.id, f) for f in self.facts_cache.put(facts))  # in scope: asked by scope
        return found

    async def search(self, ctx: SearchContext) -> list[SearchHit]:
        # Sequential on purpose: overlapping the lexical search or graph loading with the query embedding
        # measured slower on two cores (threads contend for the interpreter), see RESULTS-locomo.md.
        await self.candidates(ctx)
        for stage in self.stages:
            await stage.apply(ctx, self)
        hits: list[SearchHit] = []
        start, chunk = 0, ctx.top_k + 5
        while len(hits) < ctx.top_k and start < len(ctx.candidates):
            pool = ctx.candidates[start:start + chunk]
            records = await self.load(ctx, [c.id for c in pool])
            for cand in pool:
                record = records.get(cand.id)
                if record is None:  # index lagging the log: a forgotten or superseded record
                    continue
                hits.append(SearchHit(record=record, score=cand.score, rank=len(hits) + 1, stages=cand.stages))
                if len(hits) == ctx.top_k:
                    break
            start, chunk = start + len(pool), max(chunk, 2 * (ctx.top_k - len(hits)))
        return hits
