"""Shared fixtures: a fresh store per test on the shared (once-loaded) MiniLM embedder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder():
    from omne.embedding import MiniLMEmbedder

    return MiniLMEmbedder.shared()


@pytest.fixture
async def core(tmp_path, embedder):
    from omne import MemoryCore

    memory = await MemoryCore.open(tmp_path / "store", embedder=embedder)
    yield memory
    await memory.close()


@pytest.fixture
async def fast_core(tmp_path):
    """A store on the hashing test embedder (omne.testing.open_fast_core): writes in about a millisecond."""
    from omne.testing import open_fast_core

    memory = await open_fast_core(tmp_path / "fast-store")
    yield memory
    await memory.close()


@pytest.fixture
def omne_cli(tmp_path):
    """Run `python -m omne ...` in a subprocess against a private store; returns CompletedProcess."""
    import subprocess

    def run(*args: str, input: str | bytes | None = None, store: Path | None = None, env: dict | None = None):
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMNE_STORE": str(store or tmp_path / "cli-store"),
                    **(env or {})}
        return subprocess.run([sys.executable, "-m", "omne", *args], input=input, capture_output=True,
                              text=not isinstance(input, bytes), env=full_env, timeout=300)

    return run
