"""Resume after SIGKILL without redoing finished tasks; failing and hanging tasks are recorded and the run goes on."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.gaia.resolve import resolve_responder
from benchmarks.gaia.runner import RunOptions, run_gaia
from tests.gaia.support import SAMPLE, question_key, sample_script
from omne.testing import Reply, ScriptedOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
ORDER = ["legs does a spider", "price list", "primary colours", "family Laridae", "concert ticket", "capital of Japan"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _cli(server: ScriptedOpenAIServer, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test-key",
           "OMNE_MODEL": "scripted-model"}
    return subprocess.Popen([sys.executable, "-m", "omne", "bench", "gaia", "run", "--data", str(SAMPLE),
                             "--responder", "assistant", "--out", str(out), "--concurrency", "1", "--no-memory"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkilled_run_resumes_without_redoing_finished_tasks(tmp_path):
    out = tmp_path / "run"
    stall = threading.Event()
    stall.set()

    def script(body):
        if question_key(body) == "family Laridae" and stall.is_set():
            return Reply(content="FINAL ANSWER: Sea Gull", delay_s=60)  # the 4th task hangs until killed
        return sample_script(body)

    with ScriptedOpenAIServer(script) as server:
        first = _cli(server, out)
        deadline = time.monotonic() + 120
        results = out / "results.jsonl"
        while time.monotonic() < deadline and not (results.exists() and len(_lines(results)) == 3):
            assert first.poll() is None, first.communicate()[1]
            time.sleep(0.1)
        while not any(question_key(b) == "family Laridae" for b in list(server.requests)):
            time.sleep(0.05)  # the 4th task is under way
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        finished = [r["task_id"] for r in _lines(results)]
        assert finished == ["omne-s1", "omne-s2", "omne-s3"]
        seen_before_kill = len(server.requests)

        stall.clear()
        second = _cli(server, out)
        stdout, stderr = second.communicate(timeout=120)
        assert second.returncode == 0, stderr
        resumed = [question_key(b) for b in server.requests[seen_before_kill:]]

    assert resumed == ORDER[3:]  # nothing finished was asked again; the killed task was redone
    lines = _lines(out / "results.jsonl")
    assert [r["task_id"] for r in lines] == [f"omne-s{i}" for i in range(1, 7)]  # no duplicates
    assert json.loads((out / "summary.json").read_text()) == {
        "n": 6, "accuracy": 4 / 6, "by_level": {"1": 1.0, "2": 0.5, "3": 0.5}, "errors": 0}
    assert "6 tasks, accuracy 66.7%" in stdout
    assert len(_lines(out / "submission.jsonl")) == 6


async def test_raising_and_hanging_tasks_are_errors_and_the_run_goes_on(tmp_path):
    out = tmp_path / "run"
    options = RunOptions(data=SAMPLE, out=out, responder="tests.gaia.support:FlakySolver", timeout_s=0.5,
                         memory=False, concurrency=2, progress=False)
    result = await run_gaia(options, model=None)
    assert result == {"n": 6, "accuracy": 4 / 6, "by_level": {"1": 0.5, "2": 1.0, "3": 0.5}, "errors": 2}
    by_id = {r["task_id"]: r for r in _lines(out / "results.jsonl")}
    assert by_id["omne-s1"]["error"] == "RuntimeError: tool crashed"
    assert by_id["omne-s6"]["error"] == "timed out after 0.5 s"
    assert by_id["omne-s1"]["correct"] is False and by_id["omne-s6"]["answer"] is None
    assert all(by_id[k]["error"] is None and by_id[k]["correct"] for k in ("omne-s2", "omne-s3", "omne-s4", "omne-s5"))
    failed = json.loads((out / "trajectories" / "omne-s1.json").read_text())
    assert failed["error"] == "RuntimeError: tool crashed"

    # failed tasks are finished: a resume redoes nothing, unless asked to retry errors
    calls = []

    def counting(settings):
        solver = resolve_responder("tests.gaia.support:FlakySolver")(settings)
        original = solver.solve

        async def solve(task, attachments):
            calls.append(task.task_id)
            return await original(task, attachments)

        solver.solve = solve
        return solver

    await run_gaia(options, model=None, factory=counting)
    assert calls == []
    again = await run_gaia(options.model_copy(update={"retry_errors": True}), model=None, factory=counting)
    assert sorted(calls) == ["omne-s1", "omne-s6"] and again["errors"] == 2
    assert len(_lines(out / "results.jsonl")) == 8  # append-only: retries add lines, the last one counts


async def test_torn_last_line_from_a_killed_write_is_ignored_and_fenced(tmp_path):
    out = tmp_path / "run"
    options = RunOptions(data=SAMPLE, out=out, responder="tests.gaia.support:FlakySolver", timeout_s=0.2,
                         memory=False, progress=False, task_ids=["omne-s2", "omne-s3"])
    await run_gaia(options, model=None)
    good = (out / "results.jsonl").read_text().splitlines()
    (out / "results.jsonl").write_text(good[0] + "\n" + good[1][:40])  # killed mid-write of the 2nd line
    result = await run_gaia(options, model=None)
    assert result["n"] == 2 and result["accuracy"] == 1.0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["task_id"] == "omne-s3"


async def test_resume_backfills_memory_that_a_kill_lost(tmp_path, embedder):
    import shutil

    from benchmarks.gaia.memory import ExperienceMemory

    out = tmp_path / "run"
    options = RunOptions(data=SAMPLE, out=out, responder="tests.gaia.support:FlakySolver", progress=False,
                         task_ids=["omne-s2", "omne-s5"])
    await run_gaia(options, model=None)
    shutil.rmtree(out / "memory")  # as if the process died after writing results, before writing memory
    await run_gaia(options, model=None)
    memory = await ExperienceMemory.open(out / "memory")
    try:
        assert await memory.remembered_tasks() == {"omne-s2", "omne-s5"}
        notes = await memory.recall("price of an apple and a pear")
    finally:
        await memory.close()
    assert notes[0].startswith("Earlier task: The attached price list") and "answered '3.5'" in notes[0]
    assert all("gold" not in n and "correct" not in n for n in notes)
