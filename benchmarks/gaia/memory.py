"""Memory across tasks: what the solver did on earlier tasks, retrieved for later ones.

Experience is the solver's own: the question, its answer (or failure), steps and the tools it called.
The gold answer and whether the task was scored correct are never stored, so no label leaks into later
tasks. Records live in an Omne MemoryCore under RUN_DIR/memory, in one scope per run.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from omne.core import MemoryCore
from omne.types import RecordKind, Scope

from benchmarks.gaia.models import TaskResult

TAG = "gaia-experience"
SCOPE = Scope(team="gaia-run", agent="gaia-solver")
MAX_QUESTION_CHARS = 400


def _tools_called(trajectory: list[dict[str, Any]]) -> list[str]:
    """Tool names in order of first use: from AutoGen messages (ToolCallRequestEvent) or responder steps."""
    names: list[str] = []
    for entry in trajectory:
        calls = entry.get("content") if entry.get("type") == "ToolCallRequestEvent" else entry.get("tool_calls")
        for call in calls or []:
            if isinstance(call, dict) and call.get("name") and call["name"] not in names:
                names.append(call["name"])
    return names


def experience_text(result: TaskResult, trajectory: list[dict[str, Any]]) -> str:
    """One line of experience from a finished task (no gold answer, no correctness)."""
    question = " ".join(result.question.split())
    if len(question) > MAX_QUESTION_CHARS:
        question = question[:MAX_QUESTION_CHARS] + "..."
    if result.error:
        outcome = f"the attempt failed ({result.error[:200]})"
    else:
        outcome = f"answered {result.answer!r}" if result.answer is not None else "gave no FINAL ANSWER line"
    tools = _tools_called(trajectory)
    used = f"; tools used: {', '.join(tools)}" if tools else ""
    return f"Earlier task: {question} -> {outcome} after {result.steps} model call(s){used}."


class ExperienceMemory:
    """Store and retrieve per-task experience in one scope of a MemoryCore."""

    def __init__(self, core: MemoryCore, scope: Scope = SCOPE, top_k: int = 3) -> None:
        self.core = core
        self.scope = scope
        self.top_k = top_k
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, directory: Path, top_k: int = 3, *, server: str | None = None) -> ExperienceMemory:
        """The run's memory: `directory` opened here, or the store of the `omne serve` at `server`."""
        return cls(MemoryCore.connect(server) if server else await MemoryCore.open(directory), top_k=top_k)

    async def close(self) -> None:
        await self.core.close()

    async def recall(self, question: str) -> list[str]:
        """Experience of earlier tasks most related to the question, best first."""
        async with self._lock:
            if not await self.core.list(scope=self.scope, kinds=[RecordKind.INSIGHT], tags=[TAG], limit=1):
                return []
            hits = await self.core.search(question, scope=self.scope, top_k=self.top_k,
                                          kinds=[RecordKind.INSIGHT], tags=[TAG])
        return [hit.record.text for hit in hits]

    async def remembered_tasks(self) -> set[str]:
        """Task ids whose experience is stored."""
        async with self._lock:
            records = await self.core.list(scope=self.scope, kinds=[RecordKind.INSIGHT], tags=[TAG])
        return {str(r.metadata.get("task_id")) for r in records}

    async def record(self, result: TaskResult, trajectory: list[dict[str, Any]]) -> None:
        """Store the experience of one finished task."""
        async with self._lock:
            await self.core.remember(experience_text(result, trajectory), scope=self.scope, kind=RecordKind.INSIGHT,
                                     tags=[TAG], metadata={"task_id": result.task_id, "level": result.level})


def load_trajectory(path: Path) -> list[dict[str, Any]]:
    """A stored trajectory file's messages ([] when absent or unreadable)."""
    try:
        return list(json.loads(path.read_text(encoding="utf-8")).get("trajectory") or [])
    except (OSError, ValueError, AttributeError):
        return []
