"""The ONNX Runtime MiniLM: built from the packaged weights, it gives sentence-transformers' vectors, and a
process that opens a store and searches imports neither torch nor sentence-transformers."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from omne.embedding import MiniLMEmbedder
from omne.errors import OmneError
from omne.minilm_onnx import model_dir, onnx_path, query_onnx_path
from tests.conftest import ROOT

TEXTS = ["What did Maya name her bike?", "a", "", "héllo wörld 日本語 🙂", "word " * 400,  # 400: truncated
         'Caroline: "I went to a LGBTQ support group yesterday and it was so powerful."',
         "when is the firmware release", "Melanie painted a sunrise over the lake last summer."]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An encoder built from scratch into an empty cache directory (torch is used for this build only)."""
    directory = tmp_path_factory.mktemp("onnx-cache")
    return MiniLMEmbedder(cache_dir=directory), directory


def test_a_fresh_build_matches_sentence_transformers(built):
    from sentence_transformers import SentenceTransformer

    embedder, _ = built
    reference = SentenceTransformer(str(model_dir()), device="cpu").encode(
        TEXTS * 5, batch_size=7, convert_to_numpy=True, normalize_embeddings=True)
    vectors = embedder.embed(TEXTS * 5)  # 40 texts: length-sorted chunks run side by side, order kept
    assert vectors.dtype == np.float32 and vectors.shape == (40, 384)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    assert np.abs(vectors - reference).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_queries_run_an_int8_copy_that_stays_close_to_the_float32_model(built):
    """Queries run the int8 model: near the float32 vectors (one scale per weight tensor instead of per channel
    measured a cosine of 0.946 on synthetic queries), and the same as float32 when int8 is turned off."""
    embedder, directory = built
    reference = embedder.embed(TEXTS)
    root = logging.getLogger()
    before = list(root.handlers), list(root.filters)
    int8 = np.stack([embedder.embed_query(text) for text in TEXTS])  # the first query builds the int8 copy
    assert (root.handlers, root.filters) == before  # the quantiser's root-logger advice left no trace
    assert int8.dtype == np.float32 and np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    cosines = (int8 * reference).sum(axis=1)
    assert cosines.min() >= 0.98, cosines
    assert np.abs(int8 - reference).max() > 1e-3  # a different model indeed
    exact = MiniLMEmbedder(cache_dir=directory, int8_queries=False)
    assert np.abs(np.stack([exact.embed_query(text) for text in TEXTS]) - reference).max() < 1e-5


def test_the_encoders_are_built_once_and_then_loaded_from_the_cache(built):
    embedder, directory = built
    embedder.embed(["a stored text"])
    embedder.embed_query("a query")
    paths = {onnx_path(directory), query_onnx_path(directory)}
    assert paths == set(directory.iterdir())  # both files, and no build leftovers
    before = {path: path.stat().st_mtime_ns for path in paths}
    fresh = MiniLMEmbedder(cache_dir=directory)
    fresh.embed(["a stored text"])
    fresh.embed_query("a query")
    assert {path: path.stat().st_mtime_ns for path in directory.iterdir()} == before


def test_the_int8_copy_is_made_without_torch(built, tmp_path):
    """A machine that has the float32 file makes the query copy on its first search, in a process that still
    imports neither torch nor sentence-transformers."""
    _, directory = built
    float32 = onnx_path(directory)
    shutil.copy(float32, tmp_path / float32.name)
    script = ("import json, sys; from omne.embedding import MiniLMEmbedder; MiniLMEmbedder().embed_query('a query'); "
              "print(json.dumps([m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMNE_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert {p.name for p in tmp_path.iterdir()} == {float32.name, query_onnx_path(directory).name}


def test_an_unwritable_cache_directory_names_the_fix(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OmneError, match="OMNE_CACHE_DIR"):
        onnx_path(blocker / "cache")


def test_the_shared_embedder_truncates_like_the_model(embedder):
    assert len(embedder.tokenizer.encode("word " * 400).ids) == 402  # counting never truncates
    assert np.abs(embedder.embed(["word " * 400]) - embedder.embed(["word " * 300])).max() < 1e-6


SEARCHING_PROCESS = """
import asyncio, json, sys
from omne import MemoryCore, Scope

async def main(path):
    core = await MemoryCore.open(path)
    try:
        if sys.argv[2] == "write":
            await core.remember("Maya named her bike Thunder.", scope=Scope(user="u"))
        hits = await core.search("what is the bike called?", scope=Scope(user="u"))
    finally:
        await core.close()
    heavy = [m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules]
    print(json.dumps({"hits": [h.record.text for h in hits], "heavy": heavy}))

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.parametrize("mode", ["write", "search"])
def test_a_process_that_writes_or_searches_imports_neither_torch_nor_sentence_transformers(embedder, tmp_path,
                                                                                           mode):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    store = tmp_path / "store"
    if mode == "search":
        subprocess.run([sys.executable, "-c", SEARCHING_PROCESS, str(store), "write"], env=env, check=True,
                       capture_output=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", SEARCHING_PROCESS, str(store), mode], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"hits": ["Maya named her bike Thunder."], "heavy": []}


def test_a_forked_child_embeds_batches_with_a_pool_of_its_own(embedder):
    """A forked child inherits the shared embedder's thread pool but not its threads: before the fork hook, a
    batch embedded in the child waited forever (gunicorn --preload, multiprocessing's fork start method)."""
    import signal

    texts = [f"sentence number {i}" for i in range(3 * embedder.batch_size)]  # more than a batch: the pool runs
    expected = embedder.embed(texts)
    child = os.fork()
    if child == 0:  # the child: exit 0 only if the batch comes back right, and die rather than hang
        signal.alarm(30)
        ok = np.allclose(embedder.embed(texts), expected, atol=1e-5)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.WIFEXITED(status), "the child hung embedding a batch (killed by its 30 s alarm)"
    assert os.WEXITSTATUS(status) == 0, "the child embedded the batch differently"
