"""omne serve's key rules, function by function (omne/service/auth.py): minting and storing only a hash, resolving
a presented key (missing, unknown, revoked), the Bearer header, which scope a request names, the scope and admin
checks with their messages, and the refusal to listen beyond loopback without keys.

The HTTP, MCP and inspector tests exercise these through every endpoint; this file pins each rule exactly, for
the mutation run of the auth layer (benchmarks/RESULTS-mutation.md). No server: the key store is SQLite."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest

from omne.errors import AuthenticationError, InvalidInputError, NotFoundError, PermissionDeniedError
from omne.service import auth
from omne.storage import SQLiteStorage
from omne.types import ApiKey, Scope, utcnow

ADA = Scope(user="ada")


@pytest.fixture
def keys(tmp_path) -> Iterator:
    storage = SQLiteStorage(tmp_path / "records.sqlite3", min_free_bytes=0)
    try:
        yield storage.keys
    finally:
        storage.close()


def _key(scope: Scope | None = ADA, *, admin: bool = False, key_id: str = "k1") -> ApiKey:
    return ApiKey(id=key_id, scope=scope, admin=admin, created_at=utcnow())


def test_a_key_is_shown_once_and_stored_as_its_sha256_only(keys):
    key, secret = auth.create_key(keys, scope=ADA, label="ada's laptop")
    assert re.fullmatch(r"[0-9a-f]{8}", key.id) and (key.scope, key.admin, key.label) == (ADA, False, "ada's laptop")
    assert re.fullmatch(rf"omne_{key.id}_[A-Za-z0-9_-]{{43}}", secret)  # prefix, id, 256 random bits
    assert auth.hash_key(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert keys.api_key_by_hash(hashlib.sha256(secret.encode()).hexdigest()) == key
    assert keys.api_key_by_hash(secret) is None  # the key itself is not what the store keeps
    admin, other = auth.create_key(keys, scope=None, admin=True)
    assert admin.admin and admin.scope is None and admin.label == "" and other != secret
    assert [k.id for k in keys.api_keys()] == [key.id, admin.id]


def test_a_key_must_be_admin_or_scoped_not_both_nor_neither(keys):
    for scope, admin in ((ADA, True), (None, False)):
        with pytest.raises(InvalidInputError) as refused:
            auth.create_key(keys, scope=scope, admin=admin)
        assert str(refused.value) == ("a key is either --admin or bound to a scope (--user, --agent, --session "
                                      "and/or --team), not both and not neither")
    assert keys.api_keys() == []


def test_revoking_names_the_key_and_a_revoked_or_unknown_key_is_refused(keys):
    key, secret = auth.create_key(keys, scope=ADA)
    assert auth.resolve(keys, secret, required=True) == key
    auth.revoke_key(keys, key.id)
    with pytest.raises(AuthenticationError) as revoked:
        auth.resolve(keys, secret, required=False)  # a revoked key is refused even where keys are optional
    assert str(revoked.value) == f"API key {key.id} was revoked; create a new one with `omne keys create`"
    with pytest.raises(NotFoundError) as again:
        auth.revoke_key(keys, key.id)
    assert str(again.value) == f"no live API key with id '{key.id}'; see `omne keys list`"
    for presented in ("omne_nope", secret + "x", "\ud800"):  # a lone surrogate hashes too: 401, not a crash
        with pytest.raises(AuthenticationError) as unknown:
            auth.resolve(keys, presented, required=False)
        assert str(unknown.value) == "unknown API key; check the key or create one with `omne keys create`"


def test_the_key_list_holds_live_keys_oldest_first_and_revoked_ones_only_when_asked(keys):
    """Mutants caught: `api_keys`' `include_revoked` ignored (`omne keys list --revoked` lost the revoked keys)."""
    from datetime import datetime, timedelta, timezone

    created = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    keys.add_api_key(ApiKey(id="k-new", scope=ADA, created_at=created + timedelta(seconds=1)), "hash-new")
    keys.add_api_key(ApiKey(id="k-old", admin=True, created_at=created), "hash-old")
    keys.revoke_api_key("k-old", created + timedelta(days=1))
    assert [k.id for k in keys.api_keys()] == ["k-new"]
    assert [(k.id, k.revoked_at) for k in keys.api_keys(include_revoked=True)] == [
        ("k-old", created + timedelta(days=1)), ("k-new", None)]


def test_refused_key_writes_name_the_key_store(tmp_path):
    """Mutants caught: `add_api_key`'s and `revoke_api_key`'s `what="the key store"` dropped or changed (a refused
    key write blamed the record store, or "None")."""
    from omne.errors import StorageError

    storage = SQLiteStorage(tmp_path / "records.sqlite3", min_free_bytes=0)
    try:
        storage.keys.add_api_key(_key(), "hash-1")
        with pytest.raises(StorageError, match="^write rejected by the key store: UNIQUE constraint failed"):
            storage.keys.add_api_key(_key(), "hash-2")  # the id k1 again
        storage._db.conn.execute("PRAGMA query_only = ON")  # SQLite itself refuses every write now
        with pytest.raises(StorageError, match=r"^the key store could not be written \(attempt to write a readonly"):
            storage.keys.revoke_api_key("k1", utcnow())
    finally:
        storage.close()


