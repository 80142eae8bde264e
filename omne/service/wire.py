"""What travels between `omne serve` and `RemoteMemoryCore`: request envelopes around the library's own
models, and the error envelope (status codes and the error classes they map back to)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omne import errors
from omne.retrieval.models import RetrievalConfig
from omne.types import Edge, Record

API_PREFIX = "/v1"


class PayloadTooLargeError(errors.InvalidInputError):
    """A request body over the server's size limit (limits.max_file_bytes)."""


class RequestTimeoutError(errors.OmneError):
    """A request ran past the server's time limit."""


# Status of each error class a user can cause; the client raises the same class from the `type` it gets back.
ERROR_STATUS: dict[type[errors.OmneError], int] = {
    errors.AuthenticationError: 401,
    errors.PermissionDeniedError: 403,
    errors.NotFoundError: 404,
    errors.StoreLockedError: 409,
    PayloadTooLargeError: 413,
    errors.InvalidInputError: 422,
    errors.StorageError: 507,
    errors.BackendUnavailableError: 503,
    RequestTimeoutError: 504,
}
ERROR_TYPES: dict[str, type[errors.OmneError]] = {cls.__name__: cls for cls in ERROR_STATUS}


def status_of(exc: errors.OmneError) -> int:
    """The HTTP status of an Omne error (its nearest listed class; 500 for none)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500


def public_type(exc: errors.OmneError) -> str:
    """The name of the nearest listed error class (a BlockError travels as InvalidInputError)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return cls.__name__
    return "OmneError"


class ErrorBody(BaseModel):
    type: str
    message: str


class ErrorResponse(BaseModel):
    """Every error the server answers: `{"error": {"type": ..., "message": ...}}`."""

    error: ErrorBody


class AddRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[Record]
    edges: list[Edge] = Field(default_factory=list)


class RememberRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    kind: str = "fact"
    fields: dict[str, Any] = Field(default_factory=dict)  # further Record fields (role, name, tags, data, ...)


class SearchRequest(BaseModel):
    """Arguments of `MemoryCore.search` (validated by the core itself, so messages match the library's)."""

    model_config = ConfigDict(extra="forbid")

    query: str
    top_k: int = 10
    kinds: list[str] | None = None
    tags: list[str] | None = None
    roles: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    config: RetrievalConfig | None = None


class IdsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str]
    include_forgotten: bool = False


class BlockEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str
    editor: str = "developer"


class Health(BaseModel):
    status: str
    auth: bool  # whether requests need an API key
