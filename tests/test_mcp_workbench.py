"""An AutoGen agent uses Omne through AutoGen's own MCP client (McpWorkbench) and a scripted model: it stores a
fact with add_memory and finds it again with search_memory, over stdio (`omne mcp`) and streamable HTTP."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ToolCallSummaryMessage
from autogen_ext.tools.mcp import McpServerParams, McpWorkbench, StdioServerParams, StreamableHttpServerParams

from omne import MemoryCore
from omne.types import Scope
from omne.testing import open_fast_core
from omne.testing import replay, tool_call
from tests.support.server_proc import ROOT, running_server

FACT = "Maya's passport expires on 2031-03-14"


async def store_and_find(params: McpServerParams) -> str:
    """Two turns of a scripted agent; returns what search_memory gave the agent in the second."""
    model = replay(tool_call("add_memory", "call-1", text=FACT, tags=["travel"]),
                   tool_call("search_memory", "call-2", query="when does the passport expire", top_k=3))
    async with McpWorkbench(server_params=params) as workbench:
        agent = AssistantAgent("assistant", model_client=model, workbench=workbench)
        stored = await agent.run(task="Remember: my passport expires on 2031-03-14.")
        assert isinstance(stored.messages[-1], ToolCallSummaryMessage)
        assert "error" not in stored.messages[-1].to_text().lower()
        found = await agent.run(task="When does my passport expire?")
    offered = {getattr(t, "name", None) or t["name"] for t in model.create_calls[0]["tools"]}
    assert {"add_memory", "search_memory", "edit_core_block"} <= offered  # the workbench listed Omne's tools
    return found.messages[-1].to_text()


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_agent_stores_and_finds_a_fact_through_mcp(tmp_path: Path, transport: str) -> None:
    store = tmp_path / "store"
    await (await open_fast_core(store)).close()  # a store on the fast test embedder, which the server uses
    with running_server(store) as server:
        if transport == "http":
            params: McpServerParams = StreamableHttpServerParams(url=f"{server.url}/mcp?user=maya")
        else:
            params = StdioServerParams(command=sys.executable, args=["-m", "omne", "mcp", "--user", "maya"],
                                       env={**os.environ, "PYTHONPATH": str(ROOT), "OMNE_URL": server.url},
                                       cwd=str(ROOT), read_timeout_seconds=60)
        answer = await store_and_find(params)
        assert FACT in answer
        async with MemoryCore.connect(server.url) as remote:
            stored = await remote.list(scope=Scope(user="maya"))
        assert [r.text for r in stored] == [FACT] and stored[0].tags == ["travel"]