def test_key_times_are_kept_in_the_stores_one_time_format(tmp_path):
    """Mutant caught: the SQLite dialect's `time_in` handing datetimes to the driver, whose default adapter writes
    `2024-05-01 12:00:00.250000+00:00` instead of the ISO text with a `T` that every other table keeps."""
    import sqlite3
    from datetime import datetime, timedelta, timezone

    from omne.storage.sql_dialect import ts

    created = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
    storage = SQLiteStorage(tmp_path / "records.sqlite3", min_free_bytes=0)
    try:
        storage.keys.add_api_key(ApiKey(id="k1", scope=ADA, created_at=created), "hash-1")
        storage.keys.revoke_api_key("k1", created + timedelta(days=1))
    finally:
        storage.close()
    conn = sqlite3.connect(tmp_path / "records.sqlite3")
    try:
        stored = conn.execute("SELECT created_at, revoked_at FROM api_keys").fetchone()
    finally:
        conn.close()
    assert stored == (ts(created), ts(created + timedelta(days=1))) == (
        "2024-05-01T12:00:00.250000+00:00", "2024-05-02T12:00:00.250000+00:00")


def test_no_key_is_allowed_only_where_keys_are_not_required(keys):
    for presented in (None, ""):
        assert auth.resolve(keys, presented, required=False) is None
        with pytest.raises(AuthenticationError) as missing:
            auth.resolve(keys, presented, required=True)
        assert str(missing.value) == ("this server requires an API key: send `Authorization: Bearer <key>` "
                                      "(create one with `omne keys create`)")


def test_the_bearer_header():
    assert auth.bearer("Bearer omne_abc") == "omne_abc"
    assert auth.bearer("bearer   omne_abc  ") == "omne_abc"  # the scheme is case-insensitive; spaces trimmed
    assert auth.bearer("BEARER omne_abc") == "omne_abc"
    for header in (None, "", "Bearer ", "Bearer    ", "Basic b21uZQ==", "Bearerx omne_abc", "omne_abc"):
        assert auth.bearer(header) is None, header


def test_a_request_names_its_scope_or_gets_its_keys():
    named = {"user": "ada", "agent": "helper", "session": "s1", "team": "crew", "other": "x", "kinds": "fact"}
    assert auth.requested_scope(named, _key()) == Scope(user="ada", agent="helper", session="s1", team="crew")
    assert auth.requested_scope({"agent": "helper", "user": ""}, None) == Scope(agent="helper")  # empty: not named
    assert auth.requested_scope({"limit": "5"}, _key(Scope(user="ada", team="crew"))) == Scope(user="ada", team="crew")
    assert auth.requested_scope({}, _key(None, admin=True)) is None  # an admin key naming nothing: the whole store
    assert auth.requested_scope({}, None) is None
    with pytest.raises(InvalidInputError):
        auth.requested_scope({"user": "a" * 10_000}, None)  # named values are validated as any scope


def test_a_scoped_key_reaches_its_scope_and_the_scopes_inside_it_only():
    key = _key(Scope(user="ada", team="crew"), key_id="k7")
    for inside in (Scope(user="ada", team="crew"), Scope(user="ada", team="crew", agent="helper", session="s1")):
        auth.allow_scope(key, inside)
    for outside in (Scope(user="ada"), Scope(user="bob", team="crew"), Scope(team="crew")):
        with pytest.raises(PermissionDeniedError) as denied:
            auth.allow_scope(key, outside)
        assert str(denied.value) == f"API key k7 is bound to scope user=ada,team=crew; scope {outside} is outside it"
    with pytest.raises(PermissionDeniedError) as whole:
        auth.allow_scope(key, None)
    assert str(whole.value) == "API key k7 is bound to scope user=ada,team=crew: name a scope inside it"
    for anyone in (None, _key(None, admin=True)):  # no keys on this server, or an admin key: every scope
        auth.allow_scope(anyone, None)
        auth.allow_scope(anyone, Scope(user="bob"))


def test_only_an_admin_key_or_a_keyless_server_acts_on_the_whole_store():
    auth.allow_admin(None)
    auth.allow_admin(_key(None, admin=True))
    with pytest.raises(PermissionDeniedError) as denied:
        auth.allow_admin(_key(Scope(user="ada"), key_id="k2"))
    assert str(denied.value) == "API key k2 is bound to scope user=ada; this needs an admin key"


def test_loopback_hosts_and_the_refusal_to_listen_beyond_them_without_keys():
    for host in ("localhost", "127.0.0.1", "127.1.2.3", "::1"):
        assert auth.is_loopback(host), host
        auth.check_bind(host, keys_required=False)
    for host in ("0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "example.com", "localhost.example.com", ""):
        assert not auth.is_loopback(host), host
        auth.check_bind(host, keys_required=True)
    with pytest.raises(InvalidInputError) as refused:
        auth.check_bind("0.0.0.0", keys_required=False)
    assert str(refused.value) == (
        "refusing to listen on 0.0.0.0 without API keys: anyone who can reach it could read and write every "
        "memory. Create keys (`omne keys create --store DIR --admin`) and pass --require-keys, or listen on "
        "127.0.0.1")


def test_a_key_created_while_a_keyless_server_runs_makes_keys_required(keys):
    # the README: "Keys are required as soon as the store holds one"; `omne keys create` works while the server
    # runs, so a server started without keys must not keep letting anonymous requests through afterwards
    assert auth.resolve(keys, None, required=False) is None
    key, _ = auth.create_key(keys, scope=ADA)
    with pytest.raises(AuthenticationError) as missing:
        auth.resolve(keys, None, required=False)
    assert str(missing.value).startswith("this server requires an API key")
    auth.revoke_key(keys, key.id)
    assert auth.resolve(keys, None, required=False) is None  # no live key left: a keyless store again
