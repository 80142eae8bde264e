"""`omne memory ...`: add, search, get, update, history, forget, export, import, stats, optimize, migrate."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from omne.cli.common import (
    AgentOpt, JsonOpt, Server, SessionOpt, StoreOpt, TeamOpt, UserOpt, counted, emit, open_store, optional_scope,
    parse_time, scope_of, use_server,
)
from omne.errors import InvalidInputError
from omne.sync import SyncMemoryCore
from omne.types import Record
from omne.validation import make_record

app = typer.Typer(help="Read and write long-term memory.", no_args_is_help=True)


@app.callback()
def _connection(
    server: Annotated[str | None, typer.Option("--server", envvar="OMNE_URL", help=(
        "Run the command through an `omne serve` server (e.g. http://127.0.0.1:8765) instead of opening "
        "the store in this process."))] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="OMNE_API_KEY",
                                                help="API key for --server (see `omne keys`).")] = None,
) -> None:
    """Read and write long-term memory (embedded, or through a server with --server / OMNE_URL)."""
    use_server(Server(url=server, api_key=api_key or None) if server else None)

OPTIMIZE_AFTER_IMPORT = 10_000  # records; below this an import leaves the index as it is
ROLES = ("user", "assistant", "system", "tool", "agent")  # the roles Omne writes on messages


def _read_text(text: str | None) -> str:
    """The text argument, or stdin for '-' / none."""
    if text is not None and text != "-":
        return text
    try:
        return sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("stdin is not valid UTF-8 text") from None


def _json_object(data: str | None) -> dict[str, Any] | None:
    try:
        payload = None if data is None else json.loads(data)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"--data is not valid JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise InvalidInputError("--data nests too deeply; flatten it") from None
    if payload is not None and not isinstance(payload, dict):
        raise InvalidInputError("--data must be a JSON object")
    return payload


def _line(record: Record) -> str:
    when = record.when.strftime("%Y-%m-%d %H:%M")
    who = f" {record.role or record.name}:" if (record.role or record.name) else ""
    state = "" if record.live else (" [forgotten]" if record.deleted_at else " [superseded]")
    return f"{record.id}  {when}  {record.kind.value}{state}{who} {record.text}"


@app.command()
def add(
    text: Annotated[str | None, typer.Argument(help="The text to remember; '-' or omitted reads stdin.")] = None,
    kind: Annotated[str, typer.Option(help="message, summary, fact, insight, document or block.")] = "fact",
    role: Annotated[str | None, typer.Option(help="Message role (user, assistant, ...).")] = None,
    name: Annotated[str | None, typer.Option(help="Speaker or author name.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag; repeat for several.")] = None,
    importance: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.5,
    event_time: Annotated[str | None, typer.Option(help="When it happened (ISO date-time).")] = None,
    schema: Annotated[str | None, typer.Option(help="Fact schema name for --data.")] = None,
    data: Annotated[str | None, typer.Option(help="Structured fact data as JSON.")] = None,
    store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    team: TeamOpt = None, as_json: JsonOpt = False,
) -> None:
    """Add one record."""
    scope = scope_of(user, agent, session, team)
    text = _read_text(text)
    payload = _json_object(data)
    record = make_record(text=text, kind=kind, scope=scope, role=role, name=name, tags=tag or [],
                         importance=importance, event_time=parse_time(event_time, "--event-time"),
                         schema_name=schema, data=payload)
    with open_store(store) as core:
        stored = core.add(record)[0]
    emit(stored.model_dump(mode="json"), as_json, stored.id)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=1000)] = 10,
    kind: Annotated[list[str] | None, typer.Option(help="Restrict to a record kind; repeatable.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Any of these tags; repeatable.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Message role; repeatable.")] = None,
    start: Annotated[str | None, typer.Option(help="Not before (ISO date-time).")] = None,
    end: Annotated[str | None, typer.Option(help="Not after (ISO date-time).")] = None,
    explain: Annotated[bool, typer.Option(help="Show which stage found each hit, and the features it was "
                                                "scored by.")] = False,
    store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    team: TeamOpt = None, as_json: JsonOpt = False,
) -> None:
    """Hybrid search within a scope."""
    scope = scope_of(user, agent, session, team)
    unknown = sorted(set(role or ()) - set(ROLES))
    if unknown:
        raise InvalidInputError(f"unknown --role {', '.join(unknown)}; messages have the roles {', '.join(ROLES)}")
    since, until = parse_time(start, "--start"), parse_time(end, "--end")  # refuse bad dates before opening
    with open_store(store, must_exist=True) as core:
        hits = core.search(query, scope=scope, top_k=top_k, kinds=kind, tags=tag, roles=role, start=since, end=until)
    from omne.ingest import format_location

    if as_json:
        emit([{"rank": h.rank, "score": h.score, "stages": h.stages, "features": h.features,
               "location": format_location(h.record) or None, "record": h.record.model_dump(mode="json")}
              for h in hits], True)
        return
    for hit in hits:
        how = f"  [{', '.join(f'{s}#{hit.stages[s]}' for s in hit.found_by)}]" if explain else ""
        typer.echo(f"{hit.rank:>3}. {hit.score:.4f}{how}  {_line(hit.record)}")
        if explain and hit.features:
            typer.echo("     features: " + ", ".join(f"{name} {value:.3f}" for name, value in hit.features.items()))
        if location := format_location(hit.record):
            typer.echo(f"     location: {location}")
    if not hits:
        typer.echo("no matches")


@app.command()
def get(record_id: str, store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None,
        session: SessionOpt = None, team: TeamOpt = None, as_json: JsonOpt = False) -> None:
    """Show one record."""
    scope = scope_of(user, agent, session, team)
    with open_store(store, must_exist=True) as core:
        record = core.get(record_id, scope=scope)
    emit(record.model_dump(mode="json"), as_json, _line(record))


@app.command("list")
def list_(
    kind: Annotated[list[str] | None, typer.Option(help="Restrict to a record kind; repeatable.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Any of these tags; repeatable.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Message role; repeatable.")] = None,
    start: Annotated[str | None, typer.Option(help="Not before (ISO date-time).")] = None,
    end: Annotated[str | None, typer.Option(help="Not after (ISO date-time).")] = None,
    contains: Annotated[str | None, typer.Option(help="Only records whose text contains this.")] = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    newest_first: Annotated[bool, typer.Option("--newest-first")] = False,
    store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    team: TeamOpt = None, as_json: JsonOpt = False,
) -> None:
    """List a scope's live records in time order (filtered, not ranked)."""
    scope = scope_of(user, agent, session, team)
    since, until = parse_time(start, "--start"), parse_time(end, "--end")
    with open_store(store, must_exist=True) as core:
        records = core.list(scope=scope, kinds=kind, tags=tag, roles=role, start=since, end=until,
                            text_contains=contains, limit=limit, newest_first=newest_first)
    emit([r.model_dump(mode="json") for r in records], as_json, "\n".join(_line(r) for r in records) or "no records")


