"""`omne bench locomo`: ingest each conversation through MemoryCore, ask every question through search."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from tqdm import tqdm

from benchmarks.locomo.cv import CVReport, QuestionScore, cross_validate, fitted_report, tuning_grid
from benchmarks.locomo.data import CATEGORIES, Conversation, load_locomo
from benchmarks.locomo.metrics import expand_to_turns, pack_within, percentile_ms, recall_at
from benchmarks.locomo.ranker_fit import RankerExample, fit_ranker, ranker_example
from omne.core import MemoryCore
from omne.embedding import Embedder, MiniLMEmbedder
from omne.errors import InvalidInputError
from omne.graph import GraphBuilder
from omne.retrieval.models import RetrievalConfig
from omne.retrieval.stages import PRESETS
from omne.storage.index_payload import index_text
from omne.types import Record, RecordKind, Scope

KS = (5, 10, 25, 50)
BUDGETS = (500, 1000, 2000)
ABLATIONS = ("lexical", "dense", "fused", "fused_graph", "full_without_graph", "default_without_context",
             "default_hand_tuned", "default", "full")
SEARCH_KINDS = [k for k in RecordKind if k not in (RecordKind.ENTITY, RecordKind.BLOCK)]


class QueryCachingEmbedder:
    """Wraps an embedder; single-text calls (queries) are cached so ablations embed each question once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts)
        if texts[0] not in self._cache:
            self._cache[texts[0]] = self.inner.embed(texts)[0]
        return self._cache[texts[0]][None, :]

    def embed_query(self, text: str) -> np.ndarray:
        """The inner embedder's query path (cached like single texts), so timings see what search does."""
        key = "\x00query\x00" + text
        if key not in self._cache:
            fast = getattr(self.inner, "embed_query", None)
            self._cache[key] = fast(text) if fast is not None else self.inner.embed([text])[0]
        return self._cache[key]

    @property
    def tokenizer(self) -> Any:
        return getattr(self.inner, "tokenizer", None)


class AblationResult(BaseModel):
    recall_at: dict[str, dict[str, float]]
    recall_within_tokens: dict[str, dict[str, float]]
    latency_ms: dict[str, float]


class LocomoReport(BaseModel):
    """What one run measured; `recall_at` and `latency_ms` at the top are the full pipeline's."""

    recall_at: dict[str, dict[str, float]]
    latency_ms: dict[str, float]
    questions: int
    recall_within_tokens: dict[str, dict[str, float]] = Field(default_factory=dict)
    ablations: dict[str, AblationResult] = Field(default_factory=dict)
    conversations: int = 0
    turns: int = 0
    ingest_s: float = 0.0
    total_s: float = 0.0
    evidence_irregular: int = 0  # questions whose evidence ids were repaired or dropped
    questions_without_evidence: int = 0
    data: str = ""
    machine: dict[str, Any] = Field(default_factory=dict)
    cv: dict[str, CVReport] = Field(default_factory=dict)  # per ablation: leave-one-conversation-out (`--cv`)


def turn_records(conv: Conversation, scope: Scope) -> list[Record]:
    """One message record per turn: speaker as name, the session's date-time as event time."""
    return [Record(kind=RecordKind.MESSAGE, scope=scope.model_copy(update={"session": f"session_{s.number}"}),
                   text=turn.text, role="user", name=turn.speaker, event_time=s.when,
                   metadata={"dia_id": turn.dia_id, "locomo_sample": conv.sample_id})
            for s in conv.sessions for turn in s.turns]


def _summarise(values: dict[str, list[float]]) -> dict[str, float]:
    return {key: round(float(np.mean(v)), 4) for key, v in values.items() if v}


class _Tally:
    def __init__(self) -> None:
        self.recall: dict[int, dict[str, list[float]]] = {k: defaultdict(list) for k in KS}
        self.budget: dict[int, dict[str, list[float]]] = {b: defaultdict(list) for b in BUDGETS}
        self.latency: list[float] = []

    def add(self, category: str, recalls: dict[int, float], budgets: dict[int, float], latency: float) -> None:
        for k, value in recalls.items():
            self.recall[k]["overall"].append(value)
            self.recall[k][category].append(value)
        for b, value in budgets.items():
            self.budget[b]["overall"].append(value)
            self.budget[b][category].append(value)
        self.latency.append(latency)

    def result(self) -> AblationResult:
        return AblationResult(
            recall_at={str(k): _summarise(v) for k, v in self.recall.items()},
            recall_within_tokens={str(b): _summarise(v) for b, v in self.budget.items()},
            latency_ms={"p50": percentile_ms(self.latency, 50), "p95": percentile_ms(self.latency, 95)})


