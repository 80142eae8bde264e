"""Leave-one-conversation-out cross-validation: each fold is tuned without its own conversation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.locomo.cv import QuestionScore, cross_validate, tuning_grid
from omne.cli import build_app
from omne.errors import InvalidInputError
from omne.retrieval.models import RANKER_FEATURES, RetrievalConfig
from omne.retrieval.stages import PRESETS

TINY = Path(__file__).parent / "data" / "locomo-tiny.json"
KS = (5, 10)


def _scores(per_conversation: list[float]) -> list[QuestionScore]:
    return [QuestionScore(conversation=c, category="single_hop", recall={5: r, 10: r})
            for c, r in enumerate(per_conversation)]


def test_each_fold_picks_the_config_best_on_the_other_conversations():
    grid = {"a": RetrievalConfig(), "b": RetrievalConfig(mode="lexical")}
    # `a` fits conversation 0 alone; `b` is better on the rest. In sample `a` wins (mean 0.6 vs 0.5) ...
    scores = {"a": _scores([1.0, 0.4, 0.4]), "b": _scores([0.0, 0.75, 0.75])}
    report = cross_validate(scores, ["c0", "c1", "c2"], grid, KS)
    assert report.in_sample_best == "a" and report.in_sample_recall_at == {"5": 0.6, "10": 0.6}
    # ... but holding out conversation 0 picks `b` (scores 0 there); holding out 1 or 2 picks `a` (0.7 > 0.375)
    assert [f.chosen for f in report.folds] == ["b", "a", "a"]
    assert [f.recall_at["5"] for f in report.folds] == [0.0, 0.4, 0.4]
    assert report.recall_at == {"5": round(0.8 / 3, 4), "10": round(0.8 / 3, 4)}  # below the in-sample 0.6


def test_cross_validation_needs_two_conversations():
    with pytest.raises(InvalidInputError, match="at least two conversations"):
        cross_validate({"a": _scores([1.0])}, ["c0"], {"a": RetrievalConfig()}, KS)


def test_the_grid_varies_only_the_tunable_weights_and_holds_the_preset():
    default = PRESETS["default_weighted"]
    grid = tuning_grid(default)
    assert default in grid.values()  # the shipped weights are one point of the grid
    assert {c.speaker.boost for c in grid.values()} == {0.3, 0.5, 0.75}  # cues vary only where they are on
    assert all(c.temporal.boost == 2 * c.speaker.boost for c in grid.values())
    assert all(c.speaker is None and c.context is None for c in tuning_grid(PRESETS["fused_graph"]).values())
    assert {c.context.weight for c in grid.values()} == {0.25, 0.35, 0.5}  # the contextual share, where on
    assert {c.dense.weight for c in grid.values()} == {0.2, 0.3, 0.4} and len(grid) == 81
    assert all(abs(c.dense.weight + c.lexical.weight - 1) < 1e-9 for c in grid.values())


def test_bench_locomo_cv_reports_the_estimate_beside_the_in_sample_figure(tmp_path, embedder):
    sample = json.loads(TINY.read_text())[0]
    data = tmp_path / "two.json"
    data.write_text(json.dumps([sample, {**sample, "sample_id": "tiny-copy"}]))
    out = tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), ["bench", "locomo", "--data", str(data), "--json", str(out),
                                              "--ablations", "default", "--cv", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "cross-validation" in result.output and "held out tiny-copy" in result.output
    report = json.loads(out.read_text())
    cv = report["cv"]["default"]
    assert [f["held_out"] for f in cv["folds"]] == [sample["sample_id"], "tiny-copy"]
    assert set(report["ablations"]) == {"default"}  # the grid is not reported as ablations
    # the default's ranker is fitted without the held-out conversation, then on both (the weights to ship)
    assert [f["chosen"] for f in cv["folds"]] == [f"default/fitted without {s}" for s in (sample["sample_id"],
                                                                                        "tiny-copy")]
    assert cv["in_sample_best"] == "default/fitted on all" and "fitted on all: R@5" in result.output
    assert set(cv["grid"]["default/fitted on all"]["ranker"]["weights"]) == set(RANKER_FEATURES)
    # two identical conversations: the estimate equals the in-sample figure of the chosen configuration
    assert cv["recall_at"] == cv["in_sample_recall_at"]
