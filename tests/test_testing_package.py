"""omne.testing as a user meets it: the README's "Testing your own responders" example runs as written."""

from __future__ import annotations

import os
import subprocess
import sys

from omne.testing import open_fast_core
from tests.conftest import ROOT


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Testing your own responders"):]
    return section[section.index("```python") + len("```python"):section.index("```\n", section.index("```python"))]


async def test_the_readme_testing_example_runs(tmp_path):
    code = readme_example()
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    await namespace["test_my_agent_saves_what_it_learns"](tmp_path)
    core = await open_fast_core(tmp_path / "store")  # the example closed its store: it can be reopened
    await core.close()


def test_the_readme_testing_example_passes_in_a_project_of_ones_own(tmp_path):
    # a user's project has pytest-asyncio but not Omne's `asyncio_mode = "auto"`: the example must say it is async
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_mine.py").write_text(readme_example(), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed" in result.stdout
