"""omne serve's HTTP API: every endpoint's happy path and user errors, API keys bound to scopes (a key for
one user gets 403/404 for another user's records on every endpoint), revoked and unknown keys (401)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omne import Edge, MemoryCore, Record, Scope
from omne.service import auth
from omne.service.app import create_app
from omne.testing import HashEmbedder

ALICE, BOB = Scope(user="alice"), Scope(user="bob")


class Api:
    """The app in process (its lifespan running) with an admin key, a key bound to alice and a revoked key."""

    def __init__(self, core: MemoryCore, app, admin: str, alice: str, revoked: str) -> None:
        self.core, self.app = core, app
        self.keys = {"admin": admin, "alice": alice, "revoked": revoked}
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://omne.test")

    async def call(self, method: str, path: str, key: str | None = "admin", **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys.get(key, key)}"} if key else {}
        return await self.http.request(method, path, headers=headers | kwargs.pop("headers", {}), **kwargs)


@pytest.fixture
async def api(tmp_path):
    core = await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder())
    admin = auth.create_key(core.key_store, scope=None, admin=True)[1]
    alice = auth.create_key(core.key_store, scope=ALICE)[1]
    revoked_key, revoked = auth.create_key(core.key_store, scope=ALICE)
    auth.revoke_key(core.key_store, revoked_key.id)

    async def open_core() -> MemoryCore:
        return core

    app = create_app(open_core, keys_required=True, max_body_bytes=200_000)
    async with app.router.lifespan_context(app):
        client = Api(core, app, admin, alice, revoked)
        yield client
        await client.http.aclose()
    await core.close()


@asynccontextmanager
async def _keyless_http(core: MemoryCore, **app_options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a keyless app serving `core`; the core is closed afterwards."""
    async def open_core() -> MemoryCore:
        return core

    app = create_app(open_core, keys_required=False, **app_options)
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                yield http
    finally:
        await core.close()


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["type"], body["message"]


async def seed(api: Api) -> dict[str, str]:
    """One record per user and a block in alice's scope; returns their ids."""
    a = await api.core.remember("alice likes green tea", scope=ALICE)
    b = await api.core.remember("bob likes black coffee", scope=BOB)
    await api.core.add(Record(kind="block", scope=ALICE, name="persona", text="Alice, tea drinker",
                              data={"limit": 100}))
    await api.core.add(Record(kind="block", scope=BOB, name="persona", text="Bob"))
    return {"alice": a.id, "bob": b.id}


