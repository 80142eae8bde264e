"""The embedder alone, interleaved A/B: sentence-transformers (the batch path before issue 20) against the ONNX
Runtime MiniLMEmbedder, on the same texts in batches of 250 (each batch through one, then the other, so both see
the same load); every vector pair must agree to cosine > 0.999.

    python -m benchmarks.embedder_ab
"""
import os, sys, time

import numpy as np
from benchmarks.synthetic import synthetic_sentences
from omne.embedding import MiniLMEmbedder
from omne.minilm_onnx import model_dir
from sentence_transformers import SentenceTransformer
texts = synthetic_sentences(2000, seed=99)
st = SentenceTransformer(str(model_dir()), device="cpu")
new = MiniLMEmbedder()
st.encode(texts[:64]); new.embed(texts[:64])
ts = tn = 0.0
load0 = os.getloadavg()
for i in range(0, len(texts), 250):
    b = texts[i:i + 250]
    t = time.perf_counter(); a = st.encode(b, batch_size=64, convert_to_numpy=True, normalize_embeddings=True); ts += time.perf_counter() - t
    t = time.perf_counter(); v = new.embed(b); tn += time.perf_counter() - t
    assert (a * v).sum(1).min() > 0.999
print(f"sentence-transformers {len(texts)/ts:.0f}/s, onnx {len(texts)/tn:.0f}/s, load {load0} -> {os.getloadavg()}")
