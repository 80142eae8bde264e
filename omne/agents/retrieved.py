"""Memories retrieved for a turn, as every Omne door (the AutoGen Memory adapter, the Agent Framework context
provider) puts them in a prompt: recollected for the latest user message, packed into a token budget with
their dates and provenance, and rendered as quoted data (see `rendering`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from autogen_core.models import LLMMessage, UserMessage

from omne.types import RecordKind

from omne.agents import rendering
from omne.agents.archival import ARCHIVAL_KINDS
from omne.agents.hierarchy import MemoryHierarchy, Recollection
from omne.agents.summary import ALERT_SOURCE
from omne.agents.tokens import TokenCounter

DEFAULT_KINDS = [k.value for k in ARCHIVAL_KINDS] + [RecordKind.MESSAGE.value]


def last_user_text(messages: Sequence[LLMMessage]) -> str:
    """The text of the latest user message (not one of the context's own alerts); empty when there is none."""
    for message in reversed(messages):
        if isinstance(message, UserMessage) and message.source != ALERT_SOURCE:
            if isinstance(message.content, str):
                return message.content
            return " ".join(p for p in message.content if isinstance(p, str))
    return ""


def pack(hits: Sequence[Recollection], *, max_tokens: int, counter: TokenCounter,
         ) -> tuple[str | None, list[Recollection]]:
    """The hits that fit in `max_tokens` (best first, skipping any too long), rendered in the
    `<retrieved_memories>` wrapper; (None, []) when none fits."""
    if not hits:
        return None, []
    entries: list[str] = []
    used: list[Recollection] = []
    budget = max_tokens - counter.text_tokens(rendering.retrieved([])) - 8
    for hit in hits:
        entry = rendering.render_record(hit.record, number=len(used) + 1)
        cost = counter.text_tokens(entry)
        if cost > budget:
            continue
        entries.append(entry)
        used.append(hit)
        budget -= cost
    if not used:
        return None, []
    return rendering.retrieved(entries), used


async def retrieve(memory: MemoryHierarchy, query: str, *, top_k: int, kinds: Sequence[RecordKind],
                   max_tokens: int, counter: TokenCounter, exclude: Collection[str] = (),
                   ) -> tuple[str | None, list[Recollection]]:
    """Memories relevant to `query` (`MemoryHierarchy.recollect`), packed and rendered; (None, []) for none."""
    if not query.strip():
        return None, []
    found = await memory.recollect(query, top_k=top_k, kinds=kinds, exclude=exclude)
    return pack(found, max_tokens=max_tokens, counter=counter)
