"""The examples run end to end with a scripted model (they use a real model when run as scripts)."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT
from omne.testing import replay


def load(name: str):  # noqa: ANN201
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_custom_responder_example(tmp_path, embedder, monkeypatch):
    example = load("custom_responder")
    monkeypatch.setattr("omne.embedding.MiniLMEmbedder.shared", lambda: embedder)
    client = replay("Noted: Ada hates fog.", "Warn Ada, the bosun.")
    logbook = await example.main(client, tmp_path)
    assert [line.split("] ", 1)[1] for line in logbook] == ["Noted: Ada hates fog.", "Warn Ada, the bosun."]
    system = client.create_calls[1]["messages"][0].content
    assert system.startswith("You are the first officer") and "Ada and she hates fog" not in system  # same session
    assert client.create_calls[1]["messages"][1].content == "The bosun's name is Ada and she hates fog."


async def test_team_example_shares_team_memory(tmp_path, embedder, monkeypatch):
    example = load("team_shared_memory")
    monkeypatch.setattr("omne.embedding.MiniLMEmbedder.shared", lambda: embedder)
    client = replay("Route: coastal, 170 nm.", "Stores: water for 3 days.", "Tuesday: fog until noon.",
                    "Leave after noon.", "He said fog until noon on Tuesday.")
    counts = await example.main(client, tmp_path)
    assert counts == {"team": 7, "navigator": 7, "quartermaster": 3}  # 5 team messages + 2 next session
    assert "fog until noon" in client.create_calls[-1]["messages"][0].content
