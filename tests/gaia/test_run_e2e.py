"""End to end: the sample against AutoGen's real OpenAI client and the scripted loopback server."""

import json
from xml.etree import ElementTree

import pytest

from benchmarks.gaia.runner import RunOptions, run_gaia
from omne.llm import ModelConfig
from tests.gaia.support import EXPECTED_BY_LEVEL, SAMPLE, question_key, sample_script
from omne.testing import Reply, ScriptedOpenAIServer, ToolCall


def _model(server: ScriptedOpenAIServer) -> ModelConfig:
    return ModelConfig(model="scripted-model", base_url=server.base_url, api_key="test-key", max_retries=0)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_sample_run_scores_per_level_and_writes_every_output(tmp_path, embedder):
    out = tmp_path / "run"
    with ScriptedOpenAIServer(sample_script) as server:
        result = await run_gaia(RunOptions(data=SAMPLE, out=out, concurrency=1, progress=False,
                                           usd_per_mtok_in=1.0, usd_per_mtok_out=2.0), _model(server))
    expected = {"n": 6, "accuracy": 4 / 6, "by_level": EXPECTED_BY_LEVEL, "errors": 0}
    assert result == expected
    assert json.loads((out / "summary.json").read_text()) == expected

    results = {r["task_id"]: r for r in _lines(out / "results.jsonl")}
    assert {k: (r["answer"], r["correct"]) for k, r in results.items()} == {
        "omne-s1": ("8", True), "omne-s2": ("3.5", True), "omne-s3": ("blue, green", False),
        "omne-s4": ("Sea Gull", True), "omne-s5": ("$1,000", True), "omne-s6": ("Kyoto", False)}
    price = results["omne-s2"]
    assert price["steps"] == 2 and price["gold"] == "3.5" and price["level"] == 1 and price["error"] is None
    assert price["tokens"] == price["prompt_tokens"] + price["completion_tokens"] > 0
    assert price["cost"] == pytest.approx((price["prompt_tokens"] * 1.0 + price["completion_tokens"] * 2.0) / 1e6)
    assert all(r["seconds"] >= 0 for r in results.values())

    submission = _lines(out / "submission.jsonl")
    assert [s["task_id"] for s in submission] == [f"omne-s{i}" for i in range(1, 7)]
    assert set(submission[0]) == {"task_id", "model_answer", "reasoning_trace"}
    assert submission[4]["model_answer"] == "$1,000" and "250 times 4" in submission[4]["reasoning_trace"]

    trajectory = json.loads((out / "trajectories" / "omne-s2.json").read_text())
    kinds = [m["type"] for m in trajectory["trajectory"]]
    assert kinds[:3] == ["TextMessage", "ToolCallRequestEvent", "ToolCallExecutionEvent"]
    assert "\napple,1.25\n" in trajectory["trajectory"][2]["content"][0]["content"]  # the attachment was read
    assert len(list((out / "trajectories").glob("*.json"))) == 6

    report = (out / "report.md").read_text()
    assert "| Level 1 | 2 | 2/2 | 100.0% |" in report and "| Level 2 | 2 | 1/2 | 50.0% |" in report
    assert "| All | 6 | 4/6 | 66.7% |" in report
    page = (out / "report.html").read_text()
    assert "Level 3" in page and "$0.000" in page
    if "<svg" in page:  # no matplotlib here: the inline chart must be well-formed SVG with one bar per group
        svg = ElementTree.fromstring(page[page.index("<svg"):page.index("</svg>") + 6])
        bars = [el for el in svg.iter() if el.tag.endswith("rect")]
        assert [b.find("{http://www.w3.org/2000/svg}title").text for b in bars] == [
            "Level 1: 100.0%", "Level 2: 50.0%", "Level 3: 50.0%", "All: 66.7%"]
    else:
        assert "data:image/png;base64," in page

    # memory across tasks: later tasks were shown the experience of earlier ones (never the gold answer)
    by_key = {}
    for body in server.requests:
        by_key.setdefault(question_key(body), []).append(json.dumps(body))
    assert "Notes from earlier tasks" not in by_key["legs does a spider"][0]  # the first task has none
    japan = by_key["capital of Japan"][0]
    assert "Notes from earlier tasks" in japan and "Earlier task:" in japan
    assert "Tokyo" not in japan.split("Notes from earlier tasks")[1]


async def test_concurrent_run_without_memory_gives_the_same_scores(tmp_path):
    out = tmp_path / "run"
    with ScriptedOpenAIServer(sample_script) as server:
        result = await run_gaia(RunOptions(data=SAMPLE, out=out, concurrency=4, memory=False, progress=False),
                                _model(server))
    assert result == {"n": 6, "accuracy": 4 / 6, "by_level": EXPECTED_BY_LEVEL, "errors": 0}
    assert not any("Notes from earlier tasks" in json.dumps(b) for b in server.requests)  # ablation: no memory
    assert not (out / "memory").exists()
    assert json.loads((out / "results.jsonl").read_text().splitlines()[0])["cost"] is None  # no prices given


async def test_token_budget_stops_a_looping_task_and_the_run_goes_on(tmp_path):
    def script(body):
        if question_key(body) == "price list":  # reads the file forever
            return Reply(tool_calls=[ToolCall("read_attachment", {"file_name": "fruit_prices.csv"})])
        return sample_script(body)

    out = tmp_path / "run"
    with ScriptedOpenAIServer(script) as server:
        result = await run_gaia(RunOptions(data=SAMPLE, out=out, levels=[1], memory=False, progress=False,
                                           max_tokens=400, max_tool_iterations=100), _model(server))
    assert result["n"] == 2 and result["errors"] == 1 and result["by_level"]["1"] == 0.5
    failed = {r["task_id"]: r for r in _lines(out / "results.jsonl")}["omne-s2"]
    assert failed["error"].startswith("TokenBudgetExceeded: token budget exceeded")
    assert failed["correct"] is False and failed["answer"] is None
    assert failed["tokens"] >= 400 and failed["steps"] >= 2  # usage up to the stop is kept
    calls = sum(1 for b in server.requests if question_key(b) == "price list")
    assert calls == failed["steps"] < 100


async def test_a_rejected_api_key_stops_the_run_in_one_line(tmp_path):
    from omne.errors import BackendUnavailableError

    with ScriptedOpenAIServer(lambda body: Reply(status=401, content="invalid api key")) as server:
        with pytest.raises(BackendUnavailableError, match="refused the run .*AuthenticationError.*rerun to resume"):
            await run_gaia(RunOptions(data=SAMPLE, out=tmp_path / "run", memory=False, concurrency=1,
                                      progress=False), _model(server))
    assert len(server.requests) == 1  # stopped at the first task instead of failing all six
    assert not (tmp_path / "run" / "results.jsonl").exists()
