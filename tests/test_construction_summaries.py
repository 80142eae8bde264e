"""Session and recursive summaries: offline (deterministic, extractive) and model-written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from autogen_ext.models.replay import ReplayChatCompletionClient

from omne import EdgeKind, MemoryCore, Record, RecordKind, Scope
from omne.construction import Construction, ConstructionConfig, JobStatus
from omne.construction.summarisers import EXTRACTIVE_METHOD, mmr_select

USER = Scope(user="maya")
T0 = datetime(2024, 3, 2, 9, 0, tzinfo=timezone.utc)
TURNS = [
    ("Maya", "I just moved to Lisbon for a new job at a solar startup called Sunforge."),
    ("Assistant", "Congratulations! What will you be doing there?"),
    ("Maya", "I lead the battery firmware team. Six engineers, mostly remote."),
    ("Maya", "The hills are brutal, so I'm thinking of buying an electric bike."),
    ("Maya", "Also, I'm vegetarian. Restaurant tips should skip the sardines."),
]


def session_messages(session: str, turns=TURNS, start: datetime = T0) -> list[Record]:
    scope = Scope(user="maya", session=session)
    return [Record(kind=RecordKind.MESSAGE, scope=scope, name=name, role="assistant" if name == "Assistant" else "user",
                   text=text, event_time=start + timedelta(minutes=i)) for i, (name, text) in enumerate(turns)]


async def summaries_of(tmp_path, embedder, name: str, config: ConstructionConfig) -> list[Record]:
    core = await MemoryCore.open(tmp_path / name, embedder=embedder)
    try:
        await Construction.attach(core, config=config)
        await core.add(session_messages("s1"))
        report = await core.process()
        assert report.count("done") == 2 and report.count("failed") == 0  # session, then scope roll-up
        return await core.list(scope=USER, kinds=[RecordKind.SUMMARY])
    finally:
        await core.close()


async def test_offline_summaries_are_deterministic_and_named(tmp_path, embedder):
    config = ConstructionConfig(summary_sentences=3)
    first = await summaries_of(tmp_path, embedder, "a", config)
    second = await summaries_of(tmp_path, embedder, "b", config)
    assert [s.text for s in first] == [s.text for s in second]
    session = next(s for s in first if "session-summary" in s.tags)
    assert session.metadata["method"] == EXTRACTIVE_METHOD == "extractive summary (offline)"
    assert session.metadata["period"] == {"start": T0.isoformat(), "end": (T0 + timedelta(minutes=4)).isoformat()}
    assert session.event_time == T0 + timedelta(minutes=4)
    # extractive: one "speaker: sentence" line per sentence taken verbatim from the sources, in source order
    lines = [line.split(": ", 1) for line in session.text.splitlines()]
    sources = [f"{name}: {text}" for name, text in TURNS]
    assert len(lines) == 3 and "Sunforge" in session.text
    positions = [next(i for i, src in enumerate(sources) if src.startswith(name) and text in src) for name, text in lines]
    assert positions == sorted(positions)
    assert not any(text.endswith("?") for _, text in lines)  # questions rarely carry facts
    assert len(session.source_ids) == len(TURNS)


def test_mmr_prefers_central_sentences_and_avoids_repeats():
    import numpy as np

    vectors = np.array([[1, 0, 0], [0.99, 0.141, 0], [0.7, 0.714, 0], [0, 0, 1.0]])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    chosen = mmr_select(vectors, 2, diversity=0.5)
    assert chosen[0] in (0, 1, 2) and not {0, 1} <= set(chosen)  # two near-duplicates are not both picked


async def test_long_sessions_get_recursive_summaries_with_provenance(core):
    config = ConstructionConfig(chunk_size=2, fan_in=2, summary_sentences=2)
    await Construction.attach(core, config=config)
    messages = await core.add(session_messages("s1"))
    await core.process()
    scope = messages[0].scope
    summaries = await core.list(scope=scope, kinds=[RecordKind.SUMMARY])
    by_key = {s.metadata["summary_key"]: s for s in summaries if s.scope == scope}
    session = by_key[f"session:{scope}"]
    assert session.metadata["level"] == 3  # 5 messages -> 3 chunks -> 2 -> 1
    level1 = [by_key[f"session:{scope}:L1:{i}"] for i in range(3)]
    assert [s.source_ids for s in level1] == [[m.id for m in messages[i:i + 2]] for i in (0, 2, 4)]
    level2 = [by_key[f"session:{scope}:L2:{i}"] for i in range(2)]
    assert level2[0].source_ids == [level1[0].id, level1[1].id]
    assert session.source_ids == [s.id for s in level2]
    derived = {(e.src, e.dst) for e in await core.edges(scope=scope) if e.kind is EdgeKind.DERIVED_FROM}
    assert {(session.id, s.id) for s in level2} <= derived
    assert {(level1[0].id, messages[0].id), (level1[0].id, messages[1].id)} <= derived


async def test_new_messages_refresh_the_summary_as_a_new_version(core):
    construction = await Construction.attach(core, config=ConstructionConfig(scope_summaries=False))
    first = await core.add(session_messages("s1")[:3])
    await core.process()
    old = (await core.list(scope=first[0].scope, kinds=[RecordKind.SUMMARY]))[0]
    await core.process()  # nothing new: nothing rewritten
    assert [s.id for s in await core.list(scope=first[0].scope, kinds=[RecordKind.SUMMARY])] == [old.id]
    await core.add(session_messages("s1")[3:])
    await core.process()
    new = (await core.list(scope=first[0].scope, kinds=[RecordKind.SUMMARY]))[0]
    assert new.version == 2 and len(new.source_ids) == 5
    assert [v.id for v in await core.history(new.id, scope=first[0].scope)] == [old.id, new.id]
    assert construction.queue.store.by_key(f"summarise_session:{first[0].scope}").status is JobStatus.DONE


async def test_session_summaries_roll_up_into_a_scope_summary(core):
    await Construction.attach(core)
    await core.add(session_messages("s1"))
    await core.add(session_messages("s2", [("Maya", "Bought the e-bike and called it Pistachio."),
                                           ("Maya", "My sister Ines visits on April 12th.")],
                                    start=T0 + timedelta(days=14)))
    await core.process()
    top = [s for s in await core.list(scope=USER, kinds=[RecordKind.SUMMARY]) if "scope-summary" in s.tags]
    assert len(top) == 1 and top[0].scope == USER
    sessions = [s for s in await core.list(scope=USER, kinds=[RecordKind.SUMMARY]) if "session-summary" in s.tags]
    assert sorted(top[0].source_ids) == sorted(s.id for s in sessions) and len(sessions) == 2
    assert all(line.split(": ", 1)[0] in ("Maya", "Assistant") for line in top[0].text.splitlines())


async def test_a_model_writes_the_summary_when_configured(core):
    client = ReplayChatCompletionClient([json.dumps({"summary": "Maya moved to Lisbon to lead firmware at Sunforge."})])
    await Construction.attach(core, client, config=ConstructionConfig(facts=False, scope_summaries=False))
    await core.add(session_messages("s1"))
    await core.process()
    summary = (await core.list(scope=USER, kinds=[RecordKind.SUMMARY]))[0]
    assert summary.text == "Maya moved to Lisbon to lead firmware at Sunforge."
    assert summary.metadata["method"] == "model summary"
    assert "Sunforge" in client.create_calls[0]["messages"][-1].content
