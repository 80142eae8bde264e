"""Omne over MCP: real SDK client sessions over stdio (`omne mcp`) and streamable HTTP (/mcp on `omne serve`)
list the tools and call each one; AutoGen's McpWorkbench drives them from a scripted agent; a session for one
user cannot reach another's records; hostile arguments come back as tool errors."""

from __future__ import annotations

import json
import os
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from autogen_core.models import UserMessage
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult

from omne import MemoryCore
from omne.agents.blocks import BlockSpec, CoreMemory
from omne.agents.hierarchy import MemoryHierarchy
from omne.agents.recall import RecallMemory
from omne.agents.spec import AgentSpec
from omne.agents.tools import run_memory_tool
from omne.mcp import McpBinding, build_server
from omne.service.auth import create_key
from omne.types import Scope
from omne.testing import open_fast_core
from tests.support.server_proc import ROOT, running_server

TOOLS = {"search_memory", "add_memory", "get_memory", "update_memory", "forget_memory", "memory_history",
         "list_core_blocks", "edit_core_block", "conversation_search"}
ALICE, BOB = Scope(user="alice"), Scope(user="bob")


@dataclass
class Seeded:
    bob_fact: str


async def seed(core: MemoryCore) -> Seeded:
    """Alice: a `human` block and a message; Bob: a private fact."""
    await CoreMemory(core, private_scope=ALICE, team_scope=None, editor="test").attach(
        BlockSpec(label="human", value="Name: Alice", limit=500))
    recall = RecallMemory(core, AgentSpec(agent="helper", user="alice", session="s1"))
    await recall.record([UserMessage(content="I moved to Lisbon last spring", source="alice")])
    bob = await core.remember("Bob's locker code is 4812", scope=BOB)
    return Seeded(bob_fact=bob.id)


def ok(result: CallToolResult) -> Any:
    """The structured result of a successful call (lists come wrapped as {"result": [...]})."""
    assert not result.isError, result.content
    data = result.structuredContent
    assert data is not None
    return data["result"] if set(data) == {"result"} else data


def error_text(result: CallToolResult) -> str:
    assert result.isError, result
    return " ".join(getattr(part, "text", "") for part in result.content)


async def exercise(session: ClientSession, seeded: Seeded) -> None:
    """List the tools and resources and call every tool once, as Alice."""
    await session.initialize()
    listed = (await session.list_tools()).tools
    assert {tool.name for tool in listed} == TOOLS
    assert all(tool.description and len(tool.description) > 40 for tool in listed)
    search_schema = next(t for t in listed if t.name == "search_memory").inputSchema
    assert {"query", "kinds", "tags", "start_date", "end_date", "top_k"} <= set(search_schema["properties"])

    added = ok(await session.call_tool("add_memory", {"text": "Alice's favourite tea is genmaicha",
                                                      "tags": ["tea"], "event_time": "2024-05-01"}))
    assert added["event_time"].startswith("2024-05-01") and added["tags"] == ["tea"]
    hits = ok(await session.call_tool("search_memory", {"query": "favourite tea genmaicha", "top_k": 5}))
    hit = next(h for h in hits if h["id"] == added["id"])
    assert hit["found_by"] and hit["text"] == "Alice's favourite tea is genmaicha"
    assert ok(await session.call_tool("get_memory", {"id": added["id"]}))["text"].endswith("genmaicha")
    updated = ok(await session.call_tool("update_memory",
                                         {"id": added["id"], "text": "Alice's favourite tea is sencha"}))
    assert updated["version"] == 2
    forgotten = ok(await session.call_tool("forget_memory", {"id": updated["id"]}))
    assert forgotten["deleted_at"]
    history = ok(await session.call_tool("memory_history", {"id": added["id"]}))
    assert [v["text"].rsplit(" ", 1)[-1] for v in history] == ["genmaicha", "sencha"]
    assert history[0]["superseded_by"] and history[-1]["deleted_at"]

    blocks = ok(await session.call_tool("list_core_blocks", {}))
    assert [b["label"] for b in blocks] == ["human"]
    ok(await session.call_tool("edit_core_block", {"label": "human", "operation": "append", "content": "Likes tea"}))
    ok(await session.call_tool("edit_core_block", {"label": "human", "operation": "replace",
                                                   "old_content": "Likes tea", "content": "Likes green tea"}))
    block = ok(await session.call_tool("edit_core_block", {"label": "human", "operation": "rethink",
                                                           "content": "Name: Alice. Likes green tea."}))
    assert block["value"] == "Name: Alice. Likes green tea." and block["version"] == 4
    messages = ok(await session.call_tool("conversation_search", {"query": "Lisbon"}))
    assert messages.startswith("Found 1 message(s)") and "I moved to Lisbon last spring" in messages
    assert "session s1" in messages  # the agents' conversation_search tool's own rendering

    resources = (await session.list_resources()).resources
    assert "omne://blocks" in {str(r.uri) for r in resources}
    read = await session.read_resource("omne://blocks/human")  # type: ignore[arg-type]
    assert read.contents[0].text == "Name: Alice. Likes green tea."

    # Alice's session cannot reach Bob's records
    assert "no record" in error_text(await session.call_tool("get_memory", {"id": seeded.bob_fact}))
    assert error_text(await session.call_tool("memory_history", {"id": seeded.bob_fact}))
    assert error_text(await session.call_tool("forget_memory", {"id": seeded.bob_fact}))
    found = ok(await session.call_tool("search_memory", {"query": "Bob locker code 4812"}))
    assert all("4812" not in h["text"] for h in found)


