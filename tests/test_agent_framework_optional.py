"""The Agent Framework integration is optional: nothing else in omne imports it, and without the extra
`import omne.agent_framework` says how to install it. These tests run with and without the extra."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_omne_and_its_autogen_integration_do_not_import_agent_framework():
    done = _python("import sys, omne, omne.agents, omne.testing, omne.llm\n"
                   "print(sorted(m for m in sys.modules if m.startswith(('agent_framework', 'omne.agent_framework'))))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_the_extra_the_import_error_names_the_fix():
    done = _python("import sys\nsys.modules['agent_framework'] = None  # as if the extra were not installed\n"
                   "import omne.agents\nimport omne.agent_framework")
    assert done.returncode != 0
    assert 'omne.agent_framework needs Microsoft Agent Framework: pip install "omne[agent-framework]"' in done.stderr


def test_only_omne_agent_framework_imports_agent_framework():
    imports = re.compile(r"^\s*(?:import|from)\s+agent_framework\b", re.MULTILINE)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "omne").rglob("*.py")
                 if p.relative_to(ROOT / "omne").parts[0] != "agent_framework"
                 and imports.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
