"""Components and tools that open a store by themselves reach an `omne serve` server when told to: an agent's
saved config names the server (never its key), OMNE_URL routes the shared registry, `omne chat` and the GAIA
harness take --server / OMNE_URL, and `omne worker` says it cannot run through a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from autogen_agentchat.agents import AssistantAgent

from omne.agents import AgentMemory, BlockSpec
from omne.agents.shared import acquire_core, release_core
from omne.core import MemoryCore
from omne.llm import ModelConfig, make_client
from omne.service import auth
from omne.service.client import RemoteMemoryCore
from omne.storage import SQLiteStorage
from omne.testing import Reply, ScriptedOpenAIServer, ToolCall, open_fast_core
from omne.types import RecordKind, Scope
from tests.support.server_proc import Server, running_server

ROOT = Path(__file__).resolve().parents[1]
ADA = Scope(user="ada")

CHILD = textwrap.dedent('''
    import asyncio, json, sys
    from autogen_agentchat.agents import AssistantAgent

    async def main():
        agent = AssistantAgent.load_component(json.loads(sys.stdin.read()))
        result = await agent.run(task="I grow tomatoes.")
        context = agent.model_context
        out = {"reply": result.messages[-1].content, "core": type(context.memory.core).__name__,
               "human": (await context.memory.blocks.get("human")).value}
        await context.close()
        for memory in agent._memory or []:
            await memory.close()
        await agent.close()
        print(json.dumps(out))

    asyncio.run(main())
''')


@pytest.fixture(scope="module")
def served_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A served store that requires keys, and a key bound to user ada."""
    store = tmp_path_factory.mktemp("served") / "store"
    store.mkdir()
    storage = SQLiteStorage(store / "records.sqlite3", min_free_bytes=0)
    try:
        key = auth.create_key(storage.keys, scope=ADA)[1]
    finally:
        storage.close()
    with running_server(store, require_keys=True) as server:
        yield server, key