@app.command()
def update(
    record_id: str,
    text: Annotated[str | None, typer.Argument(help="The new text; '-' reads stdin; omit to keep the text.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Replace the tags; repeat for several.")] = None,
    importance: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    event_time: Annotated[str | None, typer.Option(help="When it happened (ISO date-time).")] = None,
    data: Annotated[str | None, typer.Option(help="New structured fact data as JSON.")] = None,
    store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    team: TeamOpt = None, as_json: JsonOpt = False,
) -> None:
    """Write a new version of a record; the old one stays in its history."""
    scope = scope_of(user, agent, session, team)
    changes = {"text": _read_text(text) if text is not None else None, "tags": tag, "importance": importance,
               "event_time": parse_time(event_time, "--event-time"), "data": _json_object(data)}
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise InvalidInputError("nothing to update: give new text, --tag, --importance, --event-time or --data")
    with open_store(store) as core:
        record = core.update(record_id, scope=scope, **changes)
    emit(record.model_dump(mode="json"), as_json, f"updated {record_id}: new version {record.id}")


@app.command()
def history(record_id: str, store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None,
            session: SessionOpt = None, team: TeamOpt = None, as_json: JsonOpt = False) -> None:
    """Show every version of a record, oldest first."""
    scope = scope_of(user, agent, session, team)
    with open_store(store, must_exist=True) as core:
        versions = core.history(record_id, scope=scope)
    emit([v.model_dump(mode="json") for v in versions], as_json,
         "\n".join(f"v{v.version}  {_line(v)}" for v in versions))


