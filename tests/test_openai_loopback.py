"""The scripted loopback server drives AutoGen's real OpenAI client (plain, streamed, tool calls)."""

from autogen_agentchat.agents import AssistantAgent
from autogen_core.tools import FunctionTool

from omne.llm import ModelNotConfiguredError, load_model_config, make_client, require_client
from omne.testing import Reply, ScriptedOpenAIServer, ToolCall


def test_no_model_configured_names_the_fix(monkeypatch):
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OMNE_MODEL", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    assert load_model_config() is None
    try:
        require_client()
    except ModelNotConfiguredError as exc:
        assert "OPENAI_API_KEY" in str(exc)
    else:
        raise AssertionError("require_client should fail without a model")


async def test_agent_calls_a_tool_through_the_real_client(monkeypatch):
    calls = []

    def lookup_weather(city: str) -> str:
        """Current weather for a city."""
        calls.append(city)
        return f"sunny in {city}"

    with ScriptedOpenAIServer([Reply(tool_calls=[ToolCall("lookup_weather", {"city": "Lisbon"})]),
                               Reply(content="It is sunny in Lisbon.")]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        client = make_client(load_model_config())
        agent = AssistantAgent("a", model_client=client, tools=[FunctionTool(lookup_weather, lookup_weather.__doc__)],
                               reflect_on_tool_use=True, model_client_stream=True)
        result = await agent.run(task="weather in Lisbon?")
        await client.close()
    assert calls == ["Lisbon"]
    assert result.messages[-1].content == "It is sunny in Lisbon."
    assert server.requests[0]["tools"][0]["function"]["name"] == "lookup_weather"
    assert server.requests[1]["messages"][-1]["role"] == "tool"
