"""One YAML reader for configs/: model and responder configs fail in one line naming the file and the fix."""

from __future__ import annotations

import pytest

from assistants import load_responder_settings
from omne.errors import InvalidInputError
from omne.llm import load_model_config


def test_model_and_responder_configs_share_one_reader(tmp_path):
    both = tmp_path / "both.yaml"
    both.write_text("model:\n  model: m1\n  base_url: http://127.0.0.1:9/v1\nresponder:\n  kind: reactive\n")
    assert load_model_config(both).model == "m1" and load_responder_settings(both).kind == "reactive"
    for load, what, example in ((load_model_config, "model config", "configs/model.example.yaml"),
                                (load_responder_settings, "responder config", "configs/responder.example.yaml")):
        with pytest.raises(InvalidInputError, match=f"{what} .*missing.yaml does not exist; see {example}"):
            load(tmp_path / "missing.yaml")
        bad = tmp_path / "bad.yaml"
        bad.write_text("model: [unclosed\n")
        with pytest.raises(InvalidInputError, match=f"{what} .*bad.yaml is not valid YAML"):
            load(bad)
        listed = tmp_path / "list.yaml"
        listed.write_text("- a\n- b\n")
        with pytest.raises(InvalidInputError, match=f"{what} .*list.yaml must be a YAML mapping"):
            load(listed)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("model:\n  timeout_s: -1\nresponder:\n  max_stalls: 0\n")
    with pytest.raises(InvalidInputError, match="model config: timeout_s: Input should be greater than 0"):
        load_model_config(wrong)
    with pytest.raises(InvalidInputError, match="responder config .*wrong.yaml: max_stalls: Input should be greater"):
        load_responder_settings(wrong)


@pytest.mark.parametrize("field", ["embedder", "embed_batch_size"])
def test_the_store_config_has_no_dead_fields(field):
    """The embedder is passed to MemoryCore.open; a config field that nothing reads would only mislead."""
    from pydantic import ValidationError

    from omne import OmneConfig

    assert field not in OmneConfig.model_fields
    with pytest.raises(ValidationError):
        OmneConfig.model_validate({field: 1})


def test_packages_curate_their_api():
    """Each package's __init__ names its API; every name it lists resolves."""
    import importlib

    for package in ("omne", "omne.agents", "omne.retrieval", "omne.storage", "omne.graph", "omne.ingest",
                    "omne.construction", "omne.testing", "assistants"):
        module = importlib.import_module(package)
        assert module.__all__, package
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{package}.{name}"