async def test_every_endpoint_answers_its_happy_path(api: Api):
    ids = await seed(api)
    alice = {"user": "alice"}
    record = {"text": "alice sails on Tuesday", "scope": {"user": "alice"}, "kind": "fact"}
    ok = [
        ("GET", "/healthz", {}),
        ("POST", "/v1/records", {"json": {"records": [record]}}),
        ("POST", "/v1/remember", {"params": alice, "json": {"text": "alice owns a boat", "fields": {"tags": ["b"]}}}),
        ("POST", "/v1/search", {"params": alice, "json": {"query": "tea", "top_k": 3, "kinds": ["fact"]}}),
        ("GET", f"/v1/records/{ids['alice']}", {"params": alice}),
        ("POST", "/v1/records/lookup", {"params": alice, "json": {"ids": [ids["alice"], ids["bob"]]}}),
        ("GET", "/v1/records", {"params": {**alice, "kinds": ["fact"], "limit": 5, "newest_first": True}}),
        ("GET", "/v1/edges", {"params": alice}),
        ("GET", "/v1/stats", {"params": alice}),
        ("GET", "/v1/stats", {}),
        ("GET", "/v1/jobs", {"params": alice}),
        ("GET", "/v1/jobs/counts", {}),
        ("POST", "/v1/jobs/retry", {"params": alice}),
        ("GET", "/v1/blocks", {"params": alice}),
        ("GET", "/v1/blocks/persona", {"params": alice}),
        ("PUT", "/v1/blocks/persona", {"params": alice, "json": {"value": "Alice, green tea", "editor": "ops"}}),
        ("GET", "/v1/blocks/persona/history", {"params": alice}),
        ("PUT", "/v1/context-state/ctx1", {"params": alice, "json": {"summary_id": None, "window_ids": ["x"]}}),
        ("GET", "/v1/context-state/ctx1", {"params": alice}),
        ("GET", "/v1/export", {"params": alice}),
        ("PATCH", f"/v1/records/{ids['alice']}", {"params": alice, "json": {"text": "alice likes white tea"}}),
        ("GET", f"/v1/records/{ids['alice']}/history", {"params": alice}),
        ("DELETE", f"/v1/records/{ids['alice']}", {"params": alice}),
        ("POST", "/v1/reconcile", {}),
        ("POST", "/v1/optimize", {}),
        ("POST", "/v1/ingest", {"params": alice, "files": {"file": ("notes.md", b"# Notes\n\nAlice keeps bees.\n")},
                                "data": {"options": json.dumps({"tags": ["notes"]})}}),
        ("GET", "/openapi.json", {}),
    ]
    for method, path, kwargs in ok:
        response = await api.call(method, path, **kwargs)
        assert response.status_code in (200, 204), (method, path, response.text)
    assert [h["record"]["text"] for h in (await api.call("POST", "/v1/search", params=alice,
                                                         json={"query": "bees", "top_k": 1})).json()] \
        == ["# Notes\n\nAlice keeps bees."]
    block = (await api.call("GET", "/v1/blocks/persona/history", params=alice)).json()
    assert [b["value"] for b in block] == ["Alice, tea drinker", "Alice, green tea"] and block[1]["edited_by"] == "ops"
    assert (await api.call("GET", "/v1/context-state/ctx1", params=alice)).json()["window_ids"] == ["x"]
    lines = (await api.call("GET", "/v1/export", params=alice)).text.splitlines()
    assert all(json.loads(line)["type"] in ("record", "edge") for line in lines) and len(lines) >= 5
    # import what was exported into a fresh scope's store: the same store accepts it back (ids kept)
    imported = await api.call("POST", "/v1/import", params=alice, content="\n".join(lines).encode())
    assert imported.status_code == 200 and imported.json()["imported"] == len(lines)
    spec = (await api.call("GET", "/openapi.json")).json()
    assert "/v1/search" in spec["paths"] and "Record" in spec["components"]["schemas"]


