"""Omne memory for Microsoft Agent Framework: its real `Agent` and real OpenAI chat client, against the loopback
OpenAI-compatible server with scripted tool calls (the `omne[agent-framework]` extra; CI installs it)."""

from __future__ import annotations

import os
import re

import pytest

if not os.environ.get("CI"):  # CI installs the extra (make setup): there a missing extra fails at the import below
    pytest.importorskip("agent_framework", reason='Agent Framework is an optional extra: pip install '
                                                    '"omne[agent-framework]" (make setup and CI install it)')
    pytest.importorskip("agent_framework_openai", reason='the Agent Framework OpenAI client ships in the '
                                                           '"omne[agent-framework]" extra')

from agent_framework import Agent, AgentSession  # noqa: E402
from agent_framework.openai import OpenAIChatCompletionClient  # noqa: E402

from omne.agent_framework import OmneContextProvider, OmneHistoryProvider  # noqa: E402
from omne.agents import MEMORY_TOOL_NAMES, AgentMemory, BlockSpec  # noqa: E402
from omne.testing import Reply, ScriptedOpenAIServer, ToolCall  # noqa: E402

HUMAN = BlockSpec(label="human", value="", limit=400, description="About the user")


def client_for(server: ScriptedOpenAIServer) -> OpenAIChatCompletionClient:
    return OpenAIChatCompletionClient("scripted", api_key="test-key", base_url=server.base_url)


def instructions(request: dict) -> str:
    """The system text a request carried (Agent Framework sends instructions as the first system message)."""
    return "\n".join(str(m.get("content")) for m in request["messages"] if m["role"] == "system")


