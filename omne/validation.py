"""Input checks at the edge: everything a user can get wrong is rejected before any write."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from omne.config import LimitsConfig
from omne.errors import InvalidInputError
from omne.errors import describe_validation_error as describe_validation_error  # re-exported
from omne.schemas import SchemaRegistry
from omne.types import Record, RecordKind, Scope


def require_query(query: str) -> None:
    """A search query must be non-empty, valid UTF-8 text."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("search needs a non-empty query")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError("the search query is not valid UTF-8 (it holds undecodable bytes)") from None


def make_scope(**fields: Any) -> Scope:
    """Build a Scope from user input, turning validation failures into InvalidInputError."""
    try:
        return Scope(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise InvalidInputError(f"invalid scope: {describe_validation_error(exc)}") from None


def require_scope(scope: object) -> Scope:
    """Every read names a Scope; anything else (None, a dict, a string) is a clear error, never a crash."""
    if not isinstance(scope, Scope):
        raise InvalidInputError(f"scope must be an omne.Scope, e.g. Scope(user='alice'); got {type(scope).__name__}")
    return scope


def make_record(**fields: Any) -> Record:
    """Build a Record from user input (CLI, tools, adapters) with a one-line error on failure."""
    try:
        return Record(**fields)
    except ValidationError as exc:
        raise InvalidInputError(f"invalid record: {describe_validation_error(exc)}") from None


MAX_JSON_DEPTH = 64


def json_depth(value: Any) -> int:
    """How deeply dicts and lists nest in `value` (iterative: hostile input cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_content(record: Record, limits: LimitsConfig, where: str) -> None:
    """Text size, encoding and emptiness, and the nesting of `data` / `metadata`, for one record."""
    try:
        size = len(record.text.encode("utf-8", errors="strict"))
    except UnicodeEncodeError:
        raise InvalidInputError(f"{where}: text is not valid UTF-8 (it holds undecodable bytes)") from None
    if size > limits.max_text_bytes:
        raise InvalidInputError(f"{where}: text is {size:,} bytes, over the {limits.max_text_bytes:,}-byte "
                                "limit; split it (documents: core.ingest) or raise limits.max_text_bytes")
    if record.kind is not RecordKind.BLOCK and not record.text.strip():
        raise InvalidInputError(f"{where}: text is empty")
    for name in ("data", "metadata"):
        if json_depth(getattr(record, name)) > MAX_JSON_DEPTH:
            raise InvalidInputError(f"{where}: {name} nests deeper than {MAX_JSON_DEPTH} levels; flatten it")
    _check_storable(record, where)


def check_records(records: Iterable[Record], limits: LimitsConfig, schemas: SchemaRegistry) -> list[Record]:
    """Validate a batch; returns the records with fact data normalised. Raises on the first bad one."""
    checked: list[Record] = []
    seen: set[str] = set()
    for position, record in enumerate(records):
        if not isinstance(record, Record):
            raise InvalidInputError(f"item {position} is a {type(record).__name__}, expected omne.Record")
        where = f"record {position} ({record.kind.value})"
        check_content(record, limits, where)
        if record.id in seen:
            raise InvalidInputError(f"{where}: id {record.id} appears twice in one batch")
        seen.add(record.id)
        if record.kind is RecordKind.FACT and record.schema_name:
            record = record.model_copy(update={"data": schemas.validate(record.schema_name, record.data)})
        elif record.schema_name:
            raise InvalidInputError(f"{where}: schema_name applies to fact records only")
        checked.append(record)
    if len(checked) > limits.max_batch:
        raise InvalidInputError(f"a batch holds at most {limits.max_batch:,} records; got {len(checked):,}")
    return checked


def _check_storable(record: Record, where: str) -> None:
    """Every string must encode as UTF-8 and `data` / `metadata` must be JSON, or the log write would fail."""
    strings = [record.role, record.name, record.schema_name, *record.source_ids]
    for value in strings:
        if value is not None:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInputError(f"{where}: a field holds text that is not valid UTF-8") from None
    for field in ("data", "metadata"):
        try:
            json.dumps(getattr(record, field), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise InvalidInputError(f"{where}: {field} must be JSON-serialisable UTF-8 ({exc})") from None
