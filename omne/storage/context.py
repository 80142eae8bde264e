"""Contextual text: what a record's second, contextual vector embeds (the `context` first stage).

A message is embedded twice: alone (the dense vector) and after the messages before it in its conversation
(the NEXT chain the record store keeps), so a reply that names nothing ('Yes, last week, with my sister!')
is still near a query about what it answers. Only earlier messages are folded in: they are known when a
message is written, so the contextual vector never has to change when later messages arrive. Records
with no previous message (the first turn, facts, documents) use their dense vector as their contextual one.

How many earlier messages (`CONTEXT_MESSAGES`) was chosen on LoCoMo by leave-one-conversation-out
cross-validation: two beat one and three (benchmarks/RESULTS-locomo.md); the previous turn alone beat a window
of previous + next turns and a mean of the two turns' vectors.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from omne.embedding import Embedder
from omne.errors import StorageError
from omne.storage.index_payload import index_text
from omne.storage.protocols import IndexItem, RecordStore, StoredVector, VectorIndex
from omne.types import EdgeKind, Record, Scope

log = logging.getLogger("omne")
FILL_BATCH = 512


CONTEXT_MESSAGES = 2  # earlier messages of its chain folded into a record's contextual text
# the end of each earlier message that is folded in, in characters: MiniLM reads 256 tokens and truncates the rest,
# so a long message before a reply must not push the reply's own words out of its contextual vector (two earlier
# messages of 400 characters are about 200 tokens; every LoCoMo turn is shorter)
EARLIER_CHARS = 400


def preceding_messages(store: RecordStore, records: Sequence[Record],
                       depth: int = CONTEXT_MESSAGES) -> dict[str, list[Record]]:
    """For each record that has any, the up to `depth` messages before it in its scope's chain (NEXT edges),
    oldest first, by record id. Only messages of the record's own scope are followed: the walk stops at an edge
    from anywhere else."""
    by_scope: dict[Scope, list[Record]] = defaultdict(list)
    for record in records:
        by_scope[record.scope].append(record)
    found: dict[str, list[Record]] = {}
    for scope, members in by_scope.items():
        known = {r.id: r for r in members}
        before: dict[str, list[Record]] = {r.id: [] for r in members}  # nearest first while walking
        tip = {r.id: r.id for r in members}  # record id -> the message whose predecessor is looked up next
        for _ in range(depth):
            wanted = set(tip.values())
            if not wanted:
                break
            prev_id = {dst: src for src, dst in store.links(scope, EdgeKind.NEXT, list(wanted)) if dst in wanted}
            missing = [p for p in set(prev_id.values()) if p not in known]
            if missing:
                known.update({r.id: r for r in store.get_many(missing, scope)})
            step: dict[str, str] = {}
            for record_id, at in tip.items():
                prev = known.get(prev_id[at]) if at in prev_id else None
                if prev is not None and prev.id != record_id and prev not in before[record_id]:  # no loop
                    before[record_id].append(prev)
                    step[record_id] = prev.id
            tip = step
        found.update({record_id: chain[::-1] for record_id, chain in before.items() if chain})
    return found


def contextual_texts(store: RecordStore, records: Sequence[Record]) -> dict[str, str]:
    """The contextual text of each record that has a previous message: the indexed texts of the messages before
    it (`CONTEXT_MESSAGES` at most, oldest first), then its own."""
    before = preceding_messages(store, records)
    return {r.id: " ".join([_earlier_text(p) for p in before[r.id]] + [index_text(r)]) for r in records
            if r.id in before}


def _earlier_text(record: Record) -> str:
    """An earlier message as it is folded into a later one's contextual text: its indexed text, keeping only the
    end of a long one (where it leads into what follows)."""
    if len(record.text) <= EARLIER_CHARS:
        return index_text(record)
    return index_text(record.model_copy(update={"text": "..." + record.text[-EARLIER_CHARS:]}))


def embed_records(embedder: Embedder, records: Sequence[Record], context_from: RecordStore | None) -> list[IndexItem]:
    """Each record's vector, and with `context_from` (the store that holds their chains) the contextual vector of
    each that has a previous message: all texts in one embedder call, so its batching covers both."""
    if not records:
        return []
    contexts = contextual_texts(context_from, records) if context_from is not None else {}
    embedded = embedder.embed([index_text(r) for r in records] + list(contexts.values()))
    extra = dict(zip(contexts, embedded[len(records):]))
    return [IndexItem(record=r, vector=v, context=extra.get(r.id)) for r, v in zip(records, embedded)]


def fill_missing_contexts(index: VectorIndex, embedder: Embedder, context_from: RecordStore | None, *,
                          batch: int = FILL_BATCH) -> int:
    """Give every point of an index made before contextual vectors its contextual vector, keeping its dense one:
    only the contextual texts of messages with a previous one are embedded (none without `context_from`), the
    others take their dense vector. Resumable (a point done stays done); a progress bar on a terminal. Returns
    how many contextual texts were embedded."""
    missing = index.missing_context(batch)
    if not missing:
        return 0
    from tqdm import tqdm

    log.warning("adding contextual vectors to an index made before them (%d points)", index.count())
    embedded, given = 0, set[str]()
    with tqdm(total=index.count(), desc="contextual vectors", unit="point", disable=None, leave=False) as bar:
        while missing:
            _require_progress(given, missing)
            texts = _missing_texts(context_from, missing) if context_from is not None else {}
            vectors = dict(zip(texts, embedder.embed(list(texts.values())))) if texts else {}
            index.set_context({p.id: vectors.get(p.id, p.vector) for p in missing})
            embedded += len(vectors)
            bar.update(len(missing))
            given = {p.id for p in missing}
            missing = index.missing_context(batch)
    log.warning("contextual vectors added (%d contextual texts embedded, dense vectors kept)", embedded)
    return embedded


def _require_progress(given: set[str], missing: Sequence[StoredVector]) -> None:
    """An index that still reports a point it was just given a contextual vector would be asked again forever."""
    again = sorted(given.intersection(p.id for p in missing))
    if again:
        raise StorageError(
            f"the vector index still lacks the contextual vector of {len(again)} point(s) it was just given one "
            f"(e.g. {again[0]!r}): it does not keep what is written to it. Remove the index (the embedded one is "
            "the store's `vectors` folder) and it is rebuilt from the log when the store next opens.")


def _missing_texts(store: RecordStore, points: Sequence[StoredVector]) -> dict[str, str]:
    by_scope: dict[Scope, list[str]] = defaultdict(list)
    for point in points:
        by_scope[point.scope].append(point.id)
    return contextual_texts(store, [r for scope, ids in by_scope.items() for r in store.get_many(ids, scope)])
