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
    assert str(empty.value) == ("invalid scope: a scope needs at least one of user, agent, session or team "
                                "(e.g. Scope(user='alice'))")
    with pytest.raises(InvalidInputError) as blank:
        make_scope(user=" ")
    assert str(blank.value) == ("invalid scope: user: scope values must be non-empty; omit the field instead "
                                "(e.g. Scope(user='alice'))")
    with pytest.raises(InvalidInputError) as nested:
        make_record(kind="fact", text="x", scope=ALICE, tags=["ok", 5])
    assert str(nested.value).startswith("invalid record: tags.1: ")
    with pytest.raises(InvalidInputError, match=r"got dict$"):
        require_scope({"user": "alice"})


# -- omne/storage/sqlite_store.py --------------------------------------------------------------------------

async def test_edge_stamp_changes_with_each_edge_write_of_its_scope_only(fast_core):
    """Kills edge_stamp mutants that keep a stale memo (`version = None`, `cached[0] != version`) or return
    None: graph caches key on this stamp, so a stale one serves a graph without the newest links."""
    from omne.types import Edge, EdgeKind

    store, bob = fast_core._store, Scope(user="bob")
    a, b, c = await fast_core.add([_fact("one"), _fact("two"), _fact("three")])
    [other] = await fast_core.add([Record(kind=RecordKind.FACT, scope=bob, text="bob's")])
    empty = store.edge_stamp(ALICE)
    assert empty == (0, 0, 0.0) and store.edge_stamp(ALICE) == empty
    await fast_core.add_edges([Edge(scope=ALICE, src=a.id, dst=b.id, kind=EdgeKind.RELATES, weight=0.5)])
    one = store.edge_stamp(ALICE)
    assert one[0] == 1 and one[2] == 0.5 and one[1] > 0
    await fast_core.add_edges([Edge(scope=bob, src=other.id, dst=other.id, kind=EdgeKind.RELATES)])
    assert store.edge_stamp(ALICE) == one  # another scope's write leaves this scope's stamp alone
    await fast_core.add_edges([Edge(scope=ALICE, src=b.id, dst=c.id, kind=EdgeKind.RELATES, weight=0.25)])
    two = store.edge_stamp(ALICE)
    assert two[0] == 2 and two[2] == 0.75 and two[1] > one[1]
    await fast_core.add_edges([Edge(scope=ALICE, src=b.id, dst=c.id, kind=EdgeKind.RELATES, weight=2.0)])
    assert store.edge_stamp(ALICE) == (2, two[1], 2.5)  # a re-weighted edge changes the stamp too


# -- omne/core.py ------------------------------------------------------------------------------------------

async def _small_batch_core(path):
    from omne import MemoryCore
    from omne.config import OmneConfig
    from omne.testing import HashEmbedder

    config = OmneConfig(store_dir=path, limits=LimitsConfig(max_batch=2))
    return await MemoryCore.open(path, config=config, embedder=HashEmbedder())


async def test_an_import_larger_than_one_batch_keeps_every_record_and_edge(fast_core, tmp_path):
    """Kills import_jsonl mutants in its chunking: the chunk bounds, and edges written with the first chunk
    only (`start == 0`), and the edges-only import path (`if not records and edges`)."""
    import io

    from omne.types import Edge, EdgeKind

    records = await fast_core.add([_fact(f"fact number {i}") for i in range(5)])
    await fast_core.add_edges([Edge(scope=ALICE, src=records[0].id, dst=records[4].id, kind=EdgeKind.RELATES)])
    out = io.StringIO()
    assert await fast_core.export_jsonl(out, scope=ALICE) == 6
    lines = out.getvalue().splitlines()
    copy = await _small_batch_core(tmp_path / "copy")
    try:
        assert await copy.import_jsonl(["", *lines, "   "]) == 6  # blank lines are skipped, not counted
        assert [r.id for r in await copy.list(scope=ALICE)] == [r.id for r in records]
        assert [(e.src, e.dst) for e in await copy.edges(scope=ALICE)] == [(records[0].id, records[4].id)]
        stats = await copy.stats(ALICE)
        assert stats["records"] == stats["vectors"] == 5
    finally:
        await copy.close()
    edges_only = await _small_batch_core(tmp_path / "edges-only")
    try:
        assert await edges_only.import_jsonl([line for line in lines if '"type": "edge"' in line]) == 1
        assert len(await edges_only.edges(scope=ALICE)) == 1
    finally:
        await edges_only.close()


