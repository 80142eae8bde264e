"""Task tools for responders: files, code, web, and a reasoning-model expert (AutoGen tools and components)."""

from __future__ import annotations

from pathlib import Path

from autogen_core.tools import BaseTool

from assistants.tools.code import CodeExecutionTool
from assistants.tools.files import FileReaderTool, FindInFileTool
from assistants.tools.logic import LogicExpertTool
from assistants.tools.web import FetchPageTool, SearchProvider, SearchResult, SearxngProvider, WebSearchTool
from omne.llm import ModelConfig

__all__ = ["CodeExecutionTool", "FetchPageTool", "FileReaderTool", "FindInFileTool", "LogicExpertTool", "SearchProvider",
           "SearchResult", "SearxngProvider", "WebSearchTool", "task_tools"]


def task_tools(*, files_root: Path | str | None = None, code_timeout_s: int = 60,
               search: SearchProvider | None = None, reasoning_model: ModelConfig | None = None,
               fetch: bool = True) -> list[BaseTool]:
    """The standard task tools: read_file, find_in_file, run_code, fetch_page, plus web_search and ask_logic_expert when
    a provider / reasoning model is given."""
    tools: list[BaseTool] = [FileReaderTool(files_root), FindInFileTool(files_root),
                              CodeExecutionTool(code_timeout_s)]
    if fetch:
        tools.append(FetchPageTool())
    if search is not None:
        tools.append(WebSearchTool(search))
    if reasoning_model is not None:
        tools.append(LogicExpertTool(reasoning_model))
    return tools
