"""The peer runner: `python -m benchmarks.peers.runner --peer NAME --input IN --output OUT [--workdir DIR]`.

Runs in the peers' own environment (benchmarks/peers/venv.py), never in Omne's: it imports no `omne` module,
only the standard library, pydantic, the contract (benchmarks.peers.protocol) and the one adapter named.
Every network connection is refused and recorded (the `done` line lists them), so a run shows that the peer
reached nothing outside the process.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from benchmarks.peers.protocol import PEERS, Add, Done, Hits, Ingested, Search, Setup, read_input

# Set before any adapter imports its library: no hub download, no telemetry; and torch on one thread, as
# Omne embeds a query: both peers embed one text per call, where two OpenMP threads only spin and, on a
# shared machine, starve (MiniLM, one short question: 1.5-2.0 s on two threads against 0.17-0.21 s on one at
# load average 15 here; see benchmarks/RESULTS-locomo.md). This favours the peers, never handicaps them.
RUNNER_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
              "ANONYMIZED_TELEMETRY": "False", "MEM0_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false",
              "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Peer(Protocol):
    """What an adapter does: `cls(model_path, workdir, k)`, then adds turns and searches, a scope at a time."""

    packages: tuple[str, ...]  # distributions whose versions the report names

    def add(self, scope: str, turns: list[Add]) -> None: ...

    def search(self, scope: str, query: str) -> list[str]:
        """Turn ids (the `id` of `add`), best first, at most k."""
        ...

    def close(self) -> None: ...


class NetworkGuard:
    """Refuses every IP connection (and name look-up) made in this process and records what was tried."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def install(self) -> None:
        original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex
        guard = self

        def refuse(what: str) -> OSError:
            guard.attempts.append(what)
            return ConnectionRefusedError(f"network disabled by the peer runner ({what})")

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                raise refuse(f"connect {address}")
            return original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                refuse(f"connect {address}")
                return 111  # ECONNREFUSED
            return original_connect_ex(sock, address)

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            guard.attempts.append(f"resolve {host}:{port}")
            raise socket.gaierror(socket.EAI_NONAME, f"name look-up disabled by the peer runner ({host})")

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def load_adapter(peer: str) -> Callable[[str, Path, int], Peer]:
    """A known peer's adapter class, or any `module:Class` (tests use a fake peer this way)."""
    target = PEERS.get(peer, peer)
    if ":" not in target:
        raise SystemExit(f"unknown peer {peer!r}; known peers: {', '.join(PEERS)} (or module:Class)")
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def peak_rss_mib() -> float:
    """This process's peak resident set size: Linux's VmHWM, which starts afresh at exec (`ru_maxrss` keeps the
    launching process's peak across fork and exec, so a child would report its parent's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB; no /proc elsewhere


def _versions(packages: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def run(peer: str, input_path: Path, output_path: Path, workdir: Path) -> Done:
    """Feed the input to the peer, writing each result as it comes; returns the closing line."""
    lines = list(read_input(input_path))
    if not lines or not isinstance(lines[0], Setup) or any(isinstance(x, Setup) for x in lines[1:]):
        raise SystemExit(f"{input_path}: the first line, and only it, must be the setup line")
    setup = lines[0]
    os.environ.update(RUNNER_ENV)
    guard = NetworkGuard()
    guard.install()
    started = time.perf_counter()
    adapter = load_adapter(peer)(setup.model_path, workdir, setup.k)
    setup_s = time.perf_counter() - started
    with output_path.open("w", encoding="utf-8") as out:
        def emit(line: Ingested | Hits | Done) -> None:
            out.write(line.model_dump_json() + "\n")
            out.flush()

        batch: list[Add] = []

        def flush() -> None:
            if batch:
                t0 = time.perf_counter()
                adapter.add(batch[0].scope, list(batch))
                emit(Ingested(scope=batch[0].scope, turns=len(batch), seconds=time.perf_counter() - t0))
                batch.clear()

        for line in lines[1:]:
            if isinstance(line, Add):
                if batch and batch[0].scope != line.scope:
                    flush()
                batch.append(line)
            elif isinstance(line, Search):
                flush()
                t0 = time.perf_counter()
                ids = adapter.search(line.scope, line.query)
                emit(Hits(qid=line.qid, ids=list(ids)[:setup.k], seconds=time.perf_counter() - t0))
        flush()
        adapter.close()
        done = Done(peer=peer, versions=_versions(tuple(getattr(adapter, "packages", ()))),
                    setup_s=round(setup_s, 3), peak_rss_mib=peak_rss_mib(), network_attempts=guard.attempts)
        emit(done)
    return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers.runner", description=__doc__.split("\n")[0])
    parser.add_argument("--peer", required=True, help=f"one of {', '.join(PEERS)}, or module:Class")
    parser.add_argument("--input", required=True, type=Path, help="the JSONL input (benchmarks.peers.protocol)")
    parser.add_argument("--output", required=True, type=Path, help="where the JSONL results go")
    parser.add_argument("--workdir", type=Path, default=None, help="the peer's stores (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        run(args.peer, args.input, args.output, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="omne-peer-") as tmp:
        run(args.peer, args.input, args.output, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
