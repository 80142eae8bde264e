"""A CLI call through a server imports only what it needs: no numpy, torch, Qdrant or the embedded core (the
0.3 s goal of benchmarks/RESULTS-service.md (a) rests on this; timings live in the benchmark, not here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.server_proc import running_server

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "torch", "sentence_transformers", "qdrant_client", "qdrant_edge", "fastapi", "uvicorn",
         "omne.core", "omne.embedding", "omne.storage.sqlite_store", "omne.retrieval.pipeline", "omne.agents",
         "omne.construction", "omne.ingest.pipeline", "benchmarks",
         "httpx._main", "pygments", "rich.console")  # httpx's own CLI (about 0.09 s): omne never runs it

CHILD = textwrap.dedent('''
    import json, sys
    from omne.cli import main
    try:
        main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
    print(json.dumps({"code": code, "modules": sorted(m for m, v in sys.modules.items() if v is not None)}))
''')


def _modules_after(*args: str, env: dict[str, str]) -> tuple[int, set[str], str]:
    child = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    out = json.loads(child.stdout.strip().splitlines()[-1])
    return out["code"], set(out["modules"]), child.stdout + child.stderr


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_memory_commands_through_a_server_import_no_heavy_module(tmp_path):
    store = tmp_path / "store"
    with running_server(store) as server:
        env = {"OMNE_URL": server.url}
        code, modules, output = _modules_after("memory", "add", "tomatoes need sun", "--user", "ada", env=env)
        assert code == 0, output
        assert _heavy(modules) == []
        code, modules, output = _modules_after("memory", "--server", server.url, "search", "tomatoes",
                                               "--user", "ada", "--json", env={})
        assert code == 0 and "tomatoes need sun" in output, output
        assert _heavy(modules) == []
        assert "httpx" in modules and "omne.service.client" in modules  # it did go through the client


def _memory_commands(*args: str) -> set[str]:
    import typer.main

    from omne.cli import build_app

    root = typer.main.get_command(build_app(args[0], args[1:]))
    memory = root.commands["memory"]  # type: ignore[attr-defined]
    return set(memory.commands)


def test_a_memory_call_builds_only_its_own_subcommand():
    assert _memory_commands("memory", "search") == {"search"}
    assert _memory_commands("memory", "list") == {"list"}  # a command named apart from its function
    url = "http://127.0.0.1:8765"  # the group's own options before the command, in both spellings
    assert _memory_commands("memory", "--server", url, "--api-key", "k", "search", "x") == {"search"}
    assert _memory_commands("memory", f"--server={url}", "stats") == {"stats"}
    assert _memory_commands("memory", "--api-key", "stats", "get", "x") == {"get"}  # a value, not the command


def test_help_group_options_and_typos_still_see_every_memory_command():
    everything = _memory_commands("memory")
    assert {"add", "search", "get", "list", "stats", "jobs", "ingest", "migrate"} <= everything
    assert _memory_commands("memory", "--server") == everything  # a group option and no command
    assert _memory_commands("memory", "serch") == everything  # click then suggests "search"
    assert _memory_commands("memory", "--help") == everything


def test_a_mistyped_memory_command_is_named_with_a_suggestion():
    code, _, output = _modules_after("memory", "serch", "x", env={})
    assert code == 2 and "No such command 'serch'" in output and "Did you mean 'search'?" in output, output
