"""Omne's memory as MCP tools and resources (the official `mcp` SDK's FastMCP).

A door, not a second implementation: each call binds the scope a `Binder` resolves for it (fixed for `omne mcp`
over stdio; the request's API key on `omne serve`'s /mcp) to a `MemoryHierarchy` (`MemoryHierarchy.on_scope`),
and the tools that have an AutoGen memory-tool counterpart run that very tool (`omne.agents.tools.
call_memory_tool`): edit_core_block (core_memory_append / core_memory_replace / memory_rethink) and
conversation_search; add_memory stores through the hierarchy's archival memory. The record verbs (search with
its explain view, get, update, forget, history) and list_core_blocks are the core's public verbs. A library
error comes back to the client as an MCP tool error carrying its message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from omne.agents.blocks import Block
from omne.agents.hierarchy import MemoryHierarchy
from omne.agents.tools import call_memory_tool, date_range, parse_date
from omne.verbs import CoreVerbs
from omne.errors import OmneError
from omne.types import Record, RecordKind, Scope

INSTRUCTIONS = (
    "Omne long-term memory. search_memory finds facts, notes, documents, summaries and messages by meaning and "
    "keywords; add_memory stores a fact; get/update/forget_memory and memory_history work on one record by id "
    "(a change keeps the old version in the history). Core blocks are short labelled notes that agents keep in "
    "context: list_core_blocks, edit_core_block. conversation_search searches past messages. Every call acts "
    "inside one scope (a user, team or agent), fixed by the server's configuration or your API key.")


@dataclass(frozen=True)
class McpBinding:
    """The store and scope one MCP call acts on, and who edits (written into block edit history)."""

    core: CoreVerbs
    scope: Scope
    editor: str = "mcp"

    def memory(self) -> MemoryHierarchy:
        """The scope as the agent memory tools see it (blocks, archival records, conversation search)."""
        # whole ids in the tools' text: get_memory and the other record tools take them
        return MemoryHierarchy.on_scope(self.core, self.scope, editor=self.editor, full_ids=True)


McpContext: TypeAlias = Context[Any, Any, Any]  # FastMCP's per-call context (session, lifespan and request types vary)
Binder = Callable[[McpContext], Awaitable[McpBinding]]
T = TypeVar("T")


class MemoryHit(BaseModel):
    """One search result: the record's id, text and dates, its provenance, and which stages found it."""

    id: str
    kind: str
    text: str
    tags: list[str]
    created_at: datetime
    event_time: datetime | None
    source_ids: list[str] = Field(description="ids of the records this one was derived from (provenance)")
    score: float
    rank: int
    found_by: dict[str, int] = Field(description="retrieval stage -> the rank it gave this record (explain)")


Text = Annotated[str, Field(max_length=100_000)]
RecordId = Annotated[str, Field(description="A record id (UUID) from search_memory or add_memory.", max_length=64)]
Tags = Annotated[list[Annotated[str, Field(max_length=128)]] | None, Field(max_length=50)]
Date = Annotated[str | None, Field(max_length=40)]


