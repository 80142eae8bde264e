"""Crash recovery of construction jobs, the worker loop, and the CLI (`omne memory jobs`, `omne worker`)."""

from __future__ import annotations

import json
import time

import pytest
from datetime import datetime, timedelta, timezone

from omne import MemoryCore, Record, RecordKind, Scope
from omne.construction import Construction, ConstructionConfig, ExtractiveSummariser, JobStatus, run_worker
from omne.testing import FunctionModel

SESSION = Scope(user="maya", session="s1")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def msg(text: str) -> Record:
    return Record(kind=RecordKind.MESSAGE, scope=SESSION, role="user", name="Maya", text=text)


async def test_a_job_left_running_by_a_crashed_worker_is_retried_after_its_lease(core):
    clock = Clock()
    construction = await Construction.attach(core, config=ConstructionConfig(scope_summaries=False, lease_s=60),
                                             clock=clock)
    await core.add(msg("I named my bike Pistachio."))
    stolen = construction.queue.claim("worker-that-crashed")  # it took the job and died
    assert stolen.kind == "summarise_session"
    report = await core.process()
    assert report.outcomes == [] and report.counts["running"] == 1
    clock.now += timedelta(seconds=61)
    report = await core.process()
    assert [(o.kind, o.status, o.attempt) for o in report.outcomes] == [("summarise_session", JobStatus.DONE, 2)]
    job = construction.queue.store.get(stolen.id)
    assert "worker-that-crashed" in job.errors[0].error
    assert len(await core.list(scope=SESSION, kinds=[RecordKind.SUMMARY])) == 1


def test_the_job_lease_covers_every_model_attempt_and_unbounded_calls_need_an_explicit_lease():
    from pydantic import ValidationError

    from omne.construction.structured import StructuredCallConfig

    assert ConstructionConfig().job_lease_s == 420.0  # 2 x 3 attempts x 60 s + 60 s
    assert ConstructionConfig(lease_s=90).job_lease_s == 90
    assert ConstructionConfig(call=StructuredCallConfig(timeout_s=None), lease_s=90).job_lease_s == 90
    # a model call without a time limit has no lease long enough by default (this used to be a TypeError in
    # Construction.attach): the config names the fix
    with pytest.raises(ValidationError, match="set lease_s"):
        ConstructionConfig(call=StructuredCallConfig(timeout_s=None))


async def test_jobs_planned_from_the_log_survive_a_crash_between_commit_and_enqueue(core):
    await core.add(msg("Written before construction was attached (or before a crash)."))
    construction = await Construction.attach(core, config=ConstructionConfig(scope_summaries=False))
    assert [j.kind for j in construction.queue.store.list()] == ["summarise_session"]
    report = await run_worker(construction, once=True)
    assert report.count("done") == 1


async def test_a_background_worker_picks_up_new_writes_until_stopped(core):
    import asyncio

    construction = await Construction.attach(core, config=ConstructionConfig(scope_summaries=False))
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(construction, poll_s=0.05, stop=stop))
    await core.add(msg("Ines visits on April 12th."))
    for _ in range(200):
        if await core.list(scope=SESSION, kinds=[RecordKind.SUMMARY]):
            break
        await asyncio.sleep(0.05)
    stop.set()
    report = await asyncio.wait_for(worker, 5)
    assert report.count("done") == 1
    assert len(await core.list(scope=SESSION, kinds=[RecordKind.SUMMARY])) == 1


async def test_memory_jobs_cli_lists_statuses_and_reasons(tmp_path, embedder, omne_cli, backend):
    store = tmp_path / "store"
    core = await MemoryCore.open(store, embedder=embedder)
    client = FunctionModel(lambda messages, tools: "no idea, sorry")
    await Construction.attach(core, client, config=ConstructionConfig(max_attempts=1, scope_summaries=False),
                              summariser=ExtractiveSummariser(embedder))
    message = (await core.add(msg("My sister Ines visits on April 12th.")))[0]
    await core.process()
    await core.close()

    result = omne_cli("memory", "jobs", "--json", store=store)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["counts"] == {"pending": 0, "running": 0, "done": 1, "failed": 1}
    failed = next(j for j in data["jobs"] if j["status"] == "failed")
    assert failed["key"] == f"extract_facts:{message.id}" and failed["payload"] == {"record_id": message.id}
    assert "no JSON object in the reply ('no idea, sorry')" in failed["reason"]
    assert failed["errors"][0]["attempt"] == 1

    text = omne_cli("memory", "jobs", "--status", "failed", store=store)
    assert text.returncode == 0 and "failed   extract_facts" in text.stdout and "reason: " in text.stdout
    assert "total: pending 0, running 0, done 1, failed 1" in text.stdout
    wrong = omne_cli("memory", "jobs", "--status", "stuck", store=store)
    assert wrong.returncode == 1 and wrong.stderr.startswith("omne: error: --status must be one of")
    if backend == "sqlite":  # a PostgreSQL store's log is named by its URL, not found in the store directory
        missing = omne_cli("memory", "jobs", store=tmp_path / "nowhere")
        assert missing.returncode == 1 and "no Omne store" in missing.stderr


