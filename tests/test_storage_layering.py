"""One owner per resource: only omne.storage touches the database (and knows its file), and only omne/core.py
touches a core's storage and index; every other module goes through MemoryCore's public verbs."""

from __future__ import annotations

import ast
from pathlib import Path

OMNE = Path(__file__).resolve().parents[1] / "omne"
OWNERS = {OMNE / "core.py"}
CORE_PRIVATE = {"_store", "_index", "_storage", "_retriever"}


def _outside_storage() -> list[Path]:
    return [p for p in sorted(OMNE.rglob("*.py")) if (OMNE / "storage") not in p.parents and p not in OWNERS]


def _violations(code: str, where: str) -> list[str]:
    tree = ast.parse(code)
    found: list[str] = []
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlite3" for a in node.names):
            found.append(f"{line} imports sqlite3")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlite3":
            found.append(f"{line} imports from sqlite3")
        elif isinstance(node, ast.Attribute):
            owner = ast.unparse(node.value)
            if node.attr in CORE_PRIVATE and owner != "self":
                found.append(f"{line} reaches into {owner}.{node.attr}")
            elif node.attr in ("store", "index") and owner.split(".")[-1] in ("core", "_core"):
                found.append(f"{line} reaches into {owner}.{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ".sqlite3" in node.value:
            found.append(f"{line} names the database file ({node.value!r})")
    return found


def test_only_storage_and_the_core_touch_the_database_and_the_index():
    modules = _outside_storage()
    assert len(modules) > 50  # the walk found the package
    assert [v for path in modules
            for v in _violations(path.read_text(encoding="utf-8"), str(path.relative_to(OMNE.parent)))] == []


def test_the_check_catches_what_it_looks_for():
    code = ("import sqlite3\nfrom sqlite3 import Row\nx = core.store.list\ny = self.core._index\n"
            "z = self._store\nw = 'records.sqlite3'\n")
    found = _violations(code, "sample.py")
    assert len(found) == 5 and not any("self._store" in v for v in found)
