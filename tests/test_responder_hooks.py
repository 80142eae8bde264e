"""Subclassing hooks change behaviour as documented; responders save and load as AutoGen components."""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent, BaseChatAgent
from autogen_agentchat.messages import MemoryQueryEvent, ModelClientStreamingChunkEvent, TextMessage
from autogen_core import CancellationToken

from assistants import (FactsLedger, NullMemoryPolicy, Plan, PlanStep, ProgressLedger, ReactiveResponder,
                        ResponderSettings, SimpleResponder)
from assistants.memory_policy import MemoryPolicy
from omne.agents.shared import unregister
from assistants.tools import FileReaderTool
from omne.core import MemoryCore
from omne.types import Scope
from omne.testing import as_json, prompts_sent, replay

CHECKLIST = Plan(steps=[PlanStep(description="Check the hull"), PlanStep(description="Check the sails")])


class ChecklistResponder(ReactiveResponder):
    """plan() returns a fixed checklist: the model is never asked to plan."""

    async def plan(self, task, facts, state, cancellation_token):  # noqa: ANN001, ANN201
        return CHECKLIST


class PirateResponder(SimpleResponder):
    """system_prompt() replaced."""

    def system_prompt(self) -> str:
        return "Answer like a pirate."


class ForgetfulResponder(SimpleResponder):
    """memory_policy() returns a policy that neither retrieves nor records."""

    def memory_policy(self, core: MemoryCore | None) -> MemoryPolicy:
        return NullMemoryPolicy()


DONE = ProgressLedger(is_request_satisfied=True, is_in_loop=False, is_progress_being_made=True,
                      next_speaker="mate", instruction="")


async def test_overriding_plan_skips_model_planning():
    client = replay(as_json(FactsLedger()), as_json(DONE), "FINAL ANSWER: seaworthy")
    mate = ChecklistResponder("mate", client, settings=ResponderSettings(reflect=False))
    result = await mate.solve("Is the boat seaworthy?")
    assert result.plans == [CHECKLIST]
    assert [s.kind for s in result.trajectory] == ["analysis", "progress", "final"]
    assert "1. Check the hull\n2. Check the sails" in prompts_sent(client)[1]  # the progress check saw the checklist
    assert result.answer == "seaworthy"


async def test_overriding_system_prompt_and_streaming():
    client = replay("Arr, the tide turns at noon.")
    pirate = PirateResponder("pirate", client, model_client_stream=True)
    chunks = [m.content async for m in pirate.run_stream(task="When does the tide turn?")
              if isinstance(m, ModelClientStreamingChunkEvent)]
    assert "".join(chunks) == "Arr, the tide turns at noon."
    assert pirate.last_result.answer == "Arr, the tide turns at noon."
    # (the replay client records calls only when not streaming)
    client = replay("Arr.", "Arr, at noon.")
    pirate = PirateResponder("pirate", client)
    await pirate.run(task="When does the tide turn?")
    await pirate.run(task="Again?")
    assert client.create_calls[0]["messages"][0].content == "Answer like a pirate."
    assert [m.content for m in client.create_calls[1]["messages"][1:]] == ["When does the tide turn?", "Arr.", "Again?"]


async def test_overriding_memory_policy_stops_recording(core):
    scope = Scope(user="u", agent="mate")
    await core.remember("The mate's parrot is called Polly.", scope=Scope(user="u", agent="mate", session="old"))
    plain = SimpleResponder("mate", replay("Polly."), memory=core, user="u")
    events = [m async for m in plain.run_stream(task="What is my parrot called?")]
    assert any(isinstance(e, MemoryQueryEvent) and "Polly" in e.content[0].content for e in events)
    before = len(await core.list(scope=scope))
    forgetful = ForgetfulResponder("mate", replay("I do not know."), memory=core, user="u")
    await forgetful.run(task="What is my parrot called?")
    assert "Polly" not in forgetful.model_client.create_calls[0]["messages"][0].content
    assert len(await core.list(scope=scope)) == before
    unregister(core)


async def test_responders_round_trip_through_component_config(core):
    def knots_to_kmh(knots: float) -> float:
        """Convert knots to km/h."""
        return knots * 1.852

    settings = ResponderSettings(max_stalls=2, budgets={"max_rounds": 7})
    simple = SimpleResponder("helper", replay("hi"), tools=[knots_to_kmh, FileReaderTool(max_chars=900)], memory=core,
                             user="u", team="t", settings=settings, description="Helps.")
    dumped = simple.dump_component()
    loaded = BaseChatAgent.load_component(dumped)
    assert type(loaded) is SimpleResponder
    assert loaded.dump_component() == dumped
    assert [t.name for t in loaded.tools()] == ["knots_to_kmh", "read_file", "conversation_search",
                                                "archival_memory_insert", "archival_memory_search"]
    assert loaded.settings == settings
    assert await loaded.tools()[0].run_json({"knots": 10}, CancellationToken()) == 18.52
    assert (loaded.scopes.user, loaded.scopes.team) == ("u", "t")
    await loaded.run(task="hello")
    assert await loaded.policy() is not None and loaded.core is core  # the store opened once per process

    member = AssistantAgent("researcher", replay("x"))
    reactive = ChecklistResponder("mate", replay("x"), members=[member])
    dumped = reactive.dump_component()
    assert dumped.provider == "tests.test_responder_hooks.ChecklistResponder"
    again = BaseChatAgent.load_component(dumped)
    assert type(again) is ChecklistResponder and list(again.members) == ["researcher"]
    assert SimpleResponder("s", replay()).dump_component().provider == "assistants.SimpleResponder"
    unregister(core)


async def test_state_saves_and_loads_the_conversation():
    first = SimpleResponder("a", replay("one"))
    await first.on_messages([TextMessage(content="count", source="user")], CancellationToken())
    second = SimpleResponder("a", replay("two"))
    await second.load_state(await first.save_state())
    await second.run(task="next")
    assert [m.content for m in second.model_client.create_calls[0]["messages"][1:]] == ["count", "one", "next"]


async def test_solve_entry_point_with_an_attachment(tmp_path):
    from assistants.loading import build_responder, responder_class
    from omne.errors import InvalidInputError
    from omne.testing import tool_call

    table = tmp_path / "ports.csv"
    table.write_text("port,ships\nLisbon,31\nPorto,17\n")
    client = replay(tool_call("read_file", path=str(table)), "Lisbon has 31 ships.\nFINAL ANSWER: 31")
    agent = build_responder("simple", client, tools=[FileReaderTool()],
                            settings=ResponderSettings(require_answer_format=True))
    result = await agent.solve("How many ships does Lisbon have?", [table])
    assert (result.answer, result.format_ok, result.stop_reason) == ("31", True, "answered")
    assert result.trajectory[0].tool_calls[0].result == "port,ships\nLisbon,31\nPorto,17\n"
    assert str(table.resolve()) in prompts_sent(client)[0] and "FINAL ANSWER" in prompts_sent(client)[0]
    assert result.tokens.total > 0
    assert responder_class("reactive") is ReactiveResponder
    assert responder_class("tests.test_responder_hooks:ChecklistResponder") is ChecklistResponder
    for bad in ("clever", "tests.test_responder_hooks:CHECKLIST", "no.such.module:X"):
        try:
            responder_class(bad)
        except InvalidInputError:
            continue
        raise AssertionError(f"{bad} should be refused")