async def test_import_errors_name_the_line(fast_core):
    """Kills import_jsonl's message mutants (line numbers, the unknown type, the scope it is outside of)."""
    good = '{"type": "record", "record": ' + _fact("ok").model_dump_json() + '}'
    with pytest.raises(InvalidInputError, match=r"^line 2: unknown type 'thing'$"):
        await fast_core.import_jsonl([good, '{"type": "thing"}'])
    with pytest.raises(InvalidInputError, match=r"^line 1: scope user=alice is outside the import scope user=bob$"):
        await fast_core.import_jsonl([good], scope=Scope(user="bob"))
    with pytest.raises(InvalidInputError, match=r"^line 3: not an Omne export line"):
        await fast_core.import_jsonl([good, "", "[1, 2]"])
    assert (await fast_core.stats())["records_with_history"] == 0


async def test_search_bounds_are_inclusive(fast_core):
    """Kills the `1 <= top_k <= 1000` and `start > end` boundary mutants of `search`."""
    from datetime import datetime, timezone

    await fast_core.remember("The tram to the harbour leaves at nine.", scope=ALICE)
    assert len(await fast_core.search("tram harbour", scope=ALICE, top_k=1)) == 1
    assert len(await fast_core.search("tram harbour", scope=ALICE, top_k=1000)) == 1
    for top_k in (0, 1001):
        with pytest.raises(InvalidInputError, match=r"^top_k must be between 1 and 1000$"):
            await fast_core.search("tram", scope=ALICE, top_k=top_k)
    moment = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert await fast_core.search("tram", scope=ALICE, start=moment, end=moment) == []
    with pytest.raises(InvalidInputError, match=r"^search start is after end$"):
        await fast_core.search("tram", scope=ALICE, start=moment.replace(year=2025), end=moment)


async def test_update_refuses_identity_fields_and_dead_versions_by_name(fast_core):
    """Kills `update` mutants in its list of fields it cannot change (`scope` is its own argument) and in its
    messages."""
    record = await fast_core.remember("Alice's bike is red.", scope=ALICE)
    for key, value in (("id", "x"), ("kind", "message"), ("created_at", None),
                       ("version", 9), ("superseded_by", "x"), ("deleted_at", None)):
        with pytest.raises(InvalidInputError, match=rf"^update cannot change '{key}'$"):
            await fast_core.update(record.id, scope=ALICE, **{key: value})
    newer = await fast_core.update(record.id, scope=ALICE, text="Alice's bike is blue.")
    assert newer.version == 2 and newer.text == "Alice's bike is blue."
    with pytest.raises(InvalidInputError, match=rf"^record {record.id} is superseded; update its current version"):
        await fast_core.update(record.id, scope=ALICE, text="again")
    await fast_core.forget(newer.id, scope=ALICE)
    with pytest.raises(InvalidInputError, match=rf"^record {newer.id} is forgotten, so it has no current version "
                       r"to update \(its versions stay in history\); add a new record instead$"):
        await fast_core.update(newer.id, scope=ALICE, text="again")


async def test_iter_records_yields_every_record_past_one_page(fast_core):
    """Kills `iter_records` mutants in its paging (500 records a page)."""
    await fast_core.add([_fact(f"note {i}") for i in range(501)])
    seen = [r.id async for r in fast_core.iter_records(scope=ALICE)]
    assert len(seen) == len(set(seen)) == 501


