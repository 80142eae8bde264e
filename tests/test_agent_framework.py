"""Omne memory for Microsoft Agent Framework: its real `Agent` and real OpenAI chat client, against the loopback
OpenAI-compatible server with scripted tool calls (the `omne[agent-framework]` extra; CI installs it)."""

from __future__ import annotations

import pytest

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


async def test_a_block_edited_by_a_tool_call_is_in_the_next_requests_instructions(fast_core):
    script = [Reply(tool_calls=[ToolCall("core_memory_append", {"label": "human", "content": "Name: Ada"})]),
              Reply(content="Noted, Ada."),
              Reply(content="Hello again, Ada.")]
    with ScriptedOpenAIServer(script) as server:
        agent = Agent(client=client_for(server), instructions="You are a helpful assistant.",
                      context_providers=[OmneContextProvider(fast_core, agent="helper", user="ada", blocks=[HUMAN])])
        session = AgentSession(session_id="s1")
        first = await agent.run("Hi, I'm Ada.", session=session)
        second = await agent.run("Do you remember me?", session=session)

    assert first.text == "Noted, Ada." and second.text == "Hello again, Ada."
    requests = server.requests
    assert len(requests) == 3
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
