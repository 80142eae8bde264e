"""Model faults through AutoGen's real OpenAI client against a scripted loopback endpoint: HTTP 500,
timeouts, a malformed response body and unusable content.

- fact extraction: bounded retries, then the job fails with a readable reason; the message stays;
  after `retry_failed` with a working model the same job completes;
- OmneContext's model-written summary falls back to the extractive summary, named as such, and no
  evicted message is lost from recall;
- a SimpleResponder turn fails with the client's clear error, keeps what the user said, and the store
  stays consistent; the next turn works.
"""

from __future__ import annotations

import json
import time

import pytest
from autogen_core.models import AssistantMessage, UserMessage

from omne import Record, RecordKind, Scope
from omne.agents import EXTRACTIVE, AgentMemory, TokenCounter
from omne.construction import Backoff, Construction, ConstructionConfig, JobStatus, StructuredCallConfig
from omne.llm import ModelConfig, make_client
from omne.testing import Reply, ScriptedOpenAIServer, open_fast_core

BAD = [
    Reply(status=500, content="upstream exploded"),
    Reply(delay_s=1.5, content='{"facts": []}'),  # arrives after the client's timeout
    Reply(raw='{"id": "x", "choices": [{"message": {"role": "assis'),  # truncated body
    Reply(content="Sure! Here are the facts you asked for: Ann likes tea."),  # prose, no JSON
    Reply(content='{"facts": [{"type": "preference", "data": {"nope": 1}}]}'),  # JSON, wrong shape
]


def _client(server: ScriptedOpenAIServer, *, timeout_s: float = 0.5, max_retries: int = 1):
    return make_client(ModelConfig(base_url=server.base_url, api_key="test-key", timeout_s=timeout_s,
                                   max_retries=max_retries))


def _cycle(replies: list[Reply]):
    state = {"n": 0}

    def script(body):
        reply = replies[state["n"] % len(replies)]
        state["n"] += 1
        return reply
    return script


async def _consistent(core) -> dict:
    stats = await core.stats()
    assert stats["vectors"] == stats["records"] and stats["pending_index"] == 0, stats
    return stats


async def test_fact_extraction_retries_within_bounds_then_fails_with_reason_and_keeps_the_message(tmp_path):
    core = await open_fast_core(tmp_path / "store")
    scope = Scope(user="ann", session="s1")
    calls, job_attempts, max_retries = 3, 2, 0  # no client retries: one HTTP reply per attempt
    try:
        with ScriptedOpenAIServer(_cycle(BAD)) as server:
            client = _client(server, max_retries=max_retries)
            config = ConstructionConfig(summaries=False, max_attempts=job_attempts, backoff=Backoff(base_s=0.0),
                                        call=StructuredCallConfig(attempts=calls, timeout_s=5.0))
            construction = await Construction.attach(core, client, config=config)
            message = (await core.add(Record(kind=RecordKind.MESSAGE, scope=scope, role="user", name="Ann",
                                             text="I have switched from coffee to green tea.")))[0]
            started = time.monotonic()
            report = await construction.process()
            elapsed = time.monotonic() - started
            job = construction.queue.store.list(statuses=[JobStatus.FAILED])[0]
            assert report.count(JobStatus.FAILED) == 1 and job.kind == "extract_facts"
            assert job.attempts == job_attempts and len(job.errors) == job_attempts
            reason = job.reason
            assert "gave no valid response in 3 attempt(s)" in reason, reason
            every = " ".join(e.error for e in job.errors)
            for symptom in ("InternalServerError", "APITimeoutError", "JSONDecodeError", "no JSON object",
                            "does not match"):
                assert symptom in every, (symptom, every)
            # bounded: HTTP requests <= job attempts x structured attempts x (1 + client retries)
            assert len(server.requests) <= job_attempts * calls * (1 + max_retries), len(server.requests)
            assert elapsed < 30
            kept = await core.get(message.id, scope=scope)
            assert kept.live and kept.text == message.text
            assert await core.list(scope=Scope(user="ann"), kinds=[RecordKind.FACT]) == []
            await _consistent(core)

            # the endpoint recovers: the failed job is retried and completes, writing a typed fact
            fact = {"type": "preference", "statement": "Ann prefers green tea to coffee.", "importance": 0.7,
                    "op": "new", "data": json.loads(json.dumps({"holder": "Ann", "item": "green tea",
                                                                "sentiment": "likes"}))}
            schema = core.schemas.get("preference").model_json_schema()
            fact["data"] = {k: fact["data"].get(k, "x") for k in schema["properties"] if k in schema["required"]}
            server._script = lambda body: Reply(content=json.dumps({"facts": [fact]}))
            assert construction.queue.retry_failed() == 1
            report = await construction.process()
            assert report.count(JobStatus.DONE) == 1, report
            facts = await core.list(scope=Scope(user="ann"), kinds=[RecordKind.FACT])
            assert len(facts) == 1 and facts[0].source_ids == [message.id]
            await _consistent(core)
            await construction.close()
            await client.close()
    finally:
        await core.close()


