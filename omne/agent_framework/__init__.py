"""Omne memory for Microsoft Agent Framework agents (`pip install "omne[agent-framework]"`).

`OmneContextProvider` (core memory blocks in the instructions, relevant memories in the context, the memory
tools, every turn recorded) and `OmneHistoryProvider` (the session's history in recall memory under Omne's
virtual context) share the memory, rendering, budgeting, recording and tools of the AutoGen integration in
`omne.agents`, so agents of both frameworks can share one memory. Nothing else in `omne` imports this module.

Only the names re-exported here are API.
"""

try:
    import agent_framework  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError('omne.agent_framework needs Microsoft Agent Framework: pip install "omne[agent-framework]"'
                      ) from exc

from omne.agent_framework._context import OmneContextProvider
from omne.agent_framework._history import OmneHistoryProvider
from omne.agent_framework._messages import from_autogen, to_autogen
from omne.agent_framework._tools import memory_tools

__all__ = ["OmneContextProvider", "OmneHistoryProvider", "from_autogen", "memory_tools", "to_autogen"]