# -- omne/storage/space.py, omne/storage/sqlite_schema.py -------------------------------------------------

def test_free_space_guard_refuses_below_the_reserve_only(tmp_path, monkeypatch):
    """Kills require_free_space mutants: `<=` for `<` at the boundary, `min_free_bytes <= 0` (or `<= 1`) disabling,
    and the message (free MiB, reserve MiB, what was refused and its default, the setting to lower)."""
    from types import SimpleNamespace

    from omne.errors import StorageError
    from omne.storage import space

    assert space.free_bytes(tmp_path) > 0
    # a path not made yet is measured at its nearest existing ancestor (a fake disk per path: the real free space
    # moves between two calls while other processes write)
    monkeypatch.setattr(space.shutil, "disk_usage", lambda path: SimpleNamespace(free=len(str(path))))
    assert space.free_bytes(tmp_path / "not" / "yet" / "made") == len(str(tmp_path))
    monkeypatch.setattr(space, "free_bytes", lambda path: 3 * 2**20)
    space.require_free_space(tmp_path, 3 * 2**20)  # exactly the reserve is enough
    space.require_free_space(tmp_path, 0)
    space.require_free_space(tmp_path, -1)
    with pytest.raises(StorageError) as refused:
        space.require_free_space(tmp_path, 3 * 2**20 + 1, refused="the records were kept")
    assert str(refused.value).startswith(f"the disk holding the store at {tmp_path} has 3.0 MiB free, under the "
                                         "3 MiB Omne keeps in reserve; the records were kept. Free some space")
    assert str(refused.value).endswith("or lower limits.min_free_bytes")
    monkeypatch.setattr(space, "free_bytes", lambda path: 0)  # a full disk
    with pytest.raises(StorageError, match="; nothing was written. "):  # a reserve of one byte is still kept
        space.require_free_space(tmp_path, 1)
    monkeypatch.setattr(space, "free_bytes", lambda path: None)  # unknown: never refuse
    space.require_free_space(tmp_path, 2**40)


def test_the_log_opens_in_wal_mode_at_the_newest_schema_and_refuses_a_newer_one(tmp_path):
    """Kills open_database / migrate mutants: WAL, synchronous=NORMAL and the memory map dropped, migrations re-run or stopped
    short, and the newer-store refusal (its comparison and message)."""
    import sqlite3

    from omne.errors import StorageError
    from omne.storage.sqlite_schema import MIGRATIONS, migrate, open_database

    path = tmp_path / "log" / "records.sqlite3"
    conn = open_database(path, what="the record store", foreign_keys=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert conn.execute("PRAGMA mmap_size").fetchone()[0] > 2**30  # reads through a memory map (SQLite caps it)
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)
    assert migrate(conn) == len(MIGRATIONS)  # a second open migrates nothing (and fails on nothing)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    conn.close()
    again = open_database(path, what="the record store")
    assert again.execute("PRAGMA foreign_keys").fetchone()[0] == 0
    again.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match=rf"^this store was written by a newer Omne \(schema {len(MIGRATIONS) + 1}, "
                       rf"this one knows {len(MIGRATIONS)}\): upgrade Omne to open it$"):
        migrate(again)
    again.close()
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StorageError, match=r"^cannot open the job queue at .*: .*Check that the directory exists, "
                       r"is writable and has free space\.$"):
        open_database(tmp_path / "file" / "jobs.sqlite3", what="the job queue")


async def test_a_store_path_under_a_file_is_a_clear_storage_error(tmp_path):
    """Found while killing open_database's mutants: a store directory under a file raised a bare
    FileExistsError from mkdir; it is now the StorageError that names the file and the fix."""
    from omne.errors import StorageError
    from omne.testing import open_fast_core

    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StorageError, match=r"^cannot open the record store at .*Check that the directory exists"):
        await open_fast_core(tmp_path / "file" / "store")


