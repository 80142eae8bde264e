"""AutoGen 0.7's `ChromaDBVectorMemory` (autogen-ext[chromadb]) as a peer: a persistent Chroma store, one
memory (collection) per scope, embedded by a SentenceTransformer embedding function on the packaged MiniLM
path (Chroma's default embedding function would download an ONNX model). Runs only inside the peers'
environment.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import Add


class ChromaPeer:
    """`ChromaDBVectorMemory.add` per turn and `.query` per question, as an AutoGen agent would call them."""

    packages = ("autogen-ext", "autogen-core", "chromadb", "sentence-transformers", "torch")

    def __init__(self, model_path: str, workdir: Path, k: int) -> None:
        from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

        # Load the model while opening (Chroma caches it per model name), so ingest times the adds alone.
        SentenceTransformerEmbeddingFunction(model_name=model_path)
        self.model_path = model_path
        self.k = k
        self.path = workdir / "chroma"
        self.loop = asyncio.new_event_loop()
        self.memories: dict[str, Any] = {}

    def _memory(self, scope: str) -> Any:
        from autogen_ext.memory.chromadb import (
            ChromaDBVectorMemory,
            PersistentChromaDBVectorMemoryConfig,
            SentenceTransformerEmbeddingFunctionConfig,
        )

        if scope not in self.memories:
            name = "scope-" + hashlib.sha256(scope.encode()).hexdigest()[:24]  # Chroma's collection-name rules
            self.memories[scope] = ChromaDBVectorMemory(config=PersistentChromaDBVectorMemoryConfig(
                collection_name=name, persistence_path=str(self.path), k=self.k,
                embedding_function_config=SentenceTransformerEmbeddingFunctionConfig(model_name=self.model_path)))
        return self.memories[scope]

    def add(self, scope: str, turns: list[Add]) -> None:
        from autogen_core.memory import MemoryContent, MemoryMimeType

        memory = self._memory(scope)
        for turn in turns:
            self.loop.run_until_complete(memory.add(MemoryContent(
                content=turn.text, mime_type=MemoryMimeType.TEXT, metadata={"turn_id": turn.id})))

    def search(self, scope: str, query: str) -> list[str]:
        result = self.loop.run_until_complete(self._memory(scope).query(query))
        return [item.metadata["turn_id"] for item in result.results]

    def close(self) -> None:
        for memory in self.memories.values():
            self.loop.run_until_complete(memory.close())
        self.loop.close()
