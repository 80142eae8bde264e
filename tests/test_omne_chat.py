"""`omne chat` driven in a terminal session (stdin/stdout) against the loopback OpenAI-compatible server."""

from __future__ import annotations

import os

import pytest

from assistants import ResponderSettings, load_responder_settings
from tests.conftest import ROOT
from omne.testing import Reply, ScriptedOpenAIServer

NO_MODEL = {k: "" for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OMNE_MODEL", "AZURE_OPENAI_ENDPOINT")}


@pytest.mark.slow  # two subprocesses, each loading the embedding model (about 8 s each on an idle machine)
def test_chat_remembers_the_user_across_sessions(omne_cli, tmp_path):
    store = tmp_path / "chat-store"
    with ScriptedOpenAIServer([Reply(content="Nice to meet Miso!"),
                               Reply(content="Your cat is called Miso.")]) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test-key", "OMNE_MODEL": "scripted"}
        first = omne_cli("chat", "--store", str(store), "--user", "dana", input="My cat is called Miso.\n/exit\n", env=env)
        assert first.returncode == 0, first.stderr
        assert "SimpleResponder 'assistant' for user 'dana'" in first.stdout
        assert "assistant> Nice to meet Miso!" in first.stdout
        second = omne_cli("chat", "--store", str(store), "--user", "dana", input="What is my cat called?\n", env=env)
        assert second.returncode == 0, second.stderr
        assert "assistant> Your cat is called Miso." in second.stdout
    assert len(server.requests) == 2 and all(r["stream"] for r in server.requests)
    system = server.requests[1]["messages"][0]["content"]
    assert "My cat is called Miso." in system and "Nice to meet Miso!" in system  # recalled from the first session
    assert server.requests[1]["messages"][-1] == {"role": "user", "content": "What is my cat called?", "name": "user"}


def test_chat_without_a_model_says_so_in_one_line(omne_cli, tmp_path):
    result = omne_cli("chat", "--store", str(tmp_path / "s"), input="hello\n", env=NO_MODEL)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("omne: error: omne chat needs a language model")
    assert "OPENAI_API_KEY" in result.stderr and not (tmp_path / "s").exists()


def test_example_responder_config_loads():
    settings = load_responder_settings(ROOT / "configs" / "responder.example.yaml")
    assert settings == ResponderSettings()  # the example documents the defaults
    assert os.path.isfile(ROOT / "configs" / "model.example.yaml")
    assert load_responder_settings(ROOT / "configs" / "model.example.yaml") == ResponderSettings()


def test_a_failed_model_call_ends_the_turn_not_the_chat(omne_cli, tmp_path):
    """The endpoint is down: each turn says so in one line, and the chat goes on until /exit."""
    config = tmp_path / "model.yaml"
    config.write_text("model:\n  model: local-model\n  base_url: http://127.0.0.1:9/v1\n  api_key: x\n"
                      "  max_retries: 0\n", encoding="utf-8")
    result = omne_cli("chat", "--store", str(tmp_path / "s"), "--config", str(config),
                      input="hello\nhello again\n/exit\n", env=NO_MODEL)
    assert result.returncode == 0, result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("omne chat: error: cannot reach the model endpoint") for e in errors)
    assert "Traceback" not in result.stderr


def test_the_readme_example_fails_in_one_line_naming_a_fix_it_can_use(tmp_path):
    import subprocess
    import sys

    def run(env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "examples" / "assistant_with_memory.py"), "Hi"],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path,
                              env={**os.environ, **NO_MODEL, "OMNE_MODEL_CONFIG": "", "PYTHONPATH": str(ROOT),
                                   **env})

    missing = run({})
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1, missing.stderr
    assert "OPENAI_API_KEY" in missing.stderr and "--config" not in missing.stderr
    assert "OMNE_MODEL_CONFIG" in missing.stderr
    down = run({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "x"})
    assert down.returncode == 1 and down.stderr.count("\n") == 1, down.stderr[-2000:]
    assert down.stderr.startswith("error: cannot reach the model endpoint")


def test_chat_through_a_server_it_cannot_use_says_so_before_the_first_turn(omne_cli, tmp_path):
    from tests.support.server_proc import free_port

    url = f"http://127.0.0.1:{free_port()}"
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "OMNE_URL": ""}
    result = omne_cli("chat", "--server", url, "--user", "ana", input="hello\n", env=env)
    assert result.returncode == 1 and result.stdout == "", result.stdout  # no banner, no prompt: nothing to type into
    assert result.stderr.startswith(f"omne: error: cannot reach the omne server at {url}")
    assert result.stderr.count("\n") == 1