def _token_counter(embedder: Any) -> Any:
    tokenizer = getattr(embedder, "tokenizer", None)
    if tokenizer is not None:
        return lambda text: len(tokenizer.encode(text, add_special_tokens=False))
    return lambda text: len(text.split())  # whitespace words (offline fallback)


async def run_locomo(path: Path | str, *, ablations: Sequence[str] = ABLATIONS, progress: bool = True,
                     store_dir: Path | None = None, embedder: Embedder | None = None,
                     configs: dict[str, RetrievalConfig] | None = None, cv: bool = False) -> LocomoReport:
    """Run the benchmark. The headline (`default`, what MemoryCore.open searches with, else `full`, else the
    first ablation named) is timed end to end, query embedding included; the others reuse its query vector.
    With `cv`, a tuning grid around each hybrid ablation is also searched and cross-validated
    (see benchmarks.locomo.cv); the grids share the store and the cached query vectors."""
    configs = {**PRESETS, **(configs or {})}
    unknown = [a for a in ablations if a not in configs]
    if unknown or not ablations:
        raise InvalidInputError(f"unknown ablation(s) {', '.join(unknown) or '(none named)'}; choose from "
                                f"{', '.join(configs)}")
    headline = next((a for a in ("default", "full") if a in ablations), ablations[0])
    order = [headline, *[a for a in ablations if a != headline]]
    learned = [name for name in order if cv and configs[name].ranker is not None]
    grids = {name: {f"{name}/{key}": c for key, c in tuning_grid(configs[name]).items()}
             for name in order if cv and configs[name].mode == "hybrid" and name not in learned}
    for grid in grids.values():
        configs = {**configs, **grid}
        order += [name for name in grid if name not in order]
    scores: dict[str, list[QuestionScore]] = {name: [] for name in order}
    started = time.perf_counter()
    conversations = load_locomo(path)
    base = QueryCachingEmbedder(embedder or MiniLMEmbedder.shared())
    count_tokens = _token_counter(base)
    tallies = {name: _Tally() for name in order}
    ingest_s = 0.0
    total_questions = sum(len(c.questions) for c in conversations)
    asked: list[_Asked] = []
    fitted: dict[str, CVReport] = {}
    with tempfile.TemporaryDirectory(prefix="omne-locomo-") as tmp:
        core = await MemoryCore.open(store_dir or Path(tmp) / "store", embedder=base, write_hooks=[GraphBuilder()])
        try:
            bar = tqdm(total=total_questions, desc="locomo", unit="q", disable=not progress, leave=False)
            for number, conv in enumerate(conversations):
                scope = Scope(user=f"locomo-{number}-{conv.sample_id}")
                bar.set_postfix_str(f"ingest {conv.sample_id}")
                t0 = time.perf_counter()
                records = await core.add(turn_records(conv, scope))  # one batch: embedded together
                ingest_s += time.perf_counter() - t0
                turn_of = {r.id: r.metadata["dia_id"] for r in records}
                asked.append(_Asked(number=number, conversation=conv, scope=scope, turn_of=turn_of))
                texts = {r.id: index_text(r) for r in records}
                sources: dict[str, list[str]] = {}
                tokens: dict[str, int] = {}

                def sources_of(record_id: str) -> list[str]:
                    return sources.get(record_id, [])

                def cost(record_id: str) -> int:
                    if record_id not in tokens:
                        tokens[record_id] = count_tokens(texts.get(record_id, ""))
                    return tokens[record_id]

                bar.set_postfix_str(conv.sample_id)
                for question in conv.questions:
                    for name in order:
                        t0 = time.perf_counter()
                        hits = await core.search(question.question, scope=scope, top_k=max(KS), kinds=SEARCH_KINDS,
                                                 config=configs[name])
                        latency = time.perf_counter() - t0
                        for hit in hits:
                            texts.setdefault(hit.record.id, hit.record.text)
                            if hit.record.id not in turn_of:
                                sources[hit.record.id] = list(hit.record.source_ids)
                        await _load_provenance(core, scope, [h.record for h in hits], sources, texts, turn_of)
                        ids = [h.record.id for h in hits]
                        turns = expand_to_turns(ids, turn_of, sources_of, limit=max(KS))
                        recalls = {k: recall_at(question.evidence, turns, k) for k in KS}
                        budgets = {b: recall_at(question.evidence,
                                                expand_to_turns(pack_within(ids, cost, b), turn_of, sources_of),
                                                10**9) for b in BUDGETS}
                        tallies[name].add(question.category, recalls, budgets, latency)
                        scores[name].append(QuestionScore(conversation=number, category=question.category,
                                                          recall=recalls))
                    bar.update(1)
            bar.close()
            for name in learned:
                fitted[name] = await _cross_validate_ranker(core, asked, name, configs[name])
        finally:
            await core.close()
    results = {name: tallies[name].result() for name in order}
    main = results[order[0]]
    samples = [c.sample_id for c in conversations]
    estimates = {name: cross_validate(scores, samples, grid, KS) for name, grid in grids.items()}
    estimates.update(fitted)
    return LocomoReport(
        recall_at=main.recall_at, latency_ms=main.latency_ms, questions=total_questions,
        recall_within_tokens=main.recall_within_tokens,
        ablations={name: results[name] for name in ablations}, conversations=len(conversations),
        turns=sum(len(c.turns) for c in conversations), ingest_s=round(ingest_s, 2),
        total_s=round(time.perf_counter() - started, 2),
        evidence_irregular=sum(q.irregular for c in conversations for q in c.questions),
        questions_without_evidence=sum(not q.evidence for c in conversations for q in c.questions),
        data=str(path), machine=machine_info(), cv=estimates)


