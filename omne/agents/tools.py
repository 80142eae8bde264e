"""Memory tools: AutoGen component tools bound to one agent's memory.

Each tool is a `MemoryTool` whose component config is the agent's spec (store, scopes, blocks) and the
tool's name, never code: `AssistantAgent(tools=memory.tools())` saves with `dump_component()` and loads
in another process, where the tool opens that agent's memory on first use (the process's shared one).

Misuse (unknown label, over a limit, read-only block, bad date) comes back to the model as a tool
result starting with "Error:", so the run goes on and the model can correct itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any, Generic, TypeVar

from autogen_core import CancellationToken, Component
from autogen_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import Self

from omne.errors import OmneError
from omne.validation import describe_validation_error
from omne.agents import rendering
from omne.agents.blocks import Block
from omne.agents.handle import MemoryHandle
from omne.agents.hierarchy import MemoryHierarchy
from omne.agents.spec import AgentSpec

_MAX_SHOWN_CHARS = 600
BLOCK_TOOL_NAMES = ("core_memory_append", "core_memory_replace", "memory_insert", "memory_rethink",
                    "memory_finish_edits")
SEARCH_TOOL_NAMES = ("conversation_search", "archival_memory_insert", "archival_memory_search")  # need no blocks
MEMORY_TOOL_NAMES = BLOCK_TOOL_NAMES + SEARCH_TOOL_NAMES


class ToolInputError(OmneError):
    """A tool argument the model got wrong."""


def parse_date(value: str | None, *, field: str, end_of_day: bool = False) -> datetime | None:
    """YYYY-MM-DD (whole day) or an ISO 8601 time, as aware UTC; None when not given."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ToolInputError(f"{field} {value!r} is not a date; use YYYY-MM-DD or an ISO 8601 time "
                             "such as 2024-05-01T14:30:00Z") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def date_range(start_date: str | None, end_date: str | None) -> tuple[datetime | None, datetime | None]:
    """The (start, end) of a date filter as aware UTC (an end date covers its whole day); refuses start > end."""
    start = parse_date(start_date, field="start_date")
    end = parse_date(end_date, field="end_date", end_of_day=True)
    if start and end and start > end:
        raise ToolInputError(f"start_date {start_date} is after end_date {end_date}")
    return start, end