@pytest.mark.parametrize("method, path, kwargs, status, kind, message", [
    ("POST", "/v1/search", {"params": {"user": "alice"}, "json": {"query": "x", "top_k": 0}}, 422,
     "InvalidInputError", "top_k must be between 1 and 1000"),
    ("POST", "/v1/search", {"params": {"user": "alice"}, "json": {"query": "   "}}, 422, "InvalidInputError", "query"),
    ("POST", "/v1/search", {"json": {"query": "x"}}, 422, "InvalidInputError", "scope"),
    ("GET", "/v1/records/nope", {"params": {"user": "alice"}}, 404, "NotFoundError", "no record nope"),
    ("GET", "/v1/records", {"params": {"user": "a\x01"}}, 422, "InvalidInputError", "control characters"),
    ("GET", "/v1/records", {"params": {"user": "alice", "kinds": ["nonsense"]}}, 422, "InvalidInputError",
     "invalid list filter"),
    ("POST", "/v1/records", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 422,
     "InvalidInputError", "invalid request"),
    ("POST", "/v1/records", {"json": {"records": [{"text": "", "kind": "fact", "scope": {"user": "alice"}}]}}, 422,
     "InvalidInputError", "text"),
    ("POST", "/v1/remember", {"params": {"user": "alice"}, "json": {"text": "x", "fields": {"scope": {}}}}, 422,
     "InvalidInputError", "remember fields cannot include"),
    ("PATCH", "/v1/records/nope", {"params": {"user": "alice"}, "json": {"scope": {"user": "bob"}}}, 422,
     "InvalidInputError", "update cannot change 'scope'"),
    ("POST", "/v1/import", {"params": {"user": "alice"}, "content": b'{"type": "bogus"}\n'}, 422,
     "InvalidInputError", "line 1: unknown type"),
    ("POST", "/v1/ingest", {"params": {"user": "alice"}, "files": {"file": ("x.bin", b"\x00\x01\x02")}}, 422,
     "InvalidInputError", "x.bin"),
    ("GET", "/v1/blocks/missing", {"params": {"user": "alice"}}, 404, "NotFoundError", "no memory block 'missing'"),
    ("PUT", "/v1/blocks/persona", {"params": {"user": "alice"}, "json": {"value": "x" * 101}}, 422,
     "InvalidInputError", "over its limit of 100"),
    ("GET", "/v1/jobs", {"params": {"status": ["sleeping"]}}, 422, "InvalidInputError", "job status must be one of"),
    ("GET", "/v1/jobs", {"params": {"limit": 2**63}}, 422, "InvalidInputError", "limit must be between 1 and"),
    ("GET", "/v1/records", {"params": {"user": "alice", "limit": 2**63}}, 422, "InvalidInputError",
     "limit must be between 1 and"),
    ("POST", "/v1/records", {"content": b"x" * 300_000, "headers": {"Content-Type": "application/json"}}, 413,
     "PayloadTooLargeError", "200,000-byte limit"),
    ("GET", "/v1/nowhere", {}, 404, "NotFoundError", "Not Found"),
    # the endpoints below had no user-error case before the audit of issue 14
    ("POST", "/v1/records/lookup", {"params": {"user": "alice"}, "json": {"ids": "x"}}, 422, "InvalidInputError",
     "ids: Input should be a valid list"),
    ("POST", "/v1/edges", {"json": [{"scope": {"user": "alice"}, "src": "a", "dst": "b", "kind": "likes"}]}, 422,
     "InvalidInputError", "kind"),
    ("GET", "/v1/edges", {}, 422, "InvalidInputError", "scope must be"),
    ("DELETE", "/v1/records/nope", {"params": {"user": "alice"}}, 404, "NotFoundError", "no record nope"),
    ("GET", "/v1/records/nope/history", {"params": {"user": "alice"}}, 404, "NotFoundError", "no record nope"),
    ("GET", "/v1/stats", {"params": {"user": "a\x01"}}, 422, "InvalidInputError", "control characters"),
    ("GET", "/v1/export", {}, 422, "InvalidInputError", "scope must be"),
    ("GET", "/v1/jobs/counts", {"params": {"user": " "}}, 422, "InvalidInputError", "non-empty"),
    ("POST", "/v1/jobs/retry", {"params": {"team": "\x02"}}, 422, "InvalidInputError", "control characters"),
    ("GET", "/v1/blocks", {}, 422, "InvalidInputError", "scope must be"),
    ("GET", "/v1/blocks/missing/history", {"params": {"user": "alice"}}, 404, "NotFoundError", "no memory block"),
    ("PUT", "/v1/context-state/c", {"params": {"user": "alice"}, "json": [1, 2]}, 422, "InvalidInputError",
     "invalid request: the request body must be a JSON object (see /openapi.json for its fields)"),
    ("POST", "/v1/records", {"json": "hello"}, 422, "InvalidInputError", "the request body must be a JSON object"),
    ("GET", "/v1/context-state/c", {}, 422, "InvalidInputError", "scope must be"),
    ("POST", "/v1/remember", {"json": {"text": "x"}}, 422, "InvalidInputError", "scope must be"),
    ("POST", "/v1/ingest", {"params": {"user": "alice"}}, 422, "InvalidInputError", "file: Field required"),
    ("POST", "/v1/ingest", {"params": {"user": "alice"}, "files": {"file": ("a.md", b"x")}, "data": {"options": "{"}},
     422, "InvalidInputError", "invalid ingest options"),
    ("POST", "/v1/import", {"params": {"user": "alice"}, "content": b"\xff\xfe"}, 422, "InvalidInputError",
     "not UTF-8"),
    ("POST", "/v1/search", {"params": {"user": "alice"}, "content": b'{"query": "x",}',
                            "headers": {"Content-Type": "application/json"}}, 422, "InvalidInputError",
     "the request body is not valid JSON (at character 14); send a JSON object"),
])
async def test_user_errors_are_json_with_the_library_message(api: Api, method, path, kwargs, status, kind, message):
    await seed(api)
    response = await api.call(method, path, **kwargs)
    got_status, got_kind, got_message = error_of(response)
    assert (got_status, got_kind) == (status, kind), response.text
    assert message in got_message and "Traceback" not in response.text


