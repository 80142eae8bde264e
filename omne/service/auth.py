"""API keys of `omne serve`: minting (the key is shown once; the store keeps its SHA-256 only), resolving a
request's key, and the one rule every endpoint applies: a key reaches only the scopes it is bound to."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Mapping

from pydantic import ValidationError

from omne.errors import AuthenticationError, InvalidInputError, NotFoundError, PermissionDeniedError
from omne.storage.protocols import KeyStore
from omne.types import ApiKey, Scope, new_id, utcnow
from omne.validation import make_scope

KEY_PREFIX = "omne_"
SCOPE_FIELDS = ("user", "agent", "session", "team")


def hash_key(key: str) -> str:
    """The stored form of a key (keys are 256-bit random, so a plain SHA-256 cannot be brute-forced)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(store: KeyStore, *, scope: Scope | None, admin: bool = False, label: str = "",
               ) -> tuple[ApiKey, str]:
    """Mint a key bound to `scope` (or admin); returns the stored description and the key, which is never
    stored and cannot be shown again."""
    try:
        key = ApiKey(id=new_id()[:8], scope=scope, admin=admin, label=label, created_at=utcnow())
    except ValidationError:
        raise InvalidInputError("a key is either --admin or bound to a scope (--user, --agent, --session "
                                "and/or --team), not both and not neither") from None
    secret = f"{KEY_PREFIX}{key.id}_{secrets.token_urlsafe(32)}"
    store.add_api_key(key, hash_key(secret))
    return key, secret


def revoke_key(store: KeyStore, key_id: str) -> None:
    """Revoke a key by id (NotFoundError when there is no live key with that id)."""
    if not store.revoke_api_key(key_id, utcnow()):
        raise NotFoundError(f"no live API key with id {key_id!r}; see `omne keys list`")


def keys_required(store: KeyStore, *, required: bool) -> bool:
    """Whether requests need a key: the server was told so, or the store holds a live key (one created while a
    keyless server runs makes keys required from the next request on)."""
    return required or bool(store.api_keys())


def resolve(store: KeyStore, presented: str | None, *, required: bool) -> ApiKey | None:
    """The key a request presents (None: no key, allowed only when keys are not required and the store holds no
    live key: one created while a keyless server runs makes keys required). Raises AuthenticationError for a
    missing, unknown or revoked key."""
    if not presented:
        if keys_required(store, required=required):
            raise AuthenticationError("this server requires an API key: send `Authorization: Bearer <key>` "
                                      "(create one with `omne keys create`)")
        return None
    key = store.api_key_by_hash(hash_key(presented))  # looked up by hash: no comparison leaks timing
    if key is None:
        raise AuthenticationError("unknown API key; check the key or create one with `omne keys create`")
    if key.revoked_at is not None:
        raise AuthenticationError(f"API key {key.id} was revoked; create a new one with `omne keys create`")
    return key


def bearer(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer <key>` header (None without one)."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def requested_scope(params: Mapping[str, str], key: ApiKey | None) -> Scope | None:
    """The scope a query string names (user, agent, session, team), else the key's own; None when neither
    (check it with `allow_scope`)."""
    named = {name: params[name] for name in SCOPE_FIELDS if params.get(name)}
    if named:
        return make_scope(**named)
    return key.scope if key is not None else None


def allow_scope(key: ApiKey | None, scope: Scope | None) -> None:
    """Raise PermissionDeniedError unless `key` may read and write `scope` (None: the whole store, admin only).
    A scoped key reaches a scope when every field the key is bound to is set to the same value there."""
    if key is None or key.admin:
        return
    assert key.scope is not None  # an ApiKey is admin or scoped
    if scope is None:
        raise PermissionDeniedError(f"API key {key.id} is bound to scope {key.scope}: name a scope inside it")
    if not key.scope.contains(scope):
        raise PermissionDeniedError(f"API key {key.id} is bound to scope {key.scope}; scope {scope} is outside it")


def allow_admin(key: ApiKey | None) -> None:
    """Raise PermissionDeniedError unless the request may act on the whole store."""
    if key is not None and not key.admin:
        raise PermissionDeniedError(f"API key {key.id} is bound to scope {key.scope}; this needs an admin key")


def is_loopback(host: str) -> bool:
    """True for a host name or address that only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, keys_required: bool) -> None:
    """Refuse to listen beyond loopback without API keys."""
    if not keys_required and not is_loopback(host):
        raise InvalidInputError(f"refusing to listen on {host} without API keys: anyone who can reach it could read "
                                "and write every memory. Create keys (`omne keys create --store DIR --admin`) and "
                                "pass --require-keys, or listen on 127.0.0.1")
