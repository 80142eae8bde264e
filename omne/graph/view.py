"""Graph queries over one scope's persisted edges: neighbourhood, path, personalised PageRank."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

import networkx as nx
import numpy as np
from scipy import sparse

from omne.graph.resolution import entity_key
from omne.storage.protocols import RecordStore
from omne.types import Edge, EdgeKind, Scope

DEFAULT_KIND_WEIGHTS: dict[EdgeKind, float] = {
    EdgeKind.NEXT: 1.0, EdgeKind.MENTIONS: 1.0, EdgeKind.SIMILAR: 1.0, EdgeKind.RELATES: 1.0,
    EdgeKind.DERIVED_FROM: 1.0, EdgeKind.ATTACHED: 1.0, EdgeKind.SUPERSEDES: 0.0,
}


class GraphView:
    """An in-memory, undirected networkx view of a scope's edges.

    Built from the store's edges only, so it never reaches outside the scope it was built for.
    """

    def __init__(self, scope: Scope, edges: Iterable[Edge]) -> None:
        self.scope = scope
        self.graph: nx.MultiGraph[str] = nx.MultiGraph()
        self.mentioned_by: dict[str, list[str]] = {}  # entity id -> records mentioning it
        self.entity_by_key: dict[str, set[str]] = {}  # entity_key(surface) -> entity ids
        for edge in edges:
            self.graph.add_edge(edge.src, edge.dst, key=edge.kind.value, kind=edge.kind, weight=edge.weight)
            if edge.kind is EdgeKind.MENTIONS:
                self.mentioned_by.setdefault(edge.dst, []).append(edge.src)
                key = entity_key(str(edge.data.get("surface", "")))
                if key:
                    self.entity_by_key.setdefault(key, set()).add(edge.dst)
        self._nodes = sorted(self.graph.nodes)
        self._position = {node: i for i, node in enumerate(self._nodes)}
        self._matrices: dict[tuple[tuple[str, float], ...], tuple[sparse.csr_array, np.ndarray]] = {}
        self._lock = threading.Lock()

    def __contains__(self, node: str) -> bool:
        return node in self._position

    def __len__(self) -> int:
        return len(self._nodes)

    def entities_in(self, text: str, max_words: int = 4) -> list[str]:
        """Entity ids whose mention surface appears in `text` as whole words (longest spans first)."""
        words = entity_key(text).split()
        found: list[str] = []
        for size in range(min(max_words, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                for entity in sorted(self.entity_by_key.get(" ".join(words[start:start + size]), ())):
                    if entity not in found:
                        found.append(entity)
        return found

    def neighbours(self, node: str, kinds: Sequence[EdgeKind] | None = None) -> list[str]:
        """Adjacent nodes over edges of the given kinds, sorted for determinism."""
        if node not in self._position:
            return []
        wanted = None if kinds is None else {k.value for k in kinds}
        return sorted({other for _, other, key in self.graph.edges(node, keys=True)
                       if wanted is None or key in wanted})

    def neighbourhood(self, nodes: Iterable[str], depth: int = 1, kinds: Sequence[EdgeKind] | None = None) -> set[str]:
        """Every node within `depth` hops of `nodes` (the start nodes included)."""
        seen = {n for n in nodes if n in self._position}
        frontier = set(seen)
        for _ in range(depth):
            frontier = {o for n in frontier for o in self.neighbours(n, kinds)} - seen
            seen |= frontier
        return seen

    def path(self, src: str, dst: str) -> list[str]:
        """A shortest path between two nodes (ids in order), or [] when they are not connected."""
        if src not in self._position or dst not in self._position:
            return []
        try:
            return nx.shortest_path(self.graph, src, dst)
        except nx.NetworkXNoPath:
            return []

    def degree(self, node: str, kinds: Sequence[EdgeKind] | None = None) -> int:
        return len(self.neighbours(node, kinds))

    def _matrix(self, kind_weights: Mapping[EdgeKind, float]) -> tuple[sparse.csr_array, np.ndarray]:
        """The transposed row-normalised adjacency for these edge-kind weights, and its dangling rows (cached)."""
        key = tuple(sorted((k.value, float(w)) for k, w in kind_weights.items()))
        with self._lock:
            if key not in self._matrices:
                rows, cols, vals = [], [], []
                for a, b, data in self.graph.edges(data=True):
                    w = kind_weights.get(data["kind"], 0.0) * float(data["weight"])
                    if w <= 0 or a == b:
                        continue
                    i, j = self._position[a], self._position[b]
                    rows += [i, j]
                    cols += [j, i]
                    vals += [w, w]
                n = len(self._nodes)
                adj = sparse.csr_array((vals, (rows, cols)), shape=(n, n), dtype=np.float64)
                out = np.asarray(adj.sum(axis=1)).ravel()
                inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
                # stored transposed, so one power-iteration step is a plain CSR matrix-vector product
                self._matrices[key] = (sparse.csr_array((sparse.diags(inv) @ adj).T), out == 0)
            return self._matrices[key]

    def _pagerank_vector(self, seeds: Mapping[str, float], alpha: float,
                         kind_weights: Mapping[EdgeKind, float] | None, iterations: int, tol: float) -> np.ndarray | None:
        start = np.zeros(len(self._nodes))
        for node, weight in seeds.items():
            if node in self._position and weight > 0:
                start[self._position[node]] += weight
        if start.sum() <= 0:
            return None
        start /= start.sum()
        transposed, dangling = self._matrix(kind_weights or DEFAULT_KIND_WEIGHTS)
        rank = start.copy()
        for _ in range(iterations):
            new: np.ndarray = alpha * (transposed @ rank) + (alpha * rank[dangling].sum() + (1 - alpha)) * start
            if np.abs(new - rank).sum() < tol:
                return new
            rank = new
        return rank

    def personalized_pagerank(self, seeds: Mapping[str, float], *, alpha: float = 0.85,
                              kind_weights: Mapping[EdgeKind, float] | None = None,
                              iterations: int = 40, tol: float = 1e-9) -> dict[str, float]:
        """Personalised PageRank from weighted seed nodes (power iteration; deterministic).

        `alpha` is the probability of following an edge; dangling mass returns to the seeds.
        """
        rank = self._pagerank_vector(seeds, alpha, kind_weights, iterations, tol)
        if rank is None:
            return {}
        return {self._nodes[i]: float(rank[i]) for i in np.flatnonzero(rank)}

    def pagerank_top(self, seeds: Mapping[str, float], n: int, *, alpha: float = 0.85,
                     kind_weights: Mapping[EdgeKind, float] | None = None, iterations: int = 40,
                     tol: float = 1e-6) -> list[tuple[str, float]]:
        """The n best non-seed nodes by personalised PageRank, best first (ties by id), scores > 0."""
        rank = self._pagerank_vector(seeds, alpha, kind_weights, iterations, tol)
        if rank is None or n <= 0:
            return []
        rank = rank.copy()
        for node in seeds:
            if node in self._position:
                rank[self._position[node]] = 0.0
        live = np.flatnonzero(rank > 0)
        if len(live) > 4 * n:  # keep a margin so equal scores at the cut still break by id
            live = live[np.argpartition(-rank[live], 4 * n)[: 4 * n]]
        best = sorted(((self._nodes[i], float(rank[i])) for i in live), key=lambda p: (-p[1], p[0]))
        return best[:n]


class GraphCache:
    """Per-scope GraphViews, rebuilt when the scope's edges change (checked by a cheap store stamp)."""

    def __init__(self, max_scopes: int = 64) -> None:
        self.max_scopes = max_scopes
        self._views: dict[Scope, tuple[object, GraphView]] = {}
        self._lock = threading.Lock()

    def get(self, store: RecordStore, scope: Scope) -> GraphView:
        stamp = store.edge_stamp(scope)
        with self._lock:
            cached = self._views.get(scope)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        view = GraphView(scope, store.edges(scope))
        with self._lock:
            if len(self._views) >= self.max_scopes:
                self._views.pop(next(iter(self._views)))
            self._views[scope] = (stamp, view)
        return view