@pytest.mark.parametrize("fault", [Reply(status=500, content="boom"), Reply(delay_s=1.5, content="late"),
                                   Reply(raw="<html>502 Bad Gateway</html>"), Reply(content="   ")],
                         ids=["http500", "timeout", "malformed-body", "empty-summary"])
async def test_context_summary_falls_back_to_extractive_and_recall_keeps_every_message(tmp_path, fault):
    core = await open_fast_core(tmp_path / "store")
    try:
        with ScriptedOpenAIServer(lambda body: fault) as server:
            client = _client(server, timeout_s=0.5, max_retries=0)
            memory = await AgentMemory.open(core, agent="helper", user="ann")
            context = memory.context(model_client=client, window_tokens=2000, counter=TokenCounter(None))
            said = []
            for turn in range(40):
                text = f"Turn {turn}: note number {turn} about the garden and the weather in spring, kept for later."
                said.append(text)
                await context.add_message(UserMessage(content=text, source="user"))
                await context.add_message(AssistantMessage(content=f"Noted turn {turn}.", source="helper"))
                prompt = await context.get_messages()
                assert prompt  # the agent can go on
            assert server.requests, "the context never asked the model for a summary"
            summary = context.summary_record
            assert summary is not None and summary.metadata["method"].startswith(f"{EXTRACTIVE}; model failed")
            assert summary.text.startswith(f"[{EXTRACTIVE}")
            recalled = {r.text for r in await core.list(scope=memory.agent_scope, kinds=[RecordKind.MESSAGE])}
            assert set(said) <= recalled, "an evicted message is missing from recall memory"
            await _consistent(core)
            await client.close()
    finally:
        await core.close()


@pytest.mark.parametrize("fault", [Reply(status=500, content="upstream exploded"), Reply(delay_s=1.5, content="x"),
                                   Reply(raw='{"choices": [')], ids=["http500", "timeout", "malformed-body"])
async def test_a_responder_turn_fails_cleanly_and_memory_stays_consistent(tmp_path, fault):
    import openai

    from assistants import SimpleResponder

    core = await open_fast_core(tmp_path / "store")
    try:
        with ScriptedOpenAIServer(lambda body: fault) as server:
            client = _client(server, timeout_s=0.5, max_retries=1)
            responder = SimpleResponder("helper", client, memory=core, user="ann")
            before = await _consistent(core)
            # the client's own error propagates: APIStatusError / APITimeoutError, or the SDK's JSONDecodeError
            # for a body that is not JSON (not retried by the SDK)
            with pytest.raises((openai.APIError, json.JSONDecodeError)) as failed:
                await responder.run(task="Remember that my locker code is 4417.")
            assert str(failed.value)
            assert 1 <= len(server.requests) <= 2  # bounded: one request and at most the client's one retry
            after = await _consistent(core)
            kept = await core.list(scope=Scope(user="ann"), kinds=[RecordKind.MESSAGE])
            assert [r.text for r in kept] == ["Remember that my locker code is 4417."], \
                "what the user said in a failed turn must stay in memory"
            assert after["records"] == before["records"] + 1
            server._script = lambda body: Reply(content="Noted: 4417.")
            result = await responder.run(task="Did you get it?")
            assert result.messages[-1].content == "Noted: 4417."
            await _consistent(core)
            await client.close()
    finally:
        await core.close()
