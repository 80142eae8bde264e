"""omne.testing as a user meets it: the README's "Testing your own responders" example runs as written."""

from __future__ import annotations

from omne.testing import open_fast_core
from tests.conftest import ROOT


async def test_the_readme_testing_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Testing your own responders"):]
    code = section[section.index("```python") + len("```python"):section.index("```\n", section.index("```python"))]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    await namespace["test_my_agent_saves_what_it_learns"](tmp_path)
    core = await open_fast_core(tmp_path / "store")  # the example closed its store: it can be reopened
    await core.close()
