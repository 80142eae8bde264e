"""SIGKILL during writes, ingest and construction jobs: nothing acknowledged is lost, indexes reconcile,
unfinished jobs resume and finish once. Five seeded trials here; `benchmarks/crash_trials.py` runs the
full count (see benchmarks/RESULTS-reliability.md)."""

from __future__ import annotations

import pytest

from tests.reliability.crash_harness import run_trial
from omne.testing import HashEmbedder

TRIALS = [("write", 101, False), ("write", 102, False), ("write", 103, True), ("construct", 104, False),
          ("construct", 105, False)]


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "seed", "docs"), TRIALS)
def test_sigkill_loses_no_acknowledged_write(tmp_path, mode, seed, docs):
    result = run_trial(mode, seed, tmp_path / "store", HashEmbedder(), rounds=2, docs=docs)
    assert result.acked_records > 0, "the child acknowledged nothing before the kill; the trial proves nothing"
    if mode == "construct":
        assert result.acked_jobs + result.jobs_done > 0
