"""The record log keeps scopes that differ only by agent apart, and an import brings an older copy up to date.

Both gaps were found by mutation: each test's docstring names the change to the code it catches.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from omne import MemoryCore, Record, RecordKind, Scope
from omne.types import EdgeKind
from omne.testing import open_fast_core

PLANNER = Scope(user="u", agent="planner", session="s1")
CODER = Scope(user="u", agent="coder", session="s1")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


async def _export(core: MemoryCore, scope: Scope) -> str:
    out = io.StringIO()
    await core.export_jsonl(out, scope=scope)
    return out.getvalue()


def _message(scope: Scope, minute: int, text: str) -> Record:
    return Record(kind=RecordKind.MESSAGE, scope=scope, role="assistant", name=scope.agent, text=text,
                  event_time=T0 + timedelta(minutes=minute))


async def test_message_chains_of_scopes_that_differ_only_by_agent_stay_apart(fast_core):
    """Mutant caught: the `s_agent IS ?` condition (and its parameter) dropped from `_message_links`' query of a
    scope's live messages: two agents writing the same user and session got one merged chain, and one
    agent's export named the other's records."""
    planner, coder = [], []
    for minute in range(4):  # the two agents' turns interleave in time, one add at a time
        planner += await fast_core.add(_message(PLANNER, 2 * minute, f"planner step {minute}"))
        coder += await fast_core.add(_message(CODER, 2 * minute + 1, f"coder step {minute}"))
    for scope, own in ((PLANNER, planner), (CODER, coder)):
        ids = [r.id for r in own]
        nxt = [(e.src, e.dst) for e in await fast_core.edges(scope=scope) if e.kind is EdgeKind.NEXT]
        assert nxt == list(zip(ids, ids[1:]))  # each agent's own chain, whole, in time order
    both = await fast_core.edges(scope=Scope(user="u", session="s1"))
    assert len([e for e in both if e.kind is EdgeKind.NEXT]) == 6
    exported = await _export(fast_core, PLANNER)
    assert not any(r.id in exported for r in coder)
    assert all(r.id in exported for r in planner)


async def test_importing_a_newer_export_over_an_older_copy_applies_a_forget(fast_core, tmp_path):
    """Mutant caught: import's `ON CONFLICT(id) DO UPDATE SET ...` in `upsert_raw` turned into `DO NOTHING`:
    export, import, forget the record at the source, export, import again left it live and searchable in
    the copy."""
    scope = Scope(user="alice")
    doomed = await fast_core.remember("Alice's old door code is 4471.", scope=scope)
    kept = await fast_core.remember("Alice waters the ferns on Sundays.", scope=scope)
    copy = await open_fast_core(tmp_path / "copy")
    try:
        await copy.import_jsonl((await _export(fast_core, scope)).splitlines())
        assert [h.record.id for h in await copy.search("door code", scope=scope, top_k=5)][0] == doomed.id

        await fast_core.forget(doomed.id, scope=scope)
        renamed = await fast_core.update(kept.id, scope=scope, text="Alice waters the ferns on Saturdays.")
        newer = await _export(fast_core, scope)
        await copy.import_jsonl(newer.splitlines())

        assert (await copy.get(doomed.id, scope=scope)).deleted_at is not None
        assert (await copy.get(kept.id, scope=scope)).superseded_by == renamed.id
        assert [r.id for r in await copy.list(scope=scope)] == [renamed.id]
        assert doomed.id not in {h.record.id for h in await copy.search("door code 4471", scope=scope, top_k=5)}
        stats = await copy.stats(scope)
        assert stats["records"] == stats["vectors"] == 1
        assert await _export(copy, scope) == newer
    finally:
        await copy.close()
