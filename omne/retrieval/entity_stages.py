"""Entity bridge: the query reaches records through the entity nodes it is close to (MENTIONS edges)."""

from __future__ import annotations

import math

from omne.retrieval.context import SearchContext, StageTools
from omne.retrieval.filtering import apply_bonuses
from omne.retrieval.models import EntityBridgeConfig
from omne.storage.protocols import RecordFilter
from omne.types import RecordKind

_ENTITIES = RecordFilter(kinds=(RecordKind.ENTITY,))


class EntityBridgeStage:
    """Entities whose names are near the query in embedding space pass a bonus to the records mentioning them.

    'Which cities has Jo been to?' is far from 'I was in Chicago, loved it' as a sentence, but the entity
    'Chicago' is near 'cities': the second hop goes query -> entity node -> mentioning records. Entities
    the query names word for word are left to the speaker and entity-link stages.
    """

    name = "entity_bridge"

    def __init__(self, config: EntityBridgeConfig) -> None:
        self.config = config

    async def apply(self, ctx: SearchContext, tools: StageTools) -> None:
        from omne.graph.resolution import entity_key

        cfg = self.config
        if not ctx.candidates or ctx.query_vector is None:
            return
        found = await tools.dense_search(ctx, _ENTITIES, cfg.entities)
        hits = [h for h in found if h.score >= cfg.min_similarity]
        if not hits:
            return
        view = await tools.graph(ctx)
        entities = await tools.load(ctx, [h.id for h in hits])
        query_words = set(entity_key(ctx.query).split())
        total = max(1, sum(len(v) for v in view.mentioned_by.values()))
        top = ctx.candidates[0].score
        best = max(h.score for h in hits)
        bonuses: dict[str, float] = {}
        for hit in hits:
            entity = entities.get(hit.id)
            if entity is None or set(entity_key(entity.name or entity.text).split()) & query_words:
                continue
            mentions = view.mentioned_by.get(hit.id, [])
            if not mentions:
                continue
            rarity = math.log(1 + total / len(mentions)) / math.log(1 + total)
            strength = hit.score / best
            for record_id in mentions:
                bonuses[record_id] = max(bonuses.get(record_id, 0.0), cfg.weight * top * strength * rarity)
        if not bonuses:
            return
        await apply_bonuses(ctx, tools, bonuses, self.name)