@pytest.mark.parametrize("key, message", [(None, "requires an API key"), ("omne_nope_x", "unknown API key"),
                                          ("revoked", "was revoked")])
async def test_missing_unknown_and_revoked_keys_are_401_on_every_endpoint(api: Api, key, message):
    ids = await seed(api)
    for method, path, kwargs in endpoints(ids["alice"], {"user": "alice"}):
        status, kind, text = error_of(await api.call(method, path, key=key, **kwargs))
        assert (status, kind) == (401, "AuthenticationError") and message in text, (method, path)
    assert (await api.call("GET", "/healthz", key=None)).status_code == 200  # orchestration needs no key


def endpoints(record_id: str, scope: dict[str, str]) -> list[tuple[str, str, dict]]:
    """Every scoped endpoint, naming `scope` and (where it takes one) `record_id`."""
    rec = {"text": "planted", "kind": "fact", "scope": scope}
    return [
        ("POST", "/v1/records", {"json": {"records": [rec]}}),
        ("POST", "/v1/remember", {"params": scope, "json": {"text": "planted"}}),
        ("POST", "/v1/edges", {"json": [{"scope": scope, "src": record_id, "dst": record_id, "kind": "relates"}]}),
        ("POST", "/v1/search", {"params": scope, "json": {"query": "coffee"}}),
        ("GET", f"/v1/records/{record_id}", {"params": scope}),
        ("POST", "/v1/records/lookup", {"params": scope, "json": {"ids": [record_id]}}),
        ("GET", "/v1/records", {"params": scope}),
        ("PATCH", f"/v1/records/{record_id}", {"params": scope, "json": {"text": "changed"}}),
        ("GET", f"/v1/records/{record_id}/history", {"params": scope}),
        ("DELETE", f"/v1/records/{record_id}", {"params": scope}),
        ("GET", "/v1/edges", {"params": scope}),
        ("GET", "/v1/stats", {"params": scope}),
        ("GET", "/v1/export", {"params": scope}),
        ("POST", "/v1/import", {"params": scope, "content": json.dumps(
            {"type": "record", "record": {"text": "planted", "scope": scope, "kind": "fact",
                                          "created_at": "2024-01-01T00:00:00Z"}}).encode()}),
        ("POST", "/v1/ingest", {"params": scope, "files": {"file": ("a.md", b"planted")}}),
        ("GET", "/v1/jobs", {"params": scope}),
        ("GET", "/v1/jobs/counts", {"params": scope}),
        ("POST", "/v1/jobs/retry", {"params": scope}),
        ("GET", "/v1/blocks", {"params": scope}),
        ("GET", "/v1/blocks/persona", {"params": scope}),
        ("PUT", "/v1/blocks/persona", {"params": scope, "json": {"value": "planted"}}),
        ("GET", "/v1/blocks/persona/history", {"params": scope}),
        ("GET", "/v1/context-state/c1", {"params": scope}),
        ("PUT", "/v1/context-state/c1", {"params": scope, "json": {"window_ids": ["planted"]}}),
    ]


