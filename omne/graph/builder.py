"""Builds the graph on the write path: MENTIONS (to ENTITY records) and SIMILAR edges. No model.

NEXT edges (each scope's messages in time order) are written by the record store itself, in the same
transaction as the messages (`MemoryCore.open(link_messages=True)`, the default)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from omne.graph.entities import CapitalisedSpanExtractor, EntityExtractor
from omne.graph.resolution import EntityResolver, KnownEntity, ResolverConfig, entity_key
from omne.types import Edge, EdgeKind, Record, RecordKind, Scope, stable_id

if TYPE_CHECKING:
    from omne.core import MemoryCore

CONTENT_KINDS = (RecordKind.MESSAGE, RecordKind.SUMMARY, RecordKind.FACT, RecordKind.INSIGHT, RecordKind.DOCUMENT)


class GraphBuilderConfig(BaseModel):
    """What the builder writes. Every part can be switched off."""

    entities: bool = True
    similar_k: int = Field(default=3, ge=0)  # SIMILAR links per new record (0 = off)
    similar_threshold: float = Field(default=0.6, ge=-1.0, le=1.0)  # cosine of the indexed embeddings
    resolver: ResolverConfig = Field(default_factory=ResolverConfig)


def entity_scope(scope: Scope) -> Scope:
    """Entities are shared across the sessions of a user/agent/team; a session-only scope keeps its session."""
    wider = {k: v for k, v in scope.fields().items() if k != "session"}
    return Scope(**wider) if wider else scope


class GraphBuilder:
    """A write hook (`MemoryCore.open(write_hooks=[GraphBuilder()])`) or a function to call after `add`.

    Deterministic: the same records in the same order give the same entities and edges.
    """

    def __init__(self, extractor: EntityExtractor | None = None, config: GraphBuilderConfig | None = None) -> None:
        self.extractor = extractor or CapitalisedSpanExtractor()
        self.config = config or GraphBuilderConfig()

    async def after_add(self, core: MemoryCore, records: Sequence[Record],
                        vectors: Mapping[str, np.ndarray]) -> None:
        content = [r for r in records if r.kind in CONTENT_KINDS and r.live]
        if not content:
            return
        edges: list[Edge] = []  # NEXT edges come from the record store, in the insert's transaction
        if self.config.entities:
            edges += await self._mention_edges(core, content)
        if self.config.similar_k:
            edges += await self._similar_edges(core, content, vectors)
        await core.add_edges(edges)

    # -- ENTITY + MENTIONS ------------------------------------------------------------------
    async def _mention_edges(self, core: MemoryCore, content: list[Record]) -> list[Edge]:
        groups: dict[Scope, list[Record]] = {}
        for record in content:
            groups.setdefault(entity_scope(record.scope), []).append(record)
        edges: list[Edge] = []
        resolver = EntityResolver(core.embedder, self.config.resolver)
        local = EntityResolver(None, self.config.resolver)  # exact and fuzzy only, within a batch
        for escope, group in groups.items():
            stored = await core.list(scope=escope, kinds=[RecordKind.ENTITY])
            known = [KnownEntity(id=e.id, name=e.name or e.text, key=entity_key(e.name or e.text))
                     for e in stored if e.scope == escope]
            mentions = [[m.surface for m in self.extractor.extract(r)] for r in group]
            speakers = [r.name for r in group if r.name]
            surfaces = list(dict.fromkeys(s for s in [*speakers, *(s for ms in mentions for s in ms)]
                                          if entity_key(s)))
            resolved = await asyncio.to_thread(resolver.resolve, surfaces, known)
            target: dict[str, tuple[str, str]] = {}
            new_entities: list[Record] = []
            batch_new: list[KnownEntity] = []
            for res in resolved:
                if res.entity_id is None and batch_new:  # an entity first seen earlier in this batch
                    res = local.resolve([res.surface], batch_new)[0]
                if res.entity_id is not None:
                    target[res.surface] = (res.entity_id, res.method)
                    continue
                key = entity_key(res.surface)
                entity = Record(id=stable_id(str(escope), key, "entity"), kind=RecordKind.ENTITY, scope=escope,
                                text=res.surface, name=res.surface,
                                metadata={"extractor": self.extractor.name, "key": key})
                new_entities.append(entity)
                batch_new.append(KnownEntity(id=entity.id, name=res.surface, key=key))
                target[res.surface] = (entity.id, "new")
            if new_entities:
                await core.add(new_entities)
            for record, surfaces_of in zip(group, mentions):
                for surface in surfaces_of:
                    if surface not in target:
                        continue
                    entity_id, method = target[surface]
                    edges.append(Edge(id=stable_id(record.id, entity_id, "mentions"), scope=escope, src=record.id,
                                      dst=entity_id, kind=EdgeKind.MENTIONS,
                                      data={"surface": surface, "resolved_by": method}))
        return edges

    # -- SIMILAR ----------------------------------------------------------------------------
    async def _similar_edges(self, core: MemoryCore, content: list[Record],
                             vectors: Mapping[str, np.ndarray]) -> list[Edge]:
        edges: dict[tuple[str, str], Edge] = {}
        for record in content:
            vector = vectors.get(record.id)
            if vector is None:
                continue
            escope = entity_scope(record.scope)
            found = await core.similar(vector, scope=escope, kinds=CONTENT_KINDS, limit=self.config.similar_k + 1)
            for hit in found:
                if hit.id == record.id or hit.score < self.config.similar_threshold:
                    continue
                a, b = sorted((record.id, hit.id))
                if (a, b) not in edges:
                    edges[(a, b)] = Edge(id=stable_id(a, b, "similar"), scope=escope, src=a, dst=b,
                                         kind=EdgeKind.SIMILAR, weight=round(float(hit.score), 6))
        return list(edges.values())
