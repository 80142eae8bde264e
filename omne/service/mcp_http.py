"""MCP over streamable HTTP at /mcp on `omne serve`: each request is authenticated with the same API keys and
scope rule as /v1 (the scope is the key's, or the one the URL's query names inside it: /mcp?user=alice)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from omne.errors import InvalidInputError, OmneError
from omne.mcp.server import McpBinding, McpContext, build_server
from omne.service import auth
from omne.service.wire import ErrorResponse, public_type, status_of

MCP_PATH = "/mcp"

class McpEndpoint:
    """The ASGI endpoint at /mcp (stateless streamable HTTP, JSON responses) and its session manager."""

    def __init__(self, app: FastAPI, *, keys_required: bool) -> None:
        self.app = app
        # Without keys the server listens on loopback only, where DNS rebinding is the attack to stop.
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=not keys_required,
            allowed_hosts=["127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"])
        self.server = build_server(self._bind, stateless_http=True, json_response=True, transport_security=security)
        self.server.streamable_http_app()  # creates the (template) session manager

    def _manager(self) -> StreamableHTTPSessionManager:
        """A session manager for one request. Stateless requests share nothing, and a manager's task group
        then lives inside the request's task, not across the app's lifespan (which an app that is started
        and stopped from different tasks, as test fixtures do, could not exit)."""
        template = self.server.session_manager
        return StreamableHTTPSessionManager(app=template.app, stateless=True, json_response=True,
                                            security_settings=template.security_settings)

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            binding = await self._authorise(request)
        except OmneError as exc:
            body = ErrorResponse.model_validate({"error": {"type": public_type(exc), "message": str(exc)}})
            await JSONResponse(body.model_dump(), status_code=status_of(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["omne_mcp"] = binding
        manager = self._manager()
        async with manager.run():
            await manager.handle_request(scope, receive, send)

    async def _authorise(self, request: Request) -> McpBinding:
        core = self.app.state.core
        key = await asyncio.to_thread(auth.resolve, core.key_store, auth.bearer(request.headers.get("authorization")),
                                      required=self.app.state.keys_required)
        scope = auth.requested_scope(request.query_params, key)
        if scope is None:
            raise InvalidInputError("name the scope MCP acts on in the URL, e.g. /mcp?user=alice (or use an API key "
                                    "bound to a scope)")
        auth.allow_scope(key, scope)
        editor = f"mcp:key:{key.id}" if key is not None else "mcp"
        return McpBinding(core=core, scope=scope, editor=editor)

    @staticmethod
    async def _bind(ctx: McpContext) -> McpBinding:
        request = ctx.request_context.request
        binding = getattr(getattr(request, "state", None), "omne_mcp", None)
        if not isinstance(binding, McpBinding):  # pragma: no cover - every request passes __call__ first
            raise InvalidInputError("this MCP request was not authorised")
        return binding


__all__ = ["MCP_PATH", "McpEndpoint"]
