"""The learned ranker: what it weighs per candidate, that it lifts a reply through the message it answers, and
that its weights are fitted (benchmarks.locomo.ranker_fit) to what labelled questions reward."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from pydantic import ValidationError

from benchmarks.locomo.ranker_fit import RankerExample, fit_ranker, ranker_example
from omne import Record, RecordKind, RetrievalConfig, Scope
from omne.errors import InvalidInputError
from omne.retrieval.models import RANKER_FEATURES, FusionConfig, RankerConfig
from omne.retrieval.stages import PRESETS, RANKER_WEIGHTS

ANA = Scope(user="ana", session="s1")
TALK = [("Bo", "Our neighbours adopted two dogs last week."), ("Ana", "The cat sleeps on the porch all day."),
        ("Bo", "What did you call the cat you adopted?"), ("Ana", "Mimsy, after the poem."),
        ("Bo", "Separately: my passport expires in March."), ("Ana", "Renew it at least six weeks before you travel.")]


async def _talk(core, scope: Scope = ANA) -> list[Record]:
    return await core.add([Record(kind=RecordKind.MESSAGE, scope=scope, role="user", name=who, text=text)
                           for who, text in TALK])


async def test_a_reply_is_lifted_by_the_message_it_answers(fast_core):
    stored = await _talk(fast_core)
    question, reply = stored[2], stored[3]  # the reply shares no word with the query
    hits = await fast_core.search("the cat you adopted", scope=ANA, top_k=6)
    by_id = {h.record.id: h for h in hits}
    assert [h.record.id for h in hits[:2]] == [question.id, reply.id]
    assert by_id[reply.id].features["previous.lexical"] > 0.5 and "lexical" not in by_id[reply.id].features
    assert "ranker" in by_id[reply.id].stages and "session_neighbours" not in by_id[reply.id].stages
    # the message before the reply asks, so its scores count again as the question the reply may answer; the
    # question itself follows a statement, so it has a message before but no question
    assert by_id[reply.id].features["question.lexical"] == by_id[reply.id].features["previous.lexical"]
    assert "previous.context" in by_id[question.id].features
    assert not any(f.startswith("question.") for f in by_id[question.id].features)
    # Without contextual vectors, only the ranker's view of the question before the reply lifts it
    plain = PRESETS["default"].model_copy(update={"context": None})
    blind = plain.model_copy(update={"ranker": plain.ranker.model_copy(update={"weights": {
        f: w for f, w in RANKER_WEIGHTS.items() if not f.startswith(("previous.", "next.", "question."))}})})
    ranks = {}
    for name, config in (("plain", plain), ("blind", blind)):
        found = await fast_core.search("the cat you adopted", scope=ANA, top_k=6, config=config)
        ranks[name] = [h.record.id for h in found].index(reply.id) + 1
    assert ranks["plain"] <= 3 < ranks["blind"]


async def test_features_name_the_speaker_the_date_and_the_shape_of_the_text(fast_core):
    may = datetime(2023, 5, 8, 12, tzinfo=timezone.utc)
    june = datetime(2023, 6, 2, 12, tzinfo=timezone.utc)
    stored = await fast_core.add([
        Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", name="Ana", text="We hiked up the ridge.",
               event_time=may),
        Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", name="Bo", text="Did you hike the ridge?  \n",
               event_time=june)])
    hits = await fast_core.search("Where did Ana hike in May 2023?", scope=ANA, top_k=2)
    features = {h.record.id: h.features for h in hits}
    ana, bo = features[stored[0].id], features[stored[1].id]
    assert (ana["speaker"], ana["date"], ana["asks"]) == (1.0, 1.0, 0.0)
    assert (bo["speaker"], bo["date"], bo["asks"]) == (0.0, 0.0, 1.0)  # trailing space does not hide the "?"
    assert ana["log_chars"] == pytest.approx(np.log1p(len("We hiked up the ridge.")))
    both = await fast_core.search("Did Ana and Bo hike?", scope=ANA, top_k=2)
    assert all(h.features["speaker"] == 0.0 for h in both)  # two speakers named: neither is the one


async def test_candidates_past_the_pool_follow_the_ranked_ones(fast_core):
    stored = await _talk(fast_core)
    narrow = PRESETS["default"].model_copy(update={"ranker": PRESETS["default"].ranker.model_copy(
        update={"pool": 1})})
    hits = await fast_core.search("the cat you adopted, and the passport", scope=ANA, top_k=6, config=narrow)
    ranked = [h for h in hits if "ranker" in h.stages]
    assert hits[:len(ranked)] == ranked and 0 < len(ranked) < len(hits)  # the pool and its neighbours, then the rest
    assert all(h.score == 0.0 for h in hits[len(ranked):]) and all(h.score > 0.0 for h in ranked)
    assert {h.record.id for h in hits} <= {r.id for r in stored}


async def test_asking_for_more_results_does_not_change_the_first_ones(core):  # MiniLM: the hashing embedder ties
    places = ["window", "porch", "garden", "sofa", "attic", "kitchen", "shed", "stairs"]
    moods = ["happily", "briefly", "soundly", "lazily", "quietly"]
    await core.add([Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", name="Ana",
                        text=f"The cat slept {mood} by the {place}.") for place in places for mood in moods])
    # 8 candidates per first stage and a pool of 100: the deeper search's extra hits must stay out of the pool
    shallow = PRESETS["default"].model_copy(update={"fusion": PRESETS["default"].fusion.model_copy(
        update={"candidate_k": 8})})
    few = await core.search("did the cat sleep soundly by the window", scope=ANA, top_k=5, config=shallow)
    many = await core.search("did the cat sleep soundly by the window", scope=ANA, top_k=40, config=shallow)
    assert len(many) == 40
    assert [(h.record.id, h.score, h.features) for h in few] == [(h.record.id, h.score, h.features) for h in many[:5]]
    first = {"dense", "lexical", "context"}
    ranked = [h.features for h in many if "ranker" in h.stages]
    assert all(first & set(f) or any(name.split(".")[-1] in first for name in f if "." in name) for f in ranked)
    assert len(ranked) < 40  # hits only the deeper search found were not ranked


async def test_neighbours_of_another_scope_never_join(fast_core):
    await _talk(fast_core, Scope(user="bo", session="s1"))
    mine = await _talk(fast_core)
    hits = await fast_core.search("the cat you adopted", scope=ANA, top_k=10)
    assert {h.record.id for h in hits} == {r.id for r in mine}


def test_ranker_configs_name_their_features_and_need_score_fusion():
    with pytest.raises(ValidationError, match="unknown ranker feature.*choose from dense"):
        RankerConfig(weights={"bm25": 1.0})
    with pytest.raises(ValidationError, match="set fusion.method to 'score'"):
        RetrievalConfig(fusion=FusionConfig(method="rrf"), ranker=RankerConfig(weights={"dense": 1.0}))
    assert set(RANKER_WEIGHTS) == set(RANKER_FEATURES)


def _examples(rng: np.random.Generator, count: int) -> list[RankerExample]:
    """Questions whose evidence has a high `lexical` and a low `asks`; the other features are noise."""
    examples = []
    for _ in range(count):
        rows = rng.random((30, len(RANKER_FEATURES)))
        truth = rows[:, RANKER_FEATURES.index("lexical")] - rows[:, RANKER_FEATURES.index("asks")]
        examples.append(RankerExample(features=rows, evidence=truth >= np.sort(truth)[-2]))
    return examples


def test_the_fit_weighs_what_marks_the_evidence():
    rng = np.random.default_rng(7)
    ranker = fit_ranker(_examples(rng, 200))
    weights = ranker.weights
    assert max(weights, key=weights.__getitem__) == "lexical" and min(weights, key=weights.__getitem__) == "asks"
    noise = [abs(w) for f, w in weights.items() if f not in ("lexical", "asks")]
    assert max(noise) < weights["lexical"] / 3
    unseen = _examples(rng, 50)
    top = [int(np.argmax(e.features @ np.array([weights[f] for f in RANKER_FEATURES]))) for e in unseen]
    assert np.mean([e.evidence[t] for e, t in zip(unseen, top)]) > 0.9
    with pytest.raises(InvalidInputError, match="at least one question"):
        fit_ranker([])
    flat = RankerExample(features=np.zeros((3, len(RANKER_FEATURES))), evidence=np.array([True, False, False]))
    with pytest.raises(InvalidInputError, match="never vary"):
        fit_ranker([flat])  # e.g. hits searched without the ranker: no weights to learn


async def test_a_search_labels_the_candidates_the_ranker_scored(fast_core):
    stored = await _talk(fast_core)
    hits = await fast_core.search("the cat you adopted", scope=ANA, top_k=1000)
    example = ranker_example(hits, lambda record_id: record_id == stored[1].id)
    assert example is not None and example.features.shape == (len(hits), len(RANKER_FEATURES))
    assert example.evidence.tolist() == [h.record.id == stored[1].id for h in hits]
    assert ranker_example(hits, lambda record_id: False) is None  # nothing to learn from
