"""`--responder simple|reactive` run Omne's real responders (through `solve(task, attachments)`) end to end:
AutoGen's OpenAI client against the scripted loopback server, attachments read with read_file, scores as scripted."""

from __future__ import annotations

import json
import re
from typing import Any

from assistants import FactsLedger, Plan, PlanStep, ProgressLedger, Reflection
from benchmarks.gaia.resolve import resolve_responder
from benchmarks.gaia.responder_solver import RESPONDER_NAME, ResponderSolver
from benchmarks.gaia.runner import RunOptions, run_gaia
from benchmarks.gaia.solver import SolverSettings
from omne.llm import ModelConfig
from tests.gaia.support import EXPECTED_BY_LEVEL, FINALS, PRICE_KEY, SAMPLE, question_key
from omne.testing import Reply, ScriptedOpenAIServer, ToolCall

PRICE_FINAL = "apple 1.25 + pear 2.25 = 3.5\nFINAL ANSWER: 3.5"


def _model(server: ScriptedOpenAIServer) -> ModelConfig:
    return ModelConfig(model="scripted-model", base_url=server.base_url, api_key="test-key", max_retries=0)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _said(body: dict[str, Any], role: str) -> list[str]:
    return [str(m.get("content") or "") for m in body["messages"] if m.get("role") == role]


def _read_the_prices(body: dict[str, Any]) -> Reply | None:
    """A read_file call for the attachment until the tool has answered; None once it has."""
    if any("\napple,1.25\n" in t for t in _said(body, "tool")):
        return None
    path = re.search(r"^- (/\S+fruit_prices\.csv)$", "\n".join(_said(body, "user")), re.MULTILINE).group(1)
    return Reply(tool_calls=[ToolCall("read_file", {"path": path})])


def simple_script(body: dict[str, Any]) -> Reply:
    """One model call per task (two with the attachment): the scripted final message."""
    key = question_key(body)
    if key == PRICE_KEY:
        return _read_the_prices(body) or Reply(content=PRICE_FINAL)
    return Reply(content=FINALS[key]) if key else Reply(status=400, content="scripted server: unknown question")


def reactive_script(body: dict[str, Any]) -> Reply:
    """Ledger JSON for each reactive prompt: facts, plan, progress (one read step for the price task), final."""
    key, prompt = question_key(body), _said(body, "user")[-1]
    if key is None:
        return Reply(status=400, content="scripted server: unknown question")
    if "survey the facts" in prompt:
        return Reply(content=FactsLedger(given_facts=["the question"]).model_dump_json())
    if "Write a short plan" in prompt:
        return Reply(content=Plan(steps=[PlanStep(description="read the file and answer")]).model_dump_json())
    if "Check progress" in prompt:
        done = key != PRICE_KEY or "\napple,1.25\n" in prompt
        return Reply(content=ProgressLedger(is_request_satisfied=done, is_in_loop=False, is_progress_being_made=True,
                                            next_speaker=RESPONDER_NAME, instruction="Read the price list.")
                     .model_dump_json())
    if "Now do this step" in prompt:
        return _read_the_prices(body) or Reply(content="The price list says apple 1.25, pear 2.25.")
    if "Give the final answer" in prompt:
        return Reply(content=PRICE_FINAL if key == PRICE_KEY else FINALS[key])
    if "Reflect on this run" in prompt:
        return Reply(content=Reflection(insight="Read attachments before answering.").model_dump_json())
    return Reply(status=400, content=f"scripted server: unexpected prompt {prompt[:80]!r}")


def test_simple_and_reactive_resolve_to_the_responder_adapter():
    import assistants

    settings = SolverSettings(model=ModelConfig(model="m", base_url="http://127.0.0.1:9/v1", api_key="k"))
    for spec, cls in (("simple", assistants.SimpleResponder), ("reactive", assistants.ReactiveResponder),
                      ("tests.test_responder_hooks:PirateResponder", None)):
        solver = resolve_responder(spec)(settings)
        assert isinstance(solver, ResponderSolver) and (cls is None or solver._class is cls)


async def test_the_simple_responder_runs_the_sample_with_memory(tmp_path):
    out = tmp_path / "run"
    with ScriptedOpenAIServer(simple_script) as server:
        result = await run_gaia(RunOptions(data=SAMPLE, out=out, responder="simple", concurrency=1, progress=False),
                                _model(server))
    assert result == {"n": 6, "accuracy": 4 / 6, "by_level": EXPECTED_BY_LEVEL, "errors": 0}
    results = {r["task_id"]: r for r in _lines(out / "results.jsonl")}
    assert results["omne-s2"]["answer"] == "3.5" and results["omne-s2"]["steps"] == 2
    assert results["omne-s5"]["answer"] == "$1,000" and results["omne-s5"]["tokens"] > 0
    (step,) = json.loads((out / "trajectories" / "omne-s2.json").read_text())["trajectory"]
    assert step["kind"] == "answer" and step["tool_calls"][0]["name"] == "read_file"
    assert "\napple,1.25\n" in step["tool_calls"][0]["result"]  # the attachment was read through solve()

    first, *_, last = [b for b in server.requests if question_key(b) in FINALS]
    assert [t["function"]["name"] for t in last["tools"]] == [
        "conversation_search", "archival_memory_insert", "archival_memory_search"]
    assert "<retrieved_memories>" not in _said(first, "system")[0]  # nothing to recall before the first task
    later = _said(last, "system")[0]
    assert "<retrieved_memories>" in later and "Tokyo" not in later  # earlier tasks recalled, never a gold answer
    assert "Notes from earlier tasks" in _said(last, "user")[0]


async def test_the_reactive_responder_plans_reads_the_attachment_and_answers(tmp_path):
    out = tmp_path / "run"
    with ScriptedOpenAIServer(reactive_script) as server:
        result = await run_gaia(RunOptions(data=SAMPLE, out=out, responder="reactive", memory=False, concurrency=2,
                                           task_ids=["omne-s1", "omne-s2", "omne-s6"], progress=False),
                                _model(server))
    assert result == {"n": 3, "accuracy": 2 / 3, "by_level": {"1": 1.0, "2": None, "3": 0.0}, "errors": 0}
    results = {r["task_id"]: r for r in _lines(out / "results.jsonl")}
    assert [results[t]["answer"] for t in ("omne-s1", "omne-s2", "omne-s6")] == ["8", "3.5", "Kyoto"]
    steps = json.loads((out / "trajectories" / "omne-s2.json").read_text())["trajectory"]
    assert [s["kind"] for s in steps] == ["analysis", "plan", "progress", "act", "progress", "final", "reflection"]
    assert "\napple,1.25\n" in steps[3]["tool_calls"][0]["result"]
    assert results["omne-s2"]["steps"] == 8 == sum(question_key(b) == PRICE_KEY for b in server.requests)
    assert not any("tools" in b and any(t["function"]["name"] == "archival_memory_search" for t in b["tools"])
                   for b in server.requests)  # memory off: no store, so no memory tools
