"""The `omne` command line. User errors print one line on stderr and exit non-zero."""

from __future__ import annotations

import os
import sys

import typer
from pydantic import ValidationError

from omne.errors import OmneError
from omne.validation import describe_validation_error


def build_app() -> typer.Typer:
    from omne.cli import bench, construction, demo, mcp, memory, serve

    app = typer.Typer(help="Omne: long-term memory for AutoGen agents.", no_args_is_help=True,
                      pretty_exceptions_enable=False, add_completion=False)
    app.add_typer(memory.app, name="memory")
    app.add_typer(bench.app, name="bench")
    app.command("demo")(demo.demo)
    app.command("chat", add_help_option=False,
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                help="Chat in the terminal with a responder that remembers you (omne chat --help).")(_chat)
    app.command("worker")(construction.worker)
    app.command("serve")(serve.serve)
    app.command("inspect")(serve.inspect)
    app.add_typer(serve.keys_app, name="keys")
    app.command("mcp")(mcp.mcp)
    return app


def _chat(ctx: typer.Context) -> None:
    from assistants.cli_chat import run_cli  # imported only when used: omne never depends on assistants

    run_cli(list(ctx.args))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `omne` console script."""
    try:
        code = build_app()(args=argv, prog_name="omne", standalone_mode=False)
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
