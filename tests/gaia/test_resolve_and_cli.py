"""--responder resolution (built-ins, the assistants package, module:Class, agent adapters) and the CLI."""

import json
import sys
import types

import pytest

from benchmarks.gaia.resolve import resolve_responder
from benchmarks.gaia.runner import RunOptions, run_gaia
from omne.errors import InvalidInputError
from omne.llm import ModelConfig
from tests.gaia.fixtures_responders import PlainResponder
from tests.gaia.support import SAMPLE, sample_script
from omne.testing import ScriptedOpenAIServer


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_simple_and_reactive_need_the_assistants_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "assistants", None)  # as if the package were absent
    with pytest.raises(InvalidInputError, match="--responder simple needs the assistants package"):
        resolve_responder("simple")
    monkeypatch.setitem(sys.modules, "assistants", types.ModuleType("assistants"))  # present, not yet complete
    with pytest.raises(InvalidInputError, match="assistants has no ReactiveResponder yet"):
        resolve_responder("reactive")


@pytest.mark.parametrize(("spec", "message"), [
    ("magic", "use simple, reactive, assistant or package.module:Class"),
    ("no_such_pkg.mod:Thing", "module 'no_such_pkg.mod' is not available"),
    ("tests.gaia.fixtures_responders:Missing", "has no 'Missing'"),
    ("tests.gaia.fixtures_responders:NotASolver", "neither a solver nor an AutoGen agent"),
    ("tests.gaia.fixtures_responders:NeedsMore", "must accept name= and model_client="),
    (":Thing", "use package.module:Class"),
])
def test_bad_responder_specs_fail_in_one_line(spec, message):
    with pytest.raises(InvalidInputError, match=message):
        resolve_responder(spec)


async def test_simple_resolves_to_the_assistants_package_and_an_agent_class_runs(tmp_path, monkeypatch):
    fake = types.ModuleType("assistants")
    fake.SimpleResponder = PlainResponder
    monkeypatch.setitem(sys.modules, "assistants", fake)
    with ScriptedOpenAIServer(sample_script) as server:
        model = ModelConfig(model="scripted-model", base_url=server.base_url, api_key="k", max_retries=0)
        result = await run_gaia(RunOptions(data=SAMPLE, out=tmp_path / "run", responder="simple", memory=False,
                                           task_ids=["omne-s1", "omne-s5"], progress=False), model)
    assert result == {"n": 2, "accuracy": 1.0, "by_level": {"1": 1.0, "2": None, "3": 1.0}, "errors": 0}
    assert all(body["messages"][0]["content"] == "Answer briefly." for body in server.requests)


async def test_a_plain_agent_instance_is_adapted(tmp_path):
    options = RunOptions(data=SAMPLE, out=tmp_path / "run", responder="tests.gaia.fixtures_responders:replay_agent",
                         memory=False, concurrency=1, task_ids=["omne-s1", "omne-s5"], progress=False)
    result = await run_gaia(options, model=None)
    assert result["accuracy"] == 1.0
    lines = _lines(tmp_path / "run" / "results.jsonl")
    assert [(r["answer"], r["steps"]) for r in lines] == [("8", 1), ("1000", 1)]
    assert all(r["prompt_tokens"] > 0 for r in lines)  # from the messages' models_usage


def test_cli_run_without_a_model_names_the_fix(omne_cli, tmp_path, monkeypatch):
    env = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "OMNE_MODEL": "", "AZURE_OPENAI_ENDPOINT": ""}
    done = omne_cli("bench", "gaia", "run", "--data", str(SAMPLE), "--out", str(tmp_path / "run"), env=env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "no language model is configured" in done.stderr
    assert not (tmp_path / "run").exists()


def test_cli_score_writes_json(omne_cli, tmp_path):
    predictions = tmp_path / "submission.jsonl"
    answers = {"omne-s1": "8", "omne-s2": "$3.50", "omne-s3": "blue,green,red", "omne-s4": "sea gull",
               "omne-s6": "Kyoto", "not-in-data": "x"}  # omne-s5 missing: wrong
    predictions.write_text("".join(json.dumps({"task_id": k, "model_answer": v, "reasoning_trace": ""}) + "\n"
                                   for k, v in answers.items()))
    out = tmp_path / "scores.json"
    done = omne_cli("bench", "gaia", "score", "--data", str(SAMPLE / "metadata.jsonl"), "--predictions",
                    str(predictions), "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == {
        "n": 6, "accuracy": 4 / 6, "by_level": {"1": 1.0, "2": 1.0, "3": 0.0},
        "tasks": [{"task_id": "omne-s1", "correct": True}, {"task_id": "omne-s2", "correct": True},
                  {"task_id": "omne-s3", "correct": True}, {"task_id": "omne-s4", "correct": True},
                  {"task_id": "omne-s5", "correct": False}, {"task_id": "omne-s6", "correct": False}]}
    assert "4/6 correct, accuracy 66.7%" in done.stdout
    assert "1 prediction(s) for tasks not in the data were ignored" in done.stderr


def test_cli_score_errors(omne_cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "omne-s1"}\n')
    done = omne_cli("bench", "gaia", "score", "--data", str(SAMPLE), "--predictions", str(bad))
    assert done.returncode == 1 and "line 1: expected an object with task_id and model_answer" in done.stderr
    hidden = tmp_path / "test"
    hidden.mkdir()
    (hidden / "metadata.jsonl").write_text('{"task_id": "a", "Question": "q", "Level": 1, "Final answer": "?"}\n')
    done = omne_cli("bench", "gaia", "score", "--data", str(hidden), "--predictions", str(bad))
    assert done.returncode == 1 and "no ground-truth answers" in done.stderr
