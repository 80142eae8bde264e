"""The read path: dense and lexical candidates -> fusion -> the stages the config switches on -> records."""

from __future__ import annotations

import asyncio

import numpy as np

from omne.embedding import Embedder
from omne.retrieval.context import SearchContext, SearchStage, StageTools
from omne.retrieval.fusion import reciprocal_rank_fusion, score_fusion
from omne.retrieval.models import SearchHit
from omne.retrieval.stages import build_stages
from omne.storage.protocols import RecordStore, VectorIndex

__all__ = ["Retriever", "SearchContext", "SearchStage", "StageTools"]


class Retriever:
    """Runs the read path over a record store and a vector index; each search builds its stages from its
    RetrievalConfig (`ctx.config`)."""

    def __init__(self, store: RecordStore, index: VectorIndex, embedder: Embedder) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.tools = StageTools(store, index)  # caches (record facts, graph views) live across queries

    async def embed_query(self, text: str) -> np.ndarray:
        """The query's vector: the embedder's latency-first `embed_query` when it has one."""
        fast = getattr(self.embedder, "embed_query", None)
        if fast is not None:
            return await asyncio.to_thread(fast, text)
        vector: np.ndarray = (await asyncio.to_thread(self.embedder.embed, [text]))[0]  # numpy: an Any row
        return vector

    async def candidates(self, ctx: SearchContext) -> None:
        """First stage: dense, lexical and contextual candidates, fused (reciprocal rank or normalised scores)."""
        cfg = ctx.config
        if cfg.dense is not None and ctx.query_vector is None:
            ctx.query_vector = await self.embed_query(ctx.query)
        rankings = await asyncio.to_thread(
            self.index.search, ctx.scope, ctx.flt, dense=ctx.query_vector if cfg.dense is not None else None,
            lexical=ctx.query if cfg.lexical is not None else None, limit=max(cfg.fusion.candidate_k, ctx.top_k),
            context=cfg.context is not None)
        weights = cfg.first_stages()
        if cfg.fusion.method == "score":
            ctx.candidates = score_fusion(rankings, weights=weights, depth=cfg.fusion.candidate_k)
        else:
            ctx.candidates = reciprocal_rank_fusion(rankings, k=cfg.fusion.rrf_k, weights=weights)

    async def search(self, ctx: SearchContext) -> list[SearchHit]:
        # Sequential on purpose: overlapping the lexical search or graph loading with the query embedding
        # measured slower on two cores (threads contend for the interpreter), see RESULTS-locomo.md.
        await self.candidates(ctx)
        for stage in build_stages(ctx.config):
            await stage.apply(ctx, self.tools)
        hits: list[SearchHit] = []
        start, chunk = 0, ctx.top_k + 5
        while len(hits) < ctx.top_k and start < len(ctx.candidates):
            pool = ctx.candidates[start:start + chunk]
            records = await self.tools.load(ctx, [c.id for c in pool])
            for cand in pool:
                record = records.get(cand.id)
                if record is None:  # index lagging the log: a forgotten or superseded record
                    continue
                hits.append(SearchHit(record=record, score=cand.score, rank=len(hits) + 1, stages=cand.stages,
                                          features=cand.features))
                if len(hits) == ctx.top_k:
                    break
            start, chunk = start + len(pool), max(chunk, 2 * (ctx.top_k - len(hits)))
        return hits
