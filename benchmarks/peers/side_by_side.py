"""Omne and its peers on the same LoCoMo turns, scopes, model and k: one table (`omne bench locomo --peers`).

Omne's row comes from the harness run (benchmarks.locomo.runner); each peer runs as a subprocess in the
peers' own environment (benchmarks.peers.runner) and its ranked turn ids are scored here by the same
`recall_at` as Omne's.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from benchmarks.locomo.data import Conversation
from benchmarks.locomo.metrics import percentile_ms, recall_at
from benchmarks.locomo.runner import KS, LocomoReport, turn_records
from benchmarks.peers.protocol import PEERS, Add, Done, Hits, Ingested, Search, Setup, read_output, write_lines
from benchmarks.peers.runner import RUNNER_ENV, peak_rss_mib
from benchmarks.peers.venv import REPO, PeerEnvironmentError
from omne.errors import InvalidInputError
from omne.storage.index_payload import index_text
from omne.types import Scope

TABLE_KS = (5, 10, 25)
LABELS = {"mem0": "mem0 {mem0ai} (`add(infer=False)`, local Qdrant)",
          "autogen-chroma": "AutoGen {autogen-ext} `ChromaDBVectorMemory` (Chroma {chromadb})"}


class SystemRow(BaseModel):
    """One system's figures in the side-by-side table."""

    system: str
    recall_at: dict[str, dict[str, float]]  # k -> category (and "overall") -> mean recall
    ingest_turns_per_s: float
    search_ms: dict[str, float]  # p50, p95; one search of k hits, query embedding included
    peak_rss_mib: float
    setup_s: float | None = None  # a peer's imports and opening, before the first add
    versions: dict[str, str] = Field(default_factory=dict)
    network_attempts: list[str] = Field(default_factory=list)
    load_average: tuple[float, float] | None = None  # the machine's 1-minute load average at start and end


def load_now() -> float:
    """The machine's 1-minute load average (0 where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def parse_peers(text: str | None) -> list[str]:
    """Peer names from `--peers a,b`; an unknown name is an error naming the known ones."""
    names = list(dict.fromkeys(n.strip() for n in (text or "").split(",") if n.strip()))
    unknown = [n for n in names if n not in PEERS]
    if unknown or (text is not None and not names):
        raise InvalidInputError(f"--peers: unknown peer(s) {', '.join(map(repr, unknown)) or '(none named)'}; "
                                f"known peers: {', '.join(PEERS)}")
    return names


def scope_name(number: int, conv: Conversation) -> str:
    """The scope a conversation is stored under: the harness's, one per conversation."""
    return f"locomo-{number}-{conv.sample_id}"


def runner_input(conversations: Sequence[Conversation], model_path: str, k: int) -> list[Setup | Add | Search]:
    """The runner's input: every turn as the text Omne indexes (`Speaker: "text"`), then each question."""
    lines: list[Setup | Add | Search] = [Setup(model_path=model_path, k=k)]
    for number, conv in enumerate(conversations):
        scope = scope_name(number, conv)
        lines += [Add(scope=scope, id=r.metadata["dia_id"], text=index_text(r))
                  for r in turn_records(conv, Scope(user=scope))]
        lines += [Search(scope=scope, qid=f"{number}:{i}", query=q.question) for i, q in enumerate(conv.questions)]
    return lines


def score(conversations: Sequence[Conversation], output: Sequence[Ingested | Hits | Done], system: str) -> SystemRow:
    """A peer's row from its runner output: recall of its ranked turn ids, ingest rate, latency, memory."""
    hits = {line.qid: line for line in output if isinstance(line, Hits)}
    done = next((line for line in output if isinstance(line, Done)), None)
    if done is None:
        raise PeerEnvironmentError(f"{system}: the runner's output has no closing 'done' line (did it crash?)")
    recall: dict[int, dict[str, list[float]]] = {k: defaultdict(list) for k in TABLE_KS}
    for number, conv in enumerate(conversations):
        for i, question in enumerate(conv.questions):
            found = hits.get(f"{number}:{i}")
            if found is None:
                raise PeerEnvironmentError(f"{system}: no result for question {number}:{i} in the runner's output")
            for k in TABLE_KS:
                value = recall_at(question.evidence, found.ids, k)
                recall[k]["overall"].append(value)
                recall[k][question.category].append(value)
    ingested = [line for line in output if isinstance(line, Ingested)]
    ingest_s = sum(line.seconds for line in ingested)
    return SystemRow(
        system=system, recall_at={str(k): _means(v) for k, v in recall.items()},
        ingest_turns_per_s=round(sum(line.turns for line in ingested) / ingest_s, 1) if ingest_s else 0.0,
        search_ms={"p50": percentile_ms([h.seconds for h in hits.values()], 50),
                   "p95": percentile_ms([h.seconds for h in hits.values()], 95)},
        peak_rss_mib=done.peak_rss_mib, setup_s=done.setup_s, versions=done.versions,
        network_attempts=done.network_attempts)


