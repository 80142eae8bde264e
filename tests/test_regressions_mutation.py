"""Tests that kill mutants which survived `bash benchmarks/mutation/run.sh` (see benchmarks/RESULTS-mutation.md).

Each test's docstring names the mutant it kills."""

from __future__ import annotations

import pytest

from omne import Record, RecordKind, Scope
from omne.config import LimitsConfig
from omne.errors import InvalidInputError
from omne.schemas import SchemaRegistry
from omne.validation import (
    MAX_JSON_DEPTH,
    check_content,
    check_records,
    json_depth,
    make_record,
    make_scope,
    require_query,
    require_scope,
)

ALICE = Scope(user="alice")


def _fact(text: str = "a fact", **fields) -> Record:
    return Record(kind=RecordKind.FACT, scope=ALICE, text=text, **fields)


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


# -- omne/validation.py ------------------------------------------------------------------------------------

def test_json_depth_counts_container_levels_only():
    """Kills json_depth mutants: `deepest` or the first depth starting at 1/2, children at depth + 2, and
    `continue` turned into `break` (a scalar met first stopped the walk)."""
    assert json_depth("text") == 0 and json_depth(None) == 0
    assert json_depth({}) == 1 and json_depth([1, "a"]) == 1
    assert json_depth({"a": [1, {"b": 2}]}) == 3
    assert json_depth([{"x": 1}, 7]) == 2  # the scalar is popped first: the walk must go on past it
    assert json_depth(_nested(10)) == 10


def test_nesting_limit_is_inclusive_and_names_the_field():
    """Kills `> MAX_JSON_DEPTH` -> `>=` in check_content and the message mutants: data nested exactly to the
    limit is stored, one level more is refused with the field and the fix named."""
    limits = LimitsConfig()
    check_content(_fact(data=_nested(MAX_JSON_DEPTH)), limits, "record 0 (fact)")
    with pytest.raises(InvalidInputError, match=r"^record 0 \(fact\): metadata nests deeper than 64 levels; flatten it$"):
        check_content(_fact(metadata=_nested(MAX_JSON_DEPTH + 1)), limits, "record 0 (fact)")


def test_text_size_limit_is_inclusive():
    """Kills `size > limits.max_text_bytes` -> `>=`: text of exactly the limit is accepted."""
    limits = LimitsConfig(max_text_bytes=8)
    check_content(_fact("12345678"), limits, "here")
    with pytest.raises(InvalidInputError, match=r"^here: text is 9 bytes, over the 8-byte limit"):
        check_content(_fact("123456789"), limits, "here")


def test_batch_limit_is_inclusive_and_says_the_numbers():
    """Kills `len(checked) > limits.max_batch` -> `>=` and the message mutant."""
    limits = LimitsConfig(max_batch=2)
    assert len(check_records([_fact("a"), _fact("b")], limits, SchemaRegistry())) == 2
    with pytest.raises(InvalidInputError, match=r"^a batch holds at most 2 records; got 3$"):
        check_records([_fact("a"), _fact("b"), _fact("c")], limits, SchemaRegistry())


def test_check_records_errors_name_the_position_and_kind():
    """Kills check_records mutants that drop `where` (None) or the item's type from their messages."""
    limits, schemas = LimitsConfig(), SchemaRegistry()
    with pytest.raises(InvalidInputError, match=r"^item 1 is a dict, expected omne.Record$"):
        check_records([_fact(), {"text": "x"}], limits, schemas)
    with pytest.raises(InvalidInputError, match=r"^record 1 \(fact\): text is empty$"):
        check_records([_fact(), _fact(" ")], limits, schemas)
    with pytest.raises(InvalidInputError, match=r"^record 0 \(message\): schema_name applies to fact records only$"):
        check_records([Record(kind=RecordKind.MESSAGE, scope=ALICE, text="hi", schema_name="preference")],
                      limits, schemas)


def test_schema_data_is_normalised_into_the_records_data():
    """Kills the `update={"data": ...}` key mutants ("XXdataXX", "DATA"): a fact's data comes back with the
    schema's defaults filled in."""
    [checked] = check_records([_fact(schema_name="preference", data={"holder": "Alice", "item": "tea"})],
                              LimitsConfig(), SchemaRegistry())
    assert checked.data == {"holder": "Alice", "item": "tea", "sentiment": "likes"}


@pytest.mark.parametrize("data", [{"x": float("nan")}, {"x": float("inf")}])
def test_data_that_json_cannot_hold_is_refused(data):
    """Kills `allow_nan=False` -> True (or dropped) in _check_storable: NaN and infinity would be written to
    the log as bare `NaN`, which is not JSON, and break every export."""
    with pytest.raises(InvalidInputError, match=r"^record 0 \(fact\): data must be JSON-serialisable UTF-8"):
        check_records([_fact(data=data)], LimitsConfig(), SchemaRegistry())


def test_undecodable_text_in_data_or_fields_is_refused():
    """Kills `ensure_ascii=False` -> True (or dropped) in _check_storable (ASCII escaping hid a lone surrogate
    in `data`, which the log then could not hold) and the message mutants of its UTF-8 checks."""
    with pytest.raises(InvalidInputError, match=r"^record 0 \(fact\): metadata must be JSON-serialisable UTF-8"):
        check_records([_fact(metadata={"note": "bad \udcff byte"})], LimitsConfig(), SchemaRegistry())
    with pytest.raises(InvalidInputError, match=r"^record 0 \(fact\): a field holds text that is not valid UTF-8$"):
        check_records([_fact(name="bad \udcff")], LimitsConfig(), SchemaRegistry())
    with pytest.raises(InvalidInputError, match=r"^w: text is not valid UTF-8 \(it holds undecodable bytes\)$"):
        check_content(_fact().model_copy(update={"text": "bad \udcff"}), LimitsConfig(), "w")


def test_queries_must_be_non_empty_text():
    """Kills `or` -> `and` in require_query (a blank query went on to search) and its message mutants."""
    for query in ("   ", "", None, 42):
        with pytest.raises(InvalidInputError, match=r"^search needs a non-empty query$"):
            require_query(query)
    with pytest.raises(InvalidInputError, match=r"^the search query is not valid UTF-8 \(it holds undecodable bytes\)$"):
        require_query("bad \udcff")
    require_query("a real question")


def test_validation_messages_are_one_readable_line():
    """Kills describe_validation_error mutants: the "Value error, " prefix kept, a leading ": " when the error
    has no location, and the location's parts joined by anything but '.'; and make_record / require_scope's
    message mutants."""
    with pytest.raises(InvalidInputError) as empty:
        make_scope()
    assert str(empty.value) == "invalid scope: a scope needs at least one of user, agent, session or team"
    with pytest.raises(InvalidInputError) as blank:
        make_scope(user=" ")
    assert str(blank.value) == "invalid scope: user: scope values must be non-empty; omit the field instead"
    with pytest.raises(InvalidInputError) as nested:
        make_record(kind="fact", text="x", scope=ALICE, tags=["ok", 5])
    assert str(nested.value).startswith("invalid record: tags.1: ")
    with pytest.raises(InvalidInputError, match=r"got dict$"):
        require_scope({"user": "alice"})
