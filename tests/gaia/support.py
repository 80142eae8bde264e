"""Scripted model replies for the GAIA sample, keyed on the question text (so concurrency does not matter),
and small solvers for runner tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from benchmarks.gaia.models import GaiaTask, SolverResult
from omne.testing import Reply, ToolCall

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "gaia_sample"

# question key -> the scripted final message; right on L1 (2/2), L2 (1/2), L3 (1/2)
FINALS = {
    "legs does a spider": "Spiders are arachnids.\nFINAL ANSWER: 8",
    "primary colours": "FINAL ANSWER: blue, green",  # list too short: wrong
    "family Laridae": "FINAL ANSWER: Sea Gull",  # right: whitespace and case are ignored
    "concert ticket": "250 times 4.\nFINAL ANSWER: $1,000",  # right: $ and , are removed
    "capital of Japan": "FINAL ANSWER: Kyoto",  # wrong
}
PRICE_KEY = "price list"
EXPECTED_BY_LEVEL = {"1": 1.0, "2": 0.5, "3": 0.5}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content)
    return str(content or "")


def question_key(body: dict[str, Any]) -> str | None:
    """Which sample task a chat request belongs to."""
    users = [_text(m.get("content")) for m in body.get("messages", []) if m.get("role") == "user"]
    question = users[0].split("\n\n")[0] if users else ""  # the prompt opens with the question; notes follow
    for key in (*FINALS, PRICE_KEY):
        if key in question:
            return key
    return None


def sample_script(body: dict[str, Any]) -> Reply:
    """The scripted model: a final answer per question; the price task reads its attachment first."""
    key = question_key(body)
    if key == PRICE_KEY:
        tool_results = [_text(m.get("content")) for m in body["messages"] if m.get("role") == "tool"]
        if not tool_results:
            return Reply(tool_calls=[ToolCall("read_attachment", {"file_name": "fruit_prices.csv"})])
        read_it = any("apple" in r and "1.25" in r and "2.25" in r for r in tool_results)
        return Reply(content="1.25 + 2.25 = 3.5\nFINAL ANSWER: 3.5" if read_it else "FINAL ANSWER: unknown")
    if key is None:
        return Reply(status=400, content="scripted server: unknown question")
    return Reply(content=FINALS[key])


ANSWERS = {"omne-s2": "3.5", "omne-s3": "blue, green, red", "omne-s4": "seagull", "omne-s5": "1000"}


class FlakySolver:
    """A solver without a model: raises on the spider task, hangs on the Japan task, else answers."""

    async def solve(self, task: GaiaTask, attachments: list[Path]) -> SolverResult:
        if "spider" in task.question:
            raise RuntimeError("tool crashed")
        if "Japan" in task.question:
            await asyncio.sleep(60)
        assert [p.name for p in attachments] == ([task.file_name] if task.file_name else [])
        return SolverResult(answer=ANSWERS[task.task_id], text=f"FINAL ANSWER: {ANSWERS[task.task_id]}", steps=1,
                            prompt_tokens=10, completion_tokens=2)
