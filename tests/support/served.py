"""Serve a test's store through the real HTTP app (in process, over httpx's ASGI transport) and hand the test a
`RemoteMemoryCore`, so the memory-API and agent tests run unchanged against a served store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from omne.core import MemoryCore
from omne.service.app import create_app
from omne.service.client import RemoteMemoryCore


@asynccontextmanager
async def served(core: MemoryCore) -> AsyncIterator[RemoteMemoryCore]:
    """`core` behind the HTTP API; the caller still owns (and closes) `core`."""
    async def open_core() -> MemoryCore:
        return core

    app = create_app(open_core, keys_required=False, close_core=False,
                     max_body_bytes=core.config.limits.max_file_bytes)
    async with app.router.lifespan_context(app):
        client = RemoteMemoryCore("http://omne.test", transport=httpx.ASGITransport(app=app))
        try:
            yield client
        finally:
            await client.close()
