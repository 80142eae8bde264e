"""Scope is a hard partition: across 50 users and 1,000 seeded random queries no user sees another's record."""

from __future__ import annotations

import io
import json
import random

import numpy as np
import pytest

from omne import MemoryCore, Record, RecordKind, RetrievalConfig, Scope
from omne.errors import NotFoundError

USERS = [f"user{i:02d}" for i in range(50)]
TOPICS = ["my bank PIN", "my doctor's appointment", "my favourite band", "my home address", "my password",
          "my salary", "my allergy", "my travel plans"]


class QueryCache:
    """The real embedder, with the test's query texts embedded once in a batch (searches then skip the model)."""

    def __init__(self, embedder, texts: list[str]) -> None:
        self.name, self.dim = embedder.name, embedder.dim
        self._embedder = embedder
        self._cache = dict(zip(texts, embedder.embed(texts)))

    def embed(self, texts):
        if all(t in self._cache for t in texts):
            return np.stack([self._cache[t] for t in texts])
        return self._embedder.embed(texts)


def secret(user: str, n: int) -> str:
    return f"{TOPICS[n % len(TOPICS)]} is token{user}x{n} and only {user} may read this"


@pytest.mark.parametrize("seed", [20240501])
async def test_no_user_sees_another_users_records(tmp_path, embedder, seed):
    rng = random.Random(seed)
    records = [Record(kind=rng.choice([RecordKind.MESSAGE, RecordKind.FACT]), scope=Scope(user=u, agent="bot",
                                                                                          session=f"{u}-s{n % 2}"),
                      text=secret(u, n), role="user", tags=[f"t{n % 3}"])
               for u in USERS for n in range(4)]
    owner = {r.id: r.scope.user for r in records}
    # queries aimed at other users' secrets (their unique tokens and full texts) and at shared topics
    texts = sorted({*TOPICS, *(secret(u, n) for u in USERS[:10] for n in range(4)),
                    *(f"token{u}x{n}" for u in USERS for n in range(4))})
    core = await MemoryCore.open(tmp_path / "store", embedder=QueryCache(embedder, texts))
    try:
        await core.add(records)
        seen_per_user: dict[str, set[str]] = {u: set() for u in USERS}
        for _ in range(1000):
            user = rng.choice(USERS)
            scope = rng.choice([Scope(user=user), Scope(user=user, agent="bot"),
                                Scope(user=user, session=f"{user}-s{rng.randrange(2)}")])
            hits = await core.search(rng.choice(texts), scope=scope, top_k=rng.choice([1, 5, 20]),
                                     kinds=rng.choice([None, ["message"], ["fact", "message"]]),
                                     tags=rng.choice([None, ["t0"], ["t1", "t2"]]),
                                     config=RetrievalConfig(mode=rng.choice(["hybrid", "dense", "lexical"])))
            for hit in hits:
                assert owner[hit.record.id] == user, f"{user} saw a record of {owner[hit.record.id]}"
                assert scope.contains(hit.record.scope)
                seen_per_user[user].add(hit.record.id)
        assert sum(map(len, seen_per_user.values())) > 150  # the queries did reach most records

        # every other read path is partitioned too
        victim = next(r for r in records if r.scope.user == "user01")
        intruder = Scope(user="user02")
        with pytest.raises(NotFoundError):
            await core.get(victim.id, scope=intruder)
        with pytest.raises(NotFoundError):
            await core.history(victim.id, scope=intruder)
        with pytest.raises(NotFoundError):
            await core.forget(victim.id, scope=intruder)
        assert await core.get_many([victim.id], scope=intruder) == []
        assert all(r.scope.user == "user02" for r in await core.list(scope=intruder))
        out = io.StringIO()
        await core.export_jsonl(out, scope=intruder)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert "user01" not in out.getvalue() and sum(line["type"] == "record" for line in lines) == 4
        assert all(line[line["type"]]["scope"]["user"] == "user02" for line in lines)  # records and NEXT edges
        assert (await core.stats(intruder))["records"] == 4
    finally:
        await core.close()
