"""Start an `omne serve` process on 127.0.0.1 and a free port for a test, and stop it afterwards; a client write loop
against one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from omne import Scope
from omne.sync import SyncMemoryCore

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path


def start_server(store: Path, *, fast: bool = True, require_keys: bool = False, port: int | None = None,
                 args: Sequence[str] = (), env: dict[str, str] | None = None) -> Server:
    """`fast`: the hashing test embedder (tests.support.serve_child); else the real `omne serve` with MiniLM.
    `args`: more options (`--worker`, `--model-config FILE`); `env`: more environment."""
    port = port or free_port()
    if fast:
        cmd = [sys.executable, "-m", "tests.support.serve_child", str(store), str(port)]
        cmd += ["--require-keys"] if require_keys else []
    else:
        cmd = [sys.executable, "-m", "omne", "serve", "--store", str(store), "--port", str(port), "--log-level",
               "warning"] + (["--require-keys"] if require_keys else [])
    cmd += list(args)
    log = store.parent / f"server-{port}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **(env or {})}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"omne serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"omne serve did not start in time: {log.read_text()[-2000:]}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


@contextmanager
def running_server(store: Path, **kwargs: object) -> Iterator[Server]:
    server = start_server(store, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop_server(server)


class WriteLoop:
    """A client thread adding records one by one until the server stops answering; `acked`: what it confirmed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: list[str] = []
        self.failed: list[str] = []
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        with SyncMemoryCore.connect(self.url) as client:
            for n in range(100_000):
                try:
                    self.acked.append(client.remember(f"note {n}", scope=Scope(user="u")).id)
                except Exception as exc:  # noqa: BLE001 - the server stopped mid-request: not acknowledged
                    self.failed.append(type(exc).__name__)
                    return

    def wait_for(self, count: int) -> None:
        while len(self.acked) < count and self.thread.is_alive():
            time.sleep(0.01)