def _env(key: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMNE_URL", "OMNE_STORE")}
    return {**env, "PYTHONPATH": str(ROOT), "OMNE_API_KEY": key, **extra}


async def test_an_agent_saved_against_a_served_store_reloads_in_a_new_process_and_reaches_the_server(
        served_store, tmp_path, monkeypatch):
    server, key = served_store
    monkeypatch.setenv("OMNE_API_KEY", key)
    monkeypatch.delenv("OMNE_URL", raising=False)
    remote = MemoryCore.connect(server.url)
    with ScriptedOpenAIServer([]) as model:
        client = make_client(ModelConfig(model="scripted", base_url=model.base_url, api_key="test-key"))
        memory = await AgentMemory.open(remote, agent="assistant", user="ada", blocks=[
            BlockSpec(label="human", description="What I know about the user")])
        agent = AssistantAgent("assistant", client, system_message=None, tools=memory.tools(),
                               model_context=memory.context(client, summarize_with_model=False),
                               memory=[memory.autogen_memory()], max_tool_iterations=4)
        config = agent.dump_component().model_dump_json()
        await client.close()
        assert server.url in config and key not in config and "OMNE_API_KEY" not in config  # never the key
        model.push(Reply(tool_calls=[ToolCall("core_memory_append", {"label": "human", "content": "Gardener"})]),
                   Reply(content="Noted: you garden."))
        child = subprocess.run([sys.executable, "-c", CHILD], input=config, capture_output=True, text=True,
                               timeout=300, cwd=str(tmp_path), env=_env(key))
    try:
        assert child.returncode == 0, child.stderr[-3000:]
        out = json.loads(child.stdout.strip().splitlines()[-1])
        assert out == {"reply": "Noted: you garden.", "core": "RemoteMemoryCore", "human": "Gardener"}
        assert (await memory.blocks.get("human")).value == "Gardener"  # the server's store holds the child's edit
        said = await remote.list(scope=Scope(user="ada", agent="assistant"), kinds=[RecordKind.MESSAGE])
        assert "I grow tomatoes." in [r.text for r in said]
        assert list(tmp_path.iterdir()) == []  # no embedded store was opened where the child ran
    finally:
        await remote.close()


async def test_omne_url_routes_the_shared_registry_to_the_server(served_store, tmp_path, monkeypatch):
    server, key = served_store
    monkeypatch.setenv("OMNE_URL", server.url + "/")
    monkeypatch.setenv("OMNE_API_KEY", key)
    core = await acquire_core(tmp_path / "not-used")
    try:
        assert isinstance(core, RemoteMemoryCore) and core.url == server.url
        assert await acquire_core(None) is core  # one client per server per process
        await release_core(core)
        await core.remember("the registry reached the server", scope=ADA)
    finally:
        await release_core(core)
    assert core.closed and not (tmp_path / "not-used").exists()


def test_omne_chat_uses_the_server_named_by_omne_url(served_store, omne_cli, tmp_path):
    server, key = served_store
    with ScriptedOpenAIServer([Reply(content="Hello Ada, noted.")]) as model:
        env = {**_env(key, OMNE_URL=server.url), "OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "test-key",
               "OMNE_MODEL": "scripted"}
        result = omne_cli("chat", "--user", "ada", "--name", "chatbot", input="My dog is Rex.\n/exit\n",
                          env=env, store=tmp_path / "unused")
    assert result.returncode == 0, result.stderr
    assert f"(server {server.url})" in result.stdout and "chatbot> Hello Ada, noted." in result.stdout
    assert not (tmp_path / "unused").exists()
    listed = omne_cli("memory", "list", "--user", "ada", "--agent", "chatbot", "--json", env=_env(key, OMNE_URL=server.url))
    assert listed.returncode == 0, listed.stderr
    assert "My dog is Rex." in [r["text"] for r in json.loads(listed.stdout)]


async def test_the_gaia_harness_keeps_its_memory_on_the_server(served_store, tmp_path, monkeypatch):
    from benchmarks.gaia.memory import ExperienceMemory
    from benchmarks.gaia.runner import RunOptions, run_gaia
    from tests.gaia.support import SAMPLE

    server, _ = served_store
    storage = SQLiteStorage(Path(server.log).parent / "store" / "records.sqlite3", min_free_bytes=0)
    try:  # the harness writes its own scope: an admin key
        admin = auth.create_key(storage.keys, scope=None, admin=True)[1]
    finally:
        storage.close()
    monkeypatch.setenv("OMNE_API_KEY", admin)
    out = tmp_path / "run"
    await run_gaia(RunOptions(data=SAMPLE, out=out, responder="tests.gaia.support:FlakySolver", progress=False,
                              task_ids=["omne-s2"], server=server.url), model=None)
    assert not (out / "memory").exists()
    memory = await ExperienceMemory.open(tmp_path / "unused", server=server.url)
    try:
        assert await memory.remembered_tasks() == {"omne-s2"}
    finally:
        await memory.close()


def test_omne_worker_says_it_cannot_run_through_a_server(served_store, omne_cli, tmp_path):
    server, key = served_store
    result = omne_cli("worker", "--once", env=_env(key, OMNE_URL=server.url), store=tmp_path / "s")
    assert result.returncode == 1
    assert result.stderr.startswith("omne: error: `omne worker` runs construction jobs in the process that owns")
    assert "not supported" in result.stderr and "unset OMNE_URL" in result.stderr and "Traceback" not in result.stderr
    store = Path(server.log).parent / "store"
    direct = omne_cli("worker", "--once", env=_env(key), store=store)  # the served store itself, no OMNE_URL
    assert direct.returncode == 1
    assert f"served by `omne serve` at {server.url}" in direct.stderr and "stop the server" in direct.stderr


async def test_a_responder_on_a_remote_core_saves_the_server_url_not_a_directory(tmp_path):
    from assistants import SimpleResponder
    from omne.testing import replay
    from tests.support.served import served

    core = await open_fast_core(tmp_path / "store")
    try:
        async with served(core) as remote:
            responder = SimpleResponder("helper", replay("hi"), memory=remote, user="ada")
            config = responder.dump_component().config
            assert (config.get("server_url"), config.get("store_dir")) == (remote.url, None)
            embedded = SimpleResponder("helper", replay("hi"), memory=core, user="ada").dump_component().config
            assert (embedded.get("server_url"), embedded.get("store_dir")) == (None, str(core.config.store_dir))
    finally:
        await core.close()
