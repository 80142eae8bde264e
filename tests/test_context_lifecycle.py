"""OmneContext's life cycle: AutoGen's save_state / load_state, `clear`, `close` (a store it opened is given back,
a given memory is left open), the component config round trip, and resuming a context from the log.

Written for the mutation run of omne/agents/context.py (benchmarks/RESULTS-mutation.md), as
tests/test_context_rules.py: the hashing embedder's store, embedded only, a handful of messages each."""

from __future__ import annotations

import json

import pytest

from autogen_core import CancellationToken
from autogen_core.models import AssistantMessage, UserMessage
from autogen_core.tools import FunctionTool
from autogen_ext.models.replay import ReplayChatCompletionClient

from omne.agents import AgentMemory, AgentSpec, OmneContext
from omne.agents.shared import acquire_core, release_core
from omne.errors import InvalidInputError
from omne.testing import HashEmbedder
from omne.types import RecordKind
from tests.support.omne_context import WINDOW
from tests.support.omne_context import context_of as _context
from tests.support.omne_context import words as _words


# -- state: AutoGen's save_state / load_state, clear, close ------------------------------------------------------

async def test_saved_state_is_json_names_its_context_and_restores_into_a_new_context(memory):
    context = _context(memory, context_id="chat")
    said = [UserMessage(content="The boat is in Porto.", source="ada"), AssistantMessage(content="Noted.",
                                                                                          source="helper")]
    for message in said:
        await context.add_message(message)
    records = await memory.core.get_many(context.window_record_ids, scope=memory.session_scope)
    assert [r.metadata for r in records] == [{"context": "chat"}] * 2  # each message names the context it was in
    saved = await context.save_state()
    assert json.loads(json.dumps(saved)) == saved  # AutoGen persists team states as JSON
    assert saved["omne"]["context_id"] == "chat"
    assert saved["omne"]["state"] == {"summary_id": None, "window_ids": context.window_record_ids, "warned": False,
                                      "evictions": 0, "evicted_messages": 0}

    fresh = _context(memory, context_id="elsewhere")
    await fresh.load_state(saved)
    assert await fresh.window_messages() == said and fresh.window_record_ids == context.window_record_ids

    await fresh.load_state({})  # an empty AutoGen state: an empty window
    assert await fresh.window_messages() == [] and fresh.summary is None


async def test_clear_drops_the_summary_and_the_window_for_good(memory):
    context = _context(memory, context_id="chat")
    for _ in range(40):
        await context.add_message(UserMessage(content=_words("story", 60), source="ada"))
        await context.get_messages()
        if context.summary_record is not None:
            break
    assert context.summary
    await context.clear()
    assert context.summary is None and context.summary_record is None and context.window_record_ids == []
    header = (await context.get_messages())[0].content
    assert "<conversation_summary>" not in header and "No message of this conversation has left the window" in header
    reopened = _context(memory, context_id="chat")
    assert await reopened.window_messages() == [] and reopened.summary_record is None


async def test_close_gives_back_a_store_the_context_opened_and_a_reuse_reads_the_saved_state(tmp_path):
    """Built from a spec, the context opens the store itself and gives it back in close(); used again, it reads
    its state from the log (another context may have moved it on), not a stale copy in memory."""
    store = tmp_path / "store"
    holder = await acquire_core(store, embedder=HashEmbedder())  # the contexts below share this fast core
    try:
        spec = AgentSpec(agent="helper", user="ada", store_dir=str(store))
        first = OmneContext(spec=spec, window_tokens=WINDOW, tool_schema=[], system_prompt="Be terse.")
        one = UserMessage(content="First note.", source="ada")
        await first.add_message(one)
        await first.close()
        with pytest.raises(InvalidInputError) as closed:
            first.memory  # noqa: B018 - given back
        assert str(closed.value) == ("OmneContext was built from a spec and has not opened its store yet: await its "
                                     "agent_memory() first")
        with pytest.raises(InvalidInputError) as neither:
            OmneContext(window_tokens=WINDOW)
        assert str(neither.value) == "OmneContext needs an AgentMemory or an AgentSpec"

        second = OmneContext(spec=spec, window_tokens=WINDOW, tool_schema=[], system_prompt="Be terse.")
        two = UserMessage(content="Second note.", source="ada")
        await second.add_message(two)
        await second.close()

        assert await first.window_messages() == [one, two]
        await first.close()
    finally:
        await release_core(holder)


async def test_close_leaves_a_given_memory_open(memory):
    context = _context(memory)
    await context.add_message(UserMessage(content="Hello.", source="ada"))
    await context.close()
    assert context.memory is memory and len(await context.window_messages()) == 1
    assert await memory.core.list(scope=memory.session_scope)  # the store is still open


