"""RetrievalConfig is the read path's single source of truth: one sub-model per stage, `None` = off."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omne import Record, RecordKind, RetrievalConfig, Scope
from omne.retrieval.models import STAGE_ORDER, NeighbourConfig, PPRConfig, SpeakerConfig
from omne.retrieval.stages import PRESETS, build_stages

ANA = Scope(user="ana", session="s1")
TALK = ["I adopted a cat from the shelter last spring.", "Lovely! What did you call her?",
        "Mimsy, after the poem.", "Separately: my passport expires in March."]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_round_trips_through_json_and_builds_the_same_pipeline(name):
    preset = PRESETS[name]
    again = RetrievalConfig.model_validate_json(preset.model_dump_json())
    assert again == preset
    assert [type(s) for s in build_stages(again)] == [type(s) for s in build_stages(preset)]
    assert [s.config for s in build_stages(again)] == [getattr(preset, n) for n in preset.enabled_stages()]


def test_the_pipeline_holds_exactly_the_stages_the_config_switches_on():
    assert [s.name for s in build_stages(PRESETS["default"])] == ["ranker"]
    assert [s.name for s in build_stages(PRESETS["full"])] == ["ranker", "graph_ppr"]
    default = PRESETS["default_weighted"]
    assert [s.name for s in build_stages(default)] == ["speaker", "temporal", "session_neighbours"]
    assert [s.name for s in build_stages(default.model_copy(update={"graph_ppr": PPRConfig()}))] == [
        n for n in STAGE_ORDER if n in ("speaker", "temporal", "session_neighbours", "graph_ppr")]
    off = default.model_copy(update={"session_neighbours": None})
    assert "session_neighbours" not in [s.name for s in build_stages(off)]
    assert build_stages(RetrievalConfig()) == []


def test_invalid_configs_are_refused_with_the_fix_named():
    with pytest.raises(ValidationError, match="needs a first stage"):
        RetrievalConfig(dense=None, lexical=None)
    with pytest.raises(ValidationError):
        RetrievalConfig(speaker=SpeakerConfig(boost=0))  # off is None, not a zero weight
    with pytest.raises(ValidationError):
        RetrievalConfig(neighbour_next_weight=0.4)  # the old flat fields are gone, not ignored
    assert RetrievalConfig(mode="lexical").dense is None and RetrievalConfig(mode="dense").mode == "dense"


async def test_explain_names_only_the_stages_the_config_runs(fast_core):
    stored = await fast_core.add([Record(kind=RecordKind.MESSAGE, scope=ANA, role="user", text=t) for t in TALK])
    query = "what did you call the cat you adopted"
    on = PRESETS["default"].model_copy(update={"session_neighbours": NeighbourConfig(next_weight=0.5)})
    hits = await fast_core.search(query, scope=ANA, top_k=4, config=on)
    by_id = {h.record.id: h for h in hits}
    assert "session_neighbours" in by_id[stored[2].id].stages  # the answer turn, lifted by its neighbour
    off = await fast_core.search(query, scope=ANA, top_k=4, config=on.model_copy(update={"session_neighbours": None}))
    assert off and all("session_neighbours" not in h.stages for h in off)
    assert all("ranker" in h.stages and "log_chars" in h.features for h in hits)
    unranked = await fast_core.search(query, scope=ANA, top_k=4, config=on.model_copy(update={"ranker": None}))
    assert unranked and all("ranker" not in h.stages and set(h.features) <= {"dense", "lexical", "context"}
                            for h in unranked)
    names = set(RetrievalConfig.model_fields) - {"fusion"}
    assert all(set(h.stages) <= names for h in hits + off + unranked)  # every explained stage is a config field
