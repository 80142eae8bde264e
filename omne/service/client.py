"""RemoteMemoryCore: `MemoryCore`'s methods, arguments, return types and errors, over HTTP to `omne serve`.

Open it with `MemoryCore.connect(url, api_key=...)` (or $OMNE_URL / $OMNE_API_KEY) and close it when done.
Arguments are checked with the library's own validators before a request is sent; the server answers user
errors with the library's message, and the client raises the same error class.
"""

from __future__ import annotations

import builtins

import json
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError

from omne.config import OmneConfig
from omne.errors import BackendUnavailableError, InvalidInputError, OmneError
from omne.export import write_lines
from omne.retrieval.models import RetrievalConfig, SearchHit
from omne.service.wire import (
    API_PREFIX, ERROR_TYPES, AddRequest, BlockEdit, IdsRequest, RememberRequest, SearchRequest,
)
from omne.types import Edge, Record, RecordKind, Scope
from omne.validation import require_query, require_scope

if TYPE_CHECKING:  # imported when first used: a CLI call through a server stays light
    from omne.agents.blocks import Block
    from omne.ingest.images import ImageContext
    from omne.ingest.models import IngestOptions, IngestResult
    from omne.ingest.writer import Progress
    from omne.storage.job_models import Job, JobStatus

_RECORDS = TypeAdapter(list[Record])
_HITS = TypeAdapter(list[SearchHit])
_EDGES = TypeAdapter(list[Edge])
_OBJECT = TypeAdapter(dict[str, Any])
_MAYBE_OBJECT = TypeAdapter(dict[str, Any] | None)
_COUNTS = TypeAdapter(dict[str, int])
_SCHEMAS = TypeAdapter(dict[str, list[str]])


@cache
def _blocks() -> TypeAdapter[list[Block]]:
    from omne.agents.blocks import Block

    return TypeAdapter(list[Block])


@cache
def _block() -> TypeAdapter[Block]:
    from omne.agents.blocks import Block

    return TypeAdapter(Block)


@cache
def _jobs() -> TypeAdapter[list[Job]]:
    from omne.storage.job_models import Job

    return TypeAdapter(list[Job])


_NOT_UTF8 = "an argument is not valid UTF-8 (it holds undecodable bytes)"


def _body(value: Any) -> dict[str, Any]:
    """Keyword arguments sending `value` (a model, or plain data) as a JSON body; text that cannot be UTF-8
    is the caller's InvalidInputError, as in the embedded core."""
    try:
        if hasattr(value, "model_dump_json"):
            content = value.model_dump_json()
        else:
            content = json.dumps(value, default=_jsonable, ensure_ascii=False)
        data = content.encode("utf-8")
    except (PydanticSerializationError, UnicodeEncodeError, ValueError) as exc:
        if "surrogates not allowed" in str(exc) or isinstance(exc, UnicodeEncodeError):
            raise InvalidInputError(_NOT_UTF8) from None
        raise InvalidInputError(f"cannot send this argument to the server: {exc}") from None
    return {"content": data, "headers": {"Content-Type": "application/json"}}


def _scope_params(scope: Scope | None) -> dict[str, str]:
    return {} if scope is None else scope.fields()


def _values(items: Sequence[Any] | None) -> list[str] | None:
    return None if not items else [str(getattr(i, "value", i)) for i in items]


