"""The unified memory model: scopes, records and graph edges (pydantic, validated at the edge)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from omne.errors import InvalidInputError, describe_validation_error

MAX_SCOPE_VALUE_CHARS = 256


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime to aware UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def new_id() -> str:
    """A fresh record or edge id (a UUID string, as the vector index requires)."""
    return str(uuid.uuid4())


_DERIVED_NAMESPACE = uuid.UUID("6f6d6e65-6772-6170-6800-000000000001")


def stable_id(*parts: str) -> str:
    """A deterministic UUID for a derived node or edge (same input, same id)."""
    return str(uuid.uuid5(_DERIVED_NAMESPACE, "\x1f".join(parts)))


class RecordKind(StrEnum):
    """What a record is: the MemGPT hierarchy maps onto these kinds."""

    MESSAGE = "message"  # recall memory: every message seen or sent
    SUMMARY = "summary"  # archival: session and recursive summaries
    FACT = "fact"  # archival: structured records with a typed `data` payload
    INSIGHT = "insight"  # archival: reflections, lessons, strategies
    DOCUMENT = "document"  # archival: document chunks, image captions
    BLOCK = "block"  # core memory blocks, always in context
    ENTITY = "entity"  # graph nodes: people, places, things mentioned


class EdgeKind(StrEnum):
    """Typed relations between records."""

    DERIVED_FROM = "derived_from"
    MENTIONS = "mentions"
    NEXT = "next"
    RELATES = "relates"
    SUPERSEDES = "supersedes"
    SIMILAR = "similar"
    ATTACHED = "attached"


class Scope(BaseModel):
    """Who a memory belongs to. Every read and write names one; it is a hard partition.

    A record carries the full scope it was written with. A query scope matches a record when
    every field set in the query equals the record's field; at least one field must be set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str | None = None
    agent: str | None = None
    session: str | None = None
    team: str | None = None

    @field_validator("user", "agent", "session", "team")
    @classmethod
    def _check_value(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("scope values must be non-empty; omit the field instead")
        if len(value) > MAX_SCOPE_VALUE_CHARS:
            raise ValueError(f"scope values are limited to {MAX_SCOPE_VALUE_CHARS} characters")
        if any(ord(ch) < 32 or ch == "\x7f" for ch in value):
            raise ValueError("scope values must not contain control characters")
        _require_utf8(value)
        return value

    @model_validator(mode="after")
    def _require_one(self) -> Scope:
        if not self.fields():
            raise ValueError("a scope needs at least one of user, agent, session or team")
        return self

    def __init__(self, **fields: Any) -> None:
        try:
            super().__init__(**fields)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid scope: {describe_validation_error(exc, every=True)} "
                                    "(e.g. Scope(user='alice'))") from None

    def fields(self) -> dict[str, str]:
        """The fields that are set, in a fixed order."""
        return {k: v for k, v in (("user", self.user), ("agent", self.agent),
                                  ("session", self.session), ("team", self.team)) if v is not None}

    def contains(self, other: Scope) -> bool:
        """True when a record written with `other` is visible to a query with this scope."""
        return all(getattr(other, key) == value for key, value in self.fields().items())

    def __str__(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.fields().items())


def _require_utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text is not valid UTF-8 (it holds undecodable bytes)") from exc


class Record(BaseModel):
    """One unit of memory. The record log stores every version; indexes hold the live ones."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id)
    kind: RecordKind
    scope: Scope
    text: str
    role: str | None = None  # message role: user, assistant, system, tool
    name: str | None = None  # speaker or author name; block label
    data: dict[str, Any] | None = None  # structured payload (facts), block settings
    schema_name: str | None = None  # registered schema `data` was validated against
    tags: list[str] = Field(default_factory=list)
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    source_ids: list[str] = Field(default_factory=list)  # provenance
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    event_time: datetime | None = None  # when the remembered thing happened
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    superseded_by: str | None = None
    deleted_at: datetime | None = None
    version: int = 1

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValueError(f"record ids are UUID strings, got {value!r}") from exc

    @field_validator("created_at", "event_time", "valid_from", "valid_to", "deleted_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)

    @field_validator("text")
    @classmethod
    def _check_text(cls, value: str) -> str:
        _require_utf8(value)
        return value

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not tag or len(tag) > 128:
                raise ValueError("tags must be 1 to 128 characters")
            _require_utf8(tag)
        return sorted(set(value))

    @property
    def live(self) -> bool:
        """Current: neither superseded nor forgotten."""
        return self.superseded_by is None and self.deleted_at is None

    @property
    def when(self) -> datetime:
        """The time that date filters and ranking use: event time, else creation time."""
        return self.event_time or self.created_at


class Edge(BaseModel):
    """A typed, directed relation between two records of one scope."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id)
    scope: Scope
    src: str
    dst: str
    kind: EdgeKind
    weight: float = 1.0
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class ApiKey(BaseModel):
    """An API key of `omne serve` as the store keeps it (the key itself is never stored, only its hash):
    bound to one scope (it reads and writes inside that scope only) or admin (every scope, key management)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    scope: Scope | None = None
    admin: bool = False
    label: str = ""
    created_at: datetime
    revoked_at: datetime | None = None

    @model_validator(mode="after")
    def _bound(self) -> ApiKey:
        if self.admin == (self.scope is not None):
            raise ValueError("an API key is either admin or bound to a scope")
        return self
