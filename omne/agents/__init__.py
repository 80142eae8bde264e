"""Omne for AutoGen agents: core memory blocks, recall and archival memory, memory tools, an AutoGen
Memory adapter and a virtual context manager (the MemGPT hierarchy, native to AgentChat 0.7).

Only the names re-exported here are the public API of `omne.agents`.
"""

from omne.agents.agent_memory import AgentMemory
from omne.agents.archival import ARCHIVAL_KINDS, ArchivalMemory
from omne.agents.blocks import Block, BlockError, BlockSpec, CoreMemory
from omne.agents.context import DEFAULT_SYSTEM_PROMPT, ContextEvent, OmneContext, OmneContextConfig
from omne.agents.handle import MemoryHandle
from omne.agents.hierarchy import MemoryHierarchy, Recollection
from omne.agents.memory_adapter import OmneMemory, OmneMemoryConfig, RetrievalTarget
from omne.agents.recall import RecallMemory, message_to_record, record_to_message
from omne.agents.spec import AgentSpec
from omne.agents.summary import EXTRACTIVE, Summarizer, Summary
from omne.agents.tokens import TokenCounter
from omne.agents.tools import MEMORY_TOOL_NAMES, SEARCH_TOOL_NAMES, MemoryTool, MemoryToolConfig, memory_tools

__all__ = [
    "ARCHIVAL_KINDS", "AgentMemory", "AgentSpec", "ArchivalMemory", "Block", "BlockError", "BlockSpec",
    "ContextEvent", "CoreMemory", "DEFAULT_SYSTEM_PROMPT", "EXTRACTIVE", "MEMORY_TOOL_NAMES", "MemoryHandle",
    "MemoryHierarchy", "MemoryTool", "MemoryToolConfig", "OmneContext", "OmneContextConfig", "OmneMemory",
    "OmneMemoryConfig", "RecallMemory", "Recollection", "RetrievalTarget", "SEARCH_TOOL_NAMES", "Summarizer",
    "Summary", "TokenCounter", "memory_tools", "message_to_record", "record_to_message",
]
