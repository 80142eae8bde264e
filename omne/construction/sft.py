"""Export a scope's memory as a chat-format JSONL dataset for supervised fine-tuning (SFT / LoRA).

Schema: one JSON object per line, exactly ``{"messages": [{"role": ..., "content": ...}, ...]}``
(the format OpenAI fine-tuning, TRL's SFTTrainer and most LoRA tool-chains read). Every example
starts with a system message naming the memory it comes from; roles are ``system``, ``user`` and
``assistant``. Examples, in this order, from live records only (superseded and forgotten ones are
left out, so the dataset holds current knowledge):

1. ``dialogue`` — one per session that has at least one assistant message: the session's user and
   assistant messages in time order (other roles are skipped; consecutive messages of one role
   are joined). Sessions without an assistant turn are skipped.
2. ``summary`` — per session summary: user "What happened in our conversation of <date>
   (session <id>)?" → the summary; per scope summary: "What do you remember about <scope>?".
3. ``fact`` — per FACT record: user "What do you know about <subject>?" (the fact's first identity
   field, e.g. the entity or holder; else its name) → the fact's text, with "(since <date>)".
4. ``insight`` — per INSIGHT record: user "What have you learned about <applies_to or task>?"
   → the insight's text.

The export is deterministic: same store, same file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import IO, Any

from omne.construction.summaries import SCOPE_TAG, SESSION_TAG
from omne.verbs import CoreVerbs
from omne.types import Record, RecordKind, Scope

_ROLES = ("user", "assistant")


def _system(scope: Scope) -> dict[str, str]:
    return {"role": "system", "content": f"You are an assistant with long-term memory of {scope}."}


def _example(scope: Scope, turns: list[tuple[str, str]]) -> dict[str, Any]:
    return {"messages": [_system(scope)] + [{"role": r, "content": c} for r, c in turns]}


def dialogue_examples(scope: Scope, messages: list[Record]) -> list[dict[str, Any]]:
    sessions: dict[str, list[Record]] = {}
    for message in messages:
        if message.role in _ROLES:
            sessions.setdefault(message.scope.session or "", []).append(message)
    examples = []
    for _, turns in sorted(sessions.items(), key=lambda kv: kv[1][0].when):
        if not any(t.role == "assistant" for t in turns):
            continue
        merged: list[tuple[str, str]] = []
        for turn in turns:
            if merged and merged[-1][0] == turn.role:
                merged[-1] = (turn.role, merged[-1][1] + "\n" + turn.text)
            else:
                merged.append((turn.role or "", turn.text))  # every turn has a role in _ROLES
        examples.append(_example(scope, merged))
    return examples


def _subject(record: Record, identity: Sequence[str]) -> str | None:
    data = record.data or {}
    for field in identity:
        value = data.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return record.name


def knowledge_examples(identities: dict[str, list[str]], scope: Scope, records: list[Record]) -> list[dict[str, Any]]:
    """Question/answer examples from summaries, facts and insights (`identities`: `fact_schemas()`)."""
    examples = []
    for record in records:
        if record.kind is RecordKind.SUMMARY and SESSION_TAG in record.tags:
            question = (f"What happened in our conversation of {record.when:%Y-%m-%d}"
                        f"{f' (session {record.scope.session})' if record.scope.session else ''}?")
        elif record.kind is RecordKind.SUMMARY and SCOPE_TAG in record.tags:
            question = f"What do you remember about {record.scope}?"
        elif record.kind is RecordKind.FACT:
            identity = identities.get(record.schema_name, ()) if record.schema_name else ()
            subject = _subject(record, identity)
            question = f"What do you know about {subject}?" if subject else "What is one thing you remember?"
            since = record.valid_from or record.when
            examples.append(_example(scope, [("user", question), ("assistant", f"{record.text} (since {since:%Y-%m-%d})")]))
            continue
        elif record.kind is RecordKind.INSIGHT:
            topic = record.metadata.get("applies_to") or record.metadata.get("task") or "past tasks"
            question = f"What have you learned about {topic}?"
        else:
            continue
        examples.append(_example(scope, [("user", question), ("assistant", record.text)]))
    return examples


async def export_sft(core: CoreVerbs, out: IO[str], *, scope: Scope) -> int:
    """Write the scope's memory as chat-format SFT examples (schema in this module's docstring)."""
    messages = await core.list(scope=scope, kinds=[RecordKind.MESSAGE])
    knowledge = await core.list(scope=scope, kinds=[RecordKind.SUMMARY, RecordKind.FACT, RecordKind.INSIGHT])
    order = {RecordKind.SUMMARY: 0, RecordKind.FACT: 1, RecordKind.INSIGHT: 2}
    knowledge.sort(key=lambda r: (order[r.kind], r.when, r.id))
    examples = dialogue_examples(scope, messages) + knowledge_examples(await core.fact_schemas(), scope, knowledge)

    def _write() -> int:
        for example in examples:
            out.write(json.dumps(example, ensure_ascii=False) + "\n")
        return len(examples)

    return await asyncio.to_thread(_write)