@app.command()
def forget(record_id: str, store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None,
           session: SessionOpt = None, team: TeamOpt = None, as_json: JsonOpt = False) -> None:
    """Delete a record from search; the log keeps it as history."""
    scope = scope_of(user, agent, session, team)
    with open_store(store, must_exist=True) as core:
        record = core.forget(record_id, scope=scope)
    emit(record.model_dump(mode="json"), as_json, f"forgot {record.id}")


@app.command("export")
def export_(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl: lossless export (all versions and edges); sft: "
                                     "chat-format fine-tuning dataset, see omne.construction.sft.")] = "jsonl",
    store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    team: TeamOpt = None,
) -> None:
    """Export a scope as JSON lines (all versions and edges; lossless) or as an SFT dataset."""
    scope = scope_of(user, agent, session, team)
    if fmt not in ("jsonl", "sft"):
        raise InvalidInputError(f"--format must be jsonl or sft, got {fmt!r}")
    if out is not None:
        _check_writable(out)
    with open_store(store, must_exist=True) as core:
        if fmt == "sft":
            from omne.cli.construction import export_sft_to

            examples = export_sft_to(core, out, scope)
            if out is not None:
                typer.echo(f"wrote {counted(examples, 'example')} to {out}", err=True)
            return
        if out is None:
            core.export_jsonl(sys.stdout, scope=scope)
            return
        with out.open("w", encoding="utf-8") as handle:
            lines = core.export_jsonl(handle, scope=scope)
    typer.echo(f"wrote {counted(lines, 'line')} to {out}", err=True)


def _check_writable(out: Path) -> None:
    """Refuse an output path that cannot be a file before any work is done."""
    if out.is_dir():
        raise InvalidInputError(f"cannot write {out}: it is a directory; name a file with -o")
    if not out.parent.is_dir():
        raise InvalidInputError(f"cannot write {out}: no directory {out.parent}; create it or name another file "
                                "with -o")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A JSONL file written by `omne memory export`.")],
    store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    team: TeamOpt = None, as_json: JsonOpt = False,
    optimize_index: Annotated[bool, typer.Option(
        "--optimize/--no-optimize",
        help=f"Build the vector index's HNSW graph after importing {OPTIMIZE_AFTER_IMPORT:,}+ lines.")] = True,
) -> None:
    """Import an export; with scope options every line must fall inside that scope."""
    scope = optional_scope(user, agent, session, team)
    if not file.exists():
        raise InvalidInputError(f"{file}: no such file")
    if not file.is_file():
        raise InvalidInputError(f"{file}: not a file; name a JSONL file written by `omne memory export`")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InvalidInputError(f"{file}: not UTF-8 text") from None
    with open_store(store) as core:
        count = core.import_jsonl(lines, scope=scope)
        optimized = optimize_index and count >= OPTIMIZE_AFTER_IMPORT and _optimize(core)
    emit({"imported": count, "optimized": optimized}, as_json, f"imported {counted(count, 'line')}")


def _optimize(core: SyncMemoryCore) -> bool:
    typer.echo("optimising the vector index (about 45 s per 100k new records on 2 cores)...", err=True)
    start = time.perf_counter()
    built: bool = core.optimize()
    typer.echo(f"optimised in {time.perf_counter() - start:.1f} s" if built else "the index was already optimised",
               err=True)
    return built


@app.command()
def optimize(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Build the vector index's HNSW graph for records added since the last run (fast search on large
    scopes; the embedded index has no background optimiser). Safe to run any time; blocks while it runs."""
    with open_store(store) as core:
        built = _optimize(core)
        vectors = core.stats()["vectors"]
    emit({"optimized": built, "vectors": vectors}, as_json, f"{counted(vectors, 'vector')} indexed")


from omne.cli.construction import jobs as _jobs  # noqa: E402 - construction commands live in their own module

app.command("jobs")(_jobs)


@app.command()
def stats(store: StoreOpt = None, user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
          team: TeamOpt = None, as_json: JsonOpt = False) -> None:
    """Counts for the store (or for one scope when scope options are given)."""
    scope = optional_scope(user, agent, session, team)
    with open_store(store, must_exist=True) as core:
        data = core.stats(scope)
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


def _register_ingest() -> None:
    from omne.cli.ingest import ingest
    from omne.cli.migrate import migrate

    app.command("ingest")(ingest)
    app.command("migrate")(migrate)


_register_ingest()
