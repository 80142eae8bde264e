"""Shared by the OmneContext rule tests (tests/test_context_rules.py, tests/test_context_lifecycle.py): a context
on a 1,000-token window, and filler text of distinct words."""

from __future__ import annotations

from omne.agents import AgentMemory, OmneContext

WINDOW = 1000


def context_of(memory: AgentMemory, **options) -> OmneContext:
    """A context of `memory` on a WINDOW-token window, no tools, a short system prompt (`options` override)."""
    return memory.context(**{"window_tokens": WINDOW, "tool_schema": [], "system_prompt": "Be terse.", **options})


def words(word: str, n: int) -> str:
    """`n` distinct words: word0 word1 ..."""
    return " ".join(f"{word}{i}" for i in range(n))
