"""Errors a user can cause or meet, each with a message that names the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails


class OmneError(Exception):
    """Base class for every error Omne raises on purpose."""


class InvalidInputError(OmneError, ValueError):
    """The input was rejected before anything was written."""


class NotFoundError(OmneError, KeyError):
    """A record, block or schema that was named does not exist in the given scope."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "not found"


class StoreLockedError(OmneError):
    """The embedded store is open in another process."""


class BackendUnavailableError(OmneError):
    """A configured backend (Qdrant server, model endpoint) cannot be reached."""


class StorageError(OmneError):
    """The store could not be written (read-only directory, full disk, corrupt file)."""


class AuthenticationError(OmneError):
    """An `omne serve` request carried no API key, or one the server does not know or has revoked."""


class PermissionDeniedError(OmneError):
    """An `omne serve` API key asked for a scope (or an admin action) it is not bound to."""


def describe_validation_error(exc: ValidationError, *, every: bool = False) -> str:
    """One readable line from a pydantic error: where, and what is wrong (the first problem, or `every` one
    joined by '; ')."""
    def one(error: ErrorDetails) -> str:
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        return f"{where}: {message}" if where else message

    errors = exc.errors()
    return "; ".join(one(e) for e in errors) if every else one(errors[0])

