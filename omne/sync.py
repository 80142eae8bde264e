"""A thin synchronous wrapper for scripts and the CLI: each call runs the async method to completion."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a store is opened: a CLI call through a server never loads the core
    from omne.service.client import RemoteMemoryCore
    from omne.verbs import CoreVerbs


class SyncMemoryCore:
    """`MemoryCore` with blocking methods, driven by a private event loop. Use as a context manager."""

    def __init__(self, store_dir: Path | str | None = None, **open_kwargs: Any) -> None:
        from omne.core import MemoryCore

        self._start(MemoryCore.open(store_dir, **open_kwargs))

    @classmethod
    def connect(cls, url: str | None = None, *, api_key: str | None = None, timeout_s: float = 60.0) -> SyncMemoryCore:
        """The blocking client of an `omne serve` server (see `MemoryCore.connect`)."""
        from omne.service.client import RemoteMemoryCore

        async def connect() -> RemoteMemoryCore:
            return RemoteMemoryCore(url, api_key=api_key, timeout_s=timeout_s)

        self = cls.__new__(cls)
        self._start(connect())
        return self

    def _start(self, opening: Coroutine[Any, Any, CoreVerbs]) -> None:
        self._runner = asyncio.Runner()
        try:
            self._core: CoreVerbs = self._runner.run(opening)
        except BaseException:
            self._runner.close()
            raise

    @classmethod
    def open(cls, store_dir: Path | str | None = None, **open_kwargs: Any) -> SyncMemoryCore:
        """Open a store, as `MemoryCore.open` does, with blocking methods."""
        return cls(store_dir, **open_kwargs)

    @property
    def core(self) -> CoreVerbs:
        """The async core these methods drive: a store opened here, or the client of a server (`connect`)."""
        return self._core

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._core, name)
        if inspect.iscoroutinefunction(attr):
            @functools.wraps(attr)
            def call(*args: Any, **kwargs: Any) -> Any:
                return self._runner.run(attr(*args, **kwargs))
            return call
        return attr

    def close(self) -> None:
        try:
            self._runner.run(self._core.close())
        finally:
            self._runner.close()

    def __enter__(self) -> SyncMemoryCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
