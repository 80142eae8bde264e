"""`omne serve` (run the memory service) and `omne keys create|list|revoke` (its API keys)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Iterator

import typer

from omne.cli.common import AgentOpt, JsonOpt, SessionOpt, StoreOpt, TeamOpt, UserOpt, emit, optional_scope
from omne.cli.construction import ModelConfigOpt, PollOpt
from omne.config import OmneConfig
from omne.errors import InvalidInputError

if TYPE_CHECKING:
    from omne.storage.protocols import KeyStore

keys_app = typer.Typer(help="API keys of `omne serve` (each bound to a scope, or admin).", no_args_is_help=True)


def serve(
    store: StoreOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on; beyond loopback only with API keys.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    require_keys: Annotated[bool, typer.Option("--require-keys", help=(
        "Every request must carry an API key (automatic when the store holds keys)."))] = False,
    request_timeout: Annotated[float, typer.Option("--request-timeout", min=0.1,
                                                   help="Seconds a read request may run.")] = 60.0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    worker: Annotated[bool, typer.Option("--worker", help=(
        "Also run the construction worker (summaries, facts, reflection) in the server, as `omne worker` "
        "would; it finds its model the same way (--model-config)."))] = False,
    model_config: ModelConfigOpt = None,
    poll: PollOpt = 2.0,
) -> None:
    """Serve a store over HTTP: one owner process with a warm embedder; other processes use --server / OMNE_URL
    or `MemoryCore.connect`. With --worker it also runs the store's construction jobs. Stops gracefully on
    Ctrl-C / SIGTERM (in-flight requests finish first, then the worker's job in hand)."""
    from omne.cli.construction import serve_worker
    from omne.service.server import serve as run

    if not worker and model_config is not None:
        raise InvalidInputError("--model-config is the construction worker's model: add --worker")
    background = [serve_worker(model_config, poll)] if worker else []
    run(OmneConfig.from_env(store), host=host, port=port, require_keys=require_keys,
        request_timeout_s=request_timeout, log_level=log_level, background=background)


def inspect(
    store: StoreOpt = None,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8766,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Open the web memory inspector on a local store: `omne serve` on 127.0.0.1 (read-only in the browser
    unless you log in with an API key); browse http://127.0.0.1:PORT/. Ctrl-C stops it."""
    from omne.service.server import serve as run

    from omne.storage.backends import storage_exists

    config = OmneConfig.from_env(store)
    if not storage_exists(config):
        raise InvalidInputError(f"no Omne store at {config.store_dir}: check --store (or $OMNE_STORE)")
    run(config, host="127.0.0.1", port=port, log_level=log_level,
        locked_advice="its inspector is at {url}/ (log in there with an API key to edit)",
        on_listening=lambda url: typer.echo(f"Omne memory inspector: {url}/  (Ctrl-C stops it)", err=True))


@contextmanager
def _key_store(store: StoreOpt, *, must_exist: bool = True) -> Iterator[KeyStore]:
    """The store's API keys, from its database only (not its index: a running server need not stop)."""
    from omne.storage.backends import open_storage, storage_exists

    config = OmneConfig.from_env(store)
    if must_exist and not storage_exists(config):
        raise InvalidInputError(f"no Omne store at {config.store_dir}: check --store (or $OMNE_STORE)")
    storage = open_storage(config)
    try:
        yield storage.keys
    finally:
        storage.close()


@keys_app.command("create")
def create(
    store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    team: TeamOpt = None,
    admin: Annotated[bool, typer.Option("--admin", help="Every scope, and whole-store actions.")] = False,
    label: Annotated[str, typer.Option(help="A note to recognise the key by.")] = "", as_json: JsonOpt = False,
) -> None:
    """Create a key bound to a scope (or --admin) and print it once: only its hash is stored."""
    from omne.service.auth import create_key

    scope = optional_scope(user, agent, session, team)
    with _key_store(store, must_exist=False) as records:  # keys may come before the first record
        key, secret = create_key(records, scope=scope, admin=admin, label=label)
    bound = "admin" if key.admin else f"scope {key.scope}"
    emit(key.model_dump(mode="json") | {"key": secret}, as_json,
         f"{secret}\n(key {key.id}, {bound}; shown once: store it now)")


@keys_app.command("list")
def list_keys(store: StoreOpt = None,
              revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys.")] = False,
              as_json: JsonOpt = False) -> None:
    """List keys (ids and scopes; the keys themselves are not stored)."""
    with _key_store(store) as records:
        keys = records.api_keys(include_revoked=revoked)
    lines = [f"{k.id}  {'admin' if k.admin else k.scope}  created {k.created_at:%Y-%m-%d %H:%M}"
             + (f"  revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "") + (f"  {k.label}" if k.label else "")
             for k in keys]
    emit([k.model_dump(mode="json") for k in keys], as_json, "\n".join(lines) or "no keys")


@keys_app.command("revoke")
def revoke(key_id: str, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke a key by id; a running server refuses it from the next request on."""
    from omne.service.auth import revoke_key

    with _key_store(store) as records:
        revoke_key(records, key_id)
    emit({"revoked": key_id}, as_json, f"revoked {key_id}")


__all__ = ["inspect", "keys_app", "serve"]
