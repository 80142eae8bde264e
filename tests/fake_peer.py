"""A fake peer for the peer runner's tests: returns a scope's turns in the order they were added, and tries
two loopback connections while opening (the runner must refuse and record it)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from benchmarks.peers.protocol import Add


class FakePeer:
    packages = ("pydantic",)

    def __init__(self, model_path: str, workdir: Path, k: int) -> None:
        self.k = k
        self.turns: dict[str, list[str]] = {}
        self.model_path = model_path
        for attempt in (lambda: socket.create_connection(("localhost", 9), timeout=1),
                        lambda: socket.socket().connect(("127.0.0.1", 9))):
            try:
                attempt()
            except OSError:
                pass

    def add(self, scope: str, turns: list[Add]) -> None:
        self.turns.setdefault(scope, []).extend(t.id for t in turns)

    def search(self, scope: str, query: str) -> list[str]:
        if query == "which model?":
            return [self.model_path]
        if query == "which environment?":
            return [f"{name}={os.environ.get(name)}" for name in ("HF_HUB_OFFLINE", "OMP_NUM_THREADS")]
        return self.turns.get(scope, [])[: self.k]

    def close(self) -> None:
        pass