# -- omne/core.py: similar, annotate --------------------------------------------------------------------------

async def test_similar_returns_the_scopes_nearest_live_records_best_first(fast_core):
    """Mutants of `MemoryCore.similar`: the limit's bounds (`1 <= limit <= 1000`) and message, the scope check,
    the kinds filter, the limit passed on, the dense hits returned."""
    facts = await fast_core.add([_fact("the tram leaves at nine"), _fact("the harbour opens at ten")])
    note = (await fast_core.add(Record(kind=RecordKind.INSIGHT, scope=ALICE, text="the tram leaves at nine")))[0]
    await fast_core.add(Record(kind=RecordKind.FACT, scope=Scope(user="bob"), text="the tram leaves at nine"))
    vector = fast_core.embedder.embed(["the tram leaves at nine"])[0]
    hits = await fast_core.similar(vector, scope=ALICE)
    assert {h.id for h in hits} == {facts[0].id, facts[1].id, note.id} and [h.rank for h in hits] == [1, 2, 3]
    assert hits[-1].id == facts[1].id and hits[0].score >= hits[1].score > hits[2].score
    assert [h.id for h in await fast_core.similar(vector, scope=ALICE, kinds=["insight"])] == [note.id]
    assert len(await fast_core.similar(vector, scope=ALICE, limit=1)) == 1
    with pytest.raises(InvalidInputError, match="^invalid similar filter: "):
        await fast_core.similar(vector, scope=ALICE, kinds=["memo"])
    assert len(await fast_core.similar(vector, scope=ALICE, limit=1000)) == 3
    for limit in (0, 1001):
        with pytest.raises(InvalidInputError) as error:
            await fast_core.similar(vector, scope=ALICE, limit=limit)
        assert str(error.value) == "limit must be between 1 and 1000"
    with pytest.raises(InvalidInputError, match="^scope must be an omne.Scope"):
        await fast_core.similar(vector, scope={"user": "alice"})


async def test_annotate_bounds_importance_and_refuses_dead_versions(fast_core):
    """Mutants of `MemoryCore.annotate`: the importance bounds (0 and 1 allowed, inclusive) and messages, and the
    refusal of a superseded version."""
    record = (await fast_core.add(_fact("the kettle is blue")))[0]
    for importance in (0.0, 1.0):
        stored = await fast_core.annotate(record.id, scope=ALICE, importance=importance, metadata={"seen": 2})
        assert (stored.importance, stored.metadata) == (importance, {"seen": 2})
    for importance in (-0.01, 1.01):
        with pytest.raises(InvalidInputError) as error:
            await fast_core.annotate(record.id, scope=ALICE, importance=importance, metadata={})
        assert str(error.value) == "importance must be between 0 and 1"
    newer = await fast_core.update(record.id, scope=ALICE, text="the kettle is red")
    with pytest.raises(InvalidInputError) as error:
        await fast_core.annotate(record.id, scope=ALICE, importance=0.5, metadata={})
    assert str(error.value) == f"record {record.id} is no longer current; annotate its current version"
    assert (await fast_core.get(newer.id, scope=ALICE)).importance == newer.importance


# -- omne/core.py: the developer's block verbs ----------------------------------------------------------------

