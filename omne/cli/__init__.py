"""The `omne` command line. User errors print one line on stderr and exit non-zero."""

from __future__ import annotations

import atexit
import copy
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated

# httpx imports its own command-line tool (httpx._main: click, rich, pygments; about 0.09 s) whenever those are
# installed, as they are beside typer. The omne CLI never runs httpx's tool, so it takes httpx's documented
# fallback for a missing tool: a None entry makes that import fail (before anything imports httpx).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: the import system says "missing"

import typer  # noqa: E402 - after the entry above
from pydantic import ValidationError  # noqa: E402
from typer.utils import get_params_from_function  # noqa: E402

from omne.errors import OmneError, describe_validation_error  # noqa: E402


# Each command: the module that defines it (under omne.cli) and the Typer (sub-app) or function it exports.
# The module is imported only when its command is built.
COMMANDS: dict[str, tuple[str, str]] = {
    "memory": ("memory", "app"), "bench": ("bench", "app"), "demo": ("demo", "demo"), "chat": ("", ""),  # see _add
    "worker": ("construction", "worker"), "serve": ("serve", "serve"), "inspect": ("serve", "inspect"),
    "keys": ("serve", "keys_app"), "mcp": ("mcp", "mcp"),
}


def build_app(command: str | None = None, rest: Sequence[str] = ()) -> typer.Typer:
    """The `omne` app; given the `command` a call runs, only that command is built (a CLI call then imports only
    what it needs: `omne memory --server URL ...` stays light), and of a command group such as `memory` only
    the subcommand that `rest` (the arguments after the command) names (click builds every command it holds)."""
    app = typer.Typer(help="Omne: long-term memory for AutoGen agents.", no_args_is_help=True,
                      pretty_exceptions_enable=False, add_completion=False)
    app.callback()(_root)  # a group even when only one command is built
    if command in COMMANDS:
        _add(app, command, rest)
    else:
        for name in COMMANDS:
            _add(app, name)
    return app


def _root(database: Annotated[str | None, typer.Option(
        "--database", envvar="OMNE_DATABASE_URL", show_envvar=True,
        help="Keep the record log in PostgreSQL (postgresql://user:password@host:port/db) instead of the store "
             "directory's SQLite file; vectors stay in the store directory or the Qdrant server.")] = None) -> None:
    """Omne: long-term memory for AutoGen agents."""
    if database:  # every command reads its store configuration from the environment (OmneConfig.from_env)
        os.environ["OMNE_DATABASE_URL"] = database


def _add(app: typer.Typer, name: str, rest: Sequence[str] = ()) -> None:
    if name == "chat":  # its options are the chat's own (assistants.cli_chat parses them)
        app.command("chat", add_help_option=False,
                    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                    help="Chat in the terminal with a responder that remembers you (omne chat --help).")(_chat)
        return
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(f"omne.cli.{module}"), attribute)
    if isinstance(target, typer.Typer):
        app.add_typer(_only(target, rest), name=name)
    else:
        app.command(name)(target)


def _only(group: typer.Typer, rest: Sequence[str]) -> typer.Typer:
    """`group` with only the command that `rest` names after the group's own options; `group` itself when `rest`
    names none of its commands (`omne memory --help`, a mistyped name: click then lists or suggests them all)."""
    name = _named_command(rest, _valued_options(group))
    kept = [info for info in group.registered_commands if _command_name(info) == name]
    if not kept:
        return group
    pruned = copy.copy(group)  # the group's own settings and callback, one command
    pruned.registered_commands = kept
    return pruned


def _named_command(rest: Sequence[str], valued: set[str]) -> str | None:
    """The first argument that is not one of the group's options (`--opt value`, `--opt=value`, a flag)."""
    tokens = iter(rest)
    for token in tokens:
        if token in valued:
            next(tokens, None)  # the option's value
        elif not token.startswith("-"):
            return token
    return None


def _valued_options(group: typer.Typer) -> set[str]:
    """The names of the group callback's options that take a value (every one but the boolean flags)."""
    callback = group.registered_callback.callback if group.registered_callback else None
    if callback is None:
        return set()
    names: set[str] = set()
    for param in get_params_from_function(callback).values():
        info = param.default
        if isinstance(info, typer.models.OptionInfo) and param.annotation is not bool:
            names.update(d for d in info.param_decls or (f"--{param.name.replace('_', '-')}",) if d.startswith("-"))
    return names


def _command_name(info: typer.models.CommandInfo) -> str | None:
    if info.name:
        return info.name
    return info.callback.__name__.lower().replace("_", "-") if info.callback else None  # typer's default name


def _chat(ctx: typer.Context) -> None:
    from assistants.cli_chat import run_cli  # imported only when used: omne never depends on assistants

    run_cli(list(ctx.args))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `omne` console script; `argv` None: this process's own arguments, and it ends after."""
    if argv is None:
        # The interpreter's last collections walk every object the imports made (about 45 ms a call, measured);
        # the command has closed what it opened by then, so at exit they are left to the OS.
        atexit.register(gc.freeze)
    # pydantic scans every installed package's entry points for its plugins (about 20 ms) when the first model
    # is built; the CLI uses none. PYDANTIC_DISABLE_PLUGINS set to anything, even "", is left as it is.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        args = sys.argv[1:] if argv is None else argv
        app = build_app(args[0] if args else None, args[1:])
        code = app(args=args, prog_name="omne", standalone_mode=False)
    except typer.TyperException as exc:  # click's errors, as typer ships them
        if type(exc).__name__ == "NoArgsIsHelpError":  # `omne` or `omne memory` alone: the help was shown
            raise SystemExit(0) from None
        context = getattr(exc, "ctx", None)
        hint = f" (see {context.command_path} --help)" if context is not None else ""
        _fail(exc.format_message().replace("\n", " ") + hint, code=getattr(exc, "exit_code", 2) or 2)
    except typer.Abort:
        _fail("interrupted", code=130)
    except OmneError as exc:
        _fail(str(exc))
    except ValidationError as exc:
        _fail(f"invalid input: {describe_validation_error(exc)}")
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback unless asked
        if os.environ.get("OMNE_DEBUG"):
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (set OMNE_DEBUG=1 for the traceback)")
    raise SystemExit(code if isinstance(code, int) else 0)  # as click's standalone mode ends


def _fail(message: str, code: int = 1) -> None:
    sys.stderr.write(f"omne: error: {message}\n")
    raise SystemExit(code)
