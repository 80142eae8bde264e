"""Memory tools: AutoGen FunctionTools bound to one agent's memory; their docstrings are their schema.

Misuse (unknown label, over a limit, read-only block, bad date) comes back to the model as a tool
result starting with "Error:", so the run goes on and the model can correct itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time, timezone
from typing import TYPE_CHECKING, Annotated, Union

from autogen_core.tools import FunctionTool

from omne.errors import OmneError
from omne.agents import rendering

if TYPE_CHECKING:
    from omne.agents.agent_memory import AgentMemory
    from omne.agents.blocks import Block

MemorySource = Union["AgentMemory", Callable[[], Awaitable["AgentMemory"]]]

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


def _date_range(start_date: str | None, end_date: str | None) -> tuple[datetime | None, datetime | None]:
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


def make_memory_tools(source: MemorySource, names: Sequence[str] = MEMORY_TOOL_NAMES) -> list[FunctionTool]:
    """The memory tools named (default: all eight), bound to one agent's memory; its scopes decide what they
    can read and write. `source` is an AgentMemory, or an async function returning it (opened on first use)."""
    unknown = sorted(set(names) - set(MEMORY_TOOL_NAMES))
    if unknown:
        raise OmneError(f"unknown memory tool(s) {', '.join(unknown)}; known: {', '.join(MEMORY_TOOL_NAMES)}")

    async def current() -> AgentMemory:
        return await source() if callable(source) else source

    async def edit(done: str, label: str, change: Callable[[AgentMemory], Awaitable[Block]]) -> str:
        try:
            block = await change(await current())
        except OmneError as exc:
            return _error(exc)
        return f"{done} block '{label}' ({block.chars}/{block.limit} characters)."

    async def core_memory_append(
        label: Annotated[str, "Label of the core memory block to append to, e.g. 'human'."],
        content: Annotated[str, "Text to add on a new line at the end of the block."],
    ) -> str:
        """Append text to a core memory block (always visible in your context). Use it for lasting facts
        about the user or yourself. Fails if the block is read-only or would exceed its character limit."""
        return await edit("Appended to", label, lambda memory: memory.blocks.append(label, content))

    async def core_memory_replace(
        label: Annotated[str, "Label of the core memory block to edit."],
        old_content: Annotated[str, "Exact text currently in the block; it must occur exactly once."],
        new_content: Annotated[str, "Replacement text; an empty string deletes old_content."],
    ) -> str:
        """Replace one exact passage of a core memory block with new text (or delete it with an empty
        new_content). Copy old_content exactly from the block as shown in your context."""
        return await edit("Replaced text in", label,
                          lambda memory: memory.blocks.replace(label, old_content, new_content))

    async def memory_insert(
        label: Annotated[str, "Label of the core memory block to edit."],
        text: Annotated[str, "Text to insert (may span several lines)."],
        line: Annotated[int, "Insert after this line (lines count from 1); 0 = at the top, -1 = at the end."] = -1,
    ) -> str:
        """Insert text into a core memory block at a given line."""
        return await edit("Inserted into", label, lambda memory: memory.blocks.insert(label, text, line))

    async def memory_rethink(
        label: Annotated[str, "Label of the core memory block to rewrite."],
        new_value: Annotated[str, "The complete new contents of the block."],
    ) -> str:
        """Rewrite a whole core memory block: reorganise it, merge duplicates, drop what is outdated.
        The new value replaces everything in the block; its earlier versions stay in the edit history."""
        return await edit("Rewrote", label, lambda memory: memory.blocks.rethink(label, new_value))

    async def memory_finish_edits() -> str:
        """Call when you have finished editing your core memory blocks; reports each block's size."""
        try:
            blocks = await (await current()).blocks.all()
        except OmneError as exc:
            return _error(exc)
        sizes = ", ".join(f"{b.label} {b.chars}/{b.limit}" for b in blocks) or "no blocks"
        return f"Memory edits finished. Core memory: {sizes}."

    async def conversation_search(
        query: Annotated[str, "Words or a question to look for in past messages; empty lists the newest."],
        roles: Annotated[list[str] | None,
                         "Only these roles: user, assistant, tool, system. Default: user and assistant."] = None,
        start_date: Annotated[str | None, "Only messages on or after this date (YYYY-MM-DD or ISO 8601)."] = None,
        end_date: Annotated[str | None, "Only messages on or before this date (YYYY-MM-DD or ISO 8601)."] = None,
        limit: Annotated[int, "How many messages to return (1 to 50)."] = 10,
    ) -> str:
        """Search your conversation history (recall memory): every past message with this user that is no
        longer in your context window (what you can see now is left out). Results show each message's time,
        role and session."""
        try:
            start, end = _date_range(start_date, end_date)
            if not 1 <= limit <= 50:
                raise ToolInputError("limit must be between 1 and 50")
            bad = sorted(set(roles or ()) - {"user", "assistant", "tool", "system"})
            if bad:
                raise ToolInputError(f"unknown role(s) {', '.join(bad)}; use user, assistant, tool or system")
            records = await (await current()).recall.search(query, roles=roles, start=start, end=end, limit=limit)
        except OmneError as exc:
            return _error(exc)
        if not records:
            return f"No messages found for {query!r}."
        entries = []
        for i, record in enumerate(records, 1):
            who = f"{record.role or '?'}" + (f" ({record.name})" if record.name and record.name != record.role else "")
            entries.append(rendering.render_record(record, number=i, stamp=rendering.minute, text=_clip(record.text),
                                                   who=f"{who}, session {record.scope.session}"))
        return rendering.found("message(s)", entries)

    async def archival_memory_insert(
        content: Annotated[str, "The fact, note or passage to store, written to be understood on its own."],
        tags: Annotated[list[str] | None, "Optional tags to file it under, e.g. ['preferences']."] = None,
    ) -> str:
        """Store information in archival memory (long-term, unlimited, not in your context) for later
        retrieval with archival_memory_search."""
        try:
            memory = await current()
            record = await memory.archival.insert(
                content, tags=tags or (), source_ids=[memory.recall.last_id] if memory.recall.last_id else (),
                metadata={"source": "archival_memory_insert"})
        except OmneError as exc:
            return _error(exc)
        return f"Stored in archival memory (id {record.id[:8]}, {rendering.minute(record.created_at)})."

    async def archival_memory_search(
        query: Annotated[str, "What to look for."],
        tags: Annotated[list[str] | None, "Only records with any of these tags."] = None,
        top_k: Annotated[int, "How many results (1 to 50)."] = 5,
        start_date: Annotated[str | None, "Only records dated on or after this date (YYYY-MM-DD or ISO 8601)."] = None,
        end_date: Annotated[str | None, "Only records dated on or before this date (YYYY-MM-DD or ISO 8601)."] = None,
    ) -> str:
        """Search archival memory (facts, notes, documents and conversation summaries) by meaning and
        keywords. Each result shows its date, provenance and, for documents, where it comes from."""
        try:
            start, end = _date_range(start_date, end_date)
            if not 1 <= top_k <= 50:
                raise ToolInputError("top_k must be between 1 and 50")
            if not query.strip():
                raise ToolInputError("query is empty; say what to look for")
            hits = await (await current()).archival.search(query, tags=tags, top_k=top_k, start=start, end=end)
        except OmneError as exc:
            return _error(exc)
        if not hits:
            return f"No archival records found for {query!r}."
        return rendering.found("archival record(s)", [
            rendering.render_record(hit.record, number=hit.rank, stamp=rendering.minute, text=_clip(hit.record.text),
                                    details=[f"tags: {', '.join(hit.record.tags)}"] if hit.record.tags else [])
            for hit in hits])

    functions = {fn.__name__: fn for fn in (core_memory_append, core_memory_replace, memory_insert, memory_rethink,
                                            memory_finish_edits, conversation_search, archival_memory_insert,
                                            archival_memory_search)}
    return [FunctionTool(functions[name], description=_description(functions[name].__doc__), name=name)
            for name in MEMORY_TOOL_NAMES if name in names]


def _description(doc: str | None) -> str:
    return " ".join((doc or "").split())
