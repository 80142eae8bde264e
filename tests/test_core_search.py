"""Hybrid search: the dense stage finds paraphrases, the lexical stage finds rare tokens, and each hit
says which stage found it."""

from __future__ import annotations

from omne import MemoryCore, RetrievalConfig, Scope

ME = Scope(user="sam")
DISTRACTORS = [
    "The kitchen tap has been dripping since Monday.", "My sister plays the cello in an orchestra.",
    "We planted tomatoes and basil in the garden.", "The train to Leeds was cancelled twice this week.",
    "I am reading a novel about a lighthouse keeper.", "Our cat refuses to eat the new food.",
    "The printer on the third floor is out of toner.", "I need to renew my passport before July.",
    "The neighbours are repainting their fence green.", "Thursday's football match ended in a draw.",
]
BUDGET = "The quarterly budget review has been postponed to next Thursday afternoon."
PASSWORD = "Remember that the guest wifi password is zq7xkv93plm."


async def _store(core: MemoryCore) -> dict[str, str]:
    texts = DISTRACTORS * 6 + [BUDGET, PASSWORD]  # 62 records: more than the dense stage's 50 candidates
    stored = await core.add([core_record(t) for t in texts])
    return {r.text: r.id for r in stored}


def core_record(text: str):
    from omne import Record, RecordKind

    return Record(kind=RecordKind.MESSAGE, scope=ME, role="user", text=text)


def first_stages(hit) -> dict[str, int]:
    return {stage: rank for stage, rank in hit.stages.items() if stage in ("dense", "lexical")}


async def test_paraphrase_is_found_by_the_dense_stage_alone(core: MemoryCore):
    ids = await _store(core)
    hits = await core.search("When is the finance meeting rescheduled?", scope=ME, top_k=5)
    top = hits[0]
    assert top.record.id == ids[BUDGET]
    # no query term occurs in the record: of the two first stages only the dense one found it (later stages,
    # e.g. session neighbours, may still move it)
    assert first_stages(top) == {"dense": 1}


async def test_rare_token_is_found_by_the_lexical_stage(core: MemoryCore):
    ids = await _store(core)
    hits = await core.search("zq7xkv93plm", scope=ME, top_k=5)
    assert hits[0].record.id == ids[PASSWORD]
    assert hits[0].stages["lexical"] == 1
    assert all("lexical" not in h.stages for h in hits[1:])  # no other record holds the token
    lexical_only = await core.search("zq7xkv93plm", scope=ME, top_k=5, config=RetrievalConfig(mode="lexical"))
    assert [(h.record.id, h.stages) for h in lexical_only] == [(ids[PASSWORD], {"lexical": 1})]


async def test_both_stages_agree_and_fusion_ranks_the_record_first(core: MemoryCore):
    ids = await _store(core)
    hits = await core.search("guest wifi password", scope=ME, top_k=3)
    assert hits[0].record.id == ids[PASSWORD]
    assert first_stages(hits[0]) == {"dense": 1, "lexical": 1}
    assert [h.rank for h in hits] == [1, 2, 3] and hits[0].score > hits[1].score
    dense_only = await core.search("guest wifi password", scope=ME, top_k=3, config=RetrievalConfig(mode="dense"))
    assert all(set(h.stages) == {"dense"} for h in dense_only)


async def test_filters_narrow_the_search(core: MemoryCore):
    ids = await _store(core)
    other = await core.remember("The wifi password for the office is on the fridge.", scope=ME, kind="fact",
                                tags=["office"])
    hits = await core.search("wifi password", scope=ME, kinds=["fact"])
    assert [h.record.id for h in hits] == [other.id]
    hits = await core.search("wifi password", scope=ME, roles=["user"], top_k=3)
    assert hits[0].record.id == ids[PASSWORD] and other.id not in {h.record.id for h in hits}
    assert [h.record.id for h in await core.search("wifi", scope=ME, tags=["office"])] == [other.id]


def test_score_fusion_never_scores_a_hit_two_stages_found_as_zero():
    """Min-max scaling used to map each stage's weakest hit to 0: `--explain` showed 0.0000 for a hit that dense
    and BM25 both found. Each stage's scores now scale to [0.001, 1]; the order of the others is unchanged."""
    from omne.retrieval import score_fusion
    from omne.storage import IndexHit

    def hits(*scored: tuple[str, float]) -> list[IndexHit]:
        return [IndexHit(id=i, score=s, rank=r) for r, (i, s) in enumerate(scored, 1)]

    fused = score_fusion({"dense": hits(("a", 0.9), ("b", 0.5), ("c", 0.2)),
                          "lexical": hits(("b", 7.0), ("a", 3.0), ("c", 1.0))})
    assert [c.id for c in fused] == ["b", "a", "c"]
    assert fused[-1].score > 0 and fused[-1].stages == {"dense": 3, "lexical": 3}
