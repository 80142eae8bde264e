"""Shared fixtures: a fresh store per test on the shared (once-loaded) MiniLM embedder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.postgres"]

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder():
    from omne.embedding import MiniLMEmbedder

    return MiniLMEmbedder.shared()


# Modules whose `core` / `fast_core` tests also run against a served store (omne serve's HTTP API and
# RemoteMemoryCore), unchanged: the remote client must behave exactly as the embedded core.
SERVED_MODULES = {
    "test_core_records", "test_core_search", "test_core_input", "test_agents_blocks", "test_agents_context",
    "test_agents_memory_adapter", "test_agents_tools", "test_responder_hooks", "test_responder_memory_tools",
    "test_responder_teams", "test_reactive_responder", "test_service_api", "test_agent_framework",
    "test_forgotten_reads", "test_multimodal_memory",
}


# Modules whose tests run once per record store backend (the `backend` fixture): SQLite, and PostgreSQL on the
# session's throwaway cluster. One conformance suite: the tests are the same, only OMNE_DATABASE_URL differs.
BACKEND_MODULES = {
    "test_core_crash", "test_core_input", "test_core_isolation", "test_core_locking", "test_core_records",
    "test_core_search", "test_construction_facts", "test_construction_jobs", "test_construction_reflection_sft",
    "test_construction_structured", "test_construction_summaries", "test_construction_worker",
    "test_concurrency", "test_crash_safety", "test_hostile_cli", "test_isolation_surfaces", "test_model_faults",
    "test_reliability_isolation", "test_regressions_log", "test_storage_protocols", "test_default_read_path",
    "test_graph", "test_forgotten_reads",
}


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in BACKEND_MODULES and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("backend", [pytest.param("sqlite", marks=pytest.mark.sqlite),
                                         pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
    if module not in SERVED_MODULES:
        return
    if metafunc.definition.get_closest_marker("embedded_only"):  # e.g. construction, which a server runs itself
        return
    for name in ("core", "fast_core"):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, ["embedded", pytest.param("served", marks=pytest.mark.served)], indirect=True)


def pytest_collection_modifyitems(items):
    """Mark tests by what they need, so a selection (`-m "not subprocess and not postgres"`, e.g.
    benchmarks/mutation/run.py's) can leave them out by what they do: `subprocess` for every test that runs the
    CLI (the `omne_cli` fixture), `postgres` for every test that takes the throwaway cluster directly, `sqlite`
    for a `sqlite_only` one (the backend-parametrised runs get theirs from pytest_generate_tests), `minilm` for
    every test on the MiniLM embedder (the `embedder` fixture, directly or through `core`)."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "omne_cli" in names:
            item.add_marker(pytest.mark.subprocess)
        if "embedder" in names:
            item.add_marker(pytest.mark.minilm)
        if "postgres_url" in names or "postgres_cluster" in names:
            item.add_marker(pytest.mark.postgres)
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.sqlite)


@pytest.fixture(autouse=True)
def backend(request, monkeypatch) -> str:
    """The record store every store a test opens uses: "sqlite" (the default, in the store directory) or
    "postgres" (a fresh schema of the session's throwaway cluster, named by OMNE_DATABASE_URL, which subprocesses
    inherit). Parametrised over both in BACKEND_MODULES."""
    name = getattr(request, "param", "sqlite")
    if name == "postgres":
        monkeypatch.setenv("OMNE_DATABASE_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.delenv("OMNE_DATABASE_URL", raising=False)
    return name


@pytest.fixture
async def memory(tmp_path):
    """An AgentMemory (agent "helper", user "ada", session "s1") on a fast store: the OmneContext rule tests."""
    from omne.agents import AgentMemory
    from omne.testing import open_fast_core

    core = await open_fast_core(tmp_path / "store")
    try:
        yield await AgentMemory.open(core, agent="helper", user="ada", session="s1")
    finally:
        await core.close()


@pytest.fixture
def local_qdrant(monkeypatch):
    """qdrant-client's in-process local mode where the Qdrant server backend would reach a server: the same client
    API, no server. Returns the client, to look into its collections."""
    from qdrant_client import QdrantClient

    from omne.storage import qdrant_server_index

    local = QdrantClient(":memory:")
    monkeypatch.setattr(qdrant_server_index, "QdrantClient", lambda *args, **kwargs: local)
    return local


@pytest.fixture
def database(postgres_url, monkeypatch) -> str:
    """A fresh schema of the session's throwaway cluster as OMNE_DATABASE_URL: every store a test opens, and every
    server process it starts (they inherit the variable), shares this one database."""
    monkeypatch.setenv("OMNE_DATABASE_URL", postgres_url)
    return postgres_url


@pytest.fixture
def separate_database(backend, request, monkeypatch):
    """Call before opening a second, separate store in a test: on PostgreSQL it points OMNE_DATABASE_URL at a
    fresh schema (stores already open keep theirs); on SQLite the store directory alone separates stores."""
    from tests.support.postgres import schema_name

    def switch() -> None:
        if backend == "postgres":
            cluster = request.getfixturevalue("postgres_cluster")
            schema = schema_name("extra_")
            monkeypatch.setenv("OMNE_DATABASE_URL", cluster.create_schema(schema))
            request.addfinalizer(lambda: cluster.drop_schema(schema))
    return switch



async def _maybe_served(request, memory):
    """Yield the embedded core, or a RemoteMemoryCore serving it (param "served")."""
    if getattr(request, "param", "embedded") == "served":
        from tests.support.served import served

        async with served(memory) as remote:
            yield remote
    else:
        yield memory


@pytest.fixture
async def core(request, tmp_path, embedder):
    from omne import MemoryCore

    memory = await MemoryCore.open(tmp_path / "store", embedder=embedder)
    try:
        async for handle in _maybe_served(request, memory):
            yield handle
    finally:
        await memory.close()


@pytest.fixture
async def fast_core(request, tmp_path):
    """A store on the hashing test embedder (omne.testing.open_fast_core): writes in about a millisecond."""
    from omne.testing import open_fast_core

    memory = await open_fast_core(tmp_path / "fast-store")
    try:
        async for handle in _maybe_served(request, memory):
            yield handle
    finally:
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
