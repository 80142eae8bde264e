"""Responders in AutoGen teams: shared team memory, private scopes apart; RoundRobin, Selector, Swarm, GraphFlow."""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import BaseChatMessage, HandoffMessage, TextMessage
from autogen_agentchat.teams import DiGraphBuilder, GraphFlow, RoundRobinGroupChat, SelectorGroupChat, Swarm

from assistants import FactsLedger, Plan, PlanStep, ProgressLedger, ReactiveResponder, Reflection, SimpleResponder
from omne.agents.shared import unregister
from omne.types import RecordKind, Scope
from omne.testing import as_json, prompts_sent, replay, tool_call

USER, TEAM = "skipper", "crew"
INSIGHT = "Trips need the boat's name confirmed first."
DONE = ProgressLedger(is_request_satisfied=True, is_in_loop=False, is_progress_being_made=True,
                      next_speaker="bob", instruction="", reason="the trip is noted")


def reactive_script(answer: str) -> list[str]:
    return [as_json(FactsLedger(given_facts=["trip to Porto"])), as_json(Plan(steps=[PlanStep(description="note it")])),
            as_json(DONE), f"FINAL ANSWER: {answer}", as_json(Reflection(insight=INSIGHT))]


async def test_two_responders_and_a_plain_agent_share_a_team_scope(core):
    alice_model = replay("Noted: the Aurora sails to Porto on Tuesday.", "Raincoats it is.")
    bob_model = replay(*reactive_script("ready"))
    carol_model = replay("Bring raincoats; storms are expected on Tuesday.")
    alice = SimpleResponder("alice", alice_model, memory=core, user=USER, team=TEAM)
    bob = ReactiveResponder("bob", bob_model, memory=core, user=USER, team=TEAM)
    carol = AssistantAgent("carol", carol_model, system_message="You are the weather officer.")
    team = RoundRobinGroupChat([alice, bob, carol], termination_condition=MaxMessageTermination(5))
    result = await team.run(task="We sail to Porto on Tuesday on the Aurora.")
    spoken = [m for m in result.messages if isinstance(m, BaseChatMessage)]
    assert [m.source for m in spoken] == ["user", "alice", "bob", "carol", "alice"]
    assert spoken[2].to_text() == "FINAL ANSWER: ready"

    shared = await core.list(scope=Scope(user=USER, team=TEAM))
    assert sorted(r.name for r in shared) == ["alice", "alice", "bob", "carol", "user"]  # each message once
    assert all(r.kind is RecordKind.MESSAGE and r.scope.agent is None for r in shared)
    assert any("raincoats" in r.text for r in shared if r.name == "carol")  # the plain agent's words are shared

    alice_private = await core.list(scope=Scope(user=USER, agent="alice"))
    bob_private = await core.list(scope=Scope(user=USER, agent="bob"))
    assert alice_private and bob_private
    assert {r.scope.agent for r in alice_private} == {"alice"} and {r.scope.team for r in alice_private} == {None}
    assert not {r.id for r in alice_private} & {r.id for r in bob_private}
    assert [r.text for r in bob_private if r.kind is RecordKind.INSIGHT] == [INSIGHT]
    assert not [r for r in alice_private if r.kind is RecordKind.INSIGHT]

    # a new session: alice recalls the plain agent's advice from team memory, never bob's private insight
    alice_again = SimpleResponder("alice", replay("Raincoats, as carol said."), memory=core, user=USER, team=TEAM)
    await alice_again.run(task="What should we bring for the Porto trip to stay dry in storms?")
    system = alice_again.model_client.create_calls[0]["messages"][0].content
    heads = [line for line in system.split("\n") if line.startswith("[") and "message, by carol" in line]
    assert any(line.endswith("· team crew") for line in heads)  # the team memory's provenance line ...
    assert "\n> Bring raincoats; storms are expected on Tuesday." in system  # ... and its quoted text
    assert INSIGHT not in system
    # bob retrieves his own past experience before analysing the next task
    bob_again = ReactiveResponder("bob", replay(*reactive_script("ok")), memory=core, user=USER, team=TEAM)
    await bob_again.solve("Another trip: what do trips need first?")
    assert INSIGHT in prompts_sent(bob_again.model_client)[0]
    unregister(core)


async def test_selector_group_chat_picks_a_responder():
    selector = replay("alice")
    alice = SimpleResponder("alice", replay("Aye."), description="Answers sailing questions.")
    carol = AssistantAgent("carol", replay("unused"), description="Weather.")
    team = SelectorGroupChat([alice, carol], model_client=selector, termination_condition=MaxMessageTermination(2))
    result = await team.run(task="Ready to sail?")
    assert [(m.source, m.to_text()) for m in result.messages] == [("user", "Ready to sail?"), ("alice", "Aye.")]


async def test_swarm_hands_off_from_a_responder():
    triage = SimpleResponder("triage", replay(tool_call("transfer_to_expert")), handoffs=["expert"])
    expert = AssistantAgent("expert", replay("High tide is at 14:05."))
    team = Swarm([triage, expert], termination_condition=MaxMessageTermination(3))
    result = await team.run(task="When is high tide?")
    spoken = [m for m in result.messages if isinstance(m, BaseChatMessage)]
    handoff = spoken[1]
    assert isinstance(handoff, HandoffMessage) and handoff.target == "expert"
    assert len(spoken) == 3 and result.messages[-1].source == "expert" and result.messages[-1].to_text() == "High tide is at 14:05."
    assert triage.last_result.stop_reason == "handoff"


async def test_graph_flow_runs_a_responder_then_an_agent():
    drafter = SimpleResponder("drafter", replay("Draft: sail Tuesday."))
    reviewer = AssistantAgent("reviewer", replay("Approved."))
    builder = DiGraphBuilder()
    builder.add_node(drafter).add_node(reviewer).add_edge(drafter, reviewer)
    flow = GraphFlow([drafter, reviewer], graph=builder.build())
    result = await flow.run(task="Draft the plan.")
    texts = [(m.source, m.to_text()) for m in result.messages if isinstance(m, TextMessage)]
    assert texts == [("user", "Draft the plan."), ("drafter", "Draft: sail Tuesday."), ("reviewer", "Approved.")]


async def test_a_team_member_recalls_each_memory_once(fast_core):
    """A member's messages are recorded privately and as the team's copy; recall counts each message once."""
    first = SimpleResponder("alice", replay(*[f"Noted, point {i}." for i in range(4)]), memory=fast_core, user=USER,
                            team=TEAM)
    for i in range(4):
        await first.run(task=f"Porto trip point {i}: pack item number {i} for the Aurora.")
    later = SimpleResponder("alice", replay("ok"), memory=fast_core, user=USER, team=TEAM)
    recalled = await (await later.policy()).retrieve("Porto trip Aurora pack item")
    assert len(recalled) == 6
    keys = [r.record.metadata.get("message_id") for r in recalled]
    assert None not in keys and len(set(keys)) == 6  # six distinct messages, not three twice
