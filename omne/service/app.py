"""The HTTP API of `omne serve`: every `MemoryCore` operation under /v1, each request authorised against the
scope it names, every user error a JSON body with the library's message and a 4xx status."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as AsgiScope

from omne.agents.blocks import Block
from omne.construction.jobs import Job
from omne.core import MemoryCore
from omne.errors import InvalidInputError, OmneError
from omne.ingest.models import IngestResult
from omne.inspector.routes import error_page, inspector_router
from omne.retrieval.models import SearchHit
from omne.service import auth
from omne.service.mcp_http import MCP_PATH, McpEndpoint
from omne.service.wire import (
    API_PREFIX, AddRequest, BlockEdit, ErrorResponse, Health, IdsRequest, PayloadTooLargeError,
    RememberRequest, RequestTimeoutError, SearchRequest, public_type, status_of,
)
from omne.service.wire_ingest import IngestForm
from omne.types import ApiKey, Edge, Record, Scope
from omne.validation import describe_validation_error, require_scope

log = logging.getLogger("omne.service")
T = TypeVar("T")
OpenCore = Callable[[], Awaitable[MemoryCore]]
# Work that runs beside the API on the served core while the server is up (e.g. the construction worker).
Background = Callable[[MemoryCore], AbstractAsyncContextManager[Any]]


def _error(status: int, kind: str, message: str) -> JSONResponse:
    body = ErrorResponse.model_validate({"error": {"type": kind, "message": message}})
    return JSONResponse(body.model_dump(), status_code=status)


def _describe_request_error(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        if err.get("type") == "json_invalid":  # loc is ("body", offset of the error)
            return (f"invalid request: the request body is not valid JSON (at character {err['loc'][-1]}); send a "
                    "JSON object")
        if tuple(err.get("loc", ())) == ("body",):  # the whole body has the wrong shape (a list, a string, ...)
            return "invalid request: the request body must be a JSON object (see /openapi.json for its fields)"
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


class BodyLimit:
    """Refuse request bodies over `max_bytes` (413), by Content-Length or as they stream in (chunked). A body cut
    off mid-stream is answered 413 here, whatever the endpoint's body parser makes of the interruption."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> JSONResponse:
        return _error(413, PayloadTooLargeError.__name__,
                      f"request body over the server's {self.max_bytes:,}-byte limit (limits.max_file_bytes)")

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and not length.isdigit():
            await _error(400, InvalidInputError.__name__, "the Content-Length header is not a number of bytes")(
                scope, receive, send)
            return
        if length is not None and int(length) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes and not refused:
                refused = True
                await self._too_large()(scope, receive, send)
                raise PayloadTooLargeError(f"request body over the server's {self.max_bytes:,}-byte limit")
            return message

        async def unless_refused(message: Message) -> None:  # the app's own answer to the cut-off body is dropped
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited, unless_refused)
        except Exception:  # once refused, whatever the cut-off body made the app raise is answered already
            if not refused:
                raise


def _scope_params(user: str | None = None, agent: str | None = None, session: str | None = None,
                  team: str | None = None) -> Scope | None:
    """The scope a request names in its query string (None when it names none)."""
    if user is None and agent is None and session is None and team is None:
        return None
    try:
        return Scope(user=user, agent=agent, session=session, team=team)
    except ValidationError as exc:
        raise InvalidInputError(f"invalid scope: {describe_validation_error(exc)}") from None


ScopeQ = Annotated[Scope | None, Depends(_scope_params)]