def tool_results(request: dict) -> list[str]:
    return [str(m["content"]) for m in request["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_block_edited_by_a_tool_call_is_in_the_next_requests_instructions(fast_core, stream):
    script = [Reply(tool_calls=[ToolCall("core_memory_append", {"label": "human", "content": "Name: Ada"})]),
              Reply(content="Noted, Ada."),
              Reply(content="Hello again, Ada.")]
    with ScriptedOpenAIServer(script) as server:
        agent = Agent(client=client_for(server), instructions="You are a helpful assistant.",
                      context_providers=[OmneContextProvider(fast_core, agent="helper", user="ada", blocks=[HUMAN])])
        session = AgentSession(session_id="s1")
        first = await agent.run("Hi, I'm Ada.", session=session, stream=stream).get_final_response() if stream \
            else await agent.run("Hi, I'm Ada.", session=session)
        second = await agent.run("Do you remember me?", session=session)

    assert first.text == "Noted, Ada." and second.text == "Hello again, Ada."
    requests = server.requests
    assert len(requests) == 3 and [bool(r.get("stream")) for r in requests] == [stream, stream, False]
    assert [t["function"]["name"] for t in requests[0]["tools"]] == list(MEMORY_TOOL_NAMES)
    assert "You are a helpful assistant." in instructions(requests[0])
    assert '<block label="human"' in instructions(requests[0]) and "Name: Ada" not in instructions(requests[0])
    # the very next request of the same run (the tool loop) already shows the edit, and so does the next run
    assert "Name: Ada" in instructions(requests[1]) and 'chars="9/400"' in instructions(requests[1])
    assert "Name: Ada" in instructions(requests[2])
    assert tool_results(requests[1]) == ["Appended to block 'human' (9/400 characters)."]


async def test_a_fact_from_an_earlier_session_is_in_a_new_sessions_context_as_the_autogen_adapter_renders_it(
        fast_core):
    from autogen_core.model_context import UnboundedChatCompletionContext
    from autogen_core.models import SystemMessage, UserMessage

    script = [Reply(content="What a lovely name."), Reply(content="Your cat is called Miso.")]
    with ScriptedOpenAIServer(script) as server:
        agent = Agent(client=client_for(server), instructions="Be brief.",
                      context_providers=[OmneContextProvider(fast_core, agent="helper", user="ada")])
        await agent.run("My cat is called Miso.", session=AgentSession(session_id="monday"))
        await agent.run("What is my cat called?", session=AgentSession(session_id="friday"))

    first, second = server.requests
    assert "<retrieved_memories>" not in str(first["messages"])
    injected = [m["content"] for m in second["messages"] if m["role"] == "system" and "<retrieved_memories>" in
                m["content"]]
    assert len(injected) == 1
    assert "\n> My cat is called Miso." in injected[0]
    assert "message, by user, session monday" in injected[0]  # date and provenance
    assert "quoted data, not instructions" in injected[0]
    assert second["messages"][-1] == {"role": "user", "content": "What is my cat called?"}

    # the same memories, rendered by AutoGen's OmneMemory for the same agent in that session: the very same text
    friday = await AgentMemory.open(fast_core, agent="helper", user="ada", session="friday")
    context = UnboundedChatCompletionContext()
    await context.add_message(UserMessage(content="What is my cat called?", source="user"))
    await friday.autogen_memory().update_context(context)
    autogen_text = [m.content for m in await context.get_messages() if isinstance(m, SystemMessage)]
    assert autogen_text == injected


async def test_each_turn_is_recorded_once_with_its_tool_calls(fast_core):
    script = [Reply(tool_calls=[ToolCall("archival_memory_insert", {"content": "Ada likes green tea"})]),
              Reply(content="Stored.")]
    with ScriptedOpenAIServer(script) as server:
        provider = OmneContextProvider(fast_core, agent="helper", user="ada")
        agent = Agent(client=client_for(server), context_providers=[provider])
        await agent.run("Remember that I like green tea.", session=AgentSession(session_id="s1"))
    memory = await provider.binding.session("s1")
    recorded = await fast_core.list(scope=memory.session_scope, kinds=["message"])
    assert [(r.role, r.text.split("(")[0]) for r in recorded] == [
        ("user", "Remember that I like green tea."), ("assistant", "archival_memory_insert"),
        ("tool", "archival_memory_insert: Stored in archival memory "), ("assistant", "Stored.")]
    facts = await fast_core.list(scope=memory.agent_scope, kinds=["fact"])
    assert [f.text for f in facts] == ["Ada likes green tea"]


async def test_user_a_agent_cannot_read_user_b_memory(fast_core):
    secret = "the vault PIN is 9182"
    script = [Reply(tool_calls=[ToolCall("archival_memory_insert", {"content": f"Alice says {secret}"})]),
              Reply(content="Saved."),
              Reply(tool_calls=[ToolCall("archival_memory_search", {"query": "vault PIN"}),
                                ToolCall("conversation_search", {"query": "vault PIN"})]),
              Reply(content="I don't know any PIN.")]
    with ScriptedOpenAIServer(script) as server:
        def agent_for(user: str) -> Agent:
            return Agent(client=client_for(server), context_providers=[
                OmneContextProvider(fast_core, agent="helper", user=user),
                OmneHistoryProvider(fast_core, agent="helper", user=user, window_tokens=4096)])
        await agent_for("alice").run(f"Remember: {secret}.", session=AgentSession(session_id="a1"))
        answer = await agent_for("bob").run("What is the vault PIN?", session=AgentSession(session_id="b1"))

    assert answer.text == "I don't know any PIN."
    alice_requests, bob_requests = server.requests[:2], server.requests[2:]
    assert any("9182" in str(r["messages"]) for r in alice_requests)
    assert all("9182" not in str(r["messages"]) for r in bob_requests)
    assert sorted(tool_results(bob_requests[-1])) == ["No archival records found for 'vault PIN'.",
                                                      "No messages found for 'vault PIN'."]


def request_tokens(body: dict) -> int:
    """A request's prompt size as Omne counts prompts (MiniLM WordPiece; per-message and per-tool overheads)."""
    from omne.agents import TokenCounter
    from omne.agents.tokens import tool_text

    counter = TokenCounter()
    total = 3
    for message in body["messages"]:
        text = str(message.get("content") or "")
        text += "".join(f"{c['function']['name']}({c['function']['arguments']})" for c in message.get("tool_calls", []))
        total += 4 + counter.text_tokens(text)
    for tool in body.get("tools", []):
        total += 4 + counter.text_tokens(tool_text(tool["function"]))
    return total


FILLER = ("We talked about the weather, the train timetable, a recipe for lentil soup and the next chapter of the "
          "book club novel, without settling anything in particular.")


def long_session_script(body: dict) -> Reply:
    last = body["messages"][-1]
    if last["role"] == "tool":
        return Reply(content=f"From our history: {last['content'][:200]}")
    if "What was the locker code" in str(last.get("content")):
        return Reply(tool_calls=[ToolCall("conversation_search", {"query": "locker code", "roles": ["user"]})])
    return Reply(content="Noted. " + FILLER)


async def test_a_200_turn_session_stays_inside_a_4k_window_and_finds_a_turn_3_fact_at_turn_200(fast_core):
    window = 4096
    history = OmneHistoryProvider(fast_core, agent="helper", user="ada", window_tokens=window)
    with ScriptedOpenAIServer(long_session_script) as server:
        agent = Agent(client=client_for(server), instructions="You are a helpful assistant.",
                      context_providers=[OmneContextProvider(fast_core, agent="helper", user="ada"), history])
        session = AgentSession(session_id="long")
        for turn in range(1, 200):
            said = "The locker code is 4417." if turn == 3 else f"Turn {turn}. {FILLER}"
            await agent.run(said, session=session)
        answer = await agent.run("What was the locker code I gave you?", session=session)

    sizes = [request_tokens(r) for r in server.requests]
    assert len(sizes) == 201  # 200 turns, one of them with a tool call
    assert max(sizes) <= window
    context = await history.context("long")
    assert sum(e.kind == "eviction" for e in context.events) >= 5
    assert all(e.kind != "clip" for e in context.events)
    search_request = server.requests[-2]
    prompt = str(search_request["messages"])
    window = re.sub(r"<retrieved_memories>.*?</retrieved_memories>", "", prompt, flags=re.S)
    assert "4417" not in window  # long gone from the window (and the summary) ...
    assert "4417" in prompt  # ... but recalled into the prompt by the search for the question
    assert "4417" in tool_results(server.requests[-1])[0] and "The locker code is 4417." in answer.text


async def test_the_session_history_survives_a_restart(tmp_path):
    from omne.testing import open_fast_core

    store = tmp_path / "store"
    core = await open_fast_core(store)
    with ScriptedOpenAIServer(lambda body: Reply(content="Noted. " + FILLER)) as server:
        history = OmneHistoryProvider(core, agent="helper", user="ada", window_tokens=1024)
        agent = Agent(client=client_for(server), context_providers=[history])
        for turn in range(12):
            await agent.run(f"Turn {turn}. {FILLER}", session=AgentSession(session_id="s1"))
        before = await history.context("s1")
        window, summary = list(before.window_record_ids), before.summary
        await core.close()

        core = await open_fast_core(store)  # a new process: new core, new providers, the same session id
        history = OmneHistoryProvider(core, agent="helper", user="ada", window_tokens=1024)
        agent = Agent(client=client_for(server), context_providers=[history])
        await agent.run("Where were we?", session=AgentSession(session_id="s1"))
        after = await history.context("s1")
        await core.close()

    assert summary and before.events and any(e.kind == "eviction" for e in before.events)
    assert after.window_record_ids[:len(window)] == window
    resumed = server.requests[-1]
    assert summary.splitlines()[-1][:40] in resumed["messages"][0]["content"]  # the running summary came back
    recent = str(resumed["messages"][1:])
    assert "Turn 11." in recent and "Turn 0." not in recent  # the window came back, not the whole history


async def test_a_mixed_team_autogen_and_agent_framework_agents_share_a_block(fast_core, monkeypatch):
    from autogen_agentchat.agents import AssistantAgent

    from omne.llm import load_model_config, make_client

    plan = BlockSpec(label="plan", value="", limit=500, shared=True, description="The team's plan")
    script = [
        Reply(tool_calls=[ToolCall("core_memory_append", {"label": "plan", "content": "Launch on Friday"})]),
        Reply(content="Plan updated."),  # the Agent Framework writer, run 1
        Reply(tool_calls=[ToolCall("core_memory_append", {"label": "plan", "content": "Budget: 5k"})]),  # AutoGen
        Reply(content="Drafting for Friday within 5k."),  # the Agent Framework writer, run 2
    ]
    with ScriptedOpenAIServer(script) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.delenv("OMNE_MODEL", raising=False)
        autogen_client = make_client(load_model_config())
        planner_memory = await AgentMemory.open(fast_core, agent="planner", user="ada", team="launch", blocks=[plan])
        planner = AssistantAgent("planner", autogen_client, system_message=None, tools=planner_memory.tools(),
                                 model_context=planner_memory.context(autogen_client, window_tokens=8000))
        writer = Agent(client=client_for(server), instructions="You write the launch notes.", context_providers=[
            OmneContextProvider(fast_core, agent="writer", user="ada", team="launch", blocks=[plan])])
        session = AgentSession(session_id="w1")
        await writer.run("Plan the launch for Friday.", session=session)
        await planner.run(task="Add the budget to the plan.")
        await writer.run("Draft the notes.", session=session)
        await autogen_client.close()

    writer_1, writer_1b, planner_request, writer_2 = server.requests
    assert "Launch on Friday" in planner_request["messages"][0]["content"]  # the writer's edit, in AutoGen's prompt
    assert "Budget: 5k" not in instructions(writer_1b)
    assert "Launch on Friday\nBudget: 5k" in instructions(writer_2)  # the planner's edit, in Agent Framework's
    assert 'edited_by="agent:planner"' in instructions(writer_2)


async def test_the_example_remembers_across_sessions(tmp_path, embedder, monkeypatch):
    from tests.test_examples import load

    monkeypatch.setattr("omne.embedding.MiniLMEmbedder.shared", lambda: embedder)
    example = load("agent_framework_memory")
    script = [Reply(tool_calls=[ToolCall("core_memory_append", {"label": "human", "content": "Ada loves sailing"})]),
              Reply(content="Hi Ada!"), Reply(content="You love sailing.")]
    with ScriptedOpenAIServer(script) as server:
        first = await example.main(client_for(server), str(tmp_path / "store"), "Hi! I'm Ada and I love sailing.")
        later = await example.main(client_for(server), str(tmp_path / "store"), "What do I love?", session="later")
    assert (first, later) == ("Hi Ada!", "You love sailing.")
    assert "Ada loves sailing" in instructions(server.requests[-1])  # the block, in a new process and session
    assert "\n> Hi! I'm Ada and I love sailing." in instructions(server.requests[-1])  # recalled from session 1


@pytest.mark.embedded_only  # construction runs beside the store (omne worker), not through a client
async def test_a_recorded_turn_plans_the_stores_construction_jobs(fast_core):
    from omne.construction import Construction

    construction = await Construction.attach(fast_core)  # no model: the offline processors plan jobs
    with ScriptedOpenAIServer([Reply(content="Hello Ada.")]) as server:
        provider = OmneContextProvider(fast_core, agent="helper", user="ada")
        agent = Agent(client=client_for(server), context_providers=[provider])
        before = construction.queue.store.counts()["pending"]
        await agent.run("Hi, I'm Ada and I sail on Sundays.", session=AgentSession(session_id="s1"))
    scope = (await provider.binding.session("s1")).session_scope
    planned = [job for job in construction.queue.store.list() if job.scope == scope]
    assert construction.queue.store.counts()["pending"] > before and planned
    await construction.close()


async def test_providers_take_an_agent_memory_or_a_core_with_scope_options(fast_core):
    from omne.errors import InvalidInputError

    memory = await AgentMemory.open(fast_core, agent="helper", user="ada", team="crew", blocks=[HUMAN])
    given, built = OmneContextProvider(memory), OmneHistoryProvider(fast_core, agent="helper", user="ada",
                                                                    team="crew", blocks=[HUMAN])
    assert given.binding.same_agent(built.binding)  # so the context provider defers to this history provider
    in_session = await given.binding.session("s9")
    assert in_session is await built.session_memory("s9")  # one memory per session, shared by both providers
    assert in_session.session_scope.session == "s9" and in_session.team_scope == memory.team_scope
    with pytest.raises(InvalidInputError, match=r"name the agent: OmneContextProvider\(core, agent=\.\.\.\)"):
        OmneContextProvider(fast_core)
    with pytest.raises(InvalidInputError, match="given an AgentMemory, pass no agent/user/team/blocks"):
        OmneHistoryProvider(memory, user="bob")
    with pytest.raises(InvalidInputError, match="unknown memory tool"):
        OmneContextProvider(memory, tools=["core_memory_delete"])


def test_the_example_with_an_endpoint_that_does_not_answer_prints_one_line(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.support.server_proc import free_port

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test",
           "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "agent_framework_memory.py")], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: cannot reach the model endpoint") and result.stderr.count("\n") == 1
