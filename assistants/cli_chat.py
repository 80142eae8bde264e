"""`omne chat`: a terminal chat with a Simple or Reactive responder and persistent memory per user."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import ModelClientStreamingChunkEvent, ThoughtEvent, ToolCallRequestEvent

from assistants.loading import build_responder
from assistants.responder import Responder
from assistants.settings import ResponderSettings, load_responder_settings
from assistants.tools import task_tools
from omne.config import OmneConfig, read_yaml_mapping
from omne.core import MemoryCore
from omne.errors import StoreLockedError
from omne.llm import ModelNotConfiguredError, load_model_config, make_client, model_call_failure
from omne.service import served_store_error
from omne.types import Scope

EXIT_WORDS = {"/exit", "/quit", "exit", "quit"}

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _model_config(config: Path | None):  # noqa: ANN202 - ModelConfig | None
    """The model from the config file's `model:` section if it has one, else from the environment."""
    has_model = config is not None and "model" in read_yaml_mapping(config, what="config",
                                                                      example="configs/responder.example.yaml")
    found = load_model_config(config if has_model else None)
    if found is None:
        raise ModelNotConfiguredError(
            "omne chat needs a language model: set OPENAI_API_KEY (and OPENAI_BASE_URL for any OpenAI-compatible "
            "server; OMNE_MODEL for its model name), or pass --config with a `model:` section like "
            "configs/model.example.yaml")
    return found


def _default_user() -> str:
    try:
        return getpass.getuser() or "local"
    except (KeyError, OSError):
        return "local"


@app.command()
def chat(
    store: Annotated[Path | None, typer.Option("--store", help="Memory store (default: $OMNE_STORE or the user data dir).")] = None,
    server: Annotated[str | None, typer.Option("--server", envvar="OMNE_URL", help=(
        "Use the store an `omne serve` server holds (e.g. http://127.0.0.1:8765) instead of --store; the API key "
        "comes from $OMNE_API_KEY."))] = None,
    user: Annotated[str | None, typer.Option("--user", help="Whose memory (default: the login name).")] = None,
    responder: Annotated[str, typer.Option("--responder", help="simple, reactive, or package.module:Class.")] = "",
    config: Annotated[Path | None, typer.Option("--config", help="YAML with `responder:` and/or `model:` sections.")] = None,
    name: Annotated[str, typer.Option("--name", help="The responder's name (its private memory scope).")] = "assistant",
    tools: Annotated[bool, typer.Option("--tools/--no-tools", help="Give the responder the task tools.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show plans, progress checks and tool calls.")] = False,
) -> None:
    """Chat in the terminal with a responder that remembers you across sessions. Type /exit to leave."""
    settings = load_responder_settings(config)
    model = _model_config(config)  # fail before opening anything when no model is configured
    kind = responder or settings.kind
    asyncio.run(_chat(store, server, user or _default_user(), kind, settings, model, name, tools, verbose))


async def _chat(store: Path | None, server: str | None, user: str, kind: str, settings: ResponderSettings,
                model, name: str, with_tools: bool, verbose: bool) -> None:  # noqa: ANN001
    core = MemoryCore.connect(server) if server else await _open_store(OmneConfig.from_env(store))
    client = make_client(model)
    where = f"server {server}" if server else f"store {core.config.store_dir}"
    try:
        agent = build_responder(kind, client, name=name, settings=settings, memory=core, user=user,
                                tools=task_tools() if with_tools else (), model_client_stream=True)
        if server:  # an unreachable server, a missing or wrong key: one error line now, not after the first turn
            await core.stats(Scope(user=user, agent=name))
        _say(f"omne chat: {type(agent).__name__} '{name}' for user '{user}' ({where}); /exit to leave.")
        while True:
            sys.stdout.write("you> ")
            sys.stdout.flush()
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                _say("")
                break
            text = line.strip()
            if not text:
                continue
            if text in EXIT_WORDS:
                break
            try:
                await _turn(agent, text, verbose)
            except Exception as exc:  # noqa: BLE001 - a failed model call ends the turn, not the chat
                failure = model_call_failure(exc)
                if failure is None:
                    raise
                sys.stdout.write("\n")
                sys.stderr.write(f"omne chat: error: {failure}. What you said is kept; try again, or /exit.\n")
                sys.stderr.flush()
    finally:
        await core.close()
        await client.close()


async def _open_store(config: OmneConfig) -> MemoryCore:
    try:
        return await MemoryCore.open(config=config)
    except StoreLockedError as exc:
        raise served_store_error(config.store_dir, exc, advice="chat through it: omne chat --server {url}") from exc


async def _turn(agent: Responder, text: str, verbose: bool) -> None:
    sys.stdout.write(f"{agent.name}> ")
    streamed = False
    async for item in agent.run_stream(task=text):
        if isinstance(item, ModelClientStreamingChunkEvent):
            sys.stdout.write(item.content)
            sys.stdout.flush()
            streamed = True
        elif verbose and isinstance(item, (ThoughtEvent, ToolCallRequestEvent)):
            sys.stderr.write(f"  · {item.to_text()}\n")
        elif isinstance(item, TaskResult) and not streamed:
            sys.stdout.write(item.messages[-1].to_text())
    sys.stdout.write("\n")
    sys.stdout.flush()


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def run_cli(args: list[str]) -> None:
    """Entry from `omne chat` (omne/cli registers a thin forwarder so omne never imports assistants early)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    code = app(args=args, prog_name="omne chat", standalone_mode=False)  # errors: one line, from omne.cli.main
    if isinstance(code, int) and code:
        raise SystemExit(code)
