"""The core benchmark measures the production query path, not a stand-in."""

from __future__ import annotations

import numpy as np

from benchmarks.synthetic import PrecomputedEmbedder
from omne.retrieval.pipeline import Retriever
from omne.testing import HashEmbedder


class QueryPathEmbedder(HashEmbedder):
    """A fallback with its own query path, which records every call to it."""

    def __init__(self) -> None:
        self.query_calls: list[str] = []

    def embed_query(self, text: str) -> np.ndarray:
        self.query_calls.append(text)
        return self.embed([text])[0]


async def test_precomputed_embedder_searches_through_the_models_query_path() -> None:
    fallback = QueryPathEmbedder()
    texts = ["a stored record"]
    embedder = PrecomputedEmbedder(texts, np.ones((1, 384), dtype=np.float32), fallback)
    retriever = Retriever(store=None, index=None, embedder=embedder)  # type: ignore[arg-type]
    vector = await retriever.embed_query("where did Anna move?")
    assert fallback.query_calls == ["where did Anna move?"]
    assert np.allclose(vector, fallback.embed(["where did Anna move?"])[0])
    assert np.allclose(embedder.embed(texts)[0], 1.0)  # stored texts still come from the cache


def test_progress_lines_name_the_benchmark_that_runs(monkeypatch, capsys) -> None:
    """The benchmarks share core_perf's progress helper; service_perf's lines used to say `[core_perf]`."""
    from benchmarks.core_perf import progress

    monkeypatch.setattr("sys.argv", ["/repo/benchmarks/service_perf.py", "--sizes", "1000"])
    progress("HTTP search at 1,000")
    assert capsys.readouterr().err == "[service_perf] HTTP search at 1,000\n"
