"""`--responder simple|reactive` (or `module:Class` naming a responder): Omne's responders on GAIA tasks.

Each task gets a fresh responder on a metered client (the per-task token budget is enforced and usage
counted exactly) and runs through the responders' uniform entry point, `solve(task, attachments)`:
a `read_file` tool limited to the task's folder opens the attachments; with memory on, the responder
keeps its own memory in the run's store (its turns, ledgers and reflections, retrieved by later tasks,
never the gold answers) beside the runner's notes of earlier tasks; GAIA's answer format is required.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.gaia.answer import ANSWER_INSTRUCTIONS, extract_final_answer
from benchmarks.gaia.models import GaiaTask, SolverResult
from benchmarks.gaia.solver import SolverSettings, build_prompt, usage_so_far

RESPONDER_NAME = "gaia_solver"


def is_responder_class(target: Any) -> bool:
    """A class with an async `solve(task, attachments)` that is also an AutoGen agent (an Omne responder)."""
    import inspect

    from autogen_agentchat.base import ChatAgent

    return (inspect.isclass(target) and inspect.iscoroutinefunction(getattr(target, "solve", None))
            and callable(getattr(target, "run", None)) and issubclass(target, ChatAgent))


class ResponderSolver:
    """A fresh responder per task, run through `solve(task, attachments)`; see the module docstring."""

    def __init__(self, settings: SolverSettings, responder_class: type) -> None:
        from assistants.settings import AnswerFormat, load_responder_settings

        settings.client()  # fail now, in one line, rather than once per task
        self._settings = settings
        self._class = responder_class
        base = load_responder_settings(settings.config_path)  # a `responder:` section of --config, if any
        budgets = base.budgets.model_copy(update={"max_tokens": settings.max_tokens_per_task, "max_time_s": None})
        self._responder_settings = base.model_copy(update={
            "max_tool_iterations": settings.max_tool_iterations, "budgets": budgets, "require_answer_format": True,
            "answer_format": AnswerFormat(prefix="FINAL ANSWER:", instruction=ANSWER_INSTRUCTIONS)})

    def _responder(self, client: Any, task: GaiaTask, attachments: list[Path]) -> Any:
        from assistants.tools import FileReaderTool, FindInFileTool

        root = attachments[0].resolve().parent if attachments else None
        tools = [FileReaderTool(root=root), FindInFileTool(root=root)] if root else []
        return self._class(RESPONDER_NAME, client, tools=tools, settings=self._responder_settings,
                           memory=self._settings.memory, session=f"gaia-{task.task_id}")

    async def solve(self, task: GaiaTask, attachments: list[Path]) -> SolverResult:
        client = self._settings.metered()
        responder = self._responder(client, task, attachments)
        try:
            result = await responder.solve(build_prompt(task, []), attachments)
        except Exception as exc:
            raise usage_so_far(client, exc)
        finally:
            await responder.close()
        return SolverResult(answer=extract_final_answer(result.message), text=result.message,
                            trajectory=[step.model_dump(mode="json") for step in result.trajectory],
                            steps=client.calls, prompt_tokens=client.prompt_tokens,
                            completion_tokens=client.completion_tokens)