@asynccontextmanager
async def stdio_session(env: dict[str, str], *args: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "omne", "mcp", *args], cwd=str(ROOT),
                                   env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **env})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        yield session


@asynccontextmanager
async def http_session(url: str, key: str | None = None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key else None
    async with httpx.AsyncClient(headers=headers, timeout=60, follow_redirects=True) as client, \
            streamable_http_client(url, http_client=client) as (read, write, _), ClientSession(read, write) as session:
        yield session


async def test_stdio_session_on_a_store_calls_every_tool(tmp_path: Path, embedder) -> None:
    store = tmp_path / "store"
    async with await MemoryCore.open(store, embedder=embedder) as core:
        seeded = await seed(core)
    async with stdio_session({"OMNE_URL": ""}, "--store", str(store), "--user", "alice") as session:
        await exercise(session, seeded)


async def test_stdio_session_through_a_server_and_streamable_http(tmp_path: Path) -> None:
    """`omne mcp` with OMNE_URL goes through the server; /mcp on the same server serves the same tools."""
    store = tmp_path / "store"
    async with await open_fast_core(store) as core:
        seeded = await seed(core)
    with running_server(store) as server:
        async with stdio_session({"OMNE_URL": server.url}, "--user", "alice") as session:
            await exercise(session, seeded)
        async with http_session(f"{server.url}/mcp?user=alice") as session:
            await session.initialize()
            assert {t.name for t in (await session.list_tools()).tools} == TOOLS
            hits = ok(await session.call_tool("search_memory", {"query": "Alice favourite tea sencha"}))
            assert not [h for h in hits if "sencha" in h["text"]]  # forgotten through the stdio session


async def test_streamable_http_session_with_keys_calls_every_tool_and_stays_in_its_scope(tmp_path: Path) -> None:
    store = tmp_path / "store"
    async with await open_fast_core(store) as core:
        seeded = await seed(core)
        _, alice_key = create_key(core.key_store, scope=ALICE)
    with running_server(store, require_keys=True) as server:
        async with http_session(f"{server.url}/mcp", alice_key) as session:  # the key's scope
            await exercise(session, seeded)
        async with httpx.AsyncClient() as client:
            initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
            headers = {"Accept": "application/json, text/event-stream"}
            other = await client.post(f"{server.url}/mcp?user=bob", json=initialize,
                                      headers={**headers, "Authorization": f"Bearer {alice_key}"})
            assert other.status_code == 403 and "outside it" in other.json()["error"]["message"]
            anonymous = await client.post(f"{server.url}/mcp?user=alice", json=initialize, headers=headers)
            assert anonymous.status_code == 401


async def test_mcp_tools_are_the_agent_memory_tools(tmp_path: Path) -> None:
    """edit_core_block and conversation_search run the AutoGen memory tools' implementation on the session's
    scope: the same text, the same refusals, edits recorded under the session's editor."""
    async with await open_fast_core(tmp_path / "store") as core:
        await seed(core)
        binding = McpBinding(core=core, scope=ALICE, editor="mcp:test")

        async def bind(_ctx: Any) -> McpBinding:
            return binding

        memory = MemoryHierarchy.on_scope(core, ALICE, editor="mcp:test")
        memory.blocks.track("human", ALICE)
        async with create_connected_server_and_client_session(build_server(bind)) as session:
            await session.initialize()
            query = {"query": "Lisbon", "roles": ["user"], "limit": 5}
            assert ok(await session.call_tool("conversation_search", query)) == \
                await run_memory_tool("conversation_search", memory, query)
            too_long = {"label": "human", "new_value": "x" * 501}
            refused = await run_memory_tool("memory_rethink", memory, too_long)
            assert refused.startswith("Error: ") and "over its limit of 500" in refused
            assert refused.removeprefix("Error: ") in error_text(await session.call_tool(
                "edit_core_block", {"label": "human", "operation": "rethink", "content": "x" * 501}))
            block = ok(await session.call_tool("edit_core_block", {"label": "human", "operation": "replace",
                                                                   "old_content": "Alice", "content": "Alicia"}))
            assert block["value"] == "Name: Alicia" == (await memory.blocks.get("human")).value
            assert block["edited_by"] == "mcp:test"


HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("get_memory", {"id": "../../etc/passwd"}),
    ("get_memory", {"id": "' OR 1=1 --"}),
    ("get_memory", {}),
    ("forget_memory", {"id": "00000000-0000-0000-0000-000000000000"}),
    ("update_memory", {"id": "00000000-0000-0000-0000-000000000000"}),
    ("update_memory", {"id": "00000000-0000-0000-0000-000000000000", "text": "x"}),
    ("search_memory", {"query": ""}),
    ("search_memory", {"query": "tea", "top_k": 10_000}),
    ("search_memory", {"query": "tea", "top_k": "many"}),
    ("search_memory", {"query": "tea", "kinds": ["no-such-kind"]}),
    ("search_memory", {"query": "tea", "start_date": "yesterday"}),
    ("search_memory", {"query": "tea", "start_date": "2024-05-02", "end_date": "2024-05-01"}),
    ("search_memory", {"query": {"$gt": ""}}),
    ("add_memory", {"text": "   "}),
    ("add_memory", {"text": "x", "kind": "block"}),
    ("add_memory", {"text": "x", "tags": [""]}),
    ("add_memory", {"text": "x", "event_time": "not a time"}),
    ("add_memory", {"text": "x" * 200_000}),
    ("edit_core_block", {"label": "nope", "operation": "append", "content": "x"}),
    ("edit_core_block", {"label": "human", "operation": "explode", "content": "x"}),
    ("edit_core_block", {"label": "human", "operation": "replace", "content": "x"}),
    ("edit_core_block", {"label": "human", "operation": "replace", "old_content": "absent", "content": "x"}),
    ("edit_core_block", {"label": "human", "operation": "rethink", "content": "x" * 501}),
    ("conversation_search", {"query": "x", "roles": ["root"]}),
    ("conversation_search", {"query": "x", "limit": 0}),
    ("no_such_tool", {}),
]


