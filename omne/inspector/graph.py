"""A record's graph neighbourhood as an SVG picture: networkx lays it out, the template draws it."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from omne.types import Edge, Record

WIDTH, HEIGHT, MARGIN, LABEL_ROOM = 720, 360, 40, 180


@dataclass(frozen=True)
class Node:
    id: str
    x: float
    y: float
    label: str
    centre: bool


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    kind: str


def neighbourhood(centre: Record, edges: list[Edge], texts: dict[str, str]) -> tuple[list[Node], list[Line]]:
    """Nodes (the record and its neighbours, placed by a seeded spring layout) and lines (one per edge)."""
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    graph.add_node(centre.id)
    for edge in edges:
        graph.add_edge(edge.src, edge.dst, kind=str(edge.kind))
    positions: dict[str, tuple[float, float]] = {centre.id: (0.0, 0.0)}
    if len(graph) > 1:
        layout = nx.spring_layout(nx.Graph(graph), seed=7, center=(0, 0))
        positions = {node: (float(x), float(y)) for node, (x, y) in layout.items()}
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0

    def place(node: str) -> tuple[float, float]:
        if len(graph) == 1:
            return (WIDTH - LABEL_ROOM) / 2, HEIGHT / 2
        x, y = positions[node]
        return (MARGIN + (x - min(xs)) / span_x * (WIDTH - 2 * MARGIN - LABEL_ROOM),
                MARGIN + (y - min(ys)) / span_y * (HEIGHT - 2 * MARGIN))

    nodes = [Node(id=n, x=place(n)[0], y=place(n)[1], label=_short(texts.get(n, n[:8])), centre=n == centre.id)
             for n in graph.nodes]
    lines = [Line(*place(src), *place(dst), kind=data["kind"]) for src, dst, data in graph.edges(data=True)]
    return nodes, lines


def _short(text: str, limit: int = 28) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["HEIGHT", "WIDTH", "Line", "Node", "neighbourhood"]
