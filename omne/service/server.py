"""Running `omne serve`: one owner process holds the store (record log, vector index, warm embedder) and
serves the others over HTTP. While it runs, `server.json` in the store directory names its URL (see
omne.service.owner), so an embedded open of the same store can say where the server is."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Sequence

import uvicorn
from omne.config import OmneConfig
from omne.core import MemoryCore
from omne.embedding import Embedder
from omne.errors import InvalidInputError, StoreLockedError
from omne.service import auth
from omne.service.app import Background, create_app
from omne.service.owner import remove_owner, served_store_error, write_owner
from omne.storage.backends import open_storage, storage_exists

log = logging.getLogger("omne.service")
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
          request_timeout_s: float = 60.0, log_level: str = "info", embedder: Embedder | None = None,
          background: Sequence[Background] = (), locked_advice: str | None = None,
          on_listening: Callable[[str], None] | None = None) -> None:
    """Serve the store until SIGINT/SIGTERM; in-flight requests finish before the store closes.

    Keys are required when `require_keys` is set or the store holds any live key; without keys only a
    loopback `host` is accepted. `embedder` replaces the default MiniLM (e.g. a test embedder); `background`
    runs beside the API on the served core (`omne serve --worker`: the construction worker). When another
    `omne serve` holds the store, the error names it, with `locked_advice` ({url}: its URL) or the default.
    `on_listening` is called with the server's URL once it listens (`omne inspect` prints it)."""
    keys_required = require_keys or has_keys(config)
    auth.check_bind(host, keys_required=keys_required)
    _log_to_stderr(log_level)
    display_host = f"[{host}]" if ":" in host else host

    async def open_core() -> MemoryCore:
        core = await MemoryCore.open(config=config, embedder=embedder)
        # load the models before the first request: stored texts' and (when it has one) the queries'
        await asyncio.to_thread(core.embedder.embed, ["warm up"])
        query_model = getattr(core.embedder, "embed_query", None)
        if query_model is not None:
            await asyncio.to_thread(query_model, "warm up")
        return core

    def started() -> None:
        info = write_owner(config.store_dir, f"http://{display_host}:{port}")
        log.info("omne serve: %s on %s (keys %s)", config.store_dir, info.url,
                 "required" if keys_required else "not required, loopback only")
        if on_listening is not None:
            on_listening(info.url)

    def stopped() -> None:
        remove_owner(config.store_dir)

    async def probe() -> None:  # a locked, unwritable or newer store fails here with its own message
        try:
            await (await MemoryCore.open(config=config, embedder=embedder)).close()
        except StoreLockedError as exc:
            raise served_store_error(config.store_dir, exc, advice=locked_advice or (
                "it already serves this store: connect to it (--server {url}, OMNE_URL={url} or "
                "MemoryCore.connect), or stop it first")) from exc

    asyncio.run(probe())
    listener = _listen(host, port)  # a port in use is one clear error, not uvicorn's log and exit code 3
    try:
        app = create_app(open_core, keys_required=keys_required, request_timeout_s=request_timeout_s,
                         max_body_bytes=config.limits.max_file_bytes, on_start=started, on_stop=stopped,
                         background=background)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                               timeout_graceful_shutdown=30, access_log=log_level == "debug"))
        server.run(sockets=[listener])
    finally:
        listener.close()


def _listen(host: str, port: int) -> socket.socket:
    """Bind the server's socket, or raise InvalidInputError naming the fix (a port in use, an unknown address)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise InvalidInputError(f"cannot listen on {host}: unknown host ({exc.strerror}); check --host") from None
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only on sockets that name TCP, and with it on, each
    # response after a connection's first waited about 40 ms for the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInputError(f"port {port} on {host} is already in use (another `omne serve`, or another "
                                    "program); choose a free one with --port, or stop what holds it") from None
        raise InvalidInputError(f"cannot listen on {host}:{port} ({exc.strerror}); check --host and --port") from None
    sock.set_inheritable(True)
    return sock


def _log_to_stderr(level: str) -> None:
    """Show Omne's own log lines (the server's address, construction jobs) beside uvicorn's, at its level."""
    from uvicorn.config import LOG_LEVELS
    from uvicorn.logging import DefaultFormatter

    omne_log = logging.getLogger("omne")
    omne_log.setLevel(LOG_LEVELS.get(level, logging.INFO))
    if not omne_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
        omne_log.addHandler(handler)
        omne_log.propagate = False  # once, not again through a root handler (FastMCP installs one)


__all__ = ["has_keys", "serve"]
