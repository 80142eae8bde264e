"""The owner file: while `omne serve` holds a store it writes `server.json` (its URL and pid) into the store
directory, so that an embedded open of the same store can say which server holds it and how to go through it.
Light on purpose (pydantic and the standard library): the CLI reads it on its error path."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from omne.errors import StoreLockedError

OWNER_FILE = "server.json"


class ServerInfo(BaseModel):
    """What the owner file holds."""

    url: str
    pid: int


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def owner_of(store_dir: Path) -> ServerInfo | None:
    """The running server whose owner file is in `store_dir`; None when there is none, or when the file was left
    by a server that died without removing it (SIGKILL)."""
    try:
        info = ServerInfo.model_validate_json((store_dir / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if _alive(info.pid) else None


def write_owner(store_dir: Path, url: str) -> ServerInfo:
    """Record this process as the store's server."""
    info = ServerInfo(url=url, pid=os.getpid())
    (store_dir / OWNER_FILE).write_text(info.model_dump_json(), encoding="utf-8")
    return info


def remove_owner(store_dir: Path) -> None:
    """Remove the owner file if this process wrote it."""
    info = owner_of(store_dir)
    if info is not None and info.pid == os.getpid():
        (store_dir / OWNER_FILE).unlink(missing_ok=True)


def served_store_error(store_dir: Path, exc: StoreLockedError, *, advice: str | None = None) -> StoreLockedError:
    """The error for a store another process holds: when a running `omne serve` holds it, one naming the server
    and `advice` ({url} stands for the server's URL; default: run the command through it); else `exc`."""
    owner = owner_of(store_dir)
    if owner is None:
        return exc
    advice = advice or "run this command through it: --server {url} (or set OMNE_URL={url})"
    advice = advice.replace("{url}", owner.url)  # not str.format: the advice may name a path holding braces
    return StoreLockedError(f"the store {store_dir} is served by `omne serve` at {owner.url} (pid {owner.pid}); "
                            f"{advice}")


__all__ = ["OWNER_FILE", "ServerInfo", "owner_of", "remove_owner", "served_store_error", "write_owner"]
