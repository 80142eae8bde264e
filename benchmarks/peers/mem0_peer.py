"""mem0 OSS as a peer: `Memory.add(..., infer=False)` into a local (embedded path) Qdrant, embedded with the
packaged MiniLM through mem0's HuggingFace embedder. Runs only inside the peers' environment.

With `infer=False` mem0 stores each message as one memory and calls no language model. mem0 still builds
an LLM client when it opens, so a dummy OpenAI client pointed at a closed loopback port is configured; the
runner's network guard records any connection that would have been made (none is expected).
mem0's optional hybrid extras (fastembed BM25, spaCy lemmas and entities) are not installed: both download
their models at run time, which an offline machine cannot do, so mem0 ranks by the dense similarity alone,
as `pip install mem0ai` does.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.peers.protocol import Add


class Mem0Peer:
    """One mem0 `Memory`; a LoCoMo scope is a mem0 `user_id`."""

    packages = ("mem0ai", "qdrant-client", "sentence-transformers", "torch")

    def __init__(self, model_path: str, workdir: Path, k: int) -> None:
        self.k = k
        os.environ.setdefault("MEM0_DIR", str(workdir / "mem0-home"))  # read when mem0 is imported
        from mem0 import Memory

        self.memory = Memory.from_config({
            "vector_store": {"provider": "qdrant", "config": {
                "collection_name": "omne_bench", "path": str(workdir / "qdrant"), "embedding_model_dims": 384,
                "on_disk": True}},
            "embedder": {"provider": "huggingface", "config": {"model": model_path, "embedding_dims": 384}},
            "llm": {"provider": "openai", "config": {"model": "unused-with-infer-false", "api_key": "unused",
                                                     "openai_base_url": "http://127.0.0.1:9/v1"}},
            "history_db_path": str(workdir / "mem0-history.sqlite3"),
        })

    def add(self, scope: str, turns: list[Add]) -> None:
        for turn in turns:  # one call per turn: `metadata` applies to every message of a call
            self.memory.add([{"role": "user", "content": turn.text}], user_id=scope, infer=False,
                            metadata={"turn_id": turn.id})

    def search(self, scope: str, query: str) -> list[str]:
        # threshold 0: the k best, as the other systems return (mem0's default 0.1 drops weak matches)
        found = self.memory.search(query, top_k=self.k, filters={"user_id": scope}, threshold=0.0)
        return [hit["metadata"]["turn_id"] for hit in found["results"]]

    def close(self) -> None:
        client = getattr(self.memory.vector_store, "client", None)
        if client is not None:
            client.close()