# -- component config (_to_config, _from_config) ---------------------------------------------------------------

def _lookup(word: str) -> str:
    """Look a word up."""
    return word


async def test_the_component_config_carries_every_option_and_loads_back_the_same(tmp_path):
    spec = AgentSpec(agent="helper", user="ada", session="s1", store_dir=str(tmp_path / "store"))
    tool = FunctionTool(_lookup, description="Look a word up.")
    schema = {"name": "ping", "description": "Ping.", "parameters": {"type": "object", "properties": {}}}
    client = ReplayChatCompletionClient(["Noted."])
    context = OmneContext(spec=spec, model_client=client, summarize_with_model=False, system_prompt="Be terse.",
                          tool_schema=[tool, schema], window_tokens=3000, warn_at=0.6, evict_at=0.8, evict_to=0.4,
                          summary_tokens=77, context_id="chat")
    config = context.dump_component()
    assert config.provider == "omne.agents.OmneContext"
    assert config.config == {
        "spec": spec.model_dump(exclude_none=True), "model_client": client.dump_component().model_dump(),
        "summarize_with_model": False, "system_prompt": "Be terse.", "tool_schema": [dict(tool.schema), schema],
        "window_tokens": 3000, "warn_at": 0.6, "evict_at": 0.8, "evict_to": 0.4, "summary_tokens": 77,
        "context_id": "chat"}
    loaded = OmneContext.load_component(config)
    assert isinstance(loaded.model_client, ReplayChatCompletionClient)
    assert loaded.dump_component() == config  # every option survives the round trip
    assert (loaded.summarize_with_model, loaded.window_tokens, loaded.warn_at, loaded.evict_at, loaded.evict_to,
            loaded.summary_tokens, loaded.context_id, loaded.system_prompt) == (
        False, 3000, 0.6, 0.8, 0.4, 77, "chat", "Be terse.")

    plain = OmneContext(spec=spec, window_tokens=3000).dump_component()  # default tools and no model: not saved
    assert "tool_schema" not in plain.config and "model_client" not in plain.config  # None: left out
    assert plain.config["summarize_with_model"] is True and plain.config["summary_tokens"] == 300
    assert OmneContext.load_component(plain).dump_component() == plain


# -- resuming from the log (_ensure_loaded) ------------------------------------------------------------------------

async def test_a_resumed_context_hides_its_window_from_search_and_links_new_notes_to_its_last_message(memory):
    """A new process (a new AgentMemory on the store): the window comes back, conversation_search still skips
    what the model sees, and an archival note cites the newest message in the window as its source."""
    context = _context(memory, context_id="chat")
    said = [UserMessage(content="The spare key is under the blue pot.", source="ada"),
            AssistantMessage(content="Noted, under the blue pot.", source="helper")]
    for message in said:
        await context.add_message(message)
    ids = context.window_record_ids

    again = await AgentMemory.open(memory.core, agent="helper", user="ada", session="s1")
    resumed = _context(again, context_id="chat")
    assert await resumed.window_messages() == said
    assert await again.recall.search("spare key blue pot") == []  # in the window: not a search result
    insert = next(t for t in again.tools() if t.name == "archival_memory_insert")
    await insert.run_json({"content": "Ada keeps a spare key outside."}, CancellationToken())
    note = (await memory.core.list(scope=again.scope, kinds=[RecordKind.FACT],
                                   text_contains="spare key outside"))
    assert [r.source_ids for r in note] == [[ids[-1]]]


async def test_a_resumed_context_skips_ids_the_log_does_not_hold(memory):
    """A saved state that names records the log does not hold (written through the API by hand, or a store
    restored without them): the resumed window, summary and state keep only what the log has."""
    context = _context(memory, context_id="chat")
    said = [UserMessage(content="First.", source="ada"), UserMessage(content="Second.", source="ada")]
    for message in said:
        await context.add_message(message)
    kept = context.window_record_ids
    await memory.core.save_context_state("chat", {"summary_id": "no-such-summary", "window_ids": [
        kept[0], "no-such-message", kept[1]], "warned": False, "evictions": 1, "evicted_messages": 3},
        scope=memory.session_scope)

    resumed = _context(memory, context_id="chat")
    assert await resumed.window_messages() == said and resumed.window_record_ids == kept
    assert resumed.summary is None and "<conversation_summary>" not in (await resumed.get_messages())[0].content
    assert (await resumed.save_state())["omne"]["state"]["window_ids"] == kept
