"""A Microsoft Agent Framework agent with Omne memory (pip install "omne[agent-framework]").

Run: OPENAI_API_KEY=... [OPENAI_BASE_URL=...] [OMNE_MODEL=gpt-4o-mini] python examples/agent_framework_memory.py "Hi, I'm Ada"
"""

import asyncio
import os
import sys

from agent_framework import Agent, AgentSession
from agent_framework.openai import OpenAIChatCompletionClient

from omne import MemoryCore
from omne.agent_framework import OmneContextProvider, OmneHistoryProvider
from omne.agents import BlockSpec
from omne.llm import model_call_failure


async def main(client: OpenAIChatCompletionClient, store: str, said: str, session: str = "first") -> str:
    async with await MemoryCore.open(store) as core:
        scope = dict(agent="assistant", user="ada", blocks=[BlockSpec(label="human", description="About the user")])
        agent = Agent(client=client, instructions="You are a concise, friendly assistant.", context_providers=[
            OmneContextProvider(core, **scope), OmneHistoryProvider(core, **scope, window_tokens=16_000)])
        return (await agent.run(said, session=AgentSession(session_id=session))).text


if __name__ == "__main__":
    if not os.environ.get("OPENAI_API_KEY"):
        sys.exit("error: set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server)")
    client = OpenAIChatCompletionClient(os.environ.get("OMNE_MODEL", "gpt-4o-mini"),
                                        api_key=os.environ["OPENAI_API_KEY"], base_url=os.environ.get("OPENAI_BASE_URL"))
    try:
        print(asyncio.run(main(client, ".omne/store", " ".join(sys.argv[1:]) or "Hi! I'm Ada and I love sailing.")))
    except Exception as exc:  # a failed model call is one line, not a traceback
        failure = model_call_failure(exc)
        if failure is None:
            raise
        sys.exit(f"error: {failure}")