@dataclass(frozen=True)
class _Asked:
    """A conversation as ingested: where its turns live and which record is which turn."""

    number: int
    conversation: Conversation
    scope: Scope
    turn_of: dict[str, str]


async def _recall_of(core: MemoryCore, conv: _Asked, config: RetrievalConfig) -> list[QuestionScore]:
    """Each question's recall@k under `config` (turns only: the ranker's ablations search messages)."""
    scores: list[QuestionScore] = []
    for question in conv.conversation.questions:
        hits = await core.search(question.question, scope=conv.scope, top_k=max(KS), kinds=SEARCH_KINDS,
                                 config=config)
        turns = [conv.turn_of[h.record.id] for h in hits if h.record.id in conv.turn_of]
        scores.append(QuestionScore(conversation=conv.number, category=question.category,
                                    recall={k: recall_at(question.evidence, turns, k) for k in KS}))
    return scores


async def _cross_validate_ranker(core: MemoryCore, asked: Sequence[_Asked], name: str,
                                 config: RetrievalConfig) -> CVReport:
    """Fit the ranker of `config` on all conversations but one, score the one left out, for each in turn; then fit
    on all (the weights to ship, with their in-sample recall). Every candidate's features come from one search per
    question with a top_k above the ranker's pool; the candidates do not depend on the weights."""
    if config.ranker is None:
        raise InvalidInputError(f"{name} has no ranker to fit")
    pool = config.ranker.pool
    examples: dict[int, list[RankerExample]] = {}
    for conv in asked:
        for question in conv.conversation.questions:
            hits = await core.search(question.question, scope=conv.scope, top_k=1000, kinds=SEARCH_KINDS,
                                     config=config)
            evidence = set(question.evidence)
            example = ranker_example(hits, lambda record_id: conv.turn_of.get(record_id) in evidence)
            if example is not None:
                examples.setdefault(conv.number, []).append(example)

    def fitted(keep: Sequence[_Asked]) -> RetrievalConfig:
        ranker = fit_ranker([e for c in keep for e in examples.get(c.number, [])], pool=pool)
        return config.model_copy(update={"ranker": ranker})

    fits: dict[str, RetrievalConfig] = {}
    held_out: list[tuple[str, str, list[QuestionScore]]] = []
    for conv in asked:
        key = f"{name}/fitted without {conv.conversation.sample_id}"
        fits[key] = fitted([c for c in asked if c is not conv])
        held_out.append((conv.conversation.sample_id, key, await _recall_of(core, conv, fits[key])))
    everyone_key = f"{name}/fitted on all"
    fits[everyone_key] = fitted(asked)
    everyone = [s for conv in asked for s in await _recall_of(core, conv, fits[everyone_key])]
    return fitted_report(held_out, everyone, fits, KS)


async def _load_provenance(core: MemoryCore, scope: Scope, hits: list[Record], sources: dict[str, list[str]],
                           texts: dict[str, str], turn_of: dict[str, str]) -> None:
    """Fetch derived records' sources (summaries of summaries) until every chain ends in turns."""
    frontier = [s for r in hits if r.id not in turn_of for s in r.source_ids if s not in turn_of and s not in sources]
    while frontier:
        found = await core.get_many(list(dict.fromkeys(frontier)), scope=scope)
        frontier = []
        for record in found:
            sources[record.id] = list(record.source_ids)
            texts.setdefault(record.id, record.text)
            frontier += [s for s in record.source_ids if s not in turn_of and s not in sources]


def machine_info() -> dict[str, Any]:
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}


def category_names() -> list[str]:
    return ["overall", *CATEGORIES.values()]