@pytest.mark.slow
async def test_worker_cli_builds_summaries_and_export_writes_sft(omne_cli, tmp_path, embedder):
    store = tmp_path / "cli"
    core = await MemoryCore.open(store, embedder=embedder)  # written without construction attached
    await core.add([Record(kind=RecordKind.MESSAGE, scope=SESSION, role=role, text=text) for role, text in [
        ("user", "I bought an e-bike and called it Pistachio."),
        ("assistant", "Pistachio is a great name. Are you commuting on it?")]])
    await core.close()

    worked = omne_cli("worker", "--once", store=store)
    assert worked.returncode == 0, worked.stderr
    assert "done     summarise_session:user=maya,session=s1  attempt 1" in worked.stdout
    assert "done     summarise_scope:user=maya" in worked.stdout
    jobs = json.loads(omne_cli("memory", "jobs", "--json", store=store).stdout)
    assert jobs["counts"]["done"] == 2 and jobs["counts"]["failed"] == 0

    out = tmp_path / "sft.jsonl"
    exported = omne_cli("memory", "export", "--format", "sft", "--user", "maya", "--out", str(out), store=store)
    assert exported.returncode == 0, exported.stderr
    examples = [json.loads(line) for line in out.read_text().splitlines()]
    assert examples[0]["messages"][1:] == [
        {"role": "user", "content": "I bought an e-bike and called it Pistachio."},
        {"role": "assistant", "content": "Pistachio is a great name. Are you commuting on it?"}]
    assert len(examples) == 3  # the dialogue, the session summary, the scope summary


async def test_other_layers_plug_in_their_own_job_kinds(core):
    from omne.construction import JobSpec

    seen: list[str] = []

    class Counter:
        kind = "count_words"

        def plan(self, record):
            return [JobSpec(key=f"count_words:{record.id}", kind=self.kind, scope=record.scope,
                            payload={"id": record.id})] if record.kind is RecordKind.MESSAGE else []

        async def run(self, job, construction):
            record = (await construction.core.get_many([job.payload["id"]], scope=job.scope))[0]
            seen.append(record.text)
            return {"words": len(record.text.split())}

    construction = await Construction.attach(core, config=ConstructionConfig(summaries=False), processors=[Counter()])
    message = (await core.add(msg("three little words")))[0]
    await core.process()
    assert seen == ["three little words"]
    assert construction.queue.store.by_key(f"count_words:{message.id}").result == {"words": 3}


async def test_worker_takes_the_project_model_config_and_a_model_less_worker_leaves_fact_jobs(omne_cli, tmp_path,
                                                                                              embedder):
    """`omne worker` finds its model like every entry point (the YAML model config, OPENAI_* / OMNE_MODEL);
    without one it leaves fact jobs pending for a worker that has a model, instead of failing them."""
    from autogen_ext.models.replay import ReplayChatCompletionClient

    from omne.testing import Reply, ScriptedOpenAIServer

    store = tmp_path / "worker-store"
    core = await MemoryCore.open(store, embedder=embedder)
    planner = await Construction.attach(core, ReplayChatCompletionClient(["unused"]),
                                        config=ConstructionConfig(summaries=False))
    await core.add(Record(kind=RecordKind.MESSAGE, scope=SESSION, role="user", name="Maya",
                          text="I love green tea."))
    await planner.close()
    await core.close()
    no_model = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "OMNE_MODEL": "", "OMNE_MODEL_CONFIG": ""}

    offline = omne_cli("worker", "--once", "--json", store=store, env=no_model)
    assert offline.returncode == 0, offline.stderr
    jobs = json.loads(omne_cli("memory", "jobs", "--json", store=store).stdout)
    assert [(j["kind"], j["status"]) for j in jobs["jobs"] if j["kind"] == "extract_facts"] == [
        ("extract_facts", "pending")]

    down = tmp_path / "down.yaml"  # a model whose endpoint is down: the attempt fails and is retried later
    down.write_text("model:\n  model: local-model\n  base_url: http://127.0.0.1:9/v1\n  api_key: x\n"
                    "  max_retries: 0\n", encoding="utf-8")
    failing = omne_cli("worker", "--once", "--model-config", str(down), store=store, env=no_model)
    assert failing.returncode == 0, failing.stderr
    assert "retrying extract_facts:" in failing.stdout and "attempt 1 of 3" in failing.stdout
    retry = [j for j in json.loads(omne_cli("memory", "jobs", "--json", store=store).stdout)["jobs"]
             if j["kind"] == "extract_facts"][0]
    due = datetime.fromisoformat(retry["run_after"]) - datetime.now(timezone.utc)
    time.sleep(max(0.0, due.total_seconds()) + 0.2)  # the retry's backoff (2 s): `--once` runs only due jobs

    facts = {"facts": [{"type": "preference", "data": {"holder": "Maya", "item": "green tea", "sentiment": "likes"},
                        "statement": "Maya likes green tea."}]}
    with ScriptedOpenAIServer([Reply(content=json.dumps(facts))]) as server:
        config = tmp_path / "model.yaml"
        config.write_text(f"model:\n  model: local-model\n  base_url: {server.base_url}\n  api_key: local\n"
                          "  context_window: 8192\n", encoding="utf-8")
        online = omne_cli("worker", "--once", "--model-config", str(config), store=store, env=no_model)
    assert online.returncode == 0, online.stderr
    assert "done     extract_facts:" in online.stdout and server.requests
    jobs = json.loads(omne_cli("memory", "jobs", "--json", store=store).stdout)
    assert {j["kind"]: j["status"] for j in jobs["jobs"]}["extract_facts"] == "done"
