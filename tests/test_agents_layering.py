"""omne.agents is layered: no import cycle between its modules (function-level imports included), and the
AutoGen Memory adapter knows no other integration's internals."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

AGENTS = Path(__file__).resolve().parents[1] / "omne" / "agents"


def _imports(path: Path) -> set[str]:
    """Modules of omne.agents that `path` imports at run time (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("omne.agents"):
            if node.module == "omne.agents":
                found |= {a.name for a in node.names if (AGENTS / f"{a.name}.py").exists()}
            else:
                found.add(node.module.removeprefix("omne.agents."))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("omne.agents.") for a in node.names if a.name.startswith("omne.agents.")}
    return found


def test_omne_agents_has_no_import_cycle():
    graph = nx.DiGraph()
    for path in AGENTS.glob("*.py"):
        if path.stem != "__init__":
            graph.add_node(path.stem)
            graph.add_edges_from((path.stem, target) for target in _imports(path))
    assert list(nx.simple_cycles(graph)) == []


def test_the_memory_adapter_uses_no_other_integration():
    imported = _imports(AGENTS / "memory_adapter.py")
    assert not imported & {"context", "agent_memory", "tools"}
    assert "_MESSAGES" not in (AGENTS / "memory_adapter.py").read_text(encoding="utf-8")
