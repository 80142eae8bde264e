"""Shared CLI plumbing: store and scope options, opening the store, output."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterator

import typer
from pydantic import BaseModel

from omne.errors import InvalidInputError, StoreLockedError
from omne.sync import SyncMemoryCore
from omne.types import Scope
from omne.validation import make_scope

if TYPE_CHECKING:  # a command through a server never builds the configuration models
    from omne.config import OmneConfig

StoreOpt = Annotated[Path | None, typer.Option("--store", help="Store directory (default: $OMNE_STORE or the user data dir).")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Scope: user id.")]
AgentOpt = Annotated[str | None, typer.Option("--agent", help="Scope: agent id.")]
SessionOpt = Annotated[str | None, typer.Option("--session", help="Scope: session id.")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="Scope: team id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def scope_of(user: str | None, agent: str | None, session: str | None, team: str | None) -> Scope:
    """The scope named on the command line; at least one option is required."""
    if not any((user, agent, session, team)):
        raise InvalidInputError("name a scope: --user, --agent, --session and/or --team")
    return make_scope(user=user, agent=agent, session=session, team=team)


def optional_scope(user: str | None, agent: str | None, session: str | None, team: str | None) -> Scope | None:
    return scope_of(user, agent, session, team) if any((user, agent, session, team)) else None


def parse_time(value: str | None, option: str) -> datetime | None:
    """ISO-8601 date or date-time from an option, with a clear error."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{option}: {value!r} is not an ISO date or date-time (e.g. 2024-05-01 or "
                                "2024-05-01T13:00:00)") from None


class Server(BaseModel):
    """Where `omne memory ...` commands go when a server is named (`--server` / $OMNE_URL)."""

    url: str
    api_key: str | None = None


_server: ContextVar[Server | None] = ContextVar("omne_server", default=None)


def use_server(server: Server | None) -> None:
    """Route this command's store to a server (set by the `omne memory` group's --server / $OMNE_URL)."""
    _server.set(server)


def server_of() -> Server | None:
    """The server this command runs against (None: embedded)."""
    return _server.get()


def existing_store(config: OmneConfig) -> OmneConfig:
    """`config`, if its store exists; else the error a read command gives (it never creates an empty store)."""
    from omne.storage.backends import storage_exists

    if not storage_exists(config):
        raise InvalidInputError(f"no Omne store at {config.store_dir}: check --store (or $OMNE_STORE); "
                                "`omne memory add` creates one")
    return config


def served_store_error(config: OmneConfig, exc: StoreLockedError, *, advice: str | None = None) -> StoreLockedError:
    """The error for a store another process holds: when `omne serve` holds it, one naming the server and
    `advice` ({url} stands for the server's URL; default: run the command through it)."""
    from omne.service.owner import served_store_error as naming_the_server

    return naming_the_server(config.store_dir, exc, advice=advice)


@contextmanager
def open_store(store: Path | None, *, must_exist: bool = False) -> Iterator[SyncMemoryCore]:
    """The store for one command (a server's when one is named), closed afterwards. `must_exist`: a read
    command, which must not create an empty store where a typo'd path points."""
    server = server_of()
    if server is not None:
        if store is not None:  # two stores named: never serve one while the user reads the other
            raise InvalidInputError(f"--store {store} opens a store in this process, but this command runs through "
                                    f"the server at {server.url} (--server or OMNE_URL): drop --store, or drop "
                                    "--server and unset OMNE_URL")
        # httpcore imports h2 for HTTP/2 whenever it is installed (about 10 ms); the client speaks HTTP/1.1, and
        # nothing else in a CLI call through a server would use it. None: the import system says "missing".
        sys.modules.setdefault("h2", None)  # type: ignore[arg-type]
        with SyncMemoryCore.connect(server.url, api_key=server.api_key) as core:
            yield core
        return
    from omne.config import OmneConfig

    config = OmneConfig.from_env(store)
    if must_exist:
        existing_store(config)
    try:
        core = SyncMemoryCore(config=config)
    except StoreLockedError as exc:
        raise served_store_error(config, exc) from exc
    with core:
        yield core


def counted(n: int, noun: str) -> str:
    """`n` and the noun, plural unless n is 1 ("1 line", "3 lines")."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print JSON (machine-readable) or the human text."""
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=None) + "\n")
    elif text is not None:
        typer.echo(text)