async def test_core_blocks_are_listed_read_edited_and_versioned_in_exactly_their_scope(fast_core):
    """Mutants of `MemoryCore.blocks` / `block` / `edit_block` / `block_history` (reached before only through the
    service's API): exact-scope listing sorted by label, the missing-block message, the default editor, the
    developer's edit of a read-only block (`as_agent=False`), the history oldest first."""
    from omne.errors import NotFoundError

    desk = Scope(user="alice", session="desk")
    await fast_core.add([Record(kind="block", scope=ALICE, name="persona", text="Alice, tea", data={"limit": 20}),
                         Record(kind="block", scope=ALICE, name="human", text="likes trams"),
                         Record(kind="block", scope=desk, name="scratch", text="inside a session"),
                         Record(kind="block", scope=ALICE, text="a block without a label")])
    assert [b.label for b in await fast_core.blocks(scope=ALICE)] == ["human", "persona"]
    assert [b.label for b in await fast_core.blocks(scope=desk)] == ["scratch"]
    assert (await fast_core.block("persona", scope=ALICE)).value == "Alice, tea"
    with pytest.raises(NotFoundError) as error:
        await fast_core.block("scratch", scope=ALICE)
    assert str(error.value) == f"no memory block 'scratch' in scope {ALICE}"
    edited = await fast_core.edit_block("persona", "Alice, green tea", scope=ALICE)
    assert (edited.value, edited.version, edited.edited_by) == ("Alice, green tea", 2, "developer")
    assert (await fast_core.edit_block("persona", "Alice", scope=ALICE, editor="ops")).edited_by == "ops"
    with pytest.raises(InvalidInputError):
        await fast_core.edit_block("persona", "x" * 21, scope=ALICE)
    with pytest.raises(NotFoundError) as error:
        await fast_core.edit_block("nobody", "x", scope=ALICE)
    assert str(error.value) == f"no memory block 'nobody' in scope {ALICE}"
    await fast_core.add(Record(kind="block", scope=ALICE, name="rules", text="be kind", data={"read_only": True}))
    assert (await fast_core.edit_block("rules", "be kind and brief", scope=ALICE)).value == "be kind and brief"
    history = await fast_core.block_history("persona", scope=ALICE)
    assert [(b.value, b.version) for b in history] == [("Alice, tea", 1), ("Alice, green tea", 2), ("Alice", 3)]
    with pytest.raises(InvalidInputError, match="^scope must be an omne.Scope"):
        await fast_core.blocks(scope=None)
    with pytest.raises(InvalidInputError, match="^scope must be an omne.Scope"):
        await fast_core.block("persona", scope="alice")


async def test_process_needs_construction_enabled(fast_core):
    """Mutants of `MemoryCore.process`: the refusal without construction and its message."""
    with pytest.raises(InvalidInputError) as error:
        await fast_core.process()
    assert str(error.value) == ("memory construction is not enabled for this store; enable it with "
                                "`await omne.construction.Construction.attach(core, client)`")


async def test_similar_returns_ten_by_default_and_an_empty_dense_list_as_a_list(fast_core):
    """Mutants of `MemoryCore.similar`: the default `limit=10`; `found.get("dense", [])` without its default."""
    await fast_core.add([_fact(f"tram line {i}") for i in range(12)])
    vector = fast_core.embedder.embed(["tram line"])[0]
    assert len(await fast_core.similar(vector, scope=ALICE)) == 10
    assert await fast_core.similar(vector, scope=Scope(user="nobody")) == []


async def test_update_keeps_a_given_valid_from(fast_core):
    """Mutant of `MemoryCore.update`: `changes.get("valid_from", now)` → `changes.get(None, now)` (a correction
    dated to when it became true was dated now)."""
    from datetime import datetime, timezone

    record = await fast_core.remember("Alice works at the harbour.", scope=ALICE)
    since = datetime(2024, 1, 1, tzinfo=timezone.utc)
    newer = await fast_core.update(record.id, scope=ALICE, text="Alice works at the station.", valid_from=since)
    assert newer.valid_from == since
    assert (await fast_core.get(record.id, scope=ALICE)).valid_to == since