_value = st.text(st.characters(min_codepoint=32, exclude_characters="\x7f", exclude_categories=("Cs",)),
                 min_size=1, max_size=24).filter(lambda v: v.strip() and v != "alice")
hostile_scopes = st.one_of(
    st.builds(lambda v: {"user": v}, _value),
    st.builds(lambda v, t: {"user": v, "team": t}, _value, _value),
    st.builds(lambda a: {"agent": a}, _value),  # no user at all: wider than the key
    st.builds(lambda t: {"team": t}, _value),
    st.just({"user": "bob"}), st.just({"user": "Alice"}), st.just({"user": "alice "}),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scope=hostile_scopes)
async def test_a_key_bound_to_alice_reaches_no_other_scope_on_any_endpoint(api: Api, scope):
    bob_id = (await api.core.list(scope=BOB))[0].id if await api.core.list(scope=BOB) else (await seed(api))["bob"]
    before = await api.core.stats()
    for method, path, kwargs in endpoints(bob_id, scope):
        response = await api.call(method, path, key="alice", **kwargs)
        assert response.status_code in (403, 404), (method, path, scope, response.text)
        assert "planted" not in response.text and "coffee" not in response.text
    # and alice's own scope, naming bob's record id: not found, nothing of bob's shown or changed
    for method, path, kwargs in endpoints(bob_id, {"user": "alice"})[4:10]:
        response = await api.call(method, path, key="alice", **kwargs)
        assert "coffee" not in response.text, (method, path)
    assert (await api.core.get(bob_id, scope=BOB)).text == "bob likes black coffee"
    assert (await api.core.stats())["records"] >= before["records"]


async def test_alice_key_works_inside_her_scope_and_narrower(api: Api):
    await seed(api)
    for scope in ({"user": "alice"}, {"user": "alice", "session": "s1"}, {"user": "alice", "team": "crew"}):
        response = await api.call("POST", "/v1/remember", key="alice", params=scope, json={"text": "hello"})
        assert response.status_code == 200, response.text
    hits = (await api.call("POST", "/v1/search", key="alice", params={"user": "alice"},
                           json={"query": "coffee tea"})).json()
    assert hits and all(h["record"]["scope"]["user"] == "alice" for h in hits)
    status, kind, _ = error_of(await api.call("GET", "/v1/stats", key="alice"))  # the whole store: admin only
    assert (status, kind) == (403, "PermissionDeniedError")
    for method, path in (("POST", "/v1/reconcile"), ("POST", "/v1/optimize"), ("POST", "/v1/import"),
                         ("GET", "/v1/jobs"), ("GET", "/v1/jobs/counts"), ("POST", "/v1/jobs/retry"),
                         ("GET", "/v1/export")):  # the whole store, or no scope named: not for a scoped key
        assert error_of(await api.call(method, path, key="alice"))[:2] == (403, "PermissionDeniedError"), path


async def test_a_scoped_key_sees_only_its_scopes_stats(api: Api):
    await seed(api)
    await api.core.remember("bob's second note", scope=BOB)
    api.core._store.mark_all_dirty()  # every record awaits indexing: alice's 2 and bob's 3
    mine = await api.call("GET", "/v1/stats", key="alice", params={"user": "alice"})
    assert mine.status_code == 200, mine.text
    assert mine.json()["pending_index"] == api.core._store.count(ALICE, live_only=False) == 2
    assert "store" not in mine.json() and str(api.core.config.store_dir) not in mine.text  # no server path
    whole = (await api.call("GET", "/v1/stats")).json()  # the admin key sees the whole store and its path
    assert whole["pending_index"] == 5 and whole["store"] == str(api.core.config.store_dir)


