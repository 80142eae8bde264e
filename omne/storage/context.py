"""Contextual text: what a record's second, contextual vector embeds (the `context` first stage).

A message is embedded twice: alone (the dense vector) and after the message before it in its conversation
(the NEXT chain the record store keeps), so a reply that names nothing ('Yes, last week, with my sister!')
is still near a query about what it answers. Only the previous message is folded in: it is known when a
message is written, so the contextual vector never has to change when later messages arrive. Records
with no previous message (the first turn, facts, documents) use their dense vector as their contextual one.

Measured on LoCoMo (benchmarks/RESULTS-locomo.md): the previous turn beat a window of previous + next
turns and a mean of the two turns' vectors.
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


def previous_messages(store: RecordStore, records: Sequence[Record]) -> dict[str, Record]:
    """For each record that has one, the message before it in its scope's chain (NEXT edges), by record id."""
    by_scope: dict[Scope, list[str]] = defaultdict(list)
    for record in records:
        by_scope[record.scope].append(record.id)
    batch = {r.id: r for r in records}
    found: dict[str, Record] = {}
    for scope, ids in by_scope.items():
        wanted = set(ids)
        prev_id = {dst: src for src, dst in store.links(scope, EdgeKind.NEXT, ids) if dst in wanted}
        missing = [p for p in set(prev_id.values()) if p not in batch]
        loaded = {r.id: r for r in store.get_many(missing, scope)} if missing else {}
        for record_id, src in prev_id.items():
            prev = batch.get(src) or loaded.get(src)
            if prev is not None:
                found[record_id] = prev
    return found


def contextual_texts(store: RecordStore, records: Sequence[Record]) -> dict[str, str]:
    """The contextual text of each record that has a previous message: that message's indexed text, then its own."""
    previous = previous_messages(store, records)
    return {r.id: f"{index_text(previous[r.id])} {index_text(r)}" for r in records if r.id in previous}


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