def build_server(bind: Binder, *, name: str = "omne", **settings: Any) -> FastMCP:
    """A FastMCP server whose tools act on the binding `bind` returns for each call; `settings` go to FastMCP
    (e.g. stateless_http, streamable_http_path)."""
    # FastMCP's constructor calls logging.basicConfig with a rich handler (tracebacks with syntax highlighting
    # and locals: seconds per logged error, memory text in the log). A plain stderr handler set first makes
    # that call a no-op; a host that configured logging itself keeps its own.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = FastMCP(name, instructions=INSTRUCTIONS, **{"log_level": "WARNING", **settings})
    read_only = ToolAnnotations(readOnlyHint=True, destructiveHint=False, openWorldHint=False)
    writes = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)

    async def run(ctx: McpContext, work: Callable[[McpBinding], Awaitable[T]]) -> T:
        try:
            return await work(await bind(ctx))
        except OmneError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(annotations=read_only)
    async def search_memory(
        ctx: McpContext,
        query: Annotated[str, Field(description="What to look for: words or a question.", min_length=1,
                                    max_length=10_000)],
        kinds: Annotated[list[RecordKind] | None, Field(
            description="Only these record kinds (e.g. fact, insight, document, summary, message); default all.",
            max_length=20)] = None,
        tags: Annotated[Tags, Field(description="Only records with any of these tags.")] = None,
        start_date: Annotated[Date, Field(description="Only records dated on or after this (YYYY-MM-DD or "
                                                       "ISO 8601).")] = None,
        end_date: Annotated[Date, Field(description="Only records dated on or before this (YYYY-MM-DD or "
                                                     "ISO 8601).")] = None,
        top_k: Annotated[int, Field(description="How many results (1 to 50).", ge=1, le=50)] = 10,
    ) -> list[MemoryHit]:
        """Search long-term memory by meaning and keywords (hybrid retrieval). Each result carries the record
        id, its dates, provenance (source record ids) and the retrieval stages that found it."""
        async def work(b: McpBinding) -> list[MemoryHit]:
            start, end = date_range(start_date, end_date)
            hits = await b.core.search(query, scope=b.scope, top_k=top_k, kinds=kinds, tags=tags, start=start,
                                       end=end)
            return [MemoryHit(id=h.record.id, kind=str(h.record.kind), text=h.record.text, tags=h.record.tags,
                              created_at=h.record.created_at, event_time=h.record.event_time,
                              source_ids=h.record.source_ids, score=h.score, rank=h.rank, found_by=h.stages)
                    for h in hits]
        return await run(ctx, work)

    @server.tool(annotations=writes)
    async def add_memory(
        ctx: McpContext,
        text: Annotated[Text, Field(description="The fact, note or passage, written to be understood on its own.",
                                    min_length=1)],
        kind: Annotated[Literal["fact", "insight", "document", "summary"],
                        Field(description="What it is; default fact.")] = "fact",
        tags: Annotated[Tags, Field(description="Tags to file it under, e.g. ['preferences'].")] = None,
        event_time: Annotated[Date, Field(description="When the remembered thing happened (YYYY-MM-DD or "
                                                       "ISO 8601); default: now.")] = None,
    ) -> Record:
        """Store a memory (archival, long-term) in this scope; returns the stored record with its id."""
        async def work(b: McpBinding) -> Record:
            when = parse_date(event_time, field="event_time")
            return await b.memory().archival.insert(text, tags=tags or (), kind=RecordKind(kind),
                                                    event_time=when, metadata={"source": "mcp:add_memory"})
        return await run(ctx, work)

    @server.tool(annotations=read_only)
    async def get_memory(ctx: McpContext, id: RecordId) -> Record:
        """One record by id, in its current version (with provenance, dates and version number)."""
        return await run(ctx, lambda b: b.core.get(id, scope=b.scope))

    @server.tool(annotations=writes)
    async def update_memory(
        ctx: McpContext, id: RecordId,
        text: Annotated[Text | None, Field(description="The new text; omit to keep it.")] = None,
        tags: Annotated[Tags, Field(description="The new tags (replacing the old ones); omit to keep them.")] = None,
    ) -> Record:
        """Change a record: a new version supersedes the old one, which stays in memory_history."""
        changes: dict[str, Any] = {k: v for k, v in (("text", text), ("tags", tags)) if v is not None}
        if not changes:
            raise ToolError("nothing to update: give text and/or tags")
        return await run(ctx, lambda b: b.core.update(id, scope=b.scope, **changes))

    @server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False))
    async def forget_memory(ctx: McpContext, id: RecordId) -> Record:
        """Forget a record: it leaves search results, and its history keeps it marked as forgotten."""
        return await run(ctx, lambda b: b.core.forget(id, scope=b.scope))

    @server.tool(annotations=read_only)
    async def memory_history(ctx: McpContext, id: RecordId) -> list[Record]:
        """Every version of a record, oldest first: superseded and forgotten ones with valid-from/valid-to."""
        return await run(ctx, lambda b: b.core.history(id, scope=b.scope))

    @server.tool(annotations=read_only)
    async def list_core_blocks(ctx: McpContext) -> list[Block]:
        """The core memory blocks of this scope (label, value, character limit, read-only flag)."""
        return await run(ctx, lambda b: b.core.blocks(scope=b.scope))

    @server.tool(annotations=writes)
    async def edit_core_block(
        ctx: McpContext,
        label: Annotated[str, Field(description="Label of the block, from list_core_blocks.", max_length=200)],
        operation: Annotated[Literal["append", "replace", "rethink"], Field(description=(
            "append: add content on a new line at the end; replace: swap the one exact occurrence of "
            "old_content for content (empty content deletes it); rethink: content becomes the whole block."))],
        content: Annotated[Text, Field(description="The text to append, the replacement, or the new block.")],
        old_content: Annotated[Text | None, Field(description="For replace: the exact text now in the block "
                                                               "(it must occur once).")] = None,
    ) -> Block:
        """Edit a core memory block with the agent memory tools (core_memory_append, core_memory_replace,
        memory_rethink): read-only blocks and the character limit are enforced; every version stays in the
        block's history. Returns the block as it is after the edit."""
        if operation == "append":
            tool, args = "core_memory_append", {"label": label, "content": content}
        elif operation == "rethink":
            tool, args = "memory_rethink", {"label": label, "new_value": content}
        elif old_content is None:
            raise ToolError("replace needs old_content: the exact text to replace")
        else:
            tool, args = "core_memory_replace", {"label": label, "old_content": old_content, "new_content": content}

        async def work(b: McpBinding) -> Block:
            await b.core.block(label, scope=b.scope)  # NotFoundError names the missing block
            memory = b.memory()
            memory.blocks.track(label, b.scope)
            await call_memory_tool(tool, memory, args)
            return await memory.blocks.get(label)
        return await run(ctx, work)

    @server.tool(annotations=read_only)
    async def conversation_search(
        ctx: McpContext,
        query: Annotated[str, Field(description="Words or a question to look for in past messages; empty lists "
                                                "the newest.", max_length=10_000)],
        roles: Annotated[list[Literal["user", "assistant", "tool", "system"]] | None,
                         Field(description="Only these roles; default user and assistant.", max_length=4)] = None,
        start_date: Annotated[Date, Field(description="Only messages on or after this date.")] = None,
        end_date: Annotated[Date, Field(description="Only messages on or before this date.")] = None,
        limit: Annotated[int, Field(description="How many messages (1 to 50).", ge=1, le=50)] = 10,
    ) -> str:
        """Search past conversation messages (recall memory) of this scope by text, role and date, with the
        agents' conversation_search tool: each message found shows its time, role, speaker, session and its id
        (whole, for get_memory)."""
        args = {"query": query, "roles": roles, "start_date": start_date, "end_date": end_date, "limit": limit}
        return await run(ctx, lambda b: call_memory_tool("conversation_search", b.memory(), args))

    @server.resource("omne://blocks", name="core-blocks", mime_type="application/json",
                     description="Every core memory block of this scope, as JSON.")
    async def all_blocks() -> str:
        blocks = await run(server.get_context(), lambda b: b.core.blocks(scope=b.scope))
        return "[" + ",".join(block.model_dump_json() for block in blocks) + "]"

    @server.resource("omne://blocks/{label}", name="core-block", mime_type="text/plain",
                     description="The current value of one core memory block.")
    async def one_block(label: str) -> str:
        return (await run(server.get_context(), lambda b: b.core.block(label, scope=b.scope))).value

    return server


__all__ = ["Binder", "McpBinding", "McpContext", "MemoryHit", "build_server"]
