"""The README agent as a new user runs it: saved and loaded in a new process, and a configured model that
needs no network and prints no warning."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import textwrap
import warnings

from autogen_agentchat.agents import AssistantAgent

from omne.agents import AgentMemory, BlockSpec, MemoryTool
from omne.llm import load_model_config, make_client
from omne.testing import Reply, ScriptedOpenAIServer, ToolCall, open_fast_core

LONG = ("Here is a long note about my garden, the tomatoes, the beans, the watering schedule and the neighbour's "
        "cat that keeps digging in the carrot bed every single morning before breakfast. ") * 10

CHILD = textwrap.dedent('''
    import asyncio, json, logging, sys, warnings
    warnings.simplefilter("always")
    caught = []
    logging.basicConfig(level=logging.WARNING, handlers=[logging.StreamHandler(sys.stderr)])
    from autogen_agentchat.agents import AssistantAgent
    from omne.agents.shared import acquire_core, release_core
    from omne.testing import HashEmbedder

    async def main():
        core = await acquire_core(sys.argv[1], embedder=HashEmbedder())  # the loaded parts share this core
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            agent = AssistantAgent.load_component(json.loads(sys.stdin.read()))
            context = agent.model_context
            await context.window_messages()  # resumes the saved window and summary
            out = {"tools": [type(t).__name__ + ":" + t.name for w in agent._workbench for t in w._tools],
                   "window": context.window_tokens, "summary": context.summary,
                   "window_ids": context.window_record_ids}
            result = await agent.run(task="What do you know about me?")
            out["reply"] = result.messages[-1].content
            out["human"] = (await context.memory.blocks.get("human")).value
            out["warnings"] = [str(w.message) for w in seen]
        await context.close()
        for memory in agent._memory or []:
            await memory.close()
        await agent.close()
        await release_core(core)
        print(json.dumps(out))

    asyncio.run(main())
''')


async def test_the_readme_agent_round_trips_through_its_config_in_a_new_process(tmp_path, monkeypatch):
    store = tmp_path / "store"
    with ScriptedOpenAIServer([Reply(content="Noted.") for _ in range(4)]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OMNE_MODEL", "scripted")
        client = make_client(load_model_config())
        core = await open_fast_core(store)
        memory = await AgentMemory.open(core, agent="assistant", user="ada", blocks=[
            BlockSpec(label="persona", value="I am a concise, friendly assistant."),
            BlockSpec(label="human", description="What I know about the user")])
        context = memory.context(client, window_tokens=2600, summarize_with_model=False)
        agent = AssistantAgent("assistant", client, system_message=None, tools=memory.tools(),
                               model_context=context, memory=[memory.autogen_memory()], max_tool_iterations=4)
        for i in range(4):  # enough to evict the oldest turns into a summary
            await agent.run(task=f"Note {i}: {LONG}")
        assert context.summary and context.window_record_ids
        summary, window_ids = context.summary, context.window_record_ids
        config = agent.dump_component().model_dump_json()
        await client.close()
        await core.close()

        assert "source_code" not in config and "def " not in config  # the tools are saved as the agent's spec
        server.push(Reply(tool_calls=[ToolCall("core_memory_append", {"label": "human", "content": "Gardener"})]),
                    Reply(content="You garden."))
        child = subprocess.run([sys.executable, "-c", CHILD, str(store)], input=config, capture_output=True,
                               text=True, timeout=300, cwd=str(tmp_path.parent), env={
                                   **__import__("os").environ, "PYTHONPATH": str(_root())})
    assert child.returncode == 0, child.stderr[-3000:]
    out = json.loads(child.stdout.strip().splitlines()[-1])
    assert out["tools"] == [f"MemoryTool:{t.name}" for t in memory.tools()]
    assert out["window"] == 2600 and out["summary"] == summary and out["window_ids"] == window_ids
    assert out["reply"] == "You garden." and out["human"] == "Gardener"  # the loaded tool edited the block
    assert out["warnings"] == [] and "WARNING" not in child.stderr and "SECURITY" not in child.stderr


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


async def test_a_configured_model_runs_a_turn_with_no_warning_and_no_network(tmp_path, fast_core, monkeypatch,
                                                                            caplog):
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def loopback_only(sock, address):  # noqa: ANN001, ANN202
        host = address[0] if isinstance(address, tuple) else str(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"test: no network ({address})")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OMNE_MODEL", "OMNE_MODEL_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    memory = await AgentMemory.open(fast_core, agent="assistant", user="ada",
                                    blocks=[BlockSpec(label="human", description="What I know about the user")])
    with ScriptedOpenAIServer([Reply(content="Hello Ada.")]) as server:
        path = tmp_path / "model.yaml"
        path.write_text(f"model:\n  model: my-local-model\n  base_url: {server.base_url}\n  api_key: local\n"
                        "  context_window: 32768\n", encoding="utf-8")
        client = make_client(load_model_config(path))
        with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
            warnings.simplefilter("always")
            context = memory.context(client)
            agent = AssistantAgent("assistant", client, system_message=None, tools=memory.tools(),
                                   model_context=context, memory=[memory.autogen_memory()])
            result = await agent.run(task="Hi, I'm Ada.")
        await client.close()
    assert result.messages[-1].content == "Hello Ada."
    assert context.window_tokens == 32768  # the model config's context_window is the budget
    assert 0 < context.last_prompt_tokens < 32768
    assert attempts == []  # nothing outside loopback was contacted (tiktoken downloads its encodings)
    assert [str(w.message) for w in seen] == [] and [r.getMessage() for r in caplog.records] == []
    assert type(client).load_component(client.dump_component()).context_window == 32768
    assert all(isinstance(t, MemoryTool) for t in memory.tools())
