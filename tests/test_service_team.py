"""Two AutoGen agents in two OS processes share one team memory through `omne serve`
(examples/team_across_processes.py, with scripted models): the shared block edited by one is in the other's
next prompt, a fact shared by one is found by the other's search, and each agent's private scope stays private."""

from __future__ import annotations

import json

from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage

from omne import Scope
from omne.sync import SyncMemoryCore
from omne.testing import HashEmbedder, replay
from tests.support.server_proc import free_port
from tests.test_examples import load


def calls(*functions: tuple[str, dict]) -> CreateResult:
    return CreateResult(finish_reason="function_calls", cached=False, usage=RequestUsage(prompt_tokens=0,
                        completion_tokens=0), content=[FunctionCall(id=f"call-{n}", name=name,
                                                                    arguments=json.dumps(args))
                                                       for n, (name, args) in enumerate(functions)])


def scripted(*replies: str | CreateResult) -> dict:
    return replay(*replies).dump_component().model_dump(mode="json")


def test_two_agents_in_two_processes_share_team_memory_through_the_server(tmp_path):
    example = load("team_across_processes")
    navigator = scripted(
        calls(("core_memory_append", {"label": "plan", "content": "Depart Lisbon Tuesday 06:00"}),
              ("share_with_team", {"fact": "The harbour master answers on VHF channel 12"}),
              ("archival_memory_insert", {"content": "Private: the quartermaster packs too many onions"})),
        "Plan updated, channel shared.")
    quartermaster = scripted(
        calls(("search_team", {"query": "harbour master channel"}),
              ("archival_memory_search", {"query": "quartermaster onions"}),
              ("search_team", {"query": "onions"})),
        "We leave Tuesday 06:00; call the harbour on VHF 12.")
    store = tmp_path / "store"
    reports = example.main(store, port=free_port(), models={"navigator": navigator, "quartermaster": quartermaster})

    nav, qm = reports["navigator"], reports["quartermaster"]
    assert nav["role"] == "navigator" and qm["reply"] == "We leave Tuesday 06:00; call the harbour on VHF 12."
    first_prompt = "\n".join(qm["prompts"][0])
    assert "Depart Lisbon Tuesday 06:00" in first_prompt  # the navigator's block edit, in the other process
    assert 'edited_by="agent:navigator"' in first_prompt
    tool_results = "\n".join(qm["prompts"][1])
    assert "The harbour master answers on VHF channel 12" in tool_results  # found by the other agent's search
    assert "onions" not in tool_results.replace("quartermaster onions", "").replace('"onions"', "")
    assert "too many onions" not in "\n".join("\n".join(p) for p in qm["prompts"])
    # and in the store the server kept: the note is in the navigator's private scope only
    with SyncMemoryCore(store, embedder=HashEmbedder()) as core:
        private = core.list(scope=Scope(user="captain", agent="navigator"), text_contains="onions")
        assert "Private: the quartermaster packs too many onions" in [r.text for r in private]
        assert not core.list(scope=Scope(user="captain", agent="quartermaster"), text_contains="too many onions")
        assert not core.list(scope=Scope(user="captain", team="crew"), text_contains="too many onions")
