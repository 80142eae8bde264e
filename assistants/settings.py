"""Responder settings: budgets, stall limits, answer format, memory policy (YAML in configs/responder*.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omne.config import read_yaml_mapping, validate_config


class Budgets(BaseModel):
    """When a run stops even if the task is not done. None means no limit."""

    model_config = ConfigDict(extra="forbid")

    max_rounds: int | None = Field(default=20, ge=1)  # executed plan steps (tool or delegate)
    max_time_s: float | None = Field(default=600.0, gt=0)
    max_tokens: int | None = Field(default=200_000, ge=1)  # prompt + completion, all model calls of the run


class AnswerFormat(BaseModel):
    """The required shape of a final answer, e.g. `FINAL ANSWER: 42`."""

    model_config = ConfigDict(extra="forbid")

    prefix: str = "FINAL ANSWER:"
    instruction: str = ("Finish with one line of the form `FINAL ANSWER: <answer>`; the answer is a number, "
                        "as few words as possible, or a comma-separated list, with no units unless asked.")
    retries: int = Field(default=1, ge=0)  # re-asks when the reply lacks the prefix

    def extract(self, text: str) -> str | None:
        """The answer after the last prefix in `text`, or None when the prefix is missing."""
        matches = list(re.finditer(re.escape(self.prefix), text))
        if not matches:
            return None
        tail = text[matches[-1].end():].strip()
        return tail.splitlines()[0].strip() if tail else ""


class MemorySettings(BaseModel):
    """What a responder retrieves before answering and what it writes after."""

    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(default=6, ge=0, le=100)  # 0 switches retrieval off
    min_score: float = Field(default=0.0, ge=0.0)
    # insights (lessons a reflection drew from earlier tasks) recalled beside the top hits even when raw turns
    # and ledgers of those tasks outrank them; 0 switches this off
    experience_k: int = Field(default=2, ge=0, le=20)
    record_turns: bool = True  # write each turn as MESSAGE records (private and team scope)
    record_experience: bool = True  # reactive: write ledgers, trajectory and a reflection
    history_messages: int = Field(default=40, ge=2)  # chat turns kept in the model context
    tools: bool = True  # offer the memory tools (conversation_search, archival_memory_insert/search) when there is a store


class ResponderSettings(BaseModel):
    """Everything tunable about a responder; loaded from YAML with `load_responder_settings`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["simple", "reactive"] = "simple"
    system_message: str | None = None  # None: the responder class's default prompt
    budgets: Budgets = Field(default_factory=Budgets)
    max_stalls: int = Field(default=3, ge=1)  # stalled progress checks before a re-plan
    max_replans: int = Field(default=2, ge=0)
    json_retries: int = Field(default=2, ge=0)  # repair attempts when a ledger is not valid JSON
    max_tool_iterations: int = Field(default=4, ge=1)  # model calls per step (simple: per turn) that may call tools
    tool_timeout_s: float = Field(default=120.0, gt=0)
    answer_format: AnswerFormat = Field(default_factory=AnswerFormat)
    require_answer_format: bool = False  # simple responder: ask for the format on every reply
    reflect: bool = True  # reactive: ask the model for a reflection after each task
    memory: MemorySettings = Field(default_factory=MemorySettings)


def load_responder_settings(path: Path | str | None) -> ResponderSettings:
    """Settings from a YAML file (top-level key `responder:` optional); defaults when `path` is None."""
    if path is None:
        return ResponderSettings()
    loaded = read_yaml_mapping(path, what="responder config", example="configs/responder.example.yaml")
    if "responder" in loaded:
        data = loaded["responder"] or {}
    else:  # a model-only file (configs/model.example.yaml) leaves the responder at its defaults
        data = {} if "model" in loaded else loaded
    return validate_config(ResponderSettings, data, what=f"responder config {path}")
