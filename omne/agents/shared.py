"""One MemoryCore per store (directory or server) per process, shared by every component that opens it.

The embedded vector index allows one owner per store, so components that open the same store
(an OmneMemory loaded from a config, a responder opened by `store_dir`, another one given a core)
must share one MemoryCore:

- `acquire_core(store_dir, server_url=...)` returns the process's core for a store, opening it on first use:
  a client of `omne serve` (`MemoryCore.connect`, key from $OMNE_API_KEY) when a server URL is given or
  $OMNE_URL is set, else the directory opened in this process;
  `release_core(core)` gives it back, and the last user of a core opened here closes it;
- `acquire_memory(spec)` / `release_memory(memory)` do the same for an agent's memory (on that shared
  core): components loaded from one agent's config (its context, Memory adapter and tools) share one;
- `register(core)` makes a core you opened yourself the shared one for its directory (you keep
  ownership: `unregister(core)` before you close it; acquirers never close it).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from omne.config import default_store_dir
from omne.core import MemoryCore
from omne.verbs import CoreVerbs
from omne.embedding import Embedder

from omne.agents.spec import server_url_of

if TYPE_CHECKING:
    from omne.agents.hierarchy import MemoryHierarchy
    from omne.agents.spec import AgentSpec


@dataclass
class _Entry:
    core: CoreVerbs  # a MemoryCore, or a RemoteMemoryCore
    users: int
    owned: bool  # opened here (the last release closes it), or registered by its owner
    memories: dict[str, tuple[MemoryHierarchy, int]] = field(default_factory=dict)  # by spec: memory, users


_cores: dict[str, _Entry] = {}  # by location: a server URL or a resolved store directory
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _registry_lock() -> asyncio.Lock:
    """One lock per event loop (an asyncio.Lock must not be shared between loops)."""
    loop = asyncio.get_running_loop()
    if loop not in _locks:
        _locks[loop] = asyncio.Lock()
    return _locks[loop]


def _location(store_dir: str | Path | None, server_url: str | None) -> tuple[str, bool]:
    """Where a store is, and whether it is served: the server URL (given, else $OMNE_URL), else the
    resolved directory."""
    url = server_url or os.environ.get("OMNE_URL")
    if url:
        return url.rstrip("/"), True
    return str(Path(store_dir).expanduser().resolve() if store_dir else default_store_dir().resolve()), False


def _key(core: CoreVerbs) -> str:
    url = server_url_of(core)
    return url if url is not None else str(Path(core.config.store_dir).expanduser().resolve())


def _live(key: str) -> _Entry | None:
    """The entry for a directory, dropping it when its owner closed the core without unregistering."""
    entry = _cores.get(key)
    if entry is not None and entry.core.closed:
        del _cores[key]
        return None
    return entry


def register(core: CoreVerbs) -> CoreVerbs:
    """Share an already-open core for its store; returns the shared one (the first registered wins)."""
    key = _key(core)
    entry = _live(key)
    if entry is None:
        entry = _cores[key] = _Entry(core, 0, owned=False)
    return entry.core


def unregister(core: CoreVerbs) -> None:
    """Stop sharing a core you registered (call it before you close that core)."""
    key = _key(core)
    if key in _cores and _cores[key].core is core:
        del _cores[key]


async def acquire_core(store_dir: str | Path | None, *, server_url: str | None = None,
                       embedder: Embedder | None = None) -> CoreVerbs:
    """The process's core for a store, opened on first use: a client of the server at `server_url` (default:
    $OMNE_URL; its key from $OMNE_API_KEY), else `store_dir` (default: $OMNE_STORE) opened here."""
    key, served = _location(store_dir, server_url)
    async with _registry_lock():
        entry = _live(key)
        if entry is None:
            core: CoreVerbs
            if served:
                core = MemoryCore.connect(key)
            else:
                core = await MemoryCore.open(key, embedder=embedder)
            entry = _cores[key] = _Entry(core, 0, owned=True)
        entry.users += 1
        return entry.core


async def acquire_memory(spec: AgentSpec) -> MemoryHierarchy:
    """The process's memory for an agent spec (as component configs carry it), on the shared core for
    `spec.server_url` / $OMNE_URL or `spec.store_dir`, opened (blocks attached) on first use; give it back
    with `release_memory`."""
    from omne.agents.hierarchy import MemoryHierarchy

    core = await acquire_core(spec.store_dir, server_url=spec.server_url)
    key = spec.model_dump_json(exclude={"store_dir", "server_url"})
    try:
        async with _registry_lock():
            entry = _live(_key(core))
            if entry is None or entry.core is not core:  # pragma: no cover - a core closed under us
                raise RuntimeError("the shared core was closed while being acquired")
            memory, users = entry.memories.get(key, (None, 0))
            if memory is None:
                memory = await MemoryHierarchy.from_spec(core, spec)
            entry.memories[key] = (memory, users + 1)
            return memory
    except BaseException:
        await release_core(core)
        raise


async def release_memory(memory: MemoryHierarchy) -> None:
    """Give back a memory from `acquire_memory` (and with it, its core)."""
    async with _registry_lock():
        entry = _cores.get(_key(memory.core))
        if entry is not None:
            for key, (held, users) in list(entry.memories.items()):
                if held is memory:
                    if users <= 1:
                        del entry.memories[key]
                    else:
                        entry.memories[key] = (held, users - 1)
    await release_core(memory.core)


async def release_core(core: CoreVerbs) -> None:
    """Give back a core from `acquire_core`; the last user of a core opened here closes it (a core
    registered by its owner stays open)."""
    async with _registry_lock():
        for key, entry in list(_cores.items()):
            if entry.core is core:
                entry.users -= 1
                if entry.users <= 0 and entry.owned:
                    del _cores[key]
                    await core.close()
                return
