"""The memory graph: offline entity extraction, entity resolution, edge building and graph queries."""

from omne.graph.builder import GraphBuilder, GraphBuilderConfig, entity_scope
from omne.graph.entities import CapitalisedSpanExtractor, EntityExtractor, EntityMention
from omne.graph.resolution import EntityResolver, Resolution, ResolverConfig, entity_key
from omne.graph.view import GraphCache, GraphView

__all__ = [
    "CapitalisedSpanExtractor", "EntityExtractor", "EntityMention", "EntityResolver", "GraphBuilder",
    "GraphBuilderConfig", "GraphCache", "GraphView", "Resolution", "ResolverConfig", "entity_key",
    "entity_scope",
]
