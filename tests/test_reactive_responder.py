"""ReactiveResponder with scripted models: stall, re-plan, budgets, delegation, ledger repair, experience."""

from __future__ import annotations

import asyncio

from autogen_agentchat.agents import AssistantAgent

from assistants import (Budgets, FactsLedger, Plan, PlanStep, ProgressLedger, ReactiveResponder, Reflection,
                        ResponderSettings)
from omne.types import EdgeKind, RecordKind, Scope
from omne.testing import as_json, prompts_sent, replay, tool_call

FACTS = FactsLedger(given_facts=["the city is Lisbon"], facts_to_look_up=["population", "area"],
                    facts_to_derive=["density = population / area"], educated_guesses=["about 5000 per km2"])
PLAN = Plan(steps=[PlanStep(description="Look up the population", speaker="solver"),
                   PlanStep(description="Fetch the area", speaker="solver"),
                   PlanStep(description="Divide population by area", speaker="solver")])
FACTS_2 = FACTS.model_copy(update={"given_facts": ["the city is Lisbon", "population 545000"],
                                   "educated_guesses": ["the primary area source is down; use the backup"]})
PLAN_2 = Plan(steps=[PlanStep(description="Fetch the area from the backup source", speaker="solver"),
                     PlanStep(description="Divide population by area", speaker="solver")])


def progress(instruction: str = "", *, done: bool = False, progressing: bool = True, loop: bool = False,
             speaker: str = "solver") -> ProgressLedger:
    return ProgressLedger(is_request_satisfied=done, is_in_loop=loop, is_progress_being_made=progressing,
                          next_speaker=speaker, instruction=instruction, reason="scripted")


P1 = progress("Look up the population of Lisbon.")
P2 = progress("Fetch the area of Lisbon.")
P3 = progress("Retry the area.", progressing=False)
P4 = progress("Fetch the area of Lisbon from the backup source.")
P5 = progress("Divide 545000 by 100.")
P6 = progress(done=True)
FINAL = "Lisbon has about 5450 people per km2.\nFINAL ANSWER: 5450"
REFLECTION = Reflection(insight="When the primary area source fails, the backup source works.",
                        what_worked=["backup source"], what_failed=["primary area source"])

calls: list[str] = []


def lookup_population(city: str) -> str:
    """Population of a city."""
    calls.append("lookup_population")
    return f"{city}: 545000 inhabitants"


def fetch_area(city: str) -> str:
    """Area of a city (primary source)."""
    calls.append("fetch_area")
    raise ConnectionError("primary source is down")


def fetch_area_backup(city: str) -> str:
    """Area of a city (backup source)."""
    calls.append("fetch_area_backup")
    return f"{city}: 100 km2"


def divide(a: float, b: float) -> float:
    """a / b"""
    calls.append("divide")
    return a / b


def settings(**budgets) -> ResponderSettings:
    return ResponderSettings(kind="reactive", max_stalls=1, max_replans=2, max_tool_iterations=1,
                             budgets=Budgets(**({"max_rounds": 20, "max_time_s": 60, "max_tokens": None} | budgets)))


def solver(client, core=None, **kwargs) -> ReactiveResponder:
    return ReactiveResponder("solver", client, tools=[lookup_population, fetch_area, fetch_area_backup, divide],
                             memory=core, user="u1", settings=kwargs.pop("settings", settings()), **kwargs)


async def test_step_two_fails_stall_replan_and_finish(core):
    calls.clear()
    client = replay(as_json(FACTS), as_json(PLAN),
                    as_json(P1), tool_call("lookup_population", city="Lisbon"),
                    as_json(P2), tool_call("fetch_area", city="Lisbon"),
                    as_json(P3), as_json(FACTS_2), as_json(PLAN_2),
                    as_json(P4), tool_call("fetch_area_backup", city="Lisbon"),
                    as_json(P5), tool_call("divide", a=545000, b=100),
                    as_json(P6), FINAL, as_json(REFLECTION))
    result = await solver(client, core).solve("What is the population density of Lisbon?")

    assert calls == ["lookup_population", "fetch_area", "fetch_area_backup", "divide"]
    assert (result.answer, result.message, result.stop_reason, result.format_ok) == ("5450", FINAL, "satisfied", True)
    assert result.facts == [FACTS, FACTS_2] and result.plans == [PLAN, PLAN_2]
    assert result.progress == [P1, P2, P3, P4, P5, P6]
    assert [s.kind for s in result.trajectory] == [
        "analysis", "plan", "progress", "act", "progress", "act", "progress", "replan", "plan",
        "progress", "act", "progress", "act", "progress", "final", "reflection"]
    acts = [s for s in result.trajectory if s.kind == "act"]
    assert [s.is_error for s in acts] == [False, True, False, False]
    assert "primary source is down" in acts[1].output
    assert acts[3].output == "5450.0"
    assert result.reflection == REFLECTION.insight
    assert len(client.create_calls) == 16  # every scripted reply used, none left over
    # the progress check after the failure saw the error; the re-plan saw the trajectory
    sent = prompts_sent(client)
    assert "FAILED" in sent[6] and "primary source is down" in sent[6]
    assert "primary source is down" in sent[8]

    # ledgers, trajectory and reflection are in the private scope, linked by edges
    scope = Scope(user="u1", agent="solver")
    insight = (await core.list(scope=scope, kinds=[RecordKind.INSIGHT]))[0]
    trajectory = (await core.list(scope=scope, kinds=[RecordKind.DOCUMENT], tags=["trajectory"]))[0]
    ledgers = await core.list(scope=scope, kinds=[RecordKind.FACT], tags=["ledger"])
    assert insight.text == REFLECTION.insight and insight.source_ids == [trajectory.id]
    assert len(trajectory.data["steps"]) == 16 and trajectory.data["answer"] == "5450"
    assert len(ledgers) == 4  # two fact ledgers, two plans
    edges = await core.edges(scope=scope, record_ids=[trajectory.id])
    assert {(e.src, e.kind) for e in edges} == {(insight.id, EdgeKind.DERIVED_FROM)} | {
        (r.id, EdgeKind.ATTACHED) for r in ledgers}
    assert set(result.memory_ids) >= {insight.id, trajectory.id}

    # a later task retrieves the experience before analysing
    later = replay(as_json(FACTS), as_json(PLAN), as_json(P6), "FINAL ANSWER: 100", as_json(REFLECTION))
    again = await solver(later, core).solve("What is the area of Lisbon? Which source works?")
    assert again.answer == "100"
    assert REFLECTION.insight in prompts_sent(later)[0]


