"""Fact extraction and consolidation with a scripted model."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

from autogen_ext.models.replay import ReplayChatCompletionClient
from pydantic import BaseModel

from omne import EdgeKind, Record, RecordKind, Scope
from omne.construction import (
    Backoff, Construction, ConstructionConfig, ExtractiveSummariser, JobStatus, StructuredCallConfig,
)
from omne.testing import FunctionModel

SESSION = Scope(user="maya", session="s1")
USER = Scope(user="maya")
T0 = datetime(2024, 3, 2, 9, 0, tzinfo=timezone.utc)
FACTS_ONLY = ConstructionConfig(summaries=False)


def reply(*facts: dict) -> str:
    return json.dumps({"facts": list(facts)})


def pref(item: str, sentiment: str = "likes", **extra) -> dict:
    return {"type": "preference", "data": {"holder": "Maya", "item": item, "sentiment": sentiment},
            "statement": f"Maya {sentiment} {item}.", **extra}


def message(text: str, minutes: int = 0, scope: Scope = SESSION) -> Record:
    return Record(kind=RecordKind.MESSAGE, scope=scope, role="user", name="Maya", text=text,
                  event_time=T0 + timedelta(minutes=minutes))


async def test_extraction_yields_typed_records_with_provenance(core):
    client = ReplayChatCompletionClient([reply(
        {"type": "attribute", "data": {"entity": "Maya", "attribute": "employer", "value": "Sunforge"},
         "statement": "Maya works at Sunforge.", "importance": 0.8},
        {"type": "event", "data": {"description": "Maya moved to Lisbon", "participants": ["Maya"],
                                   "where": "Lisbon"}, "statement": "Maya moved to Lisbon."},
    )])
    await Construction.attach(core, client, config=FACTS_ONLY)
    msg = (await core.add(message("I just moved to Lisbon for a job at Sunforge.")))[0]
    report = await core.process()
    assert [o.status for o in report.outcomes] == [JobStatus.DONE]

    facts = await core.list(scope=USER, kinds=[RecordKind.FACT])
    assert {f.schema_name for f in facts} == {"attribute", "event"}
    employer = next(f for f in facts if f.schema_name == "attribute")
    assert employer.data == {"entity": "Maya", "attribute": "employer", "value": "Sunforge"}
    assert employer.scope == USER  # facts outlive the session they were said in
    assert employer.source_ids == [msg.id] and employer.valid_from == msg.when
    assert employer.metadata["method"] == "model extraction" and employer.importance == 0.8
    edges = await core.edges(scope=USER, record_ids=[employer.id])
    assert [(e.kind, e.dst) for e in edges] == [(EdgeKind.DERIVED_FROM, msg.id)]
    # the prompt showed the schemas and the message
    prompt = client.create_calls[0]["messages"][-1].content
    assert "preference" in prompt and "I just moved to Lisbon" in prompt
    hits = await core.search("where does Maya work", scope=USER, kinds=["fact"], top_k=1)
    assert hits[0].record.id == employer.id


async def test_the_same_fact_twice_yields_one_reinforced_record(core):
    client = ReplayChatCompletionClient([reply(pref("green tea", importance=0.5)),
                                         reply(pref("Green  Tea", op="same", existing="F1"))])
    await Construction.attach(core, client, config=FACTS_ONLY)
    first = (await core.add(message("I love green tea.")))[0]
    await core.process()
    second = (await core.add(message("Green tea is the best, honestly.", minutes=5)))[0]
    report = await core.process()
    assert report.outcomes[0].status is JobStatus.DONE

    facts = await core.list(scope=USER, kinds=[RecordKind.FACT], include_history=True)
    assert len(facts) == 1
    fact = facts[0]
    assert fact.version == 1 and fact.live
    assert fact.metadata["reinforced"] == 1 and fact.metadata["reinforced_by"] == [second.id]
    assert fact.importance > 0.5 and fact.source_ids == [first.id]
    reinforcing = [e for e in await core.edges(scope=USER, record_ids=[fact.id]) if e.dst == second.id]
    assert reinforcing and reinforcing[0].data == {"reinforces": True}


async def test_a_changed_preference_supersedes_the_old_one_and_both_stay_in_history(core):
    client = ReplayChatCompletionClient([reply(pref("coffee")), reply(pref("coffee", "dislikes", reason="gave it up"))])
    await Construction.attach(core, client, config=FACTS_ONLY)
    await core.add(message("Coffee every morning for me."))
    await core.process()
    later = (await core.add(message("I've gone off coffee completely.", minutes=60 * 24 * 30)))[0]
    await core.process()

    live = await core.list(scope=USER, kinds=[RecordKind.FACT])
    assert len(live) == 1 and live[0].data["sentiment"] == "dislikes"
    versions = await core.history(live[0].id, scope=USER)
    assert [v.data["sentiment"] for v in versions] == ["likes", "dislikes"]
    old, new = versions
    assert old.superseded_by == new.id and old.valid_to == later.when and new.valid_from == later.when
    assert new.metadata["consolidation"] == "update" and new.metadata["previous_id"] == old.id
    assert new.source_ids == [later.id]


async def test_a_model_flagged_update_replaces_a_fact_with_another_key(core):
    client = ReplayChatCompletionClient([reply(pref("tea")), reply(pref("coffee", op="update", existing="F1"))])
    await Construction.attach(core, client, config=FACTS_ONLY)
    await core.add(message("Tea for me, always."))
    await core.process()
    await core.add(message("I switched from tea to coffee.", minutes=10))
    await core.process()
    live = await core.list(scope=USER, kinds=[RecordKind.FACT])
    assert [f.data["item"] for f in live] == ["coffee"]
    assert [v.data["item"] for v in await core.history(live[0].id, scope=USER)] == ["tea", "coffee"]


async def test_a_contradiction_is_explicit_and_visible_in_history(core):
    client = ReplayChatCompletionClient([
        reply({"type": "attribute", "data": {"entity": "Ines", "attribute": "allergy", "value": "cats"},
               "statement": "Ines is allergic to cats."}),
        reply({"type": "attribute", "data": {"entity": "Ines", "attribute": "allergy", "value": "dogs"},
               "statement": "Ines is allergic to dogs, not cats.", "op": "contradicts", "existing": "F1",
               "reason": "Maya corrects herself"}),
    ])
    await Construction.attach(core, client, config=FACTS_ONLY)
    await core.add(message("My sister Ines is allergic to cats."))
    await core.process()
    await core.add(message("Sorry, I mixed it up: Ines is allergic to dogs, not cats.", minutes=3))
    await core.process()
    live = (await core.list(scope=USER, kinds=[RecordKind.FACT]))[0]
    assert live.metadata["consolidation"] == "contradiction" and "contradiction" in live.tags
    assert live.metadata["previous_text"] == "Ines is allergic to cats."
    assert live.metadata["reason"] == "Maya corrects herself"
    old, new = await core.history(live.id, scope=USER)
    assert old.data["value"] == "cats" and not old.live and new.id == live.id
    relates = [e for e in await core.edges(scope=USER, record_ids=[live.id]) if e.kind is EdgeKind.RELATES]
    assert relates[0].dst == old.id and relates[0].data["relation"] == "contradicts"


async def test_older_evidence_does_not_override_a_newer_fact(core):
    client = ReplayChatCompletionClient([reply(pref("sushi")), reply(pref("sushi", "dislikes"))])
    await Construction.attach(core, client, config=FACTS_ONLY)
    await core.add(message("Sushi is great.", minutes=100))
    await core.process()
    await core.add(message("I used to hate sushi.", minutes=1))  # arrives late, happened earlier
    await core.process()
    live = await core.list(scope=USER, kinds=[RecordKind.FACT])
    current = next(f for f in live if "historical" not in f.tags)
    earlier = next(f for f in live if "historical" in f.tags)
    assert current.data["sentiment"] == "likes" and current.version == 1
    assert earlier.data["sentiment"] == "dislikes" and earlier.valid_to == current.valid_from


class Trip(BaseModel):
    """A trip someone plans or took."""

    traveller: str
    destination: str
    month: str | None = None


async def test_user_registered_schemas_are_extracted_and_validated(core):
    core.schemas.register("trip", Trip)
    client = ReplayChatCompletionClient([reply({"type": "trip", "data": {"traveller": "Maya", "destination": "Porto",
                                                                         "month": "May"},
                                                "statement": "Maya plans a trip to Porto in May."})])
    await Construction.attach(core, client, config=FACTS_ONLY)
    await core.add(message("Thinking of Porto in May!"))
    await core.process()
    fact = (await core.list(scope=USER, kinds=[RecordKind.FACT]))[0]
    assert fact.schema_name == "trip" and fact.data["destination"] == "Porto"
    assert '"trip"' in client.create_calls[0]["messages"][-1].content  # the schema is in the response model


async def test_malformed_then_garbage_then_timeout_fails_the_job_and_loses_nothing(core):
    calls = {"n": 0}

    async def broken_model(messages, tools):
        calls["n"] += 1
        step = (calls["n"] - 1) % 3
        if step == 0:
            return '{"facts": [{"type": "attribute", "data": {"entity": "Maya",'
        if step == 1:
            return "Sorry, I cannot help with that today."
        await asyncio.sleep(10)

    config = ConstructionConfig(call=StructuredCallConfig(attempts=3, timeout_s=0.2), max_attempts=2,
                                backoff=Backoff(base_s=0, max_s=0))
    construction = await Construction.attach(core, FunctionModel(broken_model), config=config,
                                             summariser=ExtractiveSummariser(core.embedder))
    msg = (await core.add(message("My bike is called Pistachio.")))[0]
    report = await core.process()

    job = construction.queue.store.by_key(f"extract_facts:{msg.id}")
    assert job.status is JobStatus.FAILED and job.attempts == 2 and len(job.errors) == 2
    assert calls["n"] == 6  # two job attempts of three model attempts each
    assert "attempt 1: invalid JSON" in job.reason
    assert "attempt 2: no JSON object in the reply ('Sorry, I cannot help with that today.')" in job.reason
    assert "attempt 3: timed out after 0.2 s" in job.reason
    assert [o.status for o in report.outcomes if o.kind == "extract_facts"] == [JobStatus.PENDING, JobStatus.FAILED]
    # the raw message is kept and searchable; the (offline) session summary was still built; no fact invented
    assert (await core.get(msg.id, scope=SESSION)).live
    assert (await core.search("bike name", scope=USER, top_k=1, kinds=["message"]))[0].record.id == msg.id
    assert await core.list(scope=USER, kinds=[RecordKind.FACT]) == []
    summary = (await core.list(scope=SESSION, kinds=[RecordKind.SUMMARY]))[0]
    assert summary.source_ids == [msg.id] and "Pistachio" in summary.text


async def test_without_a_model_no_extraction_is_planned_and_process_needs_construction(core):
    import pytest

    from omne.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="construction is not enabled"):
        await core.process()
    construction = await Construction.attach(core)
    await core.add(message("hello"))
    assert [j.kind for j in construction.queue.store.list()] == ["summarise_session"]


async def test_a_later_worker_with_a_model_still_extracts_what_a_model_less_one_skipped(core):
    offline = await Construction.attach(core)
    msg = (await core.add(message("I love green tea.")))[0]
    await core.process()
    await offline.close()
    client = ReplayChatCompletionClient([reply(pref("green tea"))])
    online = await Construction.attach(core, client, config=FACTS_ONLY)
    assert online.queue.store.by_key(f"extract_facts:{msg.id}").status is JobStatus.PENDING
    await core.process()
    assert [f.source_ids for f in await core.list(scope=USER, kinds=[RecordKind.FACT])] == [[msg.id]]
