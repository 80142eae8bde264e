"""Property-based isolation: no read path returns a record outside the query's scope.

Scope values are drawn to be hostile: separators, quotes, SQL and filter metacharacters, unicode,
near-duplicates of each other (prefixes, case and whitespace variants).
"""

from __future__ import annotations

import asyncio
import io
import json
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omne import MemoryCore, Record, RecordKind, Scope

# Families of near-duplicate values: an example draws all its scopes from one family, so records whose
# scopes differ only by case, whitespace, a prefix, a combining mark or a metacharacter meet every time.
FAMILIES = [
    ["a", "A", "a ", " a", "a,b", "a=b", "a\u0308", "\u00e4", "a;DROP TABLE records", "a'--"],
    ["user=a", "user=a,agent=b", "user", "s_user", "%", "_", "*", "NULL", "None", "\\"],
    ['"q"', "'q'", "q", "q'", "{}", "[1]", "q/r", "q\\r", "q.r", "$q"],
    ["\U0001f642", "\U0001f642\U0001f642", "\u202e\U0001f642", "x" * 256, "x" * 255, "\u00a0x", "x"],
]


@st.composite
def family_scopes(draw) -> tuple[list[Scope], list[Scope]]:
    """Write scopes: every value of one family as a user (with random session / team); probe scopes too."""
    family = draw(st.sampled_from(FAMILIES))
    optional = st.one_of(st.none(), st.sampled_from(family))
    writes = [Scope(user=value, session=draw(optional), team=draw(optional)) for value in family]
    probes = [Scope(user=value) for value in family]
    probes += draw(st.lists(st.builds(Scope, user=st.sampled_from(family), session=optional, team=optional),
                            min_size=1, max_size=4))
    return writes, probes


words = st.sampled_from(["apple", "river", "budget", "violin", "Lisbon", "meeting", "gift", "storm"])


def _run(coro):
    return asyncio.run(coro)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_no_read_path_crosses_a_scope(embedder, separate_database, data):
    write_scopes, probe_scopes = data.draw(family_scopes())
    writes = [(s, data.draw(st.lists(words, min_size=1, max_size=4))) for s in write_scopes]
    probes = [(s, data.draw(words)) for s in probe_scopes]
    separate_database()  # each example a fresh store

    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            core = await MemoryCore.open(tmp, embedder=embedder)
            try:
                stored = await core.add([Record(kind=RecordKind.FACT, scope=s, text=" ".join(ws)) for s, ws in writes])
                for scope, word in probes:
                    allowed = {r.id for r in stored if scope.contains(r.scope)}
                    hits = await core.search(word, scope=scope, top_k=50)
                    assert {h.record.id for h in hits} <= allowed
                    listed = await core.list(scope=scope, include_history=True)
                    assert {r.id for r in listed} == allowed
                    for record in stored:
                        visible = await core.get_many([record.id], scope=scope)
                        assert bool(visible) == (record.id in allowed)
                    buffer = io.StringIO()
                    await core.export_jsonl(buffer, scope=scope)
                    exported = {json.loads(line)["record"]["id"] for line in buffer.getvalue().splitlines()}
                    assert exported == allowed
            finally:
                await core.close()

    _run(scenario())
