"""The embedder alone, interleaved A/B: sentence-transformers (the batch path before issue 20) against the ONNX
Runtime MiniLMEmbedder, on the same texts in batches of 250 (each batch through one, then the other, so both see
the same load); every vector pair must agree to cosine > 0.999.

    python -m benchmarks.embedder_ab
"""

from __future__ import annotations

import os
import time

from benchmarks.synthetic import synthetic_sentences
from omne.embedding import MiniLMEmbedder
from omne.minilm_onnx import model_dir


def main(n: int = 2000, batch: int = 250) -> None:
    from sentence_transformers import SentenceTransformer

    texts = synthetic_sentences(n, seed=99)
    reference = SentenceTransformer(str(model_dir()), device="cpu")
    onnx = MiniLMEmbedder()
    reference.encode(texts[:64])
    onnx.embed(texts[:64])
    reference_s = onnx_s = 0.0
    load = os.getloadavg()
    for i in range(0, n, batch):
        texts_i = texts[i:i + batch]
        start = time.perf_counter()
        expected = reference.encode(texts_i, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
        reference_s += time.perf_counter() - start
        start = time.perf_counter()
        vectors = onnx.embed(texts_i)
        onnx_s += time.perf_counter() - start
        assert (expected * vectors).sum(axis=1).min() > 0.999
    print(f"sentence-transformers {n / reference_s:.0f} records/s, ONNX MiniLMEmbedder {n / onnx_s:.0f} records/s; "
          f"load average {load} -> {os.getloadavg()}")


if __name__ == "__main__":
    main()