def _clip(text: str, limit: int = _MAX_SHOWN_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + f" … [{len(text) - limit} more characters]"


def _error(exc: Exception) -> str:
    return f"Error: {exc}"



# -- arguments (their field descriptions are the schema the model reads) ---------------------------------
class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


_A = TypeVar("_A", bound=_Args)


class AppendArgs(_Args):
    label: str = Field(description="Label of the core memory block to append to, e.g. 'human'.")
    content: str = Field(description="Text to add on a new line at the end of the block.")


class ReplaceArgs(_Args):
    label: str = Field(description="Label of the core memory block to edit.")
    old_content: str = Field(description="Exact text currently in the block; it must occur exactly once.")
    new_content: str = Field(description="Replacement text; an empty string deletes old_content.")


class InsertArgs(_Args):
    label: str = Field(description="Label of the core memory block to edit.")
    text: str = Field(description="Text to insert (may span several lines).")
    line: int = Field(default=-1, description="Insert after this line (lines count from 1); 0 = at the top, "
                                              "-1 = at the end.")


class RethinkArgs(_Args):
    label: str = Field(description="Label of the core memory block to rewrite.")
    new_value: str = Field(description="The complete new contents of the block.")


class NoArgs(_Args):
    pass


class ConversationSearchArgs(_Args):
    query: str = Field(description="Words or a question to look for in past messages; empty lists the newest.")
    roles: list[str] | None = Field(default=None, description="Only these roles: user, assistant, tool, system. "
                                                              "Default: user and assistant.")
    start_date: str | None = Field(default=None, description="Only messages on or after this date (YYYY-MM-DD or "
                                                             "ISO 8601).")
    end_date: str | None = Field(default=None, description="Only messages on or before this date (YYYY-MM-DD or "
                                                           "ISO 8601).")
    limit: int = Field(default=10, description="How many messages to return (1 to 50).")


class ArchivalInsertArgs(_Args):
    content: str = Field(description="The fact, note or passage to store, written to be understood on its own.")
    tags: list[str] | None = Field(default=None, description="Optional tags to file it under, e.g. ['preferences'].")


class ArchivalSearchArgs(_Args):
    query: str = Field(description="What to look for.")
    tags: list[str] | None = Field(default=None, description="Only records with any of these tags.")
    top_k: int = Field(default=5, description="How many results (1 to 50).")
    start_date: str | None = Field(default=None, description="Only records dated on or after this date "
                                                             "(YYYY-MM-DD or ISO 8601).")
    end_date: str | None = Field(default=None, description="Only records dated on or before this date "
                                                           "(YYYY-MM-DD or ISO 8601).")


# -- what each tool does ---------------------------------------------------------------------------------
async def _edit(done: str, label: str, change: Awaitable[Block]) -> str:
    block = await change
    return f"{done} block '{label}' ({block.chars}/{block.limit} characters)."


async def core_memory_append(memory: MemoryHierarchy, args: AppendArgs) -> str:
    """Append text to a core memory block (always visible in your context). Use it for lasting facts
    about the user or yourself. Fails if the block is read-only or would exceed its character limit."""
    return await _edit("Appended to", args.label, memory.blocks.append(args.label, args.content))


async def core_memory_replace(memory: MemoryHierarchy, args: ReplaceArgs) -> str:
    """Replace one exact passage of a core memory block with new text (or delete it with an empty
    new_content). Copy old_content exactly from the block as shown in your context."""
    return await _edit("Replaced text in", args.label,
                       memory.blocks.replace(args.label, args.old_content, args.new_content))


async def memory_insert(memory: MemoryHierarchy, args: InsertArgs) -> str:
    """Insert text into a core memory block at a given line."""
    return await _edit("Inserted into", args.label, memory.blocks.insert(args.label, args.text, args.line))


async def memory_rethink(memory: MemoryHierarchy, args: RethinkArgs) -> str:
    """Rewrite a whole core memory block: reorganise it, merge duplicates, drop what is outdated.
    The new value replaces everything in the block; its earlier versions stay in the edit history."""
    return await _edit("Rewrote", args.label, memory.blocks.rethink(args.label, args.new_value))


async def memory_finish_edits(memory: MemoryHierarchy, args: NoArgs) -> str:
    """Call when you have finished editing your core memory blocks; reports each block's size."""
    sizes = ", ".join(f"{b.label} {b.chars}/{b.limit}" for b in await memory.blocks.all()) or "no blocks"
    return f"Memory edits finished. Core memory: {sizes}."


async def conversation_search(memory: MemoryHierarchy, args: ConversationSearchArgs) -> str:
    """Search your conversation history (recall memory): every past message with this user that is no
    longer in your context window (what you can see now is left out). Results show each message's time,
    role and session."""
    start, end = date_range(args.start_date, args.end_date)
    if not 1 <= args.limit <= 50:
        raise ToolInputError("limit must be between 1 and 50")
    bad = sorted(set(args.roles or ()) - {"user", "assistant", "tool", "system"})
    if bad:
        raise ToolInputError(f"unknown role(s) {', '.join(bad)}; use user, assistant, tool or system")
    records = await memory.recall.search(args.query, roles=args.roles, start=start, end=end, limit=args.limit)
    if not records:
        return f"No messages found for {args.query!r}."
    entries = []
    for i, record in enumerate(records, 1):
        who = f"{record.role or '?'}" + (f" ({record.name})" if record.name and record.name != record.role else "")
        entries.append(rendering.render_record(record, number=i, stamp=rendering.minute, text=_clip(record.text),
                                               full_id=memory.full_ids,
                                               who=f"{who}, session {record.scope.session}"))
    return rendering.found("message(s)", entries)


async def archival_memory_insert(memory: MemoryHierarchy, args: ArchivalInsertArgs) -> str:
    """Store information in archival memory (long-term, unlimited, not in your context) for later
    retrieval with archival_memory_search."""
    record = await memory.archival.insert(
        args.content, tags=args.tags or (), source_ids=[memory.recall.last_id] if memory.recall.last_id else (),
        metadata={"source": "archival_memory_insert"})
    shown = record.id if memory.full_ids else record.id[:8]
    return f"Stored in archival memory (id {shown}, {rendering.minute(record.created_at)})."


async def archival_memory_search(memory: MemoryHierarchy, args: ArchivalSearchArgs) -> str:
    """Search archival memory (facts, notes, documents and conversation summaries) by meaning and
    keywords. Each result shows its date, provenance and, for documents, where it comes from."""
    start, end = date_range(args.start_date, args.end_date)
    if not 1 <= args.top_k <= 50:
        raise ToolInputError("top_k must be between 1 and 50")
    if not args.query.strip():
        raise ToolInputError("query is empty; say what to look for")
    hits = await memory.archival.search(args.query, tags=args.tags, top_k=args.top_k, start=start, end=end)
    if not hits:
        return f"No archival records found for {args.query!r}."
    return rendering.found("archival record(s)", [
        rendering.render_record(hit.record, number=hit.rank, stamp=rendering.minute, text=_clip(hit.record.text),
                                full_id=memory.full_ids,
                                details=[f"tags: {', '.join(hit.record.tags)}"] if hit.record.tags else [])
        for hit in hits])


@dataclass(frozen=True)
class _Kind(Generic[_A]):
    args: type[_A]
    run: Callable[[MemoryHierarchy, _A], Awaitable[str]]


_KINDS: dict[str, _Kind[Any]] = {kind.run.__name__: kind for kind in (
    _Kind(AppendArgs, core_memory_append), _Kind(ReplaceArgs, core_memory_replace), _Kind(InsertArgs, memory_insert),
    _Kind(RethinkArgs, memory_rethink), _Kind(NoArgs, memory_finish_edits),
    _Kind(ConversationSearchArgs, conversation_search), _Kind(ArchivalInsertArgs, archival_memory_insert),
    _Kind(ArchivalSearchArgs, archival_memory_search))}


def tool_args(name: str) -> type[BaseModel]:
    """The argument model of a memory tool (its field descriptions are the schema the model reads)."""
    return _kind(name).args


def tool_description(name: str) -> str:
    """What a memory tool tells the model it does."""
    return _description(_kind(name).run.__doc__)


async def call_memory_tool(name: str, memory: MemoryHierarchy, args: BaseModel | dict[str, Any]) -> str:
    """Run one memory tool on an open memory and return its text; a refused edit or a bad argument raises
    (an OmneError: ToolInputError for arguments). Doors that report errors their own way (MCP) call this."""
    kind = _kind(name)
    try:
        parsed = args if isinstance(args, kind.args) else kind.args.model_validate(
            args.model_dump() if isinstance(args, BaseModel) else args)
        return await kind.run(memory, parsed)
    except ValidationError as exc:
        raise ToolInputError(f"{name}: {describe_validation_error(exc)}") from None


async def run_memory_tool(name: str, memory: MemoryHierarchy, args: BaseModel | dict[str, Any]) -> str:
    """Run one memory tool on an open memory: the one implementation every framework's door calls.
    A refused edit or a bad argument comes back as an `Error: ...` text for the model."""
    try:
        return await call_memory_tool(name, memory, args)
    except OmneError as exc:
        return _error(exc)


def _kind(name: str) -> _Kind[Any]:
    if name not in _KINDS:
        raise OmneError(f"unknown memory tool {name}; known: {', '.join(MEMORY_TOOL_NAMES)}")
    return _KINDS[name]


class MemoryToolConfig(BaseModel):
    """Component config of a memory tool: which tool, and whose memory (the agent's spec, store included)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    spec: AgentSpec


# AutoGen bounds a tool's return type to BaseModel, yet its own tools return str (FunctionTool passes an Any)
class MemoryTool(BaseTool[BaseModel, str], Component[MemoryToolConfig]):  # type: ignore[type-var]
    """One memory tool (see MEMORY_TOOL_NAMES) bound to one agent's memory. Build them with
    `agent_memory.tools()` / `memory_tools(...)`; a tool loaded from its config opens the agent's memory for
    each call (the process's shared one: a loaded context of the same agent keeps it open)."""

    component_type = "tool"
    component_config_schema = MemoryToolConfig
    component_provider_override = "omne.agents.MemoryTool"

    def __init__(self, name: str, memory: MemoryHierarchy | MemoryHandle) -> None:
        super().__init__(tool_args(name), str, name, tool_description(name))
        self._handle = memory if isinstance(memory, MemoryHandle) else MemoryHandle(memory, owner=f"tool {name}")

    @property
    def spec(self) -> AgentSpec:
        return self._handle.spec

    async def run(self, args: BaseModel, cancellation_token: CancellationToken) -> str:
        """Run the tool; a refused edit or a bad argument is returned as an `Error: ...` text."""
        try:
            async with self._handle.borrow() as memory:
                return await run_memory_tool(self.name, memory, args)
        except OmneError as exc:
            return _error(exc)

    def _to_config(self) -> MemoryToolConfig:
        return MemoryToolConfig(name=self.name, spec=self.spec)

    @classmethod
    def _from_config(cls, config: MemoryToolConfig) -> Self:
        return cls(config.name, MemoryHandle(spec=config.spec, owner=f"tool {config.name}"))


def memory_tools(memory: MemoryHierarchy | MemoryHandle, names: Sequence[str] = MEMORY_TOOL_NAMES) -> list[MemoryTool]:
    """The memory tools named (default: all eight), bound to one agent's memory: an open one, or a handle that
    opens it on first use. The agent's scopes decide what they can read and write."""
    unknown = sorted(set(names) - set(MEMORY_TOOL_NAMES))
    if unknown:
        raise OmneError(f"unknown memory tool(s) {', '.join(unknown)}; known: {', '.join(MEMORY_TOOL_NAMES)}")
    handle = memory if isinstance(memory, MemoryHandle) else MemoryHandle(memory, owner="the memory tools")
    return [MemoryTool(name, handle) for name in MEMORY_TOOL_NAMES if name in names]


def _description(doc: str | None) -> str:
    return " ".join((doc or "").split())
