"""Bad input gets a clear error and writes nothing: through the Python API and through the CLI."""

from __future__ import annotations

import pytest

from omne import InvalidInputError, MemoryCore, Record, RecordKind, Scope
from omne.config import OmneConfig
from omne.storage import open_storage
from omne.validation import make_scope

ME = Scope(user="ana")
TEN_MB = "x" * (10 * 1024 * 1024)


async def _nothing_written(core: MemoryCore) -> None:
    stats = await core.stats()
    assert stats["records_with_history"] == 0 and stats["vectors"] == 0


@pytest.mark.parametrize(("text", "kind", "message"), [
    ("", "fact", "text is empty"),
    ("   \n\t", "message", "text is empty"),
    ("hello", "memo", "kind"),
    (TEN_MB, "document", "over the 1,000,000-byte limit"),
    ("bad \ud800 surrogate", "fact", "not valid UTF-8"),
])
async def test_bad_text_or_kind_is_rejected(core: MemoryCore, text, kind, message):
    with pytest.raises(InvalidInputError, match=message):
        await core.remember(text, scope=ME, kind=kind)
    await _nothing_written(core)


@pytest.mark.parametrize("fields", [
    {"user": ""}, {"user": "   "}, {"user": "a\x00b"}, {"session": "line\nbreak"}, {"team": "del\x7f"},
    {"agent": "x" * 257}, {"user": "\udcff"}, {},
])
async def test_invalid_scopes_are_rejected(core: MemoryCore, fields):
    with pytest.raises(InvalidInputError, match="invalid scope"):
        make_scope(**fields)
    with pytest.raises(InvalidInputError, match="invalid scope"):  # not a raw pydantic error
        Scope(**fields)
    await _nothing_written(core)


def test_sync_memory_core_opens_like_memory_core(tmp_path):
    from omne.sync import SyncMemoryCore
    from omne.testing import HashEmbedder

    with SyncMemoryCore.open(tmp_path / "sync", embedder=HashEmbedder()) as memory:
        stored = memory.remember("Kim rides a red bike.", scope=Scope(user="kim"))
        assert memory.get(stored.id, scope=Scope(user="kim")).text == "Kim rides a red bike."


async def test_a_missing_scope_is_a_clear_error_on_every_path(core: MemoryCore):
    with pytest.raises(InvalidInputError, match="scope"):
        await core.remember("no scope", scope=None)
    for call in (core.search("anything", scope=None), core.get("x", scope=None), core.list(scope=None),
                 core.history("x", scope=None), core.edges(scope=None), core.get_many(["x"], scope=None)):
        with pytest.raises(InvalidInputError, match="scope must be an omne.Scope"):
            await call
    await _nothing_written(core)


async def test_one_bad_record_rejects_the_whole_batch(core: MemoryCore):
    good = Record(kind=RecordKind.FACT, scope=ME, text="fine")
    for bad in (Record(kind=RecordKind.FACT, scope=ME, text=""),
                Record(kind=RecordKind.FACT, scope=ME, text="x", name="\ud800"),
                Record(kind=RecordKind.FACT, scope=ME, text="x", metadata={"when": object()}),
                Record(kind=RecordKind.FACT, scope=ME, text="x", schema_name="preference", data={"holder": 1})):
        with pytest.raises(InvalidInputError):
            await core.add([good, bad])
    with pytest.raises(InvalidInputError, match="appears twice"):
        await core.add([good, good])
    await _nothing_written(core)


def _one_line_error(result, fragment: str) -> None:
    assert result.returncode != 0
    stderr = result.stderr.decode("utf-8") if isinstance(result.stderr, bytes) else result.stderr
    assert stderr.count("\n") == 1 and stderr.startswith("omne: error: "), stderr
    assert fragment in stderr and "Traceback" not in stderr


def test_cli_rejects_bad_input_with_one_line(omne_cli, tmp_path):
    store = tmp_path / "store"
    _one_line_error(omne_cli("memory", "add", "--user", "u", input=b"caf\xe9 \xff\xfe", store=store),
                    "stdin is not valid UTF-8")
    _one_line_error(omne_cli("memory", "add", "", "--user", "u", store=store), "text is empty")
    _one_line_error(omne_cli("memory", "add", "hi", "--kind", "memo", "--user", "u", store=store), "kind")
    _one_line_error(omne_cli("memory", "add", "hi", "--user", "", store=store), "name a scope")
    _one_line_error(omne_cli("memory", "add", "hi", "--user", "   ", store=store), "invalid scope")
    _one_line_error(omne_cli("memory", "add", "hi", "--user", "a\x01b", store=store), "control characters")
    _one_line_error(omne_cli("memory", "add", "hi", store=store), "name a scope")
    _one_line_error(omne_cli("memory", "add", "hi", "--user", "u", "--data", "{oops", store=store), "not valid JSON")
    _one_line_error(omne_cli("memory", "add", "--user", "u", input=TEN_MB.encode(), store=store), "byte limit")
    storage = open_storage(OmneConfig.from_env(store))  # some checks run after the store opened
    try:
        assert storage.records.count(None, live_only=False) == 0
    finally:
        storage.close()