def test_non_loopback_bind_without_keys_is_refused(omne_cli, tmp_path):
    result = omne_cli("serve", "--store", str(tmp_path / "s"), "--host", "0.0.0.0", "--port", "1")
    assert result.returncode == 1
    assert "refusing to listen on 0.0.0.0 without API keys" in result.stderr
    assert not (tmp_path / "s" / "server.json").exists()
    auth.check_bind("::1", keys_required=False)  # loopback is fine
    auth.check_bind("0.0.0.0", keys_required=True)  # with keys required it is allowed


async def test_a_read_past_the_time_limit_is_504_and_the_server_keeps_serving(tmp_path):
    core = await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder())

    async with _keyless_http(core, request_timeout_s=1e-9) as http:
        response = await http.post("/v1/search", params={"user": "u"}, json={"query": "anything"})
        assert error_of(response)[:2] == (504, "RequestTimeoutError")
        assert (await http.post("/v1/remember", params={"user": "u"}, json={"text": "still here"})).status_code \
            == 200  # writes are not cut short


async def test_the_remote_core_raises_the_library_errors_and_serves_blocks_and_context_state(fast_core):
    """Core-level verbs added for remote agents (blocks, context state, jobs), on the embedded and served core."""
    core = fast_core
    from omne.errors import InvalidInputError, NotFoundError

    with pytest.raises(NotFoundError, match="no memory block 'persona'"):
        await core.block("persona", scope=ALICE)
    await core.add(Record(kind="block", scope=ALICE, name="persona", text="v1", data={"limit": 10}))
    assert (await core.edit_block("persona", "v2", scope=ALICE, editor="ops")).version == 2
    with pytest.raises(InvalidInputError, match="over its limit of 10"):
        await core.edit_block("persona", "x" * 11, scope=ALICE)
    assert [b.value for b in await core.block_history("persona", scope=ALICE)] == ["v1", "v2"]
    assert [b.label for b in await core.blocks(scope=ALICE)] == ["persona"] and not await core.blocks(scope=BOB)
    assert await core.context_state("c", scope=ALICE) is None
    await core.save_context_state("c", {"window_ids": ["a"]}, scope=ALICE)
    assert await core.context_state("c", scope=ALICE) == {"window_ids": ["a"]}
    assert await core.context_state("c", scope=Scope(user="alice", session="s")) is None  # exactly this scope
    assert await core.jobs(scope=ALICE) == [] and await core.retry_failed_jobs() == 0
    with pytest.raises(InvalidInputError, match="job status must be one of"):
        await core.jobs(statuses=["sleeping"])


async def test_a_key_bound_to_alice_cannot_take_or_overwrite_bobs_ids(api: Api):
    """Knowing the ids of bob's records gives alice's key nothing: adding or importing under them is a 422 (not a
    storage failure) that names no scope, an edge over them leaves bob's edge as it was."""
    ids = await seed(api)
    other = await api.core.remember("bob's bike is red", scope=BOB)
    await api.core.add_edges([Edge(scope=BOB, src=ids["bob"], dst=other.id, kind="relates", data={"by": "bob"})])
    mine = {"id": ids["bob"], "text": "mine now", "kind": "fact", "scope": {"user": "alice"}}
    attempts = [
        ("POST", "/v1/records", {"json": {"records": [mine]}}),
        ("POST", "/v1/import", {"params": {"user": "alice"}, "content": json.dumps({"type": "record", "record": {
            **mine, "created_at": "2024-01-01T00:00:00Z"}}).encode()}),
    ]
    for method, path, kwargs in attempts:
        status, kind, message = error_of(await api.call(method, path, key="alice", **kwargs))
        assert (status, kind) == (422, "InvalidInputError") and ids["bob"] in message and "bob" not in \
            message.replace(ids["bob"], ""), (path, message)
    edge = {"scope": {"user": "alice"}, "src": ids["bob"], "dst": other.id, "kind": "relates", "data": {"by": "alice"}}
    assert (await api.call("POST", "/v1/edges", key="alice", json=[edge])).status_code == 204
    assert (await api.call("POST", "/v1/records", key="alice", json={"records": [], "edges": [edge]})).status_code \
        == 200
    assert (await api.core.get(ids["bob"], scope=BOB)).text == "bob likes black coffee"
    assert [e.data for e in await api.core.edges(scope=BOB)] == [{"by": "bob"}]
    assert await api.core.edges(scope=ALICE) == []