async def test_round_budget_stops_a_plan_that_loops():
    calls.clear()
    looping = progress("Look up the population of Lisbon.")
    client = replay(as_json(FACTS), as_json(PLAN),
                    *[r for _ in range(3) for r in (as_json(looping), tool_call("lookup_population", city="Lisbon"))],
                    "FINAL ANSWER: 545000")
    responder = solver(client, settings=settings(max_rounds=3).model_copy(update={"reflect": False}))
    result = await responder.solve("What is the population density of Lisbon?")
    assert result.stop_reason == "max_rounds"
    assert calls == ["lookup_population"] * 3
    assert result.answer == "545000"
    assert "stopped early (max_rounds)" in prompts_sent(client)[-1]


async def test_token_budget_stops_before_acting():
    client = replay(as_json(FACTS), as_json(PLAN), "FINAL ANSWER: unknown")
    responder = solver(client, settings=settings(max_tokens=50).model_copy(update={"reflect": False}))
    result = await responder.solve("What is the population density of Lisbon?")
    assert result.stop_reason == "max_tokens"
    assert [s.kind for s in result.trajectory] == ["analysis", "plan", "final"]
    assert result.tokens.total >= 50


async def test_time_budget_stops_a_hanging_step():
    async def slow_lookup(city: str) -> str:
        """A lookup that hangs."""
        await asyncio.sleep(30)
        return "never"

    client = replay(as_json(FACTS), as_json(PLAN), as_json(progress("Look it up.")),
                    tool_call("slow_lookup", city="Lisbon"), "FINAL ANSWER: unknown")
    responder = ReactiveResponder("solver", client, tools=[slow_lookup],
                                  settings=settings(max_time_s=0.5).model_copy(update={"reflect": False}))
    result = await asyncio.wait_for(responder.solve("Population of Lisbon?"), 10)
    assert result.stop_reason == "max_time"
    act = next(s for s in result.trajectory if s.kind == "act")
    assert act.is_error and "time budget" in act.output


async def test_delegates_a_step_to_a_member_agent():
    member_client = replay("The capital of Portugal is Lisbon.")
    researcher = AssistantAgent("researcher", member_client, description="Knows geography.", system_message="Be brief.")
    client = replay(as_json(FACTS), as_json(Plan(steps=[PlanStep(description="Ask", speaker="researcher")])),
                    as_json(progress("Which city is the capital of Portugal?", speaker="researcher")),
                    as_json(progress(done=True)), "FINAL ANSWER: Lisbon")
    responder = ReactiveResponder("solver", client, members=[researcher],
                                  settings=settings().model_copy(update={"reflect": False}))
    result = await responder.solve("Capital of Portugal?")
    step = next(s for s in result.trajectory if s.kind == "delegate")
    assert (step.speaker, step.output) == ("researcher", "The capital of Portugal is Lisbon.")
    assert "Which city is the capital of Portugal?" in prompts_sent(member_client)[0]
    assert "researcher: Knows geography." in prompts_sent(client)[0]
    assert result.answer == "Lisbon"


async def test_invalid_ledgers_are_repaired_then_fall_back():
    bad_speaker = progress("Ask someone.", speaker="nobody")
    client = replay("Sure! Here are the facts: given: Lisbon", "```json\n" + as_json(FACTS) + "\n```",
                    as_json(PLAN), as_json(bad_speaker), as_json(progress(done=True)),
                    "The answer is 5450.", "FINAL ANSWER: 5450",
                    "not json", "still not json", "{}")
    responder = solver(client, settings=settings().model_copy(update={"json_retries": 2}))
    result = await responder.solve("Density of Lisbon?")
    assert result.facts == [FACTS] and result.progress == [progress(done=True)]
    sent = prompts_sent(client)
    assert "could not be used" in sent[1] and "'nobody' is not one of ['solver']" in sent[4]
    assert (result.answer, result.format_ok) == ("5450", True)
    reflection = result.trajectory[-1]
    assert reflection.kind == "reflection" and reflection.is_error
    assert result.reflection.startswith("trajectory digest (offline)")


async def test_a_follow_up_turn_sees_the_earlier_conversation():
    first = [as_json(FACTS), as_json(PLAN), as_json(P6), "FINAL ANSWER: 5450"]
    client = replay(*first, *first)
    responder = solver(client, settings=settings().model_copy(update={"reflect": False}))
    await responder.run(task="Density of Lisbon?")
    await responder.run(task="And per hectare?")
    analysis = prompts_sent(client)[4]
    assert "And per hectare?" in analysis and "user: Density of Lisbon?" in analysis and "solver: FINAL ANSWER: 5450" in analysis
