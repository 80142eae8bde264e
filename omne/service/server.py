"""Running `omne serve`: one owner process holds the store (record log, vector index, warm embedder) and
serves the others over HTTP. While it runs, `server.json` in the store directory names its URL, so an
embedded open of the same store can say where the server is."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import uvicorn
from pydantic import BaseModel

from omne.config import OmneConfig
from omne.core import MemoryCore
from omne.embedding import Embedder
from omne.service import auth
from omne.service.app import create_app
from omne.storage.backends import open_storage, storage_exists

log = logging.getLogger("omne.service")
OWNER_FILE = "server.json"


class ServerInfo(BaseModel):
    """What the owner file holds."""

    url: str
    pid: int


def owner_of(store_dir: Path) -> ServerInfo | None:
    """The server that wrote its owner file into `store_dir`, if any (it may have died since)."""
    try:
        return ServerInfo.model_validate_json((store_dir / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def has_keys(config: OmneConfig) -> bool:
    """Whether the store holds any live API key (opens only the store's database, not its index)."""
    if not storage_exists(config):
        return False
    storage = open_storage(config)
    try:
        return bool(storage.keys.api_keys())
    finally:
        storage.close()


def serve(config: OmneConfig, *, host: str = "127.0.0.1", port: int = 8765, require_keys: bool = False,
          request_timeout_s: float = 60.0, log_level: str = "info", embedder: Embedder | None = None) -> None:
    """Serve the store until SIGINT/SIGTERM; in-flight requests finish before the store closes.

    Keys are required when `require_keys` is set or the store holds any live key; without keys only a
    loopback `host` is accepted. `embedder` replaces the default MiniLM (e.g. a test embedder)."""
    keys_required = require_keys or has_keys(config)
    auth.check_bind(host, keys_required=keys_required)
    display_host = f"[{host}]" if ":" in host else host
    owner = config.store_dir / OWNER_FILE

    async def open_core() -> MemoryCore:
        core = await MemoryCore.open(config=config, embedder=embedder)
        await asyncio.to_thread(core.embedder.embed, ["warm up"])  # load the model before the first request
        return core

    def started() -> None:
        info = ServerInfo(url=f"http://{display_host}:{port}", pid=os.getpid())
        owner.write_text(info.model_dump_json(), encoding="utf-8")
        log.info("omne serve: %s on %s (keys %s)", config.store_dir, info.url,
                 "required" if keys_required else "not required, loopback only")

    def stopped() -> None:
        info = owner_of(config.store_dir)
        if info is not None and info.pid == os.getpid():
            owner.unlink(missing_ok=True)

    async def probe() -> None:  # a locked, unwritable or newer store fails here with its own message
        await (await MemoryCore.open(config=config, embedder=embedder)).close()

    asyncio.run(probe())
    app = create_app(open_core, keys_required=keys_required, request_timeout_s=request_timeout_s,
                     max_body_bytes=config.limits.max_file_bytes, on_start=started, on_stop=stopped)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=30,
                access_log=log_level == "debug")


__all__ = ["OWNER_FILE", "ServerInfo", "has_keys", "owner_of", "serve"]