async def test_the_cores_job_verbs_filter_by_scope_status_and_limit(fast_core):
    """Mutants of `MemoryCore.jobs` / `job_counts` / `retry_failed_jobs`: the scope check, the statuses and limit
    passed on (and their messages), the scope passed on, `now` for a retried job."""
    from datetime import datetime, timezone

    from omne.storage.job_models import JobSpec

    bob = Scope(user="bob")
    now = datetime.now(timezone.utc)
    jobs = fast_core.job_store
    jobs.enqueue([JobSpec(key=k, kind="demo", scope=s) for k, s in (("a1", ALICE), ("a2", ALICE), ("b1", bob))],
                 now=now, max_attempts=1)
    running = jobs.claim("w", now=now, lease_s=60)
    jobs.fail(running.id, "w", "boom", now=now, backoff=None)
    assert [j.key for j in await fast_core.jobs(scope=ALICE)] == ["a1", "a2"]
    assert [j.key for j in await fast_core.jobs(statuses=["failed"])] == ["a1"]
    assert [j.key for j in await fast_core.jobs(statuses=["pending"], limit=1)] == ["a2"]
    assert [j.key for j in await fast_core.jobs(scope=bob, statuses=["pending", "failed"])] == ["b1"]
    with pytest.raises(InvalidInputError) as error:
        await fast_core.jobs(statuses=["stuck"])
    assert str(error.value) == "job status must be one of pending, running, done, failed"
    with pytest.raises(InvalidInputError, match="^limit must be between 1 and"):
        await fast_core.jobs(limit=0)
    assert (await fast_core.job_counts(scope=bob)) == {"pending": 1, "running": 0, "done": 0, "failed": 0}
    assert (await fast_core.job_counts())["failed"] == 1
    assert await fast_core.retry_failed_jobs(scope=bob) == 0
    assert await fast_core.retry_failed_jobs(scope=ALICE) == 1
    [retried] = await fast_core.jobs(scope=ALICE, statuses=["pending"], limit=1)
    assert retried.key == "a1" and retried.run_after >= now
    for verb in (fast_core.jobs, fast_core.job_counts, fast_core.retry_failed_jobs):
        with pytest.raises(InvalidInputError, match="^scope must be an omne.Scope"):
            await verb(scope={"user": "alice"})


async def test_process_hands_its_options_to_the_attached_construction(fast_core):
    """Mutants of `MemoryCore.process`: `max_jobs`, `owner` and `on_job` not passed on (or None)."""
    seen: list[dict] = []

    class Recorder:
        async def process(self, **options):
            seen.append(options)
            return "report"

    def on_job(outcome) -> None:
        pass

    fast_core.construction = Recorder()
    try:
        assert await fast_core.process(max_jobs=3, owner="w1", on_job=on_job) == "report"
    finally:
        fast_core.construction = None
    assert seen == [{"max_jobs": 3, "owner": "w1", "on_job": on_job}]


async def test_reads_by_id_never_cross_the_scope(fast_core):
    """Mutants of `MemoryCore.get_many` / `history`: the scope passed to the store as None (another user's record
    and versions were returned), and history's not-found message."""
    from omne.errors import NotFoundError

    bob = Scope(user="bob")
    theirs = (await fast_core.add(Record(kind=RecordKind.FACT, scope=bob, text="bob's secret")))[0]
    await fast_core.update(theirs.id, scope=bob, text="bob's newer secret")
    assert await fast_core.get_many([theirs.id], scope=ALICE) == []
    with pytest.raises(NotFoundError) as error:
        await fast_core.history(theirs.id, scope=ALICE)
    assert str(error.value) == f"no record {theirs.id} in scope {ALICE}"
    assert len(await fast_core.history(theirs.id, scope=bob)) == 2


async def test_update_keeps_or_replaces_source_ids_and_explains_a_bad_change(fast_core):
    """Mutants of `MemoryCore.update`: `changes.get("source_ids", old.source_ids)` with another key (a given
    `source_ids` was dropped), and the `invalid update: ...` message."""
    record = (await fast_core.add(_fact("derived", source_ids=["a", "b"])))[0]
    kept = await fast_core.update(record.id, scope=ALICE, text="derived again")
    assert kept.source_ids == ["a", "b"]
    replaced = await fast_core.update(kept.id, scope=ALICE, source_ids=["c"])
    assert replaced.source_ids == ["c"] and replaced.text == "derived again"
    with pytest.raises(InvalidInputError) as error:
        await fast_core.update(replaced.id, scope=ALICE, importance=7)
    assert str(error.value).startswith("invalid update: ") and "importance" in str(error.value)


