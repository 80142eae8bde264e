"""A second process opening an embedded store gets a clear StoreLockedError (see MemoryCore.open for the
locking model: one owner process per embedded store; the lock dies with the process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from omne import MemoryCore, Scope, StoreLockedError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The owner writes one record and holds the store until its stdin closes. A cheap deterministic embedder
# keeps it quick: locking does not depend on the model.
OWNER = textwrap.dedent("""
    import asyncio, hashlib, sys
    import numpy as np
    from omne import MemoryCore, Scope

    class HashEmbedder:
        name, dim = "hash-test", 384
        def embed(self, texts):
            out = np.zeros((len(texts), 384), dtype=np.float32)
            for row, text in enumerate(texts):
                for word in text.lower().split():
                    out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 384] += 1.0
            return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    async def main(store):
        core = await MemoryCore.open(store, embedder=HashEmbedder())
        record = await core.remember("the owner process wrote this", scope=Scope(user="lock"))
        print(record.id, flush=True)
        await asyncio.to_thread(sys.stdin.read)
        await core.close()

    asyncio.run(main(sys.argv[1]))
""")


def test_second_process_gets_a_clear_lock_error_then_sees_committed_writes(tmp_path, embedder, omne_cli):
    import asyncio

    store = tmp_path / "store"
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(store)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": ROOT})
    try:
        written = owner.stdout.readline().strip()
        assert written, "the owner process failed to start"
        with pytest.raises(StoreLockedError, match="open in another process") as caught:
            asyncio.run(MemoryCore.open(store, embedder=embedder))
        assert "OMNE_QDRANT_URL" in str(caught.value)  # the message names the ways out: a Qdrant server, or
        assert "`omne serve`" in str(caught.value) and "MemoryCore.connect" in str(caught.value)  # one owner server
        cli = omne_cli("memory", "stats", "--json", store=store)
        assert cli.returncode == 1 and cli.stderr.count("\n") == 1
        assert cli.stderr.startswith("omne: error: the vector index at") and "Traceback" not in cli.stderr
    finally:
        owner.stdin.close()
        owner.wait(timeout=60)
    assert owner.returncode == 0

    async def reopen() -> None:
        core = await MemoryCore.open(store, embedder=embedder)  # the lock left with its process
        try:
            record = await core.get(written, scope=Scope(user="lock"))
            assert record.text == "the owner process wrote this"
        finally:
            await core.close()

    asyncio.run(reopen())
