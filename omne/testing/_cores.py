"""A hashing embedder and a store on it: writes in about a millisecond, lexical search exact (for tests)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from omne.core import MemoryCore


class HashEmbedder:
    """Words hashed into 384 buckets, L2-normalised: deterministic and fast (a test double)."""

    name = "hash-test"
    dim = 384

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % self.dim] += 1
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


async def open_fast_core(path: Path | str) -> MemoryCore:
    """A MemoryCore at `path` on the HashEmbedder: for tests that write a lot and need no meaning (lexical
    search still finds exact words; tests of retrieval quality use the real MiniLM embedder)."""
    return await MemoryCore.open(path, embedder=HashEmbedder())
