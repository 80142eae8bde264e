"""The pytest plugin of the mutation runs (benchmarks/mutation/run.py loads it into each mutant's pytest).

- **Fastest first.** mutmut's fork server hands a mutant's tests to pytest in no particular order, and pytest stops
  at the first failure (`-x`), so a mutant that a 0.1 s test kills could wait for ten slow tests first. The tests
  are sorted by the call durations mutmut recorded in its stats run (`mutmut-stats.json` in the directory the tests
  run in); tests without one go last. Before the stats exist (mutmut's own stats run) the order is left alone.
- **No leftovers.** Each mutant's pytest ends with `os._exit`, so pytest never unlocks its temporary folder and never
  removes it (for three days): a run left gigabytes behind. The session's base temporary folder is removed when its
  tests are done.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

STATS = Path("mutmut-stats.json")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not STATS.is_file():
        return
    durations: dict[str, float] = json.loads(STATS.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


@pytest.fixture(scope="session", autouse=True)
def _remove_the_sessions_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    shutil.rmtree(tmp_path_factory.getbasetemp(), ignore_errors=True)
