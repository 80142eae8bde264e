"""Graph expansion stages: session neighbours (NEXT edges), entity links (MENTIONS), personalised PageRank."""

from __future__ import annotations

import asyncio
import functools
import math

from omne.retrieval.context import SearchContext, StageTools
from omne.retrieval.filtering import admissible, apply_bonuses, bump, resort
from omne.retrieval.models import EntityLinkConfig, NeighbourConfig, PPRConfig
from omne.types import EdgeKind

_INLINE_NODES = 20_000  # graphs up to this size are ranked on the event loop's thread


class SessionNeighbourStage:
    """Each candidate passes a share of its score to the turns before and after it (NEXT edges).

    Evidence often spans adjacent turns (a question and its answer); this smooths scores along a session.
    Only the candidates' own NEXT edges are read (one indexed lookup), so the cost does not grow with the scope.
    """

    name = "session_neighbours"

    def __init__(self, config: NeighbourConfig) -> None:
        self.config = config

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None:
        nxt, prev = self.config.next_weight, self.config.prev_weight
        if not ctx.candidates or (nxt <= 0 and prev <= 0):
            return
        lenders = ctx.candidates[:self.config.pool]
        prev_of, next_of = await tools.chain(ctx, [c.id for c in lenders])
        bonuses: dict[str, tuple[float, int]] = {}
        for rank, cand in enumerate(lenders, 1):
            for other, share in ((next_of.get(cand.id), nxt), (prev_of.get(cand.id), prev)):
                if other is not None and share > 0:
                    total, first = bonuses.get(other, (0.0, rank))
                    bonuses[other] = (total + share * cand.score, min(first, rank))
        by_id = {c.id: c for c in ctx.candidates}
        new = [i for i in bonuses if i not in by_id]
        allowed = await admissible(ctx, tools, new) if new else {}
        for record_id, (bonus, rank) in bonuses.items():
            if record_id in by_id or record_id in allowed:
                bump(ctx, by_id, record_id, bonus, self.name, rank)
        resort(ctx)


class EntityLinkStage:
    """Records that mention an entity named in the query gain a bonus scaled by the entity's rarity."""

    name = "entity_links"

    def __init__(self, config: EntityLinkConfig) -> None:
        self.config = config

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None:
        weight = self.config.weight
        if not ctx.candidates:
            return
        view = await tools.graph(ctx)
        entities = view.entities_in(ctx.query)
        if not entities:
            return
        total = max(1, sum(len(v) for v in view.mentioned_by.values()))
        top = ctx.candidates[0].score
        bonuses: dict[str, float] = {}
        for entity in entities:
            mentions = view.mentioned_by.get(entity, [])
            rarity = math.log(1 + total / max(1, len(mentions))) / math.log(1 + total)
            for record_id in mentions:
                bonuses[record_id] = max(bonuses.get(record_id, 0.0), weight * top * rarity)
        await apply_bonuses(ctx, tools, bonuses, self.name)


class GraphPPRStage:
    """Personalised PageRank over the scope's graph, seeded by the top hits (and the query's entities).

    Reaches records linked to the best hits through shared entities, similarity and session order:
    the second hop that multi-hop questions need.
    """

    name = "graph_ppr"

    def __init__(self, config: PPRConfig) -> None:
        self.config = config

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None:
        from omne.graph.view import DEFAULT_KIND_WEIGHTS

        cfg = self.config
        if not ctx.candidates:
            return
        view = await tools.graph(ctx)
        seeds = {c.id: c.score for c in ctx.candidates[: cfg.seeds] if c.id in view and c.score > 0}
        if not seeds:
            return
        for entity in view.entities_in(ctx.query):
            seeds[entity] = seeds.get(entity, 0.0) + max(seeds.values()) / 2
        weights = {**DEFAULT_KIND_WEIGHTS, **{EdgeKind(k): w for k, w in cfg.edge_weights.items()}}
        run = functools.partial(view.pagerank_top, seeds, cfg.expand * 2, alpha=cfg.alpha, kind_weights=weights)
        # a small graph is ranked inline (well under a millisecond); a large one on a worker thread
        top_nodes = run() if len(view) <= _INLINE_NODES else await asyncio.to_thread(run)
        ranks = dict(top_nodes)
        pool = [node for node, _ in top_nodes]
        by_id = {c.id: c for c in ctx.candidates}
        allowed = await admissible(ctx, tools, [n for n in pool if n not in by_id])
        reached = [n for n in pool if n in allowed or n in by_id][: cfg.expand]
        if not reached:
            return
        if cfg.cross_session:
            facts = await tools.facts(ctx, [*seeds, *reached])
            seen = {facts[s].scope.session for s in seeds if s in facts}
            reached = [n for n in reached if n in facts and facts[n].scope.session not in seen]
            if not reached:
                return
        top, best = ctx.candidates[0].score, ranks[reached[0]]
        for rank, node in enumerate(reached, 1):
            own = by_id[node].score / top if node in by_id and top > 0 else 0.0
            bump(ctx, by_id, node, cfg.weight * top * ranks[node] / best * (1 + cfg.relevance * own),
                 self.name, rank)
        resort(ctx)
