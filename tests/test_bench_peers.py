"""`omne bench locomo --peers`: the flag, the peer runner's JSONL contract (with a fake peer), scoring and the
side-by-side table. No peer is installed here: the real peers run only in `omne bench locomo --peers`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.locomo.data import parse_conversation
from benchmarks.peers import venv as peers_venv
from benchmarks.peers.protocol import Add, Done, Hits, Ingested, Search, Setup, read_output, write_lines
from benchmarks.peers.side_by_side import SystemRow, parse_peers, render_side_by_side, run_peer
from omne.errors import InvalidInputError

ROOT = Path(__file__).resolve().parent.parent
FAKE = "tests.fake_peer:FakePeer"


def _run_runner(tmp_path: Path, lines: list, peer: str = FAKE) -> subprocess.CompletedProcess:
    write_lines(tmp_path / "in.jsonl", lines)
    return subprocess.run([sys.executable, "-m", "benchmarks.peers.runner", "--peer", peer, "--input",
                           str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl")],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120)


def test_unknown_peer_is_rejected_before_anything_runs(omne_cli, tmp_path):
    result = omne_cli("bench", "locomo", "--data", str(tmp_path / "never-read.json"), "--no-progress",
                      "--peers", "mem0,letta")
    assert result.returncode == 1
    assert result.stderr.strip() == ("omne: error: --peers: unknown peer(s) 'letta'; "
                                     "known peers: mem0, autogen-chroma")


def test_parse_peers():
    assert parse_peers(None) == []
    assert parse_peers(" autogen-chroma , mem0,mem0") == ["autogen-chroma", "mem0"]
    with pytest.raises(InvalidInputError, match=r"\(none named\); known peers: mem0, autogen-chroma"):
        parse_peers(" , ")


def test_runner_follows_the_jsonl_contract_with_a_fake_peer(tmp_path):
    ballast = np.ones(300 * 2**20, dtype=np.uint8)  # this process holds 300 MiB more than the runner will
    lines = [Setup(model_path="/models/minilm", k=2),
             Add(scope="a", id="D1:1", text="one"), Add(scope="a", id="D1:2", text="two"),
             Add(scope="a", id="D1:3", text="three"),
             Search(scope="a", qid="0:0", query="anything"),
             Add(scope="b", id="D1:1", text="other"),
             Search(scope="b", qid="1:0", query="anything"), Search(scope="b", qid="1:1", query="which model?"),
             Search(scope="b", qid="1:2", query="which environment?")]
    result = _run_runner(tmp_path, lines)
    assert result.returncode == 0, result.stderr
    out = list(read_output(tmp_path / "out.jsonl"))
    assert [type(line) for line in out] == [Ingested, Hits, Ingested, Hits, Hits, Hits, Done]
    assert (out[0].scope, out[0].turns, out[2].scope, out[2].turns) == ("a", 3, "b", 1)
    assert out[1].qid == "0:0" and out[1].ids == ["D1:1", "D1:2"]  # k = 2 of the scope's turns, in its order
    assert out[3].ids == ["D1:1"] and out[4].ids == ["/models/minilm"]  # scopes apart; the model path passed
    assert out[5].ids == ["HF_HUB_OFFLINE=1", "OMP_NUM_THREADS=1"]  # set before the peer imports its library
    assert all(line.seconds >= 0 for line in out[:6])
    done = out[-1]
    assert done.peer == FAKE and done.versions["pydantic"]
    # both connections the fake peer tried were refused and recorded
    assert done.network_attempts == ["resolve localhost:9", "connect ('127.0.0.1', 9)"]
    # its own peak, not this (launching) process's: ru_maxrss would carry ours across fork and exec
    assert 0 < done.peak_rss_mib < 250 < ballast.nbytes / 2**20


def test_runner_rejects_input_without_a_setup_line_and_unknown_peers(tmp_path):
    result = _run_runner(tmp_path, [Search(scope="a", qid="0", query="q")])
    assert result.returncode != 0 and "the first line, and only it, must be the setup line" in result.stderr
    result = _run_runner(tmp_path, [Setup(model_path="m", k=1)], peer="letta")
    assert result.returncode != 0
    assert "unknown peer 'letta'; known peers: mem0, autogen-chroma (or module:Class)" in result.stderr
    (tmp_path / "in.jsonl").write_text('{"op": "add", "scope": "a"}\n')
    result = subprocess.run([sys.executable, "-m", "benchmarks.peers.runner", "--peer", FAKE, "--input",
                             str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl")],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert result.returncode != 0 and "in.jsonl:1: not a line of the peer runner's contract" in result.stderr


def _conversation(sample_id: str) -> dict:
    turns = [{"speaker": "Ana" if i % 2 else "Bo", "dia_id": f"D1:{i}", "text": f"turn {i}"} for i in range(1, 8)]
    return {"sample_id": sample_id, "conversation": {"speaker_a": "Ana", "speaker_b": "Bo",
                                                     "session_1_date_time": "1:56 pm on 8 May, 2023",
                                                     "session_1": turns},
            "qa": [{"question": "first?", "evidence": ["D1:1"], "category": 4},
                   {"question": "first and sixth?", "evidence": ["D1:1", "D1:6"], "category": 1}]}


def test_run_peer_scores_ranked_ids_with_the_harness_recall(tmp_path):
    conversations = [parse_conversation(_conversation("c1")), parse_conversation(_conversation("c2"))]
    row = run_peer(sys.executable, FAKE, conversations, "unused", k=50, say=lambda _: None)
    # the fake returns the turns in order: D1:1 ranks 1st, D1:6 6th
    assert row.recall_at["5"] == {"overall": 0.75, "single_hop": 1.0, "multi_hop": 0.5}
    assert row.recall_at["10"]["overall"] == row.recall_at["25"]["overall"] == 1.0
    assert row.ingest_turns_per_s > 0 and row.search_ms["p95"] >= row.search_ms["p50"] >= 0
    assert row.system == FAKE and len(row.network_attempts) == 2  # the fake tries two connections, once
    assert row.load_average is not None and min(row.load_average) >= 0


def test_side_by_side_table():
    rows = [SystemRow(system="Omne `default`", recall_at={"5": {"overall": 0.677}, "10": {"overall": 0.7821},
                                                            "25": {"overall": 0.854}},
                      ingest_turns_per_s=108.44, search_ms={"p50": 9.61, "p95": 13.04}, peak_rss_mib=1421.2,
                      load_average=(1.44, 2.06)),
            SystemRow(system="mem0 2.2.1", recall_at={"5": {"overall": 0.3771}, "10": {"overall": 0.459},
                                                      "25": {"overall": 0.594}},
                      ingest_turns_per_s=41.5, search_ms={"p50": 55.7, "p95": 116.3}, peak_rss_mib=747.0,
                      network_attempts=["connect ('127.0.0.1', 9)"])]
    assert render_side_by_side(rows).splitlines() == [
        "| system | R@5 | R@10 | R@25 | ingest turns/s | search p50 / p95 ms | peak RSS MiB | load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
        "| Omne `default` | 0.677 | 0.782 | 0.854 | 108 | 9.6 / 13.0 | 1,421 | 1.4 -> 2.1 |",
        "| mem0 2.2.1 | 0.377 | 0.459 | 0.594 | 42 | 55.7 / 116.3 | 747 | - |",
        "",
        "Network connections attempted by the peers (refused by the runner): mem0 2.2.1: connect ('127.0.0.1', 9)"]


def test_peers_venv_installs_only_when_missing_or_repinned(tmp_path, monkeypatch):
    calls: list[list[str]] = []

    def fake_run(step, **kwargs):
        calls.append(step)
        if step[1:3] == ["-m", "venv"]:
            peers_venv.python_of(Path(step[3])).parent.mkdir(parents=True)
            peers_venv.python_of(Path(step[3])).touch()
        return subprocess.CompletedProcess(step, 0)

    monkeypatch.setattr(peers_venv.subprocess, "run", fake_run)
    venv = tmp_path / "peers-venv"
    python = peers_venv.ensure_peers_venv(venv, say=lambda _: None)
    assert python == peers_venv.python_of(venv)
    assert calls[0] == [sys.executable, "-m", "venv", str(venv)]
    install = calls[1]
    assert install[:4] == [str(python), "-m", "pip", "install"] and str(peers_venv.REQUIREMENTS) in install
    assert str(ROOT / "constraints-cpu.txt") in install  # torch's CPU wheel
    calls.clear()
    assert peers_venv.ensure_peers_venv(venv, say=lambda _: None) == python and calls == []  # up to date
    (venv / peers_venv.STAMP).write_text("older pins\n")
    peers_venv.ensure_peers_venv(venv, say=lambda _: None)
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "pip", "install"]  # reinstalled, venv kept


def test_peers_venv_failure_names_the_log_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(peers_venv.subprocess, "run", lambda step, **kw: subprocess.CompletedProcess(step, 1))
    with pytest.raises(peers_venv.PeerEnvironmentError, match=r"see .*peers-venv-install\.log.*PyPI"):
        peers_venv.ensure_peers_venv(tmp_path / "peers-venv", say=lambda _: None)
