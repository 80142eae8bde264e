"""A store for the inspector tests: two users; Alice has a fact with three versions, a block with an edit
history, a derived insight (provenance and a graph edge), a record whose text is markup, messages and a
failed construction job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autogen_core.models import AssistantMessage, UserMessage

from omne.agents.blocks import BlockSpec, CoreMemory
from omne.agents.recall import RecallMemory
from omne.agents.spec import AgentSpec
from omne.construction.jobs import JobQueue, JobSpec
from omne.storage import SQLiteStorage
from omne.types import Edge, EdgeKind, Record, RecordKind, Scope
from omne.testing import open_fast_core

ALICE, BOB = Scope(user="alice"), Scope(user="bob")
SCRIPT = "<script>alert(1)</script>"


@dataclass
class Seeded:
    fact_versions: list[str]  # ids, oldest first
    insight: str
    script: str
    bob_fact: str


async def seed_two_users(store: Path) -> Seeded:
    core = await open_fast_core(store)
    try:
        first = await core.remember("Alice lives in Porto", scope=ALICE, tags=["home"])
        second = await core.update(first.id, scope=ALICE, text="Alice lives in Lisbon")
        third = await core.update(second.id, scope=ALICE, text="Alice lives in Madrid")
        insight = (await core.add(Record(kind=RecordKind.INSIGHT, scope=ALICE, text="Alice moves often",
                                         source_ids=[third.id])))[0]
        await core.add_edges([Edge(scope=ALICE, src=insight.id, dst=third.id, kind=EdgeKind.DERIVED_FROM)])
        script = await core.remember(SCRIPT, scope=ALICE)
        blocks = CoreMemory(core, private_scope=ALICE, team_scope=None, editor="agent:helper")
        await blocks.attach(BlockSpec(label="human", value="Name: Alice", limit=500))
        await blocks.append("human", "Drinks green tea")
        await blocks.rethink("human", "Name: Alice. Drinks sencha.")
        recall = RecallMemory(core, AgentSpec(agent="helper", user="alice", session="s1"))
        await recall.record([UserMessage(content="I found a flat in Madrid", source="alice"),
                             AssistantMessage(content="Congratulations on the flat!", source="helper")])
        bob = await core.remember("Bob's locker code is 4812", scope=BOB)
    finally:
        await core.close()
    fail_a_job(store, ALICE, "the summary model was unreachable")
    return Seeded([first.id, second.id, third.id], insight.id, script.id, bob.id)


def fail_a_job(store: Path, scope: Scope, reason: str) -> None:
    """A construction job in `scope` that failed for good with `reason` (the store must be closed)."""
    storage = SQLiteStorage(store / "records.sqlite3")
    queue = JobQueue(storage.jobs)
    try:
        queue.enqueue([JobSpec(key=f"summary:{scope}", kind="summarise_session", scope=scope)])
        job = queue.claim("test")
        assert job is not None
        queue.fail(job.id, "test", reason, retry=False)
    finally:
        storage.close()