def _means(values: dict[str, list[float]]) -> dict[str, float]:
    return {key: round(float(np.mean(v)), 4) for key, v in values.items() if v}


def omne_row(report: LocomoReport, name: str, load_at_start: float) -> SystemRow:
    """Omne's row from the harness run in this process (its headline ablation; peak RSS of this process)."""
    return SystemRow(system=f"Omne `{name}`", recall_at={str(k): report.recall_at[str(k)] for k in TABLE_KS},
                     ingest_turns_per_s=round(report.turns / report.ingest_s, 1) if report.ingest_s else 0.0,
                     search_ms=dict(report.latency_ms), peak_rss_mib=peak_rss_mib(),
                     load_average=(load_at_start, load_now()))


def run_peer(python: Path | str, peer: str, conversations: Sequence[Conversation], model_path: str, *,
             k: int = max(KS), say: Callable[[str], None] = print) -> SystemRow:
    """Run one peer in its environment's `python` on all conversations and score it."""
    with tempfile.TemporaryDirectory(prefix=f"omne-peer-{peer}-") as tmp:
        work = Path(tmp)
        write_lines(work / "in.jsonl", runner_input(conversations, model_path, k))
        log = work / "runner.log"
        env = {**os.environ, **RUNNER_ENV, "PYTHONPATH": str(REPO)}
        say(f"peer {peer}: running in {python} ...")
        started, load_at_start = time.perf_counter(), load_now()
        with log.open("w", encoding="utf-8") as err:
            done = subprocess.run([str(python), "-m", "benchmarks.peers.runner", "--peer", peer, "--input",
                                   str(work / "in.jsonl"), "--output", str(work / "out.jsonl"),
                                   "--workdir", str(work / "stores")],
                                  cwd=REPO, env=env, stdout=err, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise PeerEnvironmentError(f"peer {peer} failed (exit {done.returncode}); its last output:\n{tail}")
        output = list(read_output(work / "out.jsonl"))
    closing = next((line for line in output if isinstance(line, Done)), None)
    label = LABELS.get(peer, peer).format_map(defaultdict(lambda: "?", closing.versions if closing else {}))
    row = score(conversations, output, label).model_copy(update={"load_average": (load_at_start, load_now())})
    say(f"peer {peer}: done in {time.perf_counter() - started:.0f} s")
    return row


def render_side_by_side(rows: Sequence[SystemRow]) -> str:
    """The systems as one Markdown table (what RESULTS-locomo.md shows)."""
    lines = ["| system | R@5 | R@10 | R@25 | ingest turns/s | search p50 / p95 ms | peak RSS MiB | load (1 min) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        recall = " | ".join(f"{row.recall_at[str(k)]['overall']:.3f}" for k in TABLE_KS)
        load = f"{row.load_average[0]:.1f} -> {row.load_average[1]:.1f}" if row.load_average else "-"
        lines.append(f"| {row.system} | {recall} | {row.ingest_turns_per_s:,.0f} | "
                     f"{row.search_ms['p50']:.1f} / {row.search_ms['p95']:.1f} | {row.peak_rss_mib:,.0f} | {load} |")
    attempts = [f"{row.system}: {', '.join(row.network_attempts)}" for row in rows if row.network_attempts]
    lines.append("")
    lines.append("Network connections attempted by the peers (refused by the runner): "
                 + ("; ".join(attempts) if attempts else "none"))
    return "\n".join(lines)
