"""The Qdrant server backend is selected by configuration; an unreachable server is one clear error."""

from __future__ import annotations

import socket

import pytest

from omne import BackendUnavailableError, MemoryCore, OmneConfig, VectorConfig
from omne.testing import HashEmbedder


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_server_is_a_clear_error(tmp_path, closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    config = OmneConfig(store_dir=tmp_path / "store", vectors=VectorConfig(backend="server", url=url, timeout_s=2))
    with pytest.raises(BackendUnavailableError) as caught:
        await MemoryCore.open(config=config, embedder=HashEmbedder())
    message = str(caught.value)
    assert f"cannot reach the Qdrant server at {url}" in message and "OMNE_QDRANT_URL" in message
    # the failed open released the record log: the embedded default opens the same directory at once
    core = await MemoryCore.open(tmp_path / "store", config=OmneConfig(store_dir=tmp_path / "store"),
                                 embedder=HashEmbedder())
    assert (await core.stats())["records"] == 0
    await core.close()


async def test_server_backend_without_url_names_the_fix(tmp_path):
    config = OmneConfig(store_dir=tmp_path / "s", vectors=VectorConfig(backend="server"))
    with pytest.raises(BackendUnavailableError, match="no url is set"):
        await MemoryCore.open(config=config, embedder=HashEmbedder())


async def test_env_selects_the_server(monkeypatch, tmp_path, closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    monkeypatch.setenv("OMNE_QDRANT_URL", url)
    monkeypatch.setenv("OMNE_QDRANT_API_KEY", "k-123")
    config = OmneConfig.from_env(tmp_path / "s")
    assert (config.vectors.backend, config.vectors.url, config.vectors.api_key) == ("server", url, "k-123")
    with pytest.raises(BackendUnavailableError, match=f"127.0.0.1:{closed_port}"):
        await MemoryCore.open(tmp_path / "s", embedder=HashEmbedder())
    monkeypatch.delenv("OMNE_QDRANT_URL")
    assert OmneConfig.from_env(tmp_path / "s").vectors.backend == "edge"


def test_cli_reports_an_unreachable_server_in_one_line(omne_cli, tmp_path, closed_port):
    # a write command: `stats` refuses a store that does not exist before it reaches any index
    result = omne_cli("memory", "add", "a fact", "--user", "u", "--json", store=tmp_path / "s",
                      env={"OMNE_QDRANT_URL": f"http://127.0.0.1:{closed_port}"})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("omne: error: cannot reach the Qdrant server")
    assert "Traceback" not in result.stderr


async def test_the_server_backend_is_built_with_the_embedders_dimension(tmp_path, local_qdrant):
    """Kills `_open_index` 5 (`ServerVectorIndex(config.vectors, None)`): a core on the server backend creates its
    collection with the embedder's dimension, then writes and finds a record through it (qdrant-client's local
    mode stands in for the server: the same client API, in-process)."""
    from omne import Scope

    config = OmneConfig(store_dir=tmp_path / "store", vectors=VectorConfig(backend="server", url="http://qdrant:6333"))
    core = await MemoryCore.open(config=config, embedder=HashEmbedder())
    try:
        fact = await core.remember("the ferry leaves at nine", scope=Scope(user="ann"))
        assert [h.record.id for h in await core.search("ferry", scope=Scope(user="ann"))] == [fact.id]
        assert local_qdrant.get_collection("omne").config.params.vectors["dense"].size == HashEmbedder().dim
    finally:
        await core.close()
