"""End to end: AutoGen's real OpenAIChatCompletionClient, a loopback OpenAI-compatible server, Omne memory tools."""

from autogen_agentchat.agents import AssistantAgent

from omne.agents import MEMORY_TOOL_NAMES, AgentMemory, BlockSpec
from omne.llm import load_model_config, make_client
from omne.testing import Reply, ScriptedOpenAIServer, ToolCall


async def test_memory_tools_work_through_the_real_openai_client(fast_core, monkeypatch):
    mem = await AgentMemory.open(fast_core, agent="helper", user="ada",
                                 blocks=[BlockSpec(label="human", value="", limit=300, description="About the user")])
    script = [
        Reply(tool_calls=[ToolCall("core_memory_append", {"label": "human", "content": "Name: Ada; drinks green tea"}),
                          ToolCall("archival_memory_insert", {"content": "Ada brews green tea at 80 degrees",
                                                              "tags": ["tea"]})]),
        Reply(tool_calls=[ToolCall("archival_memory_search", {"query": "green tea degrees", "tags": ["tea"]}),
                          ToolCall("core_memory_append", {"label": "nope", "content": "x"})]),
        Reply(content="Got it, Ada."),
        Reply(tool_calls=[ToolCall("conversation_search", {"query": "Ada tea", "roles": ["user"]})]),
        Reply(content="You told me you are Ada and you like green tea."),
    ]
    with ScriptedOpenAIServer(script) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.delenv("OMNE_MODEL", raising=False)
        client = make_client(load_model_config())
        context = mem.context(client, window_tokens=8000)
        agent = AssistantAgent("helper", client, system_message=None, tools=mem.tools(), model_context=context,
                               memory=[mem.autogen_memory()], max_tool_iterations=3, model_client_stream=True)
        first = await agent.run(task="Hi, I'm Ada. I drink green tea, brewed at 80 degrees.")
        # a later session: the first one is out of the window, so conversation_search brings it back
        later = await AgentMemory.open(fast_core, agent="helper", user="ada", session="later")
        agent = AssistantAgent("helper", client, system_message=None, tools=later.tools(),
                               model_context=later.context(client, window_tokens=8000),
                               memory=[later.autogen_memory()], max_tool_iterations=3, model_client_stream=True)
        second = await agent.run(task="What do you remember about me?")
        await client.close()

    assert first.messages[-1].content == "Got it, Ada."
    assert second.messages[-1].content == "You told me you are Ada and you like green tea."
    requests = server.requests
    assert len(requests) == 5
    assert [t["function"]["name"] for t in requests[0]["tools"]] == list(MEMORY_TOOL_NAMES)
    system = [r["messages"][0] for r in requests]
    assert all(m["role"] == "system" for m in system)
    assert "Name: Ada; drinks green tea" not in system[0]["content"]
    assert "Name: Ada; drinks green tea" in system[1]["content"]  # the edit is in the very next prompt
    assert 'chars="27/300"' in system[1]["content"]

    tool_results = {m["tool_call_id"]: m["content"] for r in requests for m in r["messages"] if m["role"] == "tool"}
    search = next(v for v in tool_results.values() if v.startswith("Found 1 archival record"))
    assert "Ada brews green tea at 80 degrees" in search and "written by agent:helper" in search
    assert "Error: no memory block labelled 'nope'; the blocks are: human" in tool_results.values()
    recall = next(v for v in tool_results.values() if v.startswith("Found") and "message(s)" in v)
    assert "· user, session default · id " in recall and "\n> Hi, I'm Ada." in recall

    # offline, the client's tiktoken counter cannot load: the context fell back to the tokenizer and kept counting
    assert 0 < context.last_prompt_tokens <= 8000


async def test_the_example_runs_against_an_openai_compatible_server(tmp_path, monkeypatch, embedder):
    import runpy
    from pathlib import Path

    example = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "assistant_with_memory.py"))
    script = [Reply(tool_calls=[ToolCall("core_memory_append", {"label": "human", "content": "Name: Ada; sails"})]),
              Reply(content="Hello Ada!")]
    with ScriptedOpenAIServer(script) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.chdir(tmp_path)
        await example["main"]("Hi! I'm Ada and I love sailing.")
    assert "Name: Ada; sails" in server.requests[1]["messages"][0]["content"]
    assert "I am a concise, friendly assistant." in server.requests[0]["messages"][0]["content"]
    assert (tmp_path / ".omne" / "store" / "records.sqlite3").is_file()


def test_the_example_without_a_model_prints_one_line(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OMNE_MODEL",
                                                              "AZURE_OPENAI_ENDPOINT")}
    done = subprocess.run([sys.executable, str(root / "examples" / "assistant_with_memory.py")], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("error: no language model is configured")
