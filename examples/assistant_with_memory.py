"""An AutoGen AssistantAgent with Omne memory: core blocks, recall, archival, a virtual context.

Run: OPENAI_API_KEY=... [OPENAI_BASE_URL=...] [OMNE_MODEL=...] python examples/assistant_with_memory.py "Hi, I'm Ada"
(or OMNE_MODEL_CONFIG=configs/model.example.yaml instead of the variables)
"""

import asyncio
import sys

from autogen_agentchat.agents import AssistantAgent

from omne import MemoryCore
from omne.agents import AgentMemory, BlockSpec
from omne.llm import ModelNotConfiguredError, model_call_failure, require_client


async def main(task: str) -> None:
    client = require_client()  # OPENAI_API_KEY / OPENAI_BASE_URL / OMNE_MODEL, or OMNE_MODEL_CONFIG=configs/...yaml
    async with await MemoryCore.open(".omne/store") as core:
        memory = await AgentMemory.open(core, agent="assistant", user="ada", blocks=[
            BlockSpec(label="persona", value="I am a concise, friendly assistant."),
            BlockSpec(label="human", description="What I know about the user")])
        agent = AssistantAgent("assistant", client, system_message=None, tools=memory.tools(),
                               model_context=memory.context(client), memory=[memory.autogen_memory()],
                               max_tool_iterations=4)
        result = await agent.run(task=task)
        print(result.messages[-1].content)
    await client.close()


if __name__ == "__main__":
    try:
        asyncio.run(main(" ".join(sys.argv[1:]) or "Hi! I'm Ada and I love sailing."))
    except ModelNotConfiguredError as exc:
        sys.exit(f"error: {exc}")
    except Exception as exc:  # a failed model call is one line, not a traceback
        failure = model_call_failure(exc)
        if failure is None:
            raise
        sys.exit(f"error: {failure}")