def create_app(open_core: OpenCore, *, keys_required: bool, request_timeout_s: float = 60.0,
               max_body_bytes: int = 100_000_000, close_core: bool = True, on_start: Callable[[], None] | None = None,
               on_stop: Callable[[], None] | None = None, inspector: bool = True,
               background: Sequence[Background] = ()) -> FastAPI:
    """The ASGI app. `open_core` opens the store at start-up (the app owns it and closes it at shutdown unless
    `close_core=False`); `keys_required` makes every /v1 request present an API key; bodies over
    `max_body_bytes` (the store's limits.max_file_bytes) are refused, and reads stop after `request_timeout_s`.
    Each of `background` is entered on the core once it is open and left at shutdown (after in-flight requests
    finish, before the core closes). MCP (streamable HTTP) is at /mcp and, with `inspector`, the web memory
    inspector at /."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.core = await open_core()
        try:
            async with AsyncExitStack() as running:
                for work in background:
                    await running.enter_async_context(work(app.state.core))
                if on_start is not None:
                    on_start()
                try:
                    yield
                finally:
                    await running.aclose()  # background work ends first (a job in hand finishes)
                    if on_stop is not None:
                        on_stop()
        finally:
            if close_core:
                await app.state.core.close()

    app = FastAPI(title="Omne memory service", version="1", lifespan=lifespan,
                  responses={code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 413, 422, 504)})
    app.state.keys_required = keys_required
    mcp = McpEndpoint(app, keys_required=keys_required)
    # Starlette routes to an ASGI app as well as to a request handler; its signature names only the latter.
    app.router.add_route(MCP_PATH, mcp, include_in_schema=False)  # type: ignore[arg-type]

    @app.exception_handler(OmneError)
    async def _omne_error(request: Request, exc: OmneError) -> Response:
        if inspector and not request.url.path.startswith(API_PREFIX):
            return error_page(request, exc)
        return _error(status_of(exc), public_type(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def _request_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, InvalidInputError.__name__, _describe_request_error(exc))

    @app.exception_handler(ValidationError)
    async def _model_error(_: Request, exc: ValidationError) -> JSONResponse:
        return _error(422, InvalidInputError.__name__, f"invalid input: {describe_validation_error(exc)}")

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        kind = "NotFoundError" if exc.status_code == 404 else "InvalidInputError"
        return _error(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed")
        return _error(500, "InternalError", "the server failed on this request; see its log")

    @app.get("/healthz", response_model=Health)
    async def healthz(request: Request) -> Health:
        core: MemoryCore = request.app.state.core
        required = await asyncio.to_thread(auth.keys_required, core.key_store, required=keys_required)
        return Health(status="ok", auth=required)

    app.include_router(_router(request_timeout_s), prefix=API_PREFIX)
    if inspector:
        app.include_router(inspector_router())
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app


async def _authenticate(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    core: MemoryCore = request.app.state.core
    request.state.key = await asyncio.to_thread(auth.resolve, core.key_store, auth.bearer(authorization),
                                                required=request.app.state.keys_required)


def _router(timeout_s: float) -> APIRouter:  # noqa: C901 - one small handler per operation
    r = APIRouter(dependencies=[Depends(_authenticate)])

    def core_of(request: Request) -> MemoryCore:
        core: MemoryCore = request.app.state.core
        return core

    def allowed(request: Request, scope: Scope | None) -> Scope:
        """The scope, after checking the request's key may use it (the core rejects a missing scope)."""
        key: ApiKey | None = request.state.key
        auth.allow_scope(key, scope)
        return require_scope(scope)

    async def within(work: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(work, timeout_s)
        except TimeoutError:
            raise RequestTimeoutError(f"the request ran past the server's {timeout_s:g} s limit; narrow it") from None

    # -- write path ----------------------------------------------------------------------
    @r.post("/records", response_model=list[Record])
    async def add(request: Request, body: AddRequest) -> list[Record]:
        for scope in [*(r.scope for r in body.records), *(e.scope for e in body.edges)]:
            auth.allow_scope(request.state.key, scope)
        return await core_of(request).add(body.records, body.edges)

    @r.post("/remember", response_model=Record)
    async def remember(request: Request, body: RememberRequest, scope: ScopeQ) -> Record:
        clash = {"text", "scope", "kind"} & set(body.fields)
        if clash:
            raise InvalidInputError(f"remember fields cannot include {sorted(clash)}; they are arguments of their own")
        return await core_of(request).remember(body.text, scope=allowed(request, scope), kind=body.kind, **body.fields)

    @r.post("/edges", response_model=None, status_code=204)
    async def add_edges(request: Request, edges: list[Edge]) -> None:
        for edge in edges:
            auth.allow_scope(request.state.key, edge.scope)
        await core_of(request).add_edges(edges)

    @r.patch("/records/{record_id}", response_model=Record)
    async def update(request: Request, record_id: str, changes: dict[str, Any], scope: ScopeQ) -> Record:
        for name in ("scope", "record_id"):
            if name in changes:
                raise InvalidInputError(f"update cannot change {name!r}")
        return await core_of(request).update(record_id, scope=allowed(request, scope), **changes)

    @r.delete("/records/{record_id}", response_model=Record)
    async def forget(request: Request, record_id: str, scope: ScopeQ) -> Record:
        return await core_of(request).forget(record_id, scope=allowed(request, scope))

    @r.post("/ingest", response_model=IngestResult)
    async def ingest(request: Request, scope: ScopeQ, file: Annotated[UploadFile, File()],
                     options: Annotated[str, Form()] = "{}") -> IngestResult:
        allowed_scope = allowed(request, scope)
        try:
            form = IngestForm.model_validate_json(options)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid ingest options: {describe_validation_error(exc)}") from None
        data = await file.read()
        return await core_of(request).ingest(
            data, scope=allowed_scope, name=file.filename if form.name is None else form.name or None,
            options=form.options,
            message_id=form.message_id, context=form.context, mime=form.mime, metadata=form.metadata,
            tags=form.tags)

    @r.post("/import")
    async def import_(request: Request, scope: ScopeQ) -> dict[str, int]:
        if scope is None:
            auth.allow_admin(request.state.key)
        else:
            allowed(request, scope)
        raw = b"".join([chunk async for chunk in request.stream()])
        try:
            lines = raw.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise InvalidInputError("the import body is not UTF-8 JSON lines") from None
        return {"imported": await core_of(request).import_jsonl(lines, scope=scope)}

    # -- read path -----------------------------------------------------------------------
    @r.post("/search", response_model=list[SearchHit])
    async def search(request: Request, body: SearchRequest, scope: ScopeQ) -> list[SearchHit]:
        return await within(core_of(request).search(
            body.query, scope=allowed(request, scope), top_k=body.top_k, kinds=body.kinds, tags=body.tags,
            roles=body.roles, start=body.start, end=body.end, config=body.config))

    @r.get("/records/{record_id}", response_model=Record)
    async def get(request: Request, record_id: str, scope: ScopeQ) -> Record:
        return await core_of(request).get(record_id, scope=allowed(request, scope))

    @r.post("/records/lookup", response_model=list[Record])
    async def get_many(request: Request, body: IdsRequest, scope: ScopeQ) -> list[Record]:
        return await within(core_of(request).get_many(body.ids, scope=allowed(request, scope),
                                                      include_forgotten=body.include_forgotten))

    @r.get("/records", response_model=list[Record])
    async def list_(request: Request, scope: ScopeQ, kinds: Annotated[list[str] | None, Query()] = None,
                    roles: Annotated[list[str] | None, Query()] = None,
                    tags: Annotated[list[str] | None, Query()] = None, start: datetime | None = None,
                    end: datetime | None = None, text_contains: str | None = None, limit: int | None = None,
                    newest_first: bool = False, include_history: bool = False) -> list[Record]:
        return await within(core_of(request).list(
            scope=allowed(request, scope), kinds=kinds, roles=roles, tags=tags, start=start, end=end,
            text_contains=text_contains, limit=limit, newest_first=newest_first, include_history=include_history))

    @r.get("/records/{record_id}/history", response_model=list[Record])
    async def history(request: Request, record_id: str, scope: ScopeQ) -> list[Record]:
        return await core_of(request).history(record_id, scope=allowed(request, scope))

    @r.get("/edges", response_model=list[Edge])
    async def edges(request: Request, scope: ScopeQ,
                    record_ids: Annotated[list[str] | None, Query()] = None) -> list[Edge]:
        return await within(core_of(request).edges(scope=allowed(request, scope), record_ids=record_ids))

    @r.get("/stats")
    async def stats(request: Request, scope: ScopeQ) -> dict[str, Any]:
        key = request.state.key
        auth.allow_scope(key, scope)
        figures = await core_of(request).stats(scope)
        if key is not None and not key.admin:  # the server's filesystem is not a scoped key's business
            figures.pop("store", None)
        return figures

    @r.get("/schemas")
    async def fact_schemas(request: Request) -> dict[str, list[str]]:
        return await core_of(request).fact_schemas()

    @r.get("/export", response_class=StreamingResponse,
           responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON lines"}})
    async def export(request: Request, scope: ScopeQ) -> StreamingResponse:
        checked = allowed(request, scope)
        return StreamingResponse(core_of(request).export_lines(scope=checked), media_type="application/x-ndjson")

    # -- construction jobs -----------------------------------------------------------------
    def job_scope(request: Request, scope: Scope | None) -> Scope | None:
        auth.allow_scope(request.state.key, scope)
        return scope

    @r.get("/jobs", response_model=list[Job])
    async def jobs(request: Request, scope: ScopeQ, status: Annotated[list[str] | None, Query()] = None,
                   limit: int | None = None) -> list[Job]:
        return await core_of(request).jobs(scope=job_scope(request, scope), statuses=status, limit=limit)

    @r.get("/jobs/counts")
    async def job_counts(request: Request, scope: ScopeQ) -> dict[str, int]:
        return await core_of(request).job_counts(scope=job_scope(request, scope))

    @r.post("/jobs/retry")
    async def retry_jobs(request: Request, scope: ScopeQ) -> dict[str, int]:
        return {"retried": await core_of(request).retry_failed_jobs(scope=job_scope(request, scope))}

    # -- core blocks and agent context state -------------------------------------------------
    @r.get("/blocks", response_model=list[Block])
    async def blocks(request: Request, scope: ScopeQ) -> list[Block]:
        return await core_of(request).blocks(scope=allowed(request, scope))

    @r.get("/blocks/{label}", response_model=Block)
    async def block(request: Request, label: str, scope: ScopeQ) -> Block:
        return await core_of(request).block(label, scope=allowed(request, scope))

    @r.put("/blocks/{label}", response_model=Block)
    async def edit_block(request: Request, label: str, body: BlockEdit, scope: ScopeQ) -> Block:
        return await core_of(request).edit_block(label, body.value, scope=allowed(request, scope), editor=body.editor)

    @r.get("/blocks/{label}/history", response_model=list[Block])
    async def block_history(request: Request, label: str, scope: ScopeQ) -> list[Block]:
        return await core_of(request).block_history(label, scope=allowed(request, scope))

    @r.get("/context-state/{context_id}")
    async def context_state(request: Request, context_id: str, scope: ScopeQ) -> dict[str, Any] | None:
        return await core_of(request).context_state(context_id, scope=allowed(request, scope))

    @r.put("/context-state/{context_id}", status_code=204, response_model=None)
    async def save_context_state(request: Request, context_id: str, state: dict[str, Any], scope: ScopeQ) -> None:
        await core_of(request).save_context_state(context_id, state, scope=allowed(request, scope))

    # -- maintenance (admin) ------------------------------------------------------------------
    @r.post("/reconcile")
    async def reconcile(request: Request) -> dict[str, int]:
        auth.allow_admin(request.state.key)
        return {"reindexed": await core_of(request).reconcile()}

    @r.post("/optimize")
    async def optimize(request: Request) -> dict[str, bool]:
        auth.allow_admin(request.state.key)
        return {"optimized": await core_of(request).optimize()}

    return r


__all__ = ["Background", "BodyLimit", "create_app"]
