"""`--responder assistant`: a plain AutoGen AssistantAgent on the configured model, as a baseline.

Its tools read the task's attached files and nothing else: `read_attachment` (the file's faithful text from
Omne's one converter, the same as the `read_file` task tool: exact text, every sheet, PDFs page by page,
zip members; long files in parts, `start=` for the next) and `find_in_attachment` (where a string occurs).
Images go to the model when it has vision. It has no web access and no code execution, so it measures the
bare model with attachments.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_core.models import ChatCompletionClient
from autogen_core.tools import FunctionTool

from assistants.tools.files import find_text, read_media, read_text, text_window
from benchmarks.gaia.models import GaiaTask
from benchmarks.gaia.solver import AgentSolver, SolverSettings

MAX_ATTACHMENT_CHARS = 40_000
SYSTEM_MESSAGE = ("You are a careful general assistant solving benchmark questions. Use the read_attachment tool "
                  "to read attached files (find_in_attachment finds a string in a long one). Think step by step "
                  "and always end with the FINAL ANSWER line the task asks for.")


def _attachment_text(attachments: list[Path], vision: Any) -> Any:
    by_name = {p.name: p for p in attachments}

    async def text_of(file_name: str) -> tuple[Path | None, str]:
        """(the attachment, its text), or (None, a message for the model saying what went wrong)."""
        path = by_name.get(Path(file_name).name)
        if path is None:
            return None, f"no attachment named {file_name!r}; attached: {', '.join(by_name) or 'none'}"
        try:
            media = await read_media(path, vision)
            return path, media if media is not None else await asyncio.to_thread(read_text, path)
        except Exception as exc:  # noqa: BLE001 - the model sees the failure and can say so
            return None, f"could not read {path.name}: {type(exc).__name__}: {exc}"

    return text_of


def read_attachment_tool(attachments: list[Path], vision: Any = None) -> FunctionTool:
    """A tool that reads one of this task's attachments (and nothing else) as text, in parts."""
    text_of = _attachment_text(attachments, vision)

    async def read_attachment(file_name: str, start: int = 0, length: int | None = None) -> str:
        """Return the text of an attached file, given its file name. Long files come in parts: pass start
        (a character offset) to read further."""
        path, text = await text_of(file_name)
        if path is None:
            return text
        return text_window(text, max(0, start), length, MAX_ATTACHMENT_CHARS,
                           f"read_attachment(file_name={path.name!r}, start={{start}})")

    return FunctionTool(read_attachment, description=read_attachment.__doc__ or "", name="read_attachment")


def find_attachment_tool(attachments: list[Path], vision: Any = None) -> FunctionTool:
    """A tool that says where a string occurs in one of this task's attachments."""
    text_of = _attachment_text(attachments, vision)

    async def find_in_attachment(file_name: str, text: str) -> str:
        """Find where a string occurs in an attached file (case-insensitive): character offsets to pass to
        read_attachment as start, lines, pages or sheets."""
        path, content = await text_of(file_name)
        return content if path is None else find_text(content, text)

    return FunctionTool(find_in_attachment, description=find_in_attachment.__doc__ or "", name="find_in_attachment")


class AssistantSolver(AgentSolver):
    """A fresh AssistantAgent per task, with `read_attachment` when the task has files."""

    def __init__(self, settings: SolverSettings) -> None:
        super().__init__(settings, self._agent)
        self._max_tool_iterations = settings.max_tool_iterations

    @classmethod
    def from_gaia_settings(cls, settings: SolverSettings) -> AssistantSolver:
        return cls(settings)

    def _agent(self, client: ChatCompletionClient, task: GaiaTask, attachments: list[Path]) -> AssistantAgent:
        use_tools = bool(attachments) and client.model_info.get("function_calling", False)
        vision = client if client.model_info.get("vision", False) else None
        tools = [read_attachment_tool(attachments, vision), find_attachment_tool(attachments, vision)]
        return AssistantAgent("gaia_assistant", model_client=client, system_message=SYSTEM_MESSAGE,
                              tools=tools if use_tools else None,
                              reflect_on_tool_use=True if use_tools else None,
                              max_tool_iterations=self._max_tool_iterations)