async def test_supersede_adds_its_edges(fast_core):
    """Mutant of `MemoryCore.supersede`: `add_edges(None)` (the edges given with the new versions were lost)."""
    from omne.types import Edge, EdgeKind

    old, other = await fast_core.add([_fact("v1"), _fact("context")])
    from omne.types import new_id

    new = old.model_copy(update={"id": new_id(), "text": "v2", "version": 2})
    edge = Edge(scope=ALICE, src=new.id, dst=other.id, kind=EdgeKind.DERIVED_FROM)
    await fast_core.supersede([(old, new)], edges=[edge])
    assert edge.id in {e.id for e in await fast_core.edges(scope=ALICE)}


async def test_import_errors_name_the_line_and_the_record_limit(fast_core):
    """Mutants of `MemoryCore.import_jsonl`: the messages of a too-deep line and an invalid record, the
    `"record"` type test before the content limits, and the limit check's `line N` label."""
    import json

    good = json.dumps({"type": "record", "record": _fact("fine").model_dump(mode="json")})
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidInputError) as error:
        await fast_core.import_jsonl([good, deep])
    assert str(error.value) == "line 2: JSON nests too deeply to be an Omne export line"
    bad = json.dumps({"type": "record", "record": {**_fact("x").model_dump(mode="json"), "importance": 7}})
    with pytest.raises(InvalidInputError) as error:
        await fast_core.import_jsonl([good, bad])
    assert str(error.value).startswith("line 2: ") and "importance" in str(error.value)
    huge = json.dumps({"type": "record", "record": _fact("x" * (fast_core.config.limits.max_text_bytes + 1))
                       .model_dump(mode="json")})
    with pytest.raises(InvalidInputError, match="^line 3: "):
        await fast_core.import_jsonl([good, good, huge])
    assert await fast_core.list(scope=ALICE) == []  # nothing written


async def test_ingest_passes_the_name_of_bytes_on(fast_core):
    """Mutants of `MemoryCore.ingest`: `name=None` / no `name` (bytes were ingested under a generated name)."""
    result = await fast_core.ingest(b"The tram leaves at nine.\n", scope=ALICE, name="timetable.txt")
    assert result.file == "timetable.txt"
    assert {r.name for r in await fast_core.list(scope=ALICE, kinds=["document"])} == {"timetable.txt"}


async def test_stats_and_edges_of_one_scope_count_only_that_scope(fast_core):
    """Mutants of `MemoryCore.stats` (`count(None, live_only=False)`: another scope's versions counted) and
    `MemoryCore.edges` (`record_ids` not passed on: every edge of the scope returned)."""
    from omne.types import Edge, EdgeKind

    a, b, c = await fast_core.add([_fact("one"), _fact("two"), _fact("three")])
    await fast_core.update(a.id, scope=ALICE, text="one, corrected")
    await fast_core.add(Record(kind=RecordKind.FACT, scope=Scope(user="bob"), text="bob's"))
    stats = await fast_core.stats(ALICE)
    assert (stats["records"], stats["records_with_history"], stats["vectors"]) == (3, 4, 3)
    assert stats["by_kind"] == {"fact": 3} and stats["pending_index"] == 0
    assert (await fast_core.stats())["records_with_history"] == 5
    ab = Edge(scope=ALICE, src=b.id, dst=c.id, kind=EdgeKind.DERIVED_FROM)
    await fast_core.add_edges([ab])
    assert [e.id for e in await fast_core.edges(scope=ALICE, record_ids=[b.id])] == [ab.id]
    assert [e.id for e in await fast_core.edges(scope=ALICE, record_ids=[c.id])] == [ab.id]
    assert len(await fast_core.edges(scope=ALICE)) == 2  # with the SUPERSEDES edge of the update
