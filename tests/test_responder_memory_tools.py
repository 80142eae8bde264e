"""Responders may call Omne's memory tools, bound to their private scope; a setting switches them off."""

from __future__ import annotations

from autogen_ext.models.replay import ReplayChatCompletionClient

from assistants import ResponderSettings, SimpleResponder
from omne.types import RecordKind, Scope
from omne.testing import replay, tool_call

MEMORY_TOOLS = ["conversation_search", "archival_memory_insert", "archival_memory_search"]


async def test_a_responder_saves_and_finds_memories_with_the_tools(fast_core):
    mate = SimpleResponder("mate", replay(
        tool_call("archival_memory_insert", content="The mooring fee in Porto is 40 euros a night", tags=["harbour"]),
        "Saved."), memory=fast_core, user="u")
    assert [t.name for t in mate.tools()] == MEMORY_TOOLS
    await mate.run(task="Remember: mooring in Porto costs 40 euros a night.")
    assert mate.last_result.trajectory[0].tool_calls[0].result.startswith("Stored in archival memory (id ")
    (fact,) = await fast_core.list(scope=Scope(user="u", agent="mate"), kinds=[RecordKind.FACT])
    assert fact.tags == ["harbour"] and fact.metadata["written_by"] == "agent:mate" and fact.scope.session is None

    later = SimpleResponder("mate", replay(tool_call("archival_memory_search", "c1", query="mooring fee Porto"),
                                           tool_call("conversation_search", "c2", query="mooring Porto"),
                                           "40 euros a night."), memory=fast_core, user="u",
                            settings=ResponderSettings(max_tool_iterations=3))
    result = await later.solve("How much is mooring in Porto?")
    archival, recall = (c.result for c in result.trajectory[0].tool_calls)
    assert "\n> The mooring fee in Porto is 40 euros a night" in archival and "tags: harbour" in archival
    assert "\n> Remember: mooring in Porto costs 40 euros a night." in recall  # the earlier session's turn
    assert result.answer == "40 euros a night."


async def test_private_scopes_stay_apart_and_the_switch_turns_the_tools_off(fast_core):
    await fast_core.remember("The mate's locker code is 4711", scope=Scope(user="u", agent="mate"))
    bosun = SimpleResponder("bosun", replay(tool_call("archival_memory_search", query="locker code"), "Unknown."),
                            memory=fast_core, user="u")
    await bosun.run(task="What is the mate's locker code?")
    assert bosun.last_result.trajectory[0].tool_calls[0].result == "No archival records found for 'locker code'."

    off = SimpleResponder("mate", replay("hi"), memory=fast_core, user="u",
                          settings=ResponderSettings(memory={"tools": False}))
    assert off.tools() == []
    assert SimpleResponder("mate", replay("hi")).tools() == []  # no store: no memory tools
    plain = ReplayChatCompletionClient(["hi"])  # a model without function calling still gets a responder
    assert SimpleResponder("mate", plain, memory=fast_core, user="u").tools() == []
