"""The web memory inspector: server-rendered pages over the same core verbs and key rules as the HTTP API.

Read-only unless the browser presents an API key (the login form stores it in an HttpOnly, SameSite=Strict
cookie) whose scope covers the page's scope: then forget, update and retry-failed-jobs buttons appear, and
each edit goes through the core verb the /v1 endpoint calls, after the same `auth.allow_scope` check.
Jinja2 autoescapes every value: memory text is untrusted and is shown as text, never as markup.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from omne.core import MemoryCore
from omne.errors import AuthenticationError, OmneError, PermissionDeniedError
from omne.inspector.graph import HEIGHT, WIDTH, neighbourhood
from omne.retrieval.models import RetrievalConfig
from omne.service import auth
from omne.service.wire import status_of
from omne.types import ApiKey, RecordKind, Scope

KEY_COOKIE = "omne_key"
PAGE_SIZE = 50
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)
templates = Jinja2Templates(env=_env)


class _Page:
    """What every handler needs: the core, the request's key, the scope named in the query string."""

    def __init__(self, request: Request, core: MemoryCore, key: ApiKey | None, scope: Scope | None) -> None:
        self.request, self.core, self.key, self.scope = request, core, key, scope

    @property
    def scoped(self) -> Scope:
        """The page's scope (pages that show records need one; `_page` checked it)."""
        if self.scope is None:
            raise PermissionDeniedError("pick a scope first (a user, agent, session or team)")
        return self.scope

    @property
    def can_edit(self) -> bool:
        return self.key is not None

    def query(self, **extra: Any) -> str:
        """The scope's query string, plus `extra` (None values left out)."""
        return urlencode({**_fields(self.scope), **{k: v for k, v in extra.items() if v not in (None, "")}},
                         doseq=True)

    def render(self, template: str, **context: Any) -> HTMLResponse:
        kinds = [k.value for k in RecordKind]
        return templates.TemplateResponse(self.request, template, {"page": self, "kinds": kinds, **context})


def _fields(scope: Scope | None) -> dict[str, str]:
    """A scope as query parameters."""
    return {n: getattr(scope, n) for n in auth.SCOPE_FIELDS if scope is not None and getattr(scope, n)}


async def _page(request: Request, *, need_scope: bool = True) -> _Page:
    core: MemoryCore = request.app.state.core
    presented = request.cookies.get(KEY_COOKIE)
    key = await asyncio.to_thread(auth.resolve, core.key_store, presented, required=request.app.state.keys_required)
    scope = auth.requested_scope(request.query_params, key)
    if scope is not None or need_scope:
        auth.allow_scope(key, scope)
    if need_scope and scope is None:
        raise PermissionDeniedError("pick a scope first (a user, agent, session or team)")
    return _Page(request, core, key, scope)


