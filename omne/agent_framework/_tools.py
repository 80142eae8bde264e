"""Omne's memory tools as Agent Framework `FunctionTool`s: the same argument models, descriptions and
implementation (`omne.agents.tools.run_memory_tool`) as the AutoGen tools, bound to one session's memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent_framework import FunctionTool

from omne.agents import MEMORY_TOOL_NAMES, MemoryHierarchy
from omne.agents.tools import run_memory_tool, tool_args, tool_description
from omne.errors import InvalidInputError


def _tool(name: str, memory: MemoryHierarchy) -> FunctionTool:
    async def run(**arguments: Any) -> str:
        return await run_memory_tool(name, memory, arguments)

    return FunctionTool(name=name, description=tool_description(name), func=run, input_model=tool_args(name))


def memory_tools(memory: MemoryHierarchy, names: Sequence[str] = MEMORY_TOOL_NAMES) -> list[FunctionTool]:
    """The memory tools named (default: all eight) as Agent Framework tools bound to `memory`."""
    unknown = sorted(set(names) - set(MEMORY_TOOL_NAMES))
    if unknown:
        raise InvalidInputError(f"unknown memory tool(s) {', '.join(unknown)}; known: {', '.join(MEMORY_TOOL_NAMES)}")
    return [_tool(name, memory) for name in MEMORY_TOOL_NAMES if name in names]
