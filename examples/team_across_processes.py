"""Two AutoGen agents in two OS processes share one team memory through `omne serve`.

The navigator (process 1) edits the team's shared `plan` block, shares a fact with the team and keeps a private
note; then the quartermaster (process 2) starts: the plan is in its system prompt, its team search finds the
shared fact, and the navigator's private note stays out of its reach. Neither agent opens the store: the server
owns it, and each process talks to it with `MemoryCore.connect(url)`.

Run with a model configured:  python examples/team_across_processes.py
(it starts a server on a temporary store; `agent` runs one agent:  ... agent ROLE URL TASK [MODEL_CONFIG])
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

from autogen_agentchat.agents import AssistantAgent
from autogen_core.models import ChatCompletionClient
from autogen_core.tools import FunctionTool

from omne import MemoryCore, Scope
from omne.agents import AgentMemory, BlockSpec

USER, TEAM = "captain", "crew"
TASKS = {
    "navigator": "We sail from Lisbon on Tuesday at 06:00. Put it in the plan, tell the crew the harbour channel "
                 "(VHF 12) and note privately what you think of the quartermaster's packing.",
    "quartermaster": "When do we leave, and on which channel do we call the harbour?",
}


def team_tools(core: Any, scope: Scope) -> list[FunctionTool]:
    """Tools for what the whole team shares: facts in the team scope (user + team)."""
    async def share_with_team(fact: Annotated[str, "A fact every agent of the team should know."]) -> str:
        """Store a fact in the team's memory, where every teammate can search it."""
        record = await core.remember(fact, scope=scope, tags=["team"])
        return f"Shared with the team (id {record.id[:8]})."

    async def search_team(query: Annotated[str, "What to look for in the team's memory."]) -> str:
        """Search the facts the team has shared."""
        hits = await core.search(query, scope=scope, top_k=3, kinds=["fact"])
        return "\n".join(f"- {hit.record.text}" for hit in hits) or "Nothing found."

    return [FunctionTool(share_with_team, description=share_with_team.__doc__ or ""),
            FunctionTool(search_team, description=search_team.__doc__ or "")]


async def run_agent(role: str, url: str, task: str, client: ChatCompletionClient) -> str:
    """One agent's turn, in this process, on the server's store; returns its last message."""
    async with MemoryCore.connect(url) as core:
        memory = await AgentMemory.open(core, agent=role, user=USER, team=TEAM, blocks=[
            BlockSpec(label="plan", description="The crew's shared voyage plan", shared=True, limit=500)])
        agent = AssistantAgent(role, client, system_message=None, model_context=memory.context(client),
                               tools=[*memory.tools(), *team_tools(core, Scope(user=USER, team=TEAM))],
                               max_tool_iterations=3)
        result = await agent.run(task=task)
        return result.messages[-1].to_text()


def start_server(store: Path, port: int) -> subprocess.Popen:
    """`omne serve` for the store, once it answers /healthz."""
    import time

    import httpx

    server = subprocess.Popen([sys.executable, "-m", "omne", "serve", "--store", str(store), "--port", str(port),
                               "--log-level", "warning"])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("omne serve did not start")


def run_in_process(role: str, url: str, model_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one agent in a fresh OS process (`python this-file agent ...`); returns its report."""
    args = [sys.executable, __file__, "agent", role, url, TASKS[role]]
    args += [json.dumps(model_config)] if model_config else []
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{role} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(store: Path, port: int = 8765, models: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Serve `store`, run the navigator's process, then the quartermaster's; returns both reports."""
    server = start_server(store, port)
    try:
        url = f"http://127.0.0.1:{port}"
        return {role: run_in_process(role, url, (models or {}).get(role)) for role in ("navigator", "quartermaster")}
    finally:
        server.terminate()
        server.wait(60)


def _agent_main(role: str, url: str, task: str, model_config: str | None) -> None:
    if model_config:
        client = ChatCompletionClient.load_component(json.loads(model_config))
    else:
        from omne.llm import require_client

        client = require_client(None)
    reply = asyncio.run(run_agent(role, url, task, client))
    calls = getattr(client, "create_calls", None)  # a scripted client records what it was sent: report it
    prompts = [[str(m.content) for m in c["messages"]] for c in calls] if calls is not None else []
    print(json.dumps({"role": role, "reply": reply, "prompts": prompts}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "agent":
        _agent_main(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
        sys.exit(0)
    from omne.errors import OmneError
    from omne.llm import require_client

    try:
        require_client(None)
    except OmneError as exc:
        sys.exit(f"team_across_processes: {exc}")
    with tempfile.TemporaryDirectory() as tmp:
        for role, report in main(Path(tmp) / "store").items():
            print(f"{role}> {report['reply']}")
