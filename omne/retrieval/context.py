"""What a read-path stage sees: the query's state (`SearchContext`) and a narrow set of tools (`StageTools`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from omne.retrieval.facts import FactsCache, RecordFacts
from omne.retrieval.models import Candidate, RetrievalConfig
from omne.storage.protocols import IndexHit, RecordFilter, RecordStore, VectorIndex
from omne.types import EdgeKind, Record, Scope

if TYPE_CHECKING:  # the graph package (networkx, scipy) loads on the first graph stage, not at import
    from omne.graph.view import GraphCache, GraphView


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
    memo: dict[str, Any] = field(default_factory=dict)  # per-query values the tools share (the graph view)


class StageTools:
    """The store access a stage may use, all confined to the query's scope: record facts (cached across
    queries), fresh records, links, the scope's graph view, and dense search over other record kinds."""

    def __init__(self, store: RecordStore, index: VectorIndex, graph_cache: GraphCache | None = None) -> None:
        self._store = store
        self._index = index
        self._graph_cache = graph_cache
        self.facts_cache = FactsCache()

    async def load(self, ctx: SearchContext, ids: list[str]) -> dict[str, Record]:
        """Fetch (and cache on the context) live records of the query's scope, fresh from the store."""
        missing = [i for i in ids if i not in ctx.records]
        if missing:
            found = await asyncio.to_thread(self._store.get_many, missing, ctx.scope)
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
            facts = await asyncio.to_thread(self._store.live_facts, missing, ctx.scope)
            found.update((f.id, f) for f in self.facts_cache.put(facts))  # in scope: asked by scope
        return found

    async def links(self, ctx: SearchContext, kind: EdgeKind, ids: list[str]) -> list[tuple[str, str]]:
        """(source, target) of the `kind` edges touching `ids` in the query's scope, in write order."""
        return await asyncio.to_thread(self._store.links, ctx.scope, kind, ids)

    async def chain(self, ctx: SearchContext, ids: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        """(previous_of, next_of): the messages before and after `ids` in their scope's chain (NEXT edges)."""
        previous_of: dict[str, str] = {}
        next_of: dict[str, str] = {}
        for src, dst in await self.links(ctx, EdgeKind.NEXT, ids):  # in write order: of two links, the newest wins
            next_of[src] = dst
            previous_of[dst] = src
        return previous_of, next_of

    async def graph(self, ctx: SearchContext) -> GraphView:
        """The scope's graph view, fetched once per query (stages share it)."""
        if "graph_view" not in ctx.memo:
            if self._graph_cache is None:
                from omne.graph.view import GraphCache

                self._graph_cache = GraphCache()
            ctx.memo["graph_view"] = await asyncio.to_thread(self._graph_cache.get, self._store, ctx.scope)
        view: GraphView = ctx.memo["graph_view"]
        return view

    async def dense_search(self, ctx: SearchContext, flt: RecordFilter, limit: int) -> list[IndexHit]:
        """Nearest records to the query's vector in its scope, under `flt` (e.g. entity nodes)."""
        if ctx.query_vector is None:
            return []
        found = await asyncio.to_thread(self._index.search, ctx.scope, flt, dense=ctx.query_vector, lexical=None,
                                        limit=limit)
        return list(found.get("dense", []))


class SearchStage(Protocol):
    """A stage after fusion: expands or re-ranks `ctx.candidates` in place. Must respect `ctx.scope`.

    Built from its RetrievalConfig sub-model; `name` is that sub-model's field name."""

    name: str

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None: ...