def inspector_router() -> APIRouter:  # noqa: C901 - one small handler per page
    """The inspector's pages, for an app whose `state.core` is the store (`omne serve`, `omne inspect`)."""
    r = APIRouter(include_in_schema=False)

    @r.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        page = await _page(request, need_scope=False)
        whole = page.key is None or page.key.admin
        stats = await page.core.stats(page.scope if page.scope else None) if (page.scope or whole) else None
        counts = await page.core.job_counts(scope=page.scope) if (page.scope or whole) else {}
        return page.render("home.html", stats=stats, job_counts=counts)

    @r.get("/records", response_class=HTMLResponse)
    async def records(request: Request, kind: str | None = None, before: datetime | None = None) -> Response:
        page = await _page(request)
        end = before - timedelta(microseconds=1) if before else None
        rows = await page.core.list(scope=page.scoped, kinds=[kind] if kind else None, end=end, limit=PAGE_SIZE + 1,
                                    newest_first=True)
        more = rows[PAGE_SIZE - 1].when.isoformat() if len(rows) > PAGE_SIZE else None
        return page.render("records.html", rows=rows[:PAGE_SIZE], kind=kind, next_before=more, before=before)

    @r.get("/search", response_class=HTMLResponse)
    async def search(request: Request, q: str = "", mode: str = "hybrid", kind: str | None = None,
                     top_k: int = 20) -> Response:
        page = await _page(request)
        hits = []
        if q.strip():
            config = RetrievalConfig.model_validate({"mode": "lexical"}) if mode == "text" else None
            hits = await page.core.search(q, scope=page.scoped, top_k=max(1, min(top_k, 100)),
                                          kinds=[kind] if kind else None, config=config)
        return page.render("search.html", q=q, mode=mode, kind=kind, hits=hits)

    @r.get("/records/{record_id}", response_class=HTMLResponse)
    async def record(request: Request, record_id: str) -> Response:
        page = await _page(request)
        versions = await page.core.history(record_id, scope=page.scoped)
        current = versions[-1]
        sources = (await page.core.get_many(current.source_ids, scope=page.scoped, include_forgotten=True)
                   if current.source_ids else [])
        edges = await page.core.edges(scope=page.scoped, record_ids=[v.id for v in versions])
        ids = {e.src for e in edges} | {e.dst for e in edges}
        texts = ({r.id: r.text for r in await page.core.get_many(sorted(ids), scope=page.scoped,
                                                                  include_forgotten=True)} if ids else {})
        texts.update({v.id: v.text for v in versions})
        nodes, lines = neighbourhood(current, edges, texts)
        return page.render("record.html", current=current, versions=versions, sources=sources, edges=edges,
                           nodes=nodes, lines=lines, width=WIDTH, height=HEIGHT)

    @r.get("/blocks", response_class=HTMLResponse)
    async def blocks(request: Request, label: str | None = None) -> Response:
        page = await _page(request)
        shown = await page.core.blocks(scope=page.scoped)
        history = await page.core.block_history(label, scope=page.scoped) if label else []
        return page.render("blocks.html", blocks=shown, label=label, history=history)

    @r.get("/jobs", response_class=HTMLResponse)
    async def jobs(request: Request, status: str | None = None) -> Response:
        page = await _page(request)
        shown = await page.core.jobs(scope=page.scoped, statuses=[status] if status else None, limit=200)
        counts = await page.core.job_counts(scope=page.scoped)
        return page.render("jobs.html", jobs=shown, counts=counts, status=status)

    # -- edits: a key is required, and its scope must cover the page's -----------------------
    async def _editor(request: Request) -> _Page:
        page = await _page(request)
        if page.key is None:
            raise PermissionDeniedError("the inspector is read-only without an API key; log in with a key "
                                        "that covers this scope")
        return page

    @r.post("/records/{record_id}/forget")
    async def forget(request: Request, record_id: str) -> Response:
        page = await _editor(request)
        await page.core.forget(record_id, scope=page.scoped)
        return RedirectResponse(f"/records/{record_id}?{page.query()}", status_code=303)

    @r.post("/records/{record_id}/update")
    async def update(request: Request, record_id: str, text: Annotated[str, Form()]) -> Response:
        page = await _editor(request)
        updated = await page.core.update(record_id, scope=page.scoped, text=text)
        return RedirectResponse(f"/records/{updated.id}?{page.query()}", status_code=303)

    @r.post("/jobs/retry")
    async def retry(request: Request) -> Response:
        page = await _editor(request)
        await page.core.retry_failed_jobs(scope=page.scoped)
        return RedirectResponse(f"/jobs?{page.query()}", status_code=303)

    # -- key login (the key is kept in an HttpOnly cookie) -------------------------------------
    @r.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"page": None, "error": None})

    @r.post("/login")
    async def login(request: Request, key: Annotated[str, Form()]) -> Response:
        try:
            found = await asyncio.to_thread(auth.resolve, request.app.state.core.key_store, key.strip(), required=True)
        except AuthenticationError as exc:
            return templates.TemplateResponse(request, "login.html", {"page": None, "error": str(exc)},
                                              status_code=401)
        response = RedirectResponse(f"/?{urlencode(_fields(found.scope if found else None))}", status_code=303)
        response.set_cookie(KEY_COOKIE, key.strip(), httponly=True, samesite="strict")
        return response

    @r.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(KEY_COOKIE)
        return response

    return r


def error_page(request: Request, exc: OmneError) -> Response:
    """An inspector error as a page (401 leads to the login form)."""
    status = status_of(exc)
    return templates.TemplateResponse(request, "error.html", {"page": None, "message": str(exc), "status": status},
                                      status_code=status)


__all__ = ["KEY_COOKIE", "error_page", "inspector_router"]
