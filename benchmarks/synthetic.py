"""Synthetic, distinct English sentences for performance runs, and a cache of their real MiniLM vectors.

Embedding 100k sentences with MiniLM takes minutes on 2 cores, so a pool is embedded once with the real
model and cached (`.omne/bench-cache/`, gitignored); later runs time the store and index path on those
exact vectors. Queries are never cached: every search embeds its query with the real model.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

NAMES = ("Maya", "Omar", "Lena", "Jonas", "Priya", "Tomas", "Aiko", "Bruno", "Chloe", "Dmitri", "Elif", "Farah",
         "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Lucia", "Mateo", "Nadia", "Oskar", "Paula", "Quentin", "Rosa",
         "Samir", "Tara", "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zara", "Anton", "Bea", "Carlos", "Dana",
         "Emil", "Freya", "Goran", "Helga", "Ines", "Jamal", "Kira", "Leon", "Mira", "Nils", "Olga", "Pavel",
         "Rhea", "Sven")
VERBS = ("repaired", "painted", "sold", "borrowed", "lost", "found", "cleaned", "bought", "returned", "packed",
         "photographed", "hid", "moved", "measured", "wrapped", "delivered", "ordered", "assembled", "polished",
         "carried", "stored", "labelled", "inspected", "weighed", "shipped", "rented", "donated", "sketched",
         "catalogued", "restored")
ADJECTIVES = ("blue", "rusty", "antique", "heavy", "fragile", "bright", "wooden", "folding", "electric", "vintage",
              "tiny", "enormous", "green", "broken", "shiny", "second-hand", "handmade", "waterproof", "striped",
              "ceramic", "leather", "silver", "plastic", "cracked", "brand-new")
OBJECTS = ("bicycle", "kayak", "piano", "lamp", "telescope", "violin", "suitcase", "bookshelf", "camera", "tent",
           "sewing machine", "armchair", "guitar", "microscope", "clock", "typewriter", "rug", "canoe", "ladder",
           "kettle", "drone", "aquarium", "chessboard", "mirror", "sofa", "radio", "scooter", "easel", "trunk",
           "bench", "globe", "harp", "stroller", "printer", "surfboard", "wardrobe", "lantern", "skateboard",
           "blender", "hammock")
PLACES = ("at the harbour", "in the garage", "near the old mill", "at the flea market", "behind the library",
          "in the attic", "at the train station", "in the community hall", "by the river", "at the bakery",
          "in the greenhouse", "at the school gym", "on the rooftop", "in the basement", "at the post office",
          "near the lighthouse", "in the courtyard", "at the ferry terminal", "in the workshop", "at the museum",
          "in the cellar", "at the campsite", "on the balcony", "at the stadium", "in the studio",
          "near the bus depot", "at the cafe", "in the hallway", "at the pier", "in the barn")
TIMES = ("last Tuesday", "yesterday morning", "on Sunday evening", "in early March", "two weeks ago",
         "on her birthday", "after the storm", "before the holidays", "at dawn", "during the festival",
         "on a rainy Friday", "last summer", "this morning", "in late autumn", "on New Year's Eve",
         "after lunch", "at midnight", "over the weekend", "in January", "during the heatwave")
QUESTION_TEMPLATES = ("What did {name} do with the {obj}?", "Where is {name}'s {adj} {obj} now?",
                      "When did {name} deal with the {obj} {place}?", "Who handled a {adj} {obj}?",
                      "Tell me about the {obj} {place}.")


def synthetic_sentences(n: int, seed: int = 7) -> list[str]:
    """`n` distinct sentences, deterministic for a seed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        text = (f"{rng.choice(NAMES)} {rng.choice(VERBS)} the {rng.choice(ADJECTIVES)} {rng.choice(OBJECTS)} "
                f"{rng.choice(PLACES)} {rng.choice(TIMES)}.")
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def synthetic_queries(n: int, seed: int = 11) -> list[str]:
    """`n` questions in the sentences' vocabulary but worded differently (paraphrase-style)."""
    rng = random.Random(seed)
    return [rng.choice(QUESTION_TEMPLATES).format(name=rng.choice(NAMES), obj=rng.choice(OBJECTS),
                                                  adj=rng.choice(ADJECTIVES), place=rng.choice(PLACES))
            for _ in range(n)]


def vector_pool(n: int, embed, model_name: str, cache_dir: Path, *, seed: int = 7,
                batch: int = 256) -> tuple[list[str], np.ndarray]:
    """The first `n` synthetic sentences and their vectors, embedded with `embed` once and cached."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = cache_dir / f"pool-{model_name}-seed{seed}-{n}"
    texts = synthetic_sentences(n, seed)
    if stem.with_suffix(".npy").exists() and stem.with_suffix(".json").exists():
        if json.loads(stem.with_suffix(".json").read_text("utf-8")) == texts:
            return texts, np.load(stem.with_suffix(".npy"))
    larger = sorted(cache_dir.glob(f"pool-{model_name}-seed{seed}-*.npy"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    for path in larger:  # a bigger cached pool starts with the same sentences
        if int(path.stem.rsplit("-", 1)[1]) >= n:
            return texts, np.load(path, mmap_mode="r")[:n].copy()
    vectors = np.zeros((n, 384), dtype=np.float32)
    start_time = time.perf_counter()
    for start in range(0, n, batch):
        vectors[start:start + batch] = embed(texts[start:start + batch])
        done = min(start + batch, n)
        rate = done / (time.perf_counter() - start_time)
        print(f"\r  embedding the vector pool: {done:,}/{n:,} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    np.save(stem.with_suffix(".npy"), vectors)
    stem.with_suffix(".json").write_text(json.dumps(texts), "utf-8")
    return texts, vectors


class PrecomputedEmbedder:
    """Returns cached vectors for known texts (so ingest times only the store + index path) and embeds
    anything else (the benchmark's queries) with the real model."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray, fallback) -> None:
        self.name = fallback.name
        self.dim = fallback.dim
        self._rows = {text: i for i, text in enumerate(texts)}
        self._vectors = vectors
        self._fallback = fallback

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self._rows.get(t) for t in texts]
        if all(r is not None for r in rows):
            return self._vectors[rows]
        return self._fallback.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        """A search query through the real model's own query path (what MemoryCore uses in production)."""
        fast = getattr(self._fallback, "embed_query", None)
        return fast(text) if fast is not None else self._fallback.embed([text])[0]
