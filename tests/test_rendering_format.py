"""The exact shape of a memory entry in a prompt: the provenance line (UTC date, id prefix, numbering), the
quoted text and the wrapper. Models and the tools that take ids back (`get_memory` takes the 8-character
prefix) read this shape, so it is pinned here, not only its safety (tests/test_prompt_injection.py).

Written for the mutation run of omne/agents/rendering.py (benchmarks/RESULTS-mutation.md): each assertion
names the surviving mutant it kills."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from omne.agents.rendering import day, header, minute, quote, render_record, retrieved, wrap
from omne.types import Record, RecordKind, Scope

# 01:30 on 2 May in UTC+02:00 is 23:30 on 1 May in UTC: a local-time rendering shows another day.
WHEN = datetime(2024, 5, 2, 1, 30, tzinfo=timezone(timedelta(hours=2)))
RECORD = Record(id="1a2b3c4d-5e6f-4777-8888-999999999999", kind=RecordKind.FACT,
                text="Ada likes tea.\n\nShe drinks it black.",
                scope=Scope(user="ada", session="s1"), event_time=WHEN)


@pytest.fixture
def far_local_zone(monkeypatch):
    """The process's local zone far from UTC (mutants `astimezone(None)` render local time)."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_dates_are_utc_whatever_the_local_zone(far_local_zone):
    assert day(WHEN) == "2024-05-01"  # not Tokyo's 2024-05-02; not "%y" (24-05-01) nor "%M-%D"
    assert minute(WHEN) == "2024-05-01 23:30 UTC"


def test_header_numbering_and_id_prefix():
    assert header(RECORD) == "2024-05-01 · fact, session s1 · id 1a2b3c4d"  # no "[n] " lead without a number
    assert header(RECORD, number=3).startswith("[3] 2024-05-01 · ")
    assert header(RECORD, who="user, session s1", details=["score 0.5", ""]) == (
        "2024-05-01 · user, session s1 · id 1a2b3c4d · score 0.5")


def test_render_record_quotes_each_line_and_keeps_blank_lines_bare():
    assert quote(" a\n\nb ") == "> a\n>\n> b"
    assert render_record(RECORD, number=1, stamp=minute) == (
        "[1] 2024-05-01 23:30 UTC · fact, session s1 · id 1a2b3c4d\n> Ada likes tea.\n>\n> She drinks it black.")
    assert render_record(RECORD, text="a summary instead").endswith("\n> a summary instead")


def test_wrapper_joins_entries_one_per_line_and_an_empty_one_has_no_blank_line():
    assert wrap("t", "intro", ["> a", "> b"]) == "<t>\nintro\n> a\n> b\n</t>"
    assert wrap("t", "intro", []) == "<t>\nintro\n</t>"
    assert retrieved(["> a"]).startswith("<retrieved_memories>\nMemories retrieved from your store")
