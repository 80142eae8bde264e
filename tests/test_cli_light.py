"""A CLI call through a server imports only what it needs: no numpy, torch, Qdrant or the embedded core (the
0.3 s goal of benchmarks/RESULTS-service.md (a) rests on this; timings live in the benchmark, not here)."""

from __future__ import annotations

import atexit
import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.server_proc import running_server

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "onnxruntime", "torch", "sentence_transformers", "qdrant_client", "qdrant_edge", "fastapi", "uvicorn",
         "omne.core", "omne.embedding", "omne.storage.sqlite_store", "omne.retrieval.pipeline", "omne.agents",
         "omne.construction", "omne.ingest.pipeline", "omne.ingest.models", "benchmarks",
         "httpx._main", "pygments", "rich.console",  # httpx's own CLI (about 0.09 s): omne never runs it
         "h2")  # HTTP/2, which httpcore imports whenever it is installed (about 10 ms): the client speaks HTTP/1.1

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


def test_the_console_entry_leaves_objects_to_the_os_and_skips_pydantic_plugins(monkeypatch, capsys):
    """The console script (argv None) freezes the garbage collector at exit (the interpreter's last collections
    cost about 45 ms a call) and skips pydantic's plugin scan, unless the user set PYDANTIC_DISABLE_PLUGINS;
    a caller passing argv (tests, scripts) keeps its process as it was."""
    from omne.cli import main

    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    monkeypatch.setattr(sys, "argv", ["omne", "--help"])
    with pytest.raises(SystemExit) as exit:
        main()
    assert exit.value.code == 0 and "memory" in capsys.readouterr().out
    assert registered == [gc.freeze] and os.environ["PYDANTIC_DISABLE_PLUGINS"] == "__all__"

    registered.clear()
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "")  # the user's choice: every plugin
    with pytest.raises(SystemExit):
        main(["--help"])
    assert registered == [] and os.environ["PYDANTIC_DISABLE_PLUGINS"] == ""