@pytest.mark.parametrize("path, content_type", [
    ("/v1/records", "application/json"), ("/v1/import?user=alice", "application/x-ndjson"),
    ("/v1/ingest?user=alice", "multipart/form-data; boundary=b"),
])
async def test_a_streamed_body_over_the_limit_is_413_on_every_kind_of_endpoint(api: Api, path, content_type):
    """Without Content-Length (chunked) the limit holds as the body streams in, with the same 413 and message."""
    async def chunks():
        if content_type.startswith("multipart"):
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.md"\r\n\r\n'
        for _ in range(30):
            yield b"x" * 10_000

    response = await api.call("POST", path, content=chunks(), headers={"Content-Type": content_type})
    assert error_of(response)[:2] == (413, "PayloadTooLargeError"), response.text
    assert "200,000-byte limit" in error_of(response)[2]
    assert (await api.call("GET", "/healthz")).status_code == 200


async def test_a_content_length_that_is_not_a_number_is_a_400_naming_the_header(api: Api):
    response = await api.call("POST", "/v1/records", content=b"{}", headers={"Content-Length": "abc",
                                                                           "Content-Type": "application/json"})
    assert error_of(response)[:2] == (400, "InvalidInputError") and "Content-Length" in error_of(response)[2]


async def test_the_store_limits_hold_over_http(tmp_path):
    """The library's batch and text limits (limits.max_batch, max_text_bytes) answer 422 with its message; an
    update naming an unknown field is the library's 'invalid update'."""
    from omne.config import LimitsConfig, OmneConfig

    config = OmneConfig(store_dir=tmp_path / "store", limits=LimitsConfig(max_batch=3, max_text_bytes=100))
    core = await MemoryCore.open(config=config, embedder=HashEmbedder())

    async with _keyless_http(core) as http:
        fact = {"text": "x", "kind": "fact", "scope": {"user": "u"}}
        too_many = await http.post("/v1/records", json={"records": [fact] * 4})
        assert error_of(too_many) == (422, "InvalidInputError", "a batch holds at most 3 records; got 4")
        too_long = await http.post("/v1/remember", params={"user": "u"}, json={"text": "y" * 101})
        assert error_of(too_long)[:2] == (422, "InvalidInputError") and "100-byte" in error_of(too_long)[2]
        kept = (await http.post("/v1/records", json={"records": [fact] * 3})).json()[0]["id"]
        unknown = await http.patch(f"/v1/records/{kept}", params={"user": "u"}, json={"colour": "red"})
        assert error_of(unknown)[:2] == (422, "InvalidInputError") and "invalid update" in error_of(unknown)[2]


async def test_healthz_reports_keys_required_once_a_key_is_created_while_the_server_runs(tmp_path):
    """A keyless loopback server starts requiring keys as soon as the store holds one (`omne keys create` beside
    it); /healthz must say so from then on, not the state it started with."""
    core = await MemoryCore.open(tmp_path / "store", embedder=HashEmbedder())

    async with _keyless_http(core) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok", "auth": False}
        key, _ = auth.create_key(core.key_store, scope=Scope(user="ada"))
        assert (await http.get("/healthz")).json() == {"status": "ok", "auth": True}
        auth.revoke_key(core.key_store, key.id)
        assert (await http.get("/healthz")).json() == {"status": "ok", "auth": False}
