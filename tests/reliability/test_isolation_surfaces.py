"""Isolation beyond MemoryCore: memory tools, core blocks (private and shared), OmneMemory.query,
JSONL and SFT export, and construction jobs never return another scope's data.

Users (and teams) are drawn from families of hostile near-duplicate values (separators, quotes,
SQL / filter metacharacters, unicode look-alikes). Each user's data carries a marker `zq<i>q`;
any marker but its own in what a user's agent sees is a leak.
"""

from __future__ import annotations

import asyncio
import io
import re
import tempfile

from autogen_core.models import AssistantMessage, UserMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omne import MemoryCore
from omne.agents import AgentMemory, BlockSpec, OmneMemory
from omne.construction import Backoff, Construction, ConstructionConfig, export_sft
from omne.types import RecordKind, Scope
from omne.testing import HashEmbedder
from tests.test_reliability_isolation import FAMILIES

MARK = re.compile(r"zq(\d+)q")


def _tool(tools, name):
    return next(t for t in tools if t.name == name)


async def _call(tools, name, **args) -> str:
    from autogen_core import CancellationToken

    return str(await _tool(tools, name).run_json(args, CancellationToken()))


def _leaks(text: str, own: int) -> set[int]:
    return {int(m) for m in MARK.findall(text)} - {own}


async def _scenario(users: list[str], teams: list[str | None]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        core = await MemoryCore.open(tmp, embedder=HashEmbedder())
        try:
            memories = []
            for i, (user, team) in enumerate(zip(users, teams)):
                memory = await AgentMemory.open(core, agent="helper", user=user, session=user, team=team,
                                                blocks=[BlockSpec(label="human"),
                                                        BlockSpec(label="team_notes", shared=True)] if team else
                                                [BlockSpec(label="human")])
                tools = memory.tools()
                await memory.recall.record([UserMessage(content=f"My code word is zq{i}q and I like tea.",
                                                        source="user"),
                                            AssistantMessage(content=f"Noted zq{i}q, tea it is.", source="helper")])
                assert "Stored" in await _call(tools, "archival_memory_insert", content=f"archive note zq{i}q tea")
                assert "Appended" in await _call(tools, "core_memory_append", label="human", content=f"likes zq{i}q")
                if team:
                    await _call(tools, "core_memory_append", label="team_notes", content=f"team zq{i}q")
                memories.append((i, memory, tools))

            construction = await Construction.attach(core, None, config=ConstructionConfig(
                chunk_size=2, fan_in=2, backoff=Backoff(base_s=0.0)))
            report = await construction.process()
            assert report.outcomes and not report.count("failed")

            for i, memory, tools in memories:
                seen = [
                    await _call(tools, "conversation_search", query=""),
                    await _call(tools, "conversation_search", query="code word tea"),
                    await _call(tools, "archival_memory_search", query="archive note tea", top_k=50),
                    await memory.blocks.render(),
                ]
                result = await OmneMemory(memory).query("tea code word note", top_k=50)
                seen += [str(c.content) for c in result.results]
                for scope in (memory.agent_scope, memory.session_scope):
                    jsonl, sft = io.StringIO(), io.StringIO()
                    await core.export_jsonl(jsonl, scope=scope)
                    await export_sft(core, sft, scope=scope)
                    seen += [jsonl.getvalue(), sft.getvalue()]
                own = "\n".join(seen)
                assert not _leaks(own, i), f"user {users[i]!r} saw data of {[users[j] for j in _leaks(own, i)]}"
                assert f"zq{i}q" in seen[0] and f"zq{i}q" in seen[2] and f"zq{i}q" in seen[3]

            # construction: every derived record (summaries) holds its own scope's data only, and its
            # provenance resolves inside its scope
            for i, memory, _ in memories:
                for summary in await core.list(scope=Scope(user=users[i]), kinds=[RecordKind.SUMMARY]):
                    assert not _leaks(summary.text, i), summary.text
                    sources = await core.get_many(summary.source_ids, scope=summary.scope)
                    assert len(sources) == len(summary.source_ids), "a summary cites a record outside its scope"
            for job in construction.queue.store.list():
                i = users.index(job.scope.user)
                assert not _leaks(str(job.result), i)
            await construction.close()
        finally:
            await core.close()


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_tools_blocks_adapter_exports_and_jobs_stay_in_their_scope(separate_database, data):
    family = data.draw(st.sampled_from(FAMILIES))
    users = data.draw(st.lists(st.sampled_from(family), min_size=2, max_size=len(family), unique=True))
    teams = [data.draw(st.one_of(st.none(), st.sampled_from(family))) for _ in users]
    separate_database()  # each example a fresh store
    asyncio.run(_scenario(users, teams))
