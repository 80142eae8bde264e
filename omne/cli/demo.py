"""`omne demo`: ingest a bundled sample conversation and answer memory queries from it, offline."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter
from typing_extensions import TypedDict  # pydantic validates typing's TypedDict only from Python 3.12

from omne.config import OmneConfig
from omne.sync import SyncMemoryCore
from omne.types import Record, RecordKind, Scope


class SampleSession(TypedDict):
    id: str
    date: str  # ISO 8601
    turns: list[tuple[str, str, str]]  # role, name, text


class SampleQuestion(TypedDict):
    question: str
    answer_turns: list[str]  # 'session:turn'


class Sample(TypedDict):
    title: str
    user: str
    sessions: list[SampleSession]
    questions: list[SampleQuestion]


def load_sample() -> Sample:
    """The bundled sample conversation (omne/data/sample_conversation.json)."""
    text = resources.files("omne.data").joinpath("sample_conversation.json").read_text("utf-8")
    return TypeAdapter(Sample).validate_json(text)


def sample_records(sample: Sample) -> dict[str, Record]:
    """One message record per turn, keyed 'session:turn' (as the questions' `answer_turns` name them), with
    its session and time (a minute apart within a session)."""
    records = {}
    for session in sample["sessions"]:
        start = datetime.fromisoformat(session["date"])
        scope = Scope(user=sample["user"], session=session["id"])
        for i, (role, name, text) in enumerate(session["turns"]):
            records[f"{session['id']}:{i}"] = Record(kind=RecordKind.MESSAGE, scope=scope, role=role, name=name,
                                                     text=text, event_time=start + timedelta(minutes=i))
    return records


def _answer_line(ranks: list[int | None], found: bool, top_k: int) -> str:
    """Where the question's answer turns ranked, best first: '   answer turns: rank 1 (in the top 3)'."""
    shown = ", ".join("not found" if r is None else f"rank {r}"
                      for r in sorted(ranks, key=lambda r: (r is None, r or 0)))
    return f"   answer turns: {shown} ({'in the top' if found else 'MISSED: not in the top'} {top_k})"


def demo(
    store: Annotated[Path | None, typer.Option("--store", help="Keep the demo store here (default: a temp dir).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=20)] = 3,
) -> None:
    """Ingest a sample conversation into an embedded store and answer memory queries from it."""
    sample = load_sample()
    with tempfile.TemporaryDirectory(prefix="omne-demo-") as tmp:
        config = OmneConfig(store_dir=store or Path(tmp))
        typer.echo(f"Store: {config.store_dir} (embedded: SQLite log + Qdrant Edge, MiniLM embeddings; no server, "
                   "no model key)")
        with SyncMemoryCore(config=config) as core:
            turns = sample_records(sample)
            stored = core.add(list(turns.values()))
            typer.echo(f"Ingested {len(stored)} messages from {len(sample['sessions'])} sessions of "
                       f"'{sample['title']}'.\n")
            scope = Scope(user=sample["user"])
            answered = 0
            for item in sample["questions"]:
                typer.echo(f"Q: {item['question']}")
                hits = core.search(item["question"], scope=scope, top_k=len(stored))
                for hit in hits[:top_k]:
                    rec = hit.record
                    typer.echo(f"   {hit.rank}. [{rec.when:%Y-%m-%d} {rec.scope.session} {rec.name}] {rec.text}"
                               f"   (found by: {', '.join(hit.found_by)})")
                rank_of = {hit.record.id: hit.rank for hit in hits}
                ranks = [rank_of.get(turns[key].id) for key in item["answer_turns"]]
                found = any(r is not None and r <= top_k for r in ranks)
                answered += found
                typer.echo(_answer_line(ranks, found, top_k) + "\n")
            typer.echo(f"{answered} of {len(sample['questions'])} questions have an answer turn in the top {top_k}.")
            stats = core.stats()
            typer.echo(f"Store holds {stats['records']} records and {stats['vectors']} vectors.")
