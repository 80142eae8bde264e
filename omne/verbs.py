"""CoreVerbs: the public verbs of a memory core, which both `MemoryCore` (a store opened in this process) and
`RemoteMemoryCore` (a client of `omne serve`) offer with the same arguments, results and errors.

Code that may be handed either (the agents layer, MCP, the CLI, SFT export, responders) is typed for this
protocol, so it cannot reach for what only an embedded core has (its embedder, its store directory, its
indexes). mypy checks both classes against it (the assignments at the end of this module).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from omne.agents.blocks import Block
    from omne.config import OmneConfig
    from omne.ingest.images import ImageContext
    from omne.ingest.models import IngestOptions, IngestResult
    from omne.ingest.writer import Progress
    from omne.retrieval.models import RetrievalConfig, SearchHit
    from omne.storage.job_models import Job, JobStatus
    from omne.types import Edge, Record, RecordKind, Scope


class CoreVerbs(Protocol):
    """What every memory core does. Every verb names a scope; see `MemoryCore` for each one's meaning."""

    config: OmneConfig  # the limits the library's validators apply (a client's are its defaults)
    closed: bool

    async def close(self) -> None: ...

    # -- write path
    async def add(self, records: Record | Iterable[Record], edges: Sequence[Edge] = ()) -> builtins.list[Record]: ...

    async def remember(self, text: str, *, scope: Scope, kind: RecordKind | str = ..., **fields: Any) -> Record: ...

    async def ingest(self, source: Path | str | bytes, *, scope: Scope, name: str | None = None,
                     options: IngestOptions | None = None, vision: Any = None, message_id: str | None = None,
                     context: ImageContext | None = None, mime: str | None = None,
                     metadata: dict[str, Any] | None = None, tags: Sequence[str] = (),
                     progress: Progress | None = None) -> IngestResult: ...

    async def add_edges(self, edges: Sequence[Edge]) -> None: ...

    async def update(self, record_id: str, *, scope: Scope, **changes: Any) -> Record: ...

    async def forget(self, record_id: str, *, scope: Scope) -> Record: ...

    async def reconcile(self) -> int: ...

    async def optimize(self) -> bool: ...

    # -- read path
    async def get(self, record_id: str, *, scope: Scope) -> Record: ...

    async def get_many(self, record_ids: Sequence[str], *, scope: Scope,
                       include_forgotten: bool = False) -> builtins.list[Record]: ...

    async def search(self, query: str, *, scope: Scope, top_k: int = 10,
                     kinds: Sequence[RecordKind | str] | None = None, tags: Sequence[str] | None = None,
                     roles: Sequence[str] | None = None, start: datetime | None = None, end: datetime | None = None,
                     config: RetrievalConfig | None = None) -> builtins.list[SearchHit]: ...

    async def list(self, *, scope: Scope, kinds: Sequence[RecordKind | str] | None = None,
                   roles: Sequence[str] | None = None, tags: Sequence[str] | None = None,
                   start: datetime | None = None, end: datetime | None = None, text_contains: str | None = None,
                   limit: int | None = None, newest_first: bool = False,
                   include_history: bool = False) -> builtins.list[Record]: ...

    async def history(self, record_id: str, *, scope: Scope) -> builtins.list[Record]: ...

    async def edges(self, *, scope: Scope, record_ids: Sequence[str] | None = None) -> builtins.list[Edge]: ...

    async def stats(self, scope: Scope | None = None) -> dict[str, Any]: ...

    async def fact_schemas(self) -> dict[str, builtins.list[str]]: ...

    # -- export / import
    def export_lines(self, *, scope: Scope) -> AsyncIterator[str]: ...

    async def export_jsonl(self, out: IO[str], *, scope: Scope) -> int: ...

    async def import_jsonl(self, lines: Iterable[str], *, scope: Scope | None = None) -> int: ...

    def iter_records(self, *, scope: Scope) -> AsyncIterator[Record]: ...

    # -- agent context state, construction jobs, core blocks
    async def context_state(self, context_id: str, *, scope: Scope) -> dict[str, Any] | None: ...

    async def save_context_state(self, context_id: str, state: dict[str, Any], *, scope: Scope) -> None: ...

    async def jobs(self, *, scope: Scope | None = None, statuses: Sequence[JobStatus | str] | None = None,
                   limit: int | None = None) -> builtins.list[Job]: ...

    async def job_counts(self, *, scope: Scope | None = None) -> dict[str, int]: ...

    async def retry_failed_jobs(self, *, scope: Scope | None = None) -> int: ...

    async def blocks(self, *, scope: Scope) -> builtins.list[Block]: ...

    async def block(self, label: str, *, scope: Scope) -> Block: ...

    async def edit_block(self, label: str, value: str, *, scope: Scope, editor: str = "developer") -> Block: ...

    async def block_history(self, label: str, *, scope: Scope) -> builtins.list[Block]: ...


if TYPE_CHECKING:  # mypy fails here when either core drifts from the protocol
    from omne.core import MemoryCore
    from omne.service.client import RemoteMemoryCore

    _embedded: type[CoreVerbs] = MemoryCore
    _served: type[CoreVerbs] = RemoteMemoryCore

__all__ = ["CoreVerbs"]
