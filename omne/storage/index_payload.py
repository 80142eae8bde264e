"""What both vector backends store beside a record's vectors, and its lexical encoding."""

from __future__ import annotations

from typing import Any

import qdrant_edge

from omne.types import Record, RecordKind

SCOPE_KEYS = ("s_user", "s_agent", "s_session", "s_team")
DENSE = "dense"
LEXICAL = "bm25"
CONTEXT = "context"  # a record's embedding with the messages before it folded in (omne.storage.context)


def index_payload(record: Record) -> dict[str, Any]:
    """Scope fields, kind, role, tags and time: everything a filter may name, nothing else."""
    payload: dict[str, Any] = {"kind": record.kind.value, "t": record.when.timestamp(), "tags": list(record.tags)}
    for key, value in record.scope.fields().items():
        payload[f"s_{key}"] = value
    if record.role:
        payload["role"] = record.role
    return payload


def index_text(record: Record) -> str:
    """The text both indexes embed and tokenise: a message carries its speaker and quotes its words
    ('Name: "text"'; quoting lifts MiniLM's recall of speaker-anchored questions, see RESULTS-locomo)."""
    if record.kind is RecordKind.MESSAGE and record.name and record.name.strip():
        return f'{record.name.strip()}: "{record.text}"'
    return record.text


class LexicalEncoder:
    """BM25 sparse vectors (Qdrant's tokenizer, English stemming and stop words).

    Documents carry term-frequency weights; the IDF half is applied by the index at query time.
    """

    def __init__(self) -> None:
        self._bm25 = qdrant_edge.Bm25(qdrant_edge.Bm25Config(language="english", avg_len=24.0))

    def document(self, text: str) -> tuple[list[int], list[float]]:
        vec = self._bm25.embed_document(text)
        return list(vec.indices), list(vec.values)

    def query(self, text: str) -> tuple[list[int], list[float]]:
        vec = self._bm25.embed_query(text)
        return list(vec.indices), list(vec.values)
