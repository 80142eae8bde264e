"""`omne bench ...`: benchmark commands (LoCoMo retrieval, GAIA-style tasks)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Run benchmarks.", no_args_is_help=True)


def _add_gaia() -> None:
    """`omne bench gaia ...`; the benchmarks package is optional (absent from a bare omne install)."""
    try:
        from benchmarks.gaia.cli import app as gaia_app
    except ModuleNotFoundError as exc:
        if exc.name in ("benchmarks", "benchmarks.gaia", "benchmarks.gaia.cli"):
            return
        raise
    app.add_typer(gaia_app, name="gaia")


_add_gaia()


@app.command("locomo")
def locomo_command(
    data: Path = typer.Option(..., "--data", help="A LoCoMo-format JSON file (a list of samples)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    ablations: str = typer.Option("lexical,dense,fused,fused_graph,full_without_graph,default,full", "--ablations",
                                  help="Comma-separated read-path presets to compare side by side."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    cv: bool = typer.Option(False, "--cv", help="Also report a leave-one-conversation-out cross-validated "
                                                "estimate beside the in-sample figure."),
    peers: str | None = typer.Option(None, "--peers", help="Also run peers on the same turns, scopes, model and "
                                     "k, in their own environment, and show one table: mem0, autogen-chroma."),
    peers_venv: Path = typer.Option(Path(".omne/peers-venv"), "--peers-venv",
                                    help="The peers' own virtual environment (created on first use)."),
) -> None:
    """LoCoMo retrieval: recall@5/10/25/50 overall and per category, token budgets, latency, ablations."""
    from benchmarks.locomo.cli import locomo  # the harness lives above omne/, imported only when run

    locomo(data=data, json_out=json_out, ablations=ablations, progress=progress, cv=cv, peers=peers,
           peers_venv=peers_venv)
