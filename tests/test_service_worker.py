"""`omne serve --worker`: construction jobs (summaries, facts) for records added through the HTTP API run inside
the server, on its own core, with the model `omne worker` would use; the worker stops cleanly with the server."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from omne import Record, RecordKind, Scope
from omne.errors import InvalidInputError
from omne.sync import SyncMemoryCore
from omne.testing import HashEmbedder, Reply, ScriptedOpenAIServer, open_fast_core
from tests.support.served import served
from tests.support.server_proc import Server, start_server, stop_server

SESSION = Scope(user="maya", session="s1")
NO_MODEL = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "OMNE_MODEL": "", "OMNE_MODEL_CONFIG": ""}
FACTS = {"facts": [{"type": "preference", "data": {"holder": "Maya", "item": "green tea", "sentiment": "likes"},
                    "statement": "Maya likes green tea."}]}


def model(body: dict) -> Reply:
    """The scripted model: a summary for a summary prompt, else the extracted fact."""
    prompt = "\n".join(str(m.get("content")) for m in body["messages"])
    if "Summarise" in prompt:
        return Reply(content=json.dumps({"summary": "Maya talked about tea."}))
    return Reply(content=json.dumps(FACTS))


def add_messages(client: SyncMemoryCore) -> None:
    client.add([Record(kind=RecordKind.MESSAGE, scope=SESSION, role="user", name="Maya", text=text)
                for text in ("I love green tea.", "I drink it every morning.")])


def wait_for_jobs(client: SyncMemoryCore, kinds: set[str], server: Server, timeout_s: float = 120) -> dict[str, str]:
    """The status of each job once every kind in `kinds` has a job and none is pending or running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = client.jobs()
        if {j.kind for j in jobs} >= kinds and all(j.status.value in ("done", "failed") for j in jobs):
            return {j.key: j.status.value for j in jobs}
        time.sleep(0.1)
    raise AssertionError(f"jobs not done in {timeout_s}s: {client.jobs()}\n{server.log.read_text()[-3000:]}")


def test_serve_worker_runs_the_jobs_of_records_added_over_http_with_the_configured_model(tmp_path):
    store = tmp_path / "store"
    with ScriptedOpenAIServer(model) as llm:
        config = tmp_path / "model.yaml"
        config.write_text(f"model:\n  model: local-model\n  base_url: {llm.base_url}\n  api_key: local\n"
                          "  context_window: 8192\n", encoding="utf-8")
        server = start_server(store, args=["--worker", "--model-config", str(config)], env=NO_MODEL)
        try:
            with SyncMemoryCore.connect(server.url) as client:
                add_messages(client)
                jobs = wait_for_jobs(client, {"summarise_session", "summarise_scope", "extract_facts"}, server)
                assert set(jobs.values()) == {"done"}, jobs
                facts = client.list(scope=Scope(user="maya"), kinds=[RecordKind.FACT])
                assert [f.text for f in facts] == ["Maya likes green tea."]
                assert "Maya talked about tea." in [s.text for s in client.list(scope=SESSION,
                                                                               kinds=[RecordKind.SUMMARY])]
                assert client.search("green tea", scope=Scope(user="maya"), kinds=["fact"])
            assert llm.requests  # the model the worker was given did the work
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(60) in (0, -signal.SIGTERM)
        finally:
            stop_server(server)
    log = server.log.read_text()
    assert "construction worker running (model:" in log and "done     extract_facts:" in log
    assert "Traceback" not in log
    assert not (store / "server.json").exists()
    with SyncMemoryCore(store, embedder=HashEmbedder()) as core:  # the worker let go of the store with the server
        assert core.job_counts() == {"pending": 0, "running": 0, "done": len(jobs), "failed": 0}


def test_omne_serve_worker_without_a_model_writes_summaries_and_leaves_fact_jobs_for_a_model(tmp_path, omne_cli):
    """The real `omne serve --worker` (MiniLM): offline, extractive summaries; no fact jobs planned."""
    store = tmp_path / "store"
    server = start_server(store, fast=False, args=["--worker", "--poll", "0.2", "--log-level", "info"], env=NO_MODEL)
    try:
        with SyncMemoryCore.connect(server.url) as client:
            add_messages(client)
            jobs = wait_for_jobs(client, {"summarise_session", "summarise_scope"}, server)
            assert set(jobs.values()) == {"done"} and not any(k.startswith("extract_facts") for k in jobs), jobs
            summaries = client.list(scope=SESSION, kinds=[RecordKind.SUMMARY])
            assert summaries and "green tea" in summaries[0].text
    finally:
        stop_server(server)
    assert "no model: extractive summaries" in server.log.read_text()
    wrong = omne_cli("serve", "--store", str(tmp_path / "other"), "--model-config", "m.yaml")
    assert wrong.returncode == 1 and "--model-config is the construction worker's model: add --worker" in wrong.stderr


def test_a_stopping_server_lets_the_job_in_hand_finish_and_claims_no_more(tmp_path):
    """SIGTERM while the model is answering a job: that job completes, the rest stay pending for the next owner."""
    store = tmp_path / "store"

    def slow_model(body: dict) -> Reply:
        reply = model(body)
        reply.delay_s = 1.5
        return reply

    with ScriptedOpenAIServer(slow_model) as llm:
        config = tmp_path / "model.yaml"
        config.write_text(f"model:\n  model: local-model\n  base_url: {llm.base_url}\n  api_key: local\n",
                          encoding="utf-8")
        server = start_server(store, args=["--worker", "--model-config", str(config)], env=NO_MODEL)
        try:
            with SyncMemoryCore.connect(server.url) as client:
                add_messages(client)
                deadline = time.monotonic() + 60
                while not llm.requests and time.monotonic() < deadline:
                    time.sleep(0.02)
            assert llm.requests
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(60) in (0, -signal.SIGTERM)
        finally:
            stop_server(server)
    with SyncMemoryCore(store, embedder=HashEmbedder()) as core:
        counts = core.job_counts()
    assert counts["running"] == 0 and counts["done"] >= 1 and counts["pending"] >= 1, counts
    assert "Traceback" not in server.log.read_text()


def test_omne_worker_on_a_served_store_names_the_server_and_serve_worker(tmp_path, omne_cli):
    store = tmp_path / "store"
    server = start_server(store)
    try:
        direct = omne_cli("worker", "--once", store=store, env={"OMNE_URL": ""})
        via_url = omne_cli("worker", "--once", store=tmp_path / "elsewhere", env={"OMNE_URL": server.url})
    finally:
        stop_server(server)
    assert direct.returncode == 1 and "Traceback" not in direct.stderr
    assert f"served by `omne serve` at {server.url}" in direct.stderr
    assert f"`omne serve --store {store} --worker`" in direct.stderr
    assert via_url.returncode == 1 and server.url in via_url.stderr and "`omne serve --store DIR --worker`" in \
        via_url.stderr
    assert not Path(tmp_path / "elsewhere").exists()


async def test_process_on_a_remote_core_names_serve_worker(tmp_path):
    core = await open_fast_core(tmp_path / "store")
    try:
        async with served(core) as remote:
            with pytest.raises(InvalidInputError, match=r"omne serve --store DIR --worker"):
                await remote.process()
    finally:
        await core.close()


def test_omne_worker_on_a_store_that_does_not_exist_names_the_path_and_creates_nothing(tmp_path, omne_cli):
    missing = tmp_path / "typo"
    result = omne_cli("worker", "--once", store=missing, env={"OMNE_URL": ""})
    assert result.returncode == 1 and f"no Omne store at {missing}" in result.stderr
    assert not missing.exists()
