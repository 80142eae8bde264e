"""`omne memory add|search|get|history|forget|export|import|stats --json`, run in-process (the model loads once)."""

from __future__ import annotations

import io
import json
import sys

import pytest

from omne.cli import main


@pytest.fixture
def omne(capsys, monkeypatch, tmp_path, embedder):
    """Run one CLI command in this process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("OMNE_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("OMNE_QDRANT_URL", raising=False)

    def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with pytest.raises(SystemExit) as done:
            main(list(args))
        out = capsys.readouterr()
        return done.value.code or 0, out.out, out.err

    return run


def _json(result: tuple[int, str, str]):
    code, out, err = result
    assert code == 0, err
    return json.loads(out)


def test_memory_commands_round_trip_with_json(omne, tmp_path):
    me = ("--user", "kim", "--session", "s1")
    bike = _json(omne("memory", "add", "Kim named her road bike Pistachio.", "--kind", "message", "--role", "user",
                      "--tag", "bikes", "--event-time", "2024-05-01T10:00:00", *me, "--json"))
    assert bike["kind"] == "message" and bike["scope"] == {"user": "kim", "agent": None, "session": "s1",
                                                            "team": None}
    fact = _json(omne("memory", "add", "--kind", "fact", "--schema", "preference", "--data",
                      '{"holder": "Kim", "item": "espresso"}', *me, "--json", stdin="Kim likes espresso.".encode()))
    assert fact["text"] == "Kim likes espresso." and fact["data"]["sentiment"] == "likes"

    hits = _json(omne("memory", "search", "what is the name of the bicycle", "--user", "kim", "--json"))
    assert hits[0]["record"]["id"] == bike["id"] and hits[0]["rank"] == 1 and "dense" in hits[0]["stages"]
    assert _json(omne("memory", "search", "Pistachio", "--user", "kim", "--kind", "message", "--json"))[0][
        "stages"]["lexical"] == 1
    assert _json(omne("memory", "search", "Pistachio", "--user", "someone-else", "--json")) == []
    code, out, _ = omne("memory", "search", "Pistachio", "--user", "kim", "--explain")
    assert code == 0 and "lexical#1" in out and bike["id"] in out
    assert "ranker#1" in out and "features: " in out and "log_chars " in out  # what the ranker weighed
    assert hits[0]["features"]["log_chars"] > 0 and hits[0]["features"]["speaker"] == 0.0

    assert _json(omne("memory", "get", bike["id"], "--user", "kim", "--json")) == bike
    code, _, err = omne("memory", "get", bike["id"], "--user", "intruder")
    assert code == 1 and err.startswith("omne: error: no record") and err.count("\n") == 1

    forgotten = _json(omne("memory", "forget", fact["id"], "--user", "kim", "--json"))
    assert forgotten["deleted_at"] is not None
    (version,) = _json(omne("memory", "history", fact["id"], "--user", "kim", "--json"))
    assert version["text"] == "Kim likes espresso." and version["deleted_at"] == forgotten["deleted_at"]
    stats = _json(omne("memory", "stats", "--json"))
    assert stats["records"] == stats["vectors"] == 1 and stats["records_with_history"] == 2

    export = tmp_path / "kim.jsonl"
    code, _, err = omne("memory", "export", "--user", "kim", "--out", str(export))
    assert code == 0 and "wrote 2 lines" in err
    code, out, _ = omne("memory", "export", "--user", "kim")
    assert out == export.read_text("utf-8")
    fresh = tmp_path / "fresh"
    assert _json(omne("memory", "import", str(export), "--store", str(fresh), "--user", "kim", "--json")) == {
        "imported": 2, "optimized": False}  # small imports leave the index alone
    code, again, _ = omne("memory", "export", "--user", "kim", "--store", str(fresh))
    assert again == out
    stats = _json(omne("memory", "stats", "--store", str(fresh), "--user", "kim", "--json"))
    assert stats["records"] == stats["vectors"] == 1


def test_cli_errors_are_one_line(omne, tmp_path):
    code, _, err = omne("memory", "add", "--user", "u", stdin=b"\xff\xfe not utf-8")
    assert code == 1 and err == "omne: error: stdin is not valid UTF-8 text\n"
    code, _, err = omne("memory", "import", str(tmp_path / "missing.jsonl"), "--json")
    assert code == 1 and "no such file" in err and err.count("\n") == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "record", "record": {"kind": "fact"}}\n', "utf-8")
    code, _, err = omne("memory", "import", str(bad))
    assert code == 1 and err.startswith("omne: error: line 1:") and err.count("\n") == 1
    code, _, err = omne("memory", "import", str(tmp_path))
    assert code == 1 and err == f"omne: error: {tmp_path}: not a file; name a JSONL file written by `omne memory export`\n"


@pytest.mark.parametrize("fmt", ["jsonl", "sft"])
def test_export_to_a_path_it_cannot_write_is_one_line_naming_the_fix(omne, tmp_path, fmt):
    assert omne("memory", "add", "Kim's bike is red.", "--user", "kim")[0] == 0
    missing = tmp_path / "no-such-dir" / "kim.jsonl"
    code, _, err = omne("memory", "export", "--user", "kim", "--format", fmt, "-o", str(missing))
    assert code == 1 and err == (f"omne: error: cannot write {missing}: no directory {missing.parent}; create it "
                                 "or name another file with -o\n")
    code, _, err = omne("memory", "export", "--user", "kim", "--format", fmt, "-o", str(tmp_path))
    assert code == 1 and err == f"omne: error: cannot write {tmp_path}: it is a directory; name a file with -o\n"


def test_update_command_and_the_errors_a_new_user_meets(omne):
    me = ("--user", "kim")
    first = _json(omne("memory", "add", "Kim's bike is red.", *me, "--json"))
    code, out, err = omne("memory", "update", first["id"], "Kim's bike is blue.", "--tag", "bikes", *me)
    assert code == 0, err
    newest = out.strip().rsplit(" ", 1)[1]
    history = _json(omne("memory", "history", newest, *me, "--json"))
    assert [(v["text"], v["tags"]) for v in history] == [("Kim's bike is red.", []), ("Kim's bike is blue.", ["bikes"])]
    code, _, err = omne("memory", "update", first["id"], *me)
    assert code == 1 and err.startswith("omne: error: nothing to update") and err.count("\n") == 1

    code, _, err = omne("memory", "search", "bike", "--role", "wizard", *me)
    assert code == 1 and err == ("omne: error: unknown --role wizard; messages have the roles user, assistant, "
                                 "system, tool, agent\n")
    for args in (("memory", "search"), ("memory", "search", "bike", "--top-k", "many", *me),
                 ("memory", "search", "bike", "--bogus")):
        code, _, err = omne(*args)
        assert code == 2 and err.startswith("omne: error: ") and err.count("\n") == 1, err
        assert "omne memory search --help" in err


def test_large_import_optimises_the_index_and_optimize_runs_on_demand(omne, tmp_path, monkeypatch):
    import omne.cli.memory as memory_cli
    from omne.core import MemoryCore

    calls: list[str] = []
    original = MemoryCore.optimize

    async def spy(self):
        calls.append(str(self.config.store_dir))
        return await original(self)

    monkeypatch.setattr(MemoryCore, "optimize", spy)
    for i in range(3):
        assert omne("memory", "add", f"note {i}", "--user", "kim")[0] == 0
    export = tmp_path / "kim.jsonl"
    assert omne("memory", "export", "--user", "kim", "--out", str(export))[0] == 0
    assert calls == []

    monkeypatch.setattr(memory_cli, "OPTIMIZE_AFTER_IMPORT", 3)
    fresh = tmp_path / "fresh"
    code, out, err = omne("memory", "import", str(export), "--store", str(fresh), "--no-optimize", "--json")
    assert code == 0 and json.loads(out)["imported"] == 3 and calls == []
    other = tmp_path / "other"
    code, out, err = omne("memory", "import", str(export), "--store", str(other), "--json")
    assert code == 0 and calls == [str(other)] and "optimising the vector index" in err
    assert json.loads(out)["imported"] == 3

    result = _json(omne("memory", "optimize", "--store", str(other), "--json"))
    assert calls == [str(other), str(other)] and result["vectors"] == 3 and isinstance(result["optimized"], bool)


def test_store_and_server_together_are_refused_not_one_silently_ignored(omne, tmp_path, monkeypatch):
    url = "http://127.0.0.1:9"  # never reached: the two options are refused first
    monkeypatch.setenv("OMNE_URL", url)
    other = tmp_path / "other"
    for args in (("stats",), ("search", "bike", "--user", "kim"), ("add", "x", "--user", "kim")):
        code, _, err = omne("memory", *args, "--store", str(other))
        assert code == 1 and err == (f"omne: error: --store {other} opens a store in this process, but this command "
                                     f"runs through the server at {url} (--server or OMNE_URL): drop --store, or drop "
                                     "--server and unset OMNE_URL\n"), err
    assert not other.exists()


def test_counts_of_one_are_singular(omne, tmp_path):
    omne("memory", "add", "Kim rides on Sundays.", "--user", "kim")
    code, _, err = omne("memory", "export", "--user", "kim", "--out", str(tmp_path / "one.jsonl"))
    assert code == 0 and "wrote 1 line to" in err
    code, out, _ = omne("memory", "import", str(tmp_path / "one.jsonl"), "--store", str(tmp_path / "copy"))
    assert code == 0 and out.strip() == "imported 1 line"
    code, out, _ = omne("memory", "optimize", "--store", str(tmp_path / "copy"))
    assert code == 0 and out.strip() == "1 vector indexed"