class RemoteMemoryCore:
    """A client of one `omne serve` server with `MemoryCore`'s public methods. Use `async with`, or close()."""

    def __init__(self, url: str | None = None, *, api_key: str | None = None, timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        url = url or os.environ.get("OMNE_URL")
        if not url:
            raise InvalidInputError("no server URL: pass url=... (e.g. http://127.0.0.1:8765) or set OMNE_URL")
        if not url.startswith(("http://", "https://")):
            raise InvalidInputError(f"server URL {url!r} must start with http:// or https://")
        api_key = api_key or os.environ.get("OMNE_API_KEY")
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # plain http never uses TLS (redirects are not followed): skip loading the CA bundle (~70 ms a CLI call)
        self._http = httpx.AsyncClient(base_url=self.url + API_PREFIX, headers=headers, timeout=timeout_s,
                                       transport=transport, verify=self.url.startswith("https://"))
        # limits for the library's validators; `store_dir` is a placeholder (registries know a client by its url)
        self.config = OmneConfig(store_dir=Path(self.url.replace("://", "/")))
        self.construction: Any = None
        self.closed = False

    # -- plumbing ---------------------------------------------------------------------------
    async def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                    **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, params=params, **kwargs)
        except UnicodeEncodeError:
            raise InvalidInputError(_NOT_UTF8) from None
        except httpx.TimeoutException as exc:
            raise BackendUnavailableError(f"omne server at {self.url} did not answer in time ({exc})") from None
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(f"cannot reach the omne server at {self.url} ({exc}); start it with "
                                          "`omne serve --store DIR` or check --server / OMNE_URL") from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> OmneError:
        try:
            body = response.json()["error"]
            kind, message = str(body["type"]), str(body["message"])
        except (ValueError, KeyError, TypeError):
            kind, message = "", f"HTTP {response.status_code} from {self.url}: {response.text[:200]}"
        cls = ERROR_TYPES.get(kind)
        if cls is None:
            cls = InvalidInputError if response.status_code < 500 else BackendUnavailableError
            message = message if kind == "" else f"{message} (HTTP {response.status_code} from {self.url})"
        return cls(message)

    @staticmethod
    def _scoped(scope: Any) -> dict[str, str]:
        return _scope_params(require_scope(scope))

    async def close(self) -> None:
        await self._http.aclose()
        self.closed = True

    async def __aenter__(self) -> RemoteMemoryCore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- write path ---------------------------------------------------------------------------
    async def add(self, records: Record | Iterable[Record], edges: Sequence[Edge] = ()) -> builtins.list[Record]:
        batch = [records] if isinstance(records, Record) else list(records)
        if not batch and not edges:
            return []
        body = AddRequest.model_construct(records=batch, edges=list(edges))
        response = await self._call("POST", "/records", **_body(body))
        return _RECORDS.validate_json(response.content)

    async def remember(self, text: str, *, scope: Scope, kind: RecordKind | str = RecordKind.FACT,
                       **fields: Any) -> Record:
        body = RememberRequest.model_construct(text=text, kind=str(getattr(kind, "value", kind)), fields=fields)
        response = await self._call("POST", "/remember", params=self._scoped(scope), **_body(body))
        return Record.model_validate_json(response.content)

    async def ingest(self, source: Path | str | bytes, *, scope: Scope, name: str | None = None,
                     options: IngestOptions | None = None, vision: Any = None, message_id: str | None = None,
                     context: ImageContext | None = None, mime: str | None = None,
                     metadata: dict[str, Any] | None = None, tags: Sequence[str] = (),
                     progress: Progress | None = None) -> IngestResult:
        """Upload a file for the server to ingest. A vision model cannot travel: captions of images sent
        through a server come from `context` (alt text, the message's words, the file name); the server
        reports no progress (the call returns when it is done)."""
        from omne.ingest.models import IngestResult
        from omne.service.wire_ingest import IngestForm

        params = self._scoped(scope)
        if vision is not None:
            raise InvalidInputError("a vision model runs only beside an embedded store: through a server, image "
                                    "captions come from context=ImageContext(...) (alt text, the message's words); "
                                    "drop vision=...")
        try:
            form = IngestForm(name=name, options=options, message_id=message_id, context=context, mime=mime,
                              metadata=metadata, tags=list(tags))
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"invalid ingest options: {exc}") from None
        if isinstance(source, bytes):
            data, filename = source, name or "upload"
            form.name = name or ""  # unnamed bytes stay unnamed (the server names them by their content)
        else:
            path = Path(source)
            if not path.is_file():
                raise InvalidInputError(f"{path}: no such file")
            data, filename = path.read_bytes(), path.name
            form.name = form.name or str(path)
        response = await self._call("POST", "/ingest", params=params, files={"file": (filename, data)},
                                    data={"options": form.model_dump_json(exclude_none=True)})
        return IngestResult.model_validate_json(response.content)

    async def add_edges(self, edges: Sequence[Edge]) -> None:
        await self._call("POST", "/edges", **_body([e.model_dump(mode="json") for e in edges]))

    async def update(self, record_id: str, *, scope: Scope, **changes: Any) -> Record:
        response = await self._call("PATCH", f"/records/{_seg(record_id)}", params=self._scoped(scope),
                                    **_body(changes))
        return Record.model_validate_json(response.content)

    async def forget(self, record_id: str, *, scope: Scope) -> Record:
        response = await self._call("DELETE", f"/records/{_seg(record_id)}", params=self._scoped(scope))
        return Record.model_validate_json(response.content)

    async def process(self, **kwargs: Any) -> Any:
        raise InvalidInputError("memory construction runs in the server's process, not through a client: start "
                                "the server as `omne serve --store DIR --worker` (it runs the jobs as records arrive)")

    async def reconcile(self) -> int:
        return int((await self._call("POST", "/reconcile")).json()["reindexed"])

    async def optimize(self) -> bool:
        return bool((await self._call("POST", "/optimize")).json()["optimized"])

    # -- read path ------------------------------------------------------------------------------
    async def get(self, record_id: str, *, scope: Scope) -> Record:
        response = await self._call("GET", f"/records/{_seg(record_id)}", params=self._scoped(scope))
        return Record.model_validate_json(response.content)

    async def get_many(self, record_ids: Sequence[str], *, scope: Scope,
                       include_forgotten: bool = False) -> builtins.list[Record]:
        params = self._scoped(scope)
        response = await self._call("POST", "/records/lookup", params=params,
                                    **_body(IdsRequest(ids=list(record_ids), include_forgotten=include_forgotten)))
        return _RECORDS.validate_json(response.content)

    async def search(self, query: str, *, scope: Scope, top_k: int = 10, kinds: Sequence[RecordKind | str] | None = None,
                     tags: Sequence[str] | None = None, roles: Sequence[str] | None = None,
                     start: datetime | None = None, end: datetime | None = None,
                     config: RetrievalConfig | None = None) -> builtins.list[SearchHit]:
        params = self._scoped(scope)
        require_query(query)
        body = SearchRequest.model_construct(query=query, top_k=top_k, kinds=_values(kinds), tags=_values(tags),
                                             roles=_values(roles), start=start, end=end, config=config)
        response = await self._call("POST", "/search", params=params, **_body(body))
        return _HITS.validate_json(response.content)

    async def list(self, *, scope: Scope, kinds: Sequence[RecordKind | str] | None = None,
                   roles: Sequence[str] | None = None, tags: Sequence[str] | None = None,
                   start: datetime | None = None, end: datetime | None = None, text_contains: str | None = None,
                   limit: int | None = None, newest_first: bool = False, include_history: bool = False,
                   ) -> builtins.list[Record]:
        params: dict[str, Any] = self._scoped(scope) | {
            "kinds": _values(kinds), "roles": _values(roles), "tags": _values(tags),
            "start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
            "text_contains": text_contains, "limit": limit, "newest_first": newest_first,
            "include_history": include_history}
        response = await self._call("GET", "/records", params={k: v for k, v in params.items() if v is not None})
        return _RECORDS.validate_json(response.content)

    async def history(self, record_id: str, *, scope: Scope) -> builtins.list[Record]:
        response = await self._call("GET", f"/records/{_seg(record_id)}/history", params=self._scoped(scope))
        return _RECORDS.validate_json(response.content)

    async def edges(self, *, scope: Scope, record_ids: Sequence[str] | None = None) -> builtins.list[Edge]:
        params: dict[str, Any] = self._scoped(scope)
        if record_ids is not None:
            if not record_ids:
                return []
            params["record_ids"] = list(record_ids)
        return _EDGES.validate_json((await self._call("GET", "/edges", params=params)).content)

    async def stats(self, scope: Scope | None = None) -> dict[str, Any]:
        params = {} if scope is None else self._scoped(scope)
        return _OBJECT.validate_json((await self._call("GET", "/stats", params=params)).content)

    async def fact_schemas(self) -> dict[str, builtins.list[str]]:
        return _SCHEMAS.validate_json((await self._call("GET", "/schemas")).content)

    # -- export / import ----------------------------------------------------------------------------
    async def export_lines(self, *, scope: Scope) -> AsyncIterator[str]:
        params = self._scoped(scope)
        try:
            async with self._http.stream("GET", "/export", params=params) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error(response)
                async for line in response.aiter_lines():
                    if line:
                        yield line + "\n"
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(f"export from the omne server at {self.url} failed ({exc})") from None

    async def export_jsonl(self, out: IO[str], *, scope: Scope) -> int:
        """Write every record (all versions) and edge of a scope as JSON lines; returns lines written."""
        return await write_lines(self.export_lines(scope=scope), out)

    async def import_jsonl(self, lines: Iterable[str], *, scope: Scope | None = None) -> int:
        params = {} if scope is None else self._scoped(scope)
        try:
            body = "".join(line if line.endswith("\n") else line + "\n" for line in lines).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(_NOT_UTF8) from None
        response = await self._call("POST", "/import", params=params, content=body,
                                    headers={"Content-Type": "application/x-ndjson"})
        return int(response.json()["imported"])

    async def iter_records(self, *, scope: Scope) -> AsyncIterator[Record]:
        async for line in self.export_lines(scope=scope):
            item = json.loads(line)
            if item.get("type") == "record":
                yield Record.model_validate(item["record"])

    # -- agent context state, construction jobs, core blocks -----------------------------------------
    async def context_state(self, context_id: str, *, scope: Scope) -> dict[str, Any] | None:
        response = await self._call("GET", f"/context-state/{_seg(context_id)}", params=self._scoped(scope))
        return _MAYBE_OBJECT.validate_json(response.content)

    async def save_context_state(self, context_id: str, state: dict[str, Any], *, scope: Scope) -> None:
        await self._call("PUT", f"/context-state/{_seg(context_id)}", params=self._scoped(scope), **_body(state))

    async def jobs(self, *, scope: Scope | None = None, statuses: Sequence[JobStatus | str] | None = None,
                   limit: int | None = None) -> builtins.list[Job]:
        params: dict[str, Any] = {} if scope is None else self._scoped(scope)
        params |= {k: v for k, v in (("status", _values(statuses)), ("limit", limit)) if v is not None}
        return _jobs().validate_json((await self._call("GET", "/jobs", params=params)).content)

    async def job_counts(self, *, scope: Scope | None = None) -> dict[str, int]:
        params = {} if scope is None else self._scoped(scope)
        return _COUNTS.validate_json((await self._call("GET", "/jobs/counts", params=params)).content)

    async def retry_failed_jobs(self, *, scope: Scope | None = None) -> int:
        params = {} if scope is None else self._scoped(scope)
        return int((await self._call("POST", "/jobs/retry", params=params)).json()["retried"])

    async def blocks(self, *, scope: Scope) -> builtins.list[Block]:
        return _blocks().validate_json((await self._call("GET", "/blocks", params=self._scoped(scope))).content)

    async def block(self, label: str, *, scope: Scope) -> Block:
        response = await self._call("GET", f"/blocks/{_seg(label)}", params=self._scoped(scope))
        return _block().validate_json(response.content)

    async def edit_block(self, label: str, value: str, *, scope: Scope, editor: str = "developer") -> Block:
        response = await self._call("PUT", f"/blocks/{_seg(label)}", params=self._scoped(scope),
                                    **_body(BlockEdit(value=value, editor=editor)))
        return _block().validate_json(response.content)

    async def block_history(self, label: str, *, scope: Scope) -> builtins.list[Block]:
        response = await self._call("GET", f"/blocks/{_seg(label)}/history", params=self._scoped(scope))
        return _blocks().validate_json(response.content)


def _seg(value: str) -> str:
    """One URL path segment (ids and labels travel percent-encoded; an empty one still names nothing)."""
    from urllib.parse import quote

    if not isinstance(value, str):
        raise InvalidInputError(f"expected a string id, got {type(value).__name__}")
    return quote(value, safe="") or "%20"


def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


__all__ = ["RemoteMemoryCore"]