async def test_hostile_arguments_are_tool_errors_and_the_session_goes_on(tmp_path: Path) -> None:
    store = tmp_path / "store"
    async with await open_fast_core(store) as core:
        await seed(core)
    with running_server(store) as server:
        async with http_session(f"{server.url}/mcp?user=alice") as session:
            await session.initialize()
            messages = {}
            for name, arguments in HOSTILE:
                messages[(name, json.dumps(arguments)[:60])] = error_text(await session.call_tool(name, arguments))
            assert all(messages.values())
            # the library's own messages come back
            assert any("over its limit of 500" in m for m in messages.values())
            assert any("old_content was not found" in m for m in messages.values())
            assert any("no memory block 'nope'" in m for m in messages.values())
            assert any("is not a date" in m for m in messages.values())
            assert ok(await session.call_tool("list_core_blocks", {}))[0]["value"] == "Name: Alice"
        assert server.proc.poll() is None


def test_omne_mcp_names_the_server_that_holds_the_store_and_refuses_two_sources(tmp_path: Path) -> None:
    import subprocess

    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMNE_URL": ""}
    with running_server(store) as server:
        held = subprocess.run([sys.executable, "-m", "omne", "mcp", "--store", str(store), "--user", "alice"],
                              env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert held.returncode == 1
        assert f"served by `omne serve` at {server.url}" in held.stderr and f"OMNE_URL={server.url}" in held.stderr
        both = subprocess.run([sys.executable, "-m", "omne", "mcp", "--store", str(store), "--user", "alice"],
                              env={**env, "OMNE_URL": server.url}, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert both.returncode == 1 and "both --store and $OMNE_URL are set" in both.stderr


def test_building_the_mcp_server_leaves_the_host_process_logging_plain():
    """FastMCP's constructor installs a rich logging handler (syntax-highlighted tracebacks with locals) unless
    the process has one: `omne serve` then spent seconds per logged error. Omne's plain handler comes first."""
    import subprocess
    import sys

    code = ("import logging; from omne.mcp.server import build_server; build_server(lambda ctx: None); "
            "print(sorted({type(h).__name__ for h in logging.getLogger().handlers}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['StreamHandler']"
