"""The JSONL contract between `omne bench locomo --peers` and the peer runner (benchmarks.peers.runner).

The runner reads one input file, a line each:
  {"op": "setup", "model_path": ..., "k": 50}                       first line, once
  {"op": "add", "scope": ..., "id": "D1:3", "text": "Caroline: ..."}  one per turn, grouped by scope
  {"op": "search", "scope": ..., "qid": "0:12", "query": "..."}      one per question, after its scope's turns
and writes one output file:
  {"op": "ingested", "scope": ..., "turns": n, "seconds": s}        one per scope, ingest time of its turns
  {"op": "hits", "qid": ..., "ids": [...], "seconds": s}            one per search: turn ids best first
  {"op": "done", "peer": ..., ...}                                  last: versions, peak RSS, network attempts

This module imports only pydantic and the standard library: it is loaded on both sides, in Omne's
environment and in the peers' own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

# Known peers: the name `--peers` accepts -> the adapter class the runner loads ("module:Class").
PEERS: dict[str, str] = {
    "mem0": "benchmarks.peers.mem0_peer:Mem0Peer",
    "autogen-chroma": "benchmarks.peers.chroma_peer:ChromaPeer",
}


class Setup(BaseModel):
    op: Literal["setup"] = "setup"
    model_path: str  # the sentence-transformers model directory every system embeds with
    k: int = Field(gt=0)  # how many hits each search returns


class Add(BaseModel):
    op: Literal["add"] = "add"
    scope: str
    id: str  # the turn id the peer must return from search
    text: str


class Search(BaseModel):
    op: Literal["search"] = "search"
    scope: str
    qid: str
    query: str


class Ingested(BaseModel):
    op: Literal["ingested"] = "ingested"
    scope: str
    turns: int
    seconds: float


class Hits(BaseModel):
    op: Literal["hits"] = "hits"
    qid: str
    ids: list[str]
    seconds: float


class Done(BaseModel):
    op: Literal["done"] = "done"
    peer: str
    versions: dict[str, str] = Field(default_factory=dict)  # the peer's packages as installed
    setup_s: float = 0.0  # imports and opening the peer, before the first add
    peak_rss_mib: float  # the runner process's peak resident set size
    network_attempts: list[str] = Field(default_factory=list)  # connections the runner refused


InputLine = Annotated[Setup | Add | Search, Field(discriminator="op")]
OutputLine = Annotated[Ingested | Hits | Done, Field(discriminator="op")]
_INPUT: TypeAdapter[Setup | Add | Search] = TypeAdapter(InputLine)
_OUTPUT: TypeAdapter[Ingested | Hits | Done] = TypeAdapter(OutputLine)


def write_lines(path: Path, lines: Iterable[BaseModel]) -> None:
    """Write models as JSON lines."""
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line.model_dump_json() + "\n")


def _read(path: Path, adapter: TypeAdapter) -> Iterator:
    with path.open(encoding="utf-8") as src:
        for number, raw in enumerate(src, 1):
            if raw.strip():
                try:
                    yield adapter.validate_python(json.loads(raw))
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: not a line of the peer runner's contract: {exc}") from None


def read_input(path: Path) -> Iterator[Setup | Add | Search]:
    """The runner's input lines, validated."""
    return _read(path, _INPUT)


def read_output(path: Path) -> Iterator[Ingested | Hits | Done]:
    """The runner's output lines, validated."""
    return _read(path, _OUTPUT)
