"""The exact rules of OmneContext that the long conversation tests (tests/test_agents_context.py) only touch:
the memory-pressure warning (its wording, its record, once per eviction), clipping when the newest messages
alone overflow the window (what is clipped, to how much, and never the header or the log), a tool result
never evicted apart from its call (the saved state, component config, `close()` and resuming from the log:
tests/test_context_lifecycle.py).

Written for the mutation run of omne/agents/context.py (benchmarks/RESULTS-mutation.md). Fast: the hashing
embedder's store, embedded only, a handful of messages each."""

from __future__ import annotations

import json
import logging

import pytest

from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    UserMessage,
)

from omne.agents import EXTRACTIVE, AgentMemory, BlockSpec, OmneContext, TokenCounter
from omne.agents import rendering
from omne.errors import InvalidInputError
from omne.testing import FunctionModel
from omne.types import EdgeKind, RecordKind
from tests.support.omne_context import WINDOW
from tests.support.omne_context import context_of as _context
from tests.support.omne_context import words as _words

SUFFIX = " … [clipped to fit the context window; full text in recall]"
COUNTER = TokenCounter()  # the context's own counter (no model client): the MiniLM WordPiece tokenizer


class Marks(FunctionModel):
    """A model client whose tokenizer counts only "§" marks (and 10 per tool schema): the thresholds can be hit
    exactly. The context counts whole prompts with a client's counter; single texts with WordPiece, where
    "§ " * n is n tokens too."""

    def __init__(self, context_window: int | None = None) -> None:
        super().__init__(lambda messages, tools: "ok")
        if context_window:
            self.context_window = context_window

    def count_tokens(self, messages, *, tools=()):  # noqa: ANN001, ANN201
        return sum(str(m.content).count("§") for m in messages) + 10 * len(tools)


def _marks(n: int) -> UserMessage:
    return UserMessage(content="§ " * n, source="ada")


def _events(context: OmneContext) -> list[tuple[str, int, int, int]]:
    return [(e.kind, e.prompt_tokens, e.window_tokens, e.evicted) for e in context.events]


# -- the memory-pressure warning (mutants of _warn; `warned` reset in _evict) ------------------------------------

async def test_the_pressure_warning_says_how_full_the_window_is_and_fires_once_until_an_eviction(memory, caplog):
    context = _context(memory, context_id="chat")
    said: list[UserMessage] = []
    with caplog.at_level(logging.INFO, logger="omne.agents"):
        for _ in range(40):  # fill the window a few tokens at a time until the warning band (75-90%)
            said.append(UserMessage(content=f"Note {len(said)}: " + _words("item", 20), source="ada"))
            await context.add_message(said[-1])
            prompt = await context.get_messages()
            if context.events:
                break
    kind, tokens, window, _ = _events(context)[0]
    assert (kind, window) == ("warning", WINDOW) and 0.75 * WINDOW < tokens <= 0.9 * WINDOW
    alert = prompt[-2]  # just before the turn being answered: the user's message stays the last word
    assert prompt[-1] == said[-1] and isinstance(alert, UserMessage) and alert.source == "omne_memory"
    assert alert.content == (
        f"[memory pressure] Your context window is {round(100 * tokens / WINDOW)}% full ({tokens}/{WINDOW} tokens). "
        "At 90% the oldest messages will be evicted into a summary; they stay searchable with conversation_search, "
        "but their details leave your context. Save what matters now: core_memory_append or memory_rethink for "
        "lasting facts, archival_memory_insert for details.")
    assert [r.getMessage() for r in caplog.records if r.name == "omne.agents"] == [
        f"context chat: memory pressure at {tokens}/{WINDOW} tokens"]
    # the warning is in the log like any message: a system message, tagged, naming its context
    records = await memory.core.list(scope=memory.session_scope, kinds=[RecordKind.MESSAGE], tags=["memory_pressure"])
    assert [(r.role, r.tags, r.metadata, r.text) for r in records] == [
        ("system", ["memory_pressure"], {"context": "chat"}, alert.content)]
    assert context.window_record_ids[-2] == records[0].id

    await context.add_message(UserMessage(content="One more.", source="ada"))
    await context.get_messages()
    assert context.last_prompt_tokens <= 0.9 * WINDOW and len(context.events) == 1  # still in the band: no repeat

    for _ in range(40):  # past 90%: an eviction; the next time the window fills up, a new warning
        await context.add_message(UserMessage(content=_words("more", 20), source="ada"))
        await context.get_messages()
        if [e.kind for e in context.events][-2:] == ["eviction", "warning"]:
            break
    assert [e.kind for e in context.events] == ["warning", "eviction", "warning"]


# -- clipping: the last resort when the newest messages alone overflow (_clip, _text_of, _with_text) ----------

async def test_a_message_longer_than_the_window_is_trimmed_in_the_prompt_only(memory):
    """Clipped by the overflow plus 32 tokens of slack, at a token boundary, with a marker; the log and the window
    keep the full text (mutants of the excess, the keep arithmetic, the marker, the loop's exit)."""
    context = _context(memory)
    long = UserMessage(content="Here is everything: " + _words("fact", 1500), source="ada")
    await context.add_message(long)
    prompt = await context.get_messages()
    header = prompt[0]
    before = COUNTER.count([header, long])
    keep = COUNTER.text_tokens(long.content) - (before - WINDOW + 32)
    assert prompt == [header, UserMessage(content=COUNTER.clip(long.content, keep) + SUFFIX, source="ada")]
    tokens = COUNTER.count(prompt)
    assert WINDOW - 32 < tokens <= WINDOW and context.last_prompt_tokens == tokens
    assert _events(context) == [("clip", tokens, WINDOW, 0)]
    assert await context.window_messages() == [long]  # the prompt only: the window and the log keep it whole
    assert (await memory.core.get_many(context.window_record_ids, scope=memory.session_scope))[0].text == long.content


async def test_the_longest_texts_are_trimmed_first_a_text_keeps_at_least_16_tokens(memory):
    """A turn's tool results and reply (never evicted: they follow the user's message) overflow the window: the
    longest text is clipped first, down to 16 tokens at least, then the next longest by what is still over;
    in a tool result message only its longest result is clipped, name, call id and error flag kept."""
    context = _context(memory)
    asked = UserMessage(content="Look both words up and explain.", source="ada")
    call = AssistantMessage(content=[FunctionCall(id="c1", name="lookup", arguments='{"word": "x"}'),
                                     FunctionCall(id="c2", name="lookup", arguments='{"word": "y"}'),
                                     FunctionCall(id="c3", name="lookup", arguments='{"word": "z"}')], source="helper")
    results = [FunctionExecutionResult(content="no entry", name="lookup", call_id="c1", is_error=True),
               FunctionExecutionResult(content=_words("entry", 1500), name="lookup", call_id="c2", is_error=False),
               FunctionExecutionResult(content="short entry", name="lookup", call_id="c3", is_error=False)]
    result = FunctionExecutionResultMessage(content=results)
    reply = AssistantMessage(content=_words("because", 600), source="helper")
    for message in (asked, call, result, reply):
        await context.add_message(message)
    prompt = await context.get_messages()
    header = prompt[0]

    first = FunctionExecutionResultMessage(content=[
        results[0], results[1].model_copy(update={"content": COUNTER.clip(results[1].content, 16) + SUFFIX}),
        results[2]])  # the 1,500-word result alone exceeds the overflow: it keeps its floor of 16 tokens
    between = COUNTER.count([header, asked, call, first, reply])
    assert between > WINDOW  # still over: the next longest text, the reply, pays the rest
    keep = COUNTER.text_tokens(reply.content) - (between - WINDOW + 32)
    second = AssistantMessage(content=COUNTER.clip(reply.content, keep) + SUFFIX, source="helper")
    assert [m.model_dump() for m in prompt] == [m.model_dump() for m in [header, asked, call, first, second]]
    assert COUNTER.count(prompt) <= WINDOW and _events(context) == [("clip", COUNTER.count(prompt), WINDOW, 0)]
    assert await context.window_messages() == [asked, call, result, reply]


async def test_the_header_is_never_trimmed_even_when_it_is_the_longest_text(memory):
    prompt_text = "Be kind. " * 150  # more characters than the message, fewer tokens than the window
    context = _context(memory, system_prompt=prompt_text)
    message = UserMessage(content="a " * 600, source="ada")
    await context.add_message(message)
    prompt = await context.get_messages()
    assert len(prompt[0].content) > len(message.content) and prompt[0].content.startswith(prompt_text.strip())
    assert prompt[1].content.endswith(SUFFIX) and COUNTER.count(prompt) <= WINDOW
    alone = await _context(memory, system_prompt=prompt_text, context_id="probe").get_messages()
    assert prompt[0] == alone[0]  # the header as it is with no message at all


async def test_a_prompt_with_no_text_to_trim_is_returned_whole(memory):
    """Only plain text is clipped: a multimodal user message, tool calls and an empty result list are left as
    they are, and the overflowing prompt goes out (the model's own limit then answers) rather than looping."""
    context = _context(memory)
    window: list[LLMMessage] = [
        UserMessage(content=["Read this: " + _words("page", 1200)], source="ada"),
        AssistantMessage(content=[FunctionCall(id="c1", name="lookup", arguments='{"word": "x"}')], source="helper"),
        FunctionExecutionResultMessage(content=[])]
    for message in window:
        await context.add_message(message)
    prompt = await context.get_messages()
    assert prompt[1:] == window
    tokens = COUNTER.count(prompt)
    assert tokens > WINDOW and context.last_prompt_tokens == tokens
    assert _events(context) == [("clip", tokens, WINDOW, 0)]


async def test_a_short_text_is_not_trimmed_when_that_would_not_shrink_the_prompt(memory):
    """The only clippable text is shorter than the 16-token floor plus the marker: clipping would grow the prompt,
    so it stops (instead of looping) and sends the prompt as it is, with its true size. (Before the fix the grown
    text went out marked as clipped, and last_prompt_tokens understated the prompt.)"""
    context = _context(memory)
    calls = [AssistantMessage(content=[FunctionCall(id=f"c{i}", name="lookup", arguments=json.dumps(
        {"words": _words("w", 40)}))], source="helper") for i in range(40)]
    window = [UserMessage(content="Go.", source="ada"), *calls]
    for message in window:
        await context.add_message(message)
    prompt = await context.get_messages()
    assert prompt[1:] == window and COUNTER.count(prompt) > WINDOW
    assert context.last_prompt_tokens == COUNTER.count(prompt)
    assert _events(context) == [("clip", COUNTER.count(prompt), WINDOW, 0)]

    floor = COUNTER.clip(_words("step", 40), 16) + SUFFIX  # a text that trimming leaves as it is: no endless loop
    again = _context(memory, context_id="again")
    for message in (UserMessage(content=floor, source="ada"), *calls):
        await again.add_message(message)
    assert (await again.get_messages())[1].content == floor


async def test_retrieved_memories_go_last_in_the_header_and_a_header_that_alone_overflows_is_refused(memory):
    context = _context(memory)
    await context.add_message(UserMessage(content="Hello.", source="ada"))
    context.set_retrieved("<retrieved_memories>\n> Ada likes tea.\n</retrieved_memories>")
    assert (await context.get_messages())[0].content.endswith("\n\n<retrieved_memories>\n> Ada likes tea.\n"
                                                              "</retrieved_memories>")
    context.set_retrieved(None)
    assert "retrieved_memories" not in (await context.get_messages())[0].content

    flood = "<retrieved_memories>\n" + _words("> memory", 1200) + "\n</retrieved_memories>"
    context.set_retrieved(flood)
    probe = _context(memory, context_id="probe", window_tokens=100_000)  # the same header, in a roomy window
    probe.set_retrieved(flood)
    header_only = COUNTER.count((await probe.get_messages())[:1])
    with pytest.raises(InvalidInputError) as refused:
        await context.get_messages()
    assert str(refused.value) == (
        f"the system prompt, core memory blocks and summary alone take {header_only} of {WINDOW} tokens; lower the "
        "block limits or summary_tokens, or raise window_tokens")


# -- eviction keeps a tool call with its result (_units) ---------------------------------------------------------

async def test_an_eviction_that_ends_at_a_tool_call_takes_its_result_with_it(memory):
    """The call's arguments are large and its result small, so the tokens to free end inside the call: the
    eviction must take the call and its result together (a unit), never leave the result first in the window."""
    context = _context(memory)
    old = UserMessage(content="Please look this up.", source="ada")
    call = AssistantMessage(content=[FunctionCall(id="c1", name="lookup", arguments=json.dumps(
        {"query": _words("term", 700)}))], source="helper")
    result = FunctionExecutionResultMessage(content=[
        FunctionExecutionResult(content="found it", name="lookup", call_id="c1", is_error=False)])
    answer = AssistantMessage(content="It is there.", source="helper")
    now = UserMessage(content="Thanks. What next?", source="ada")
    for message in (old, call, result, answer, now):
        await context.add_message(message)
    await context.get_messages()
    assert [(e.kind, e.evicted) for e in context.events] == [("eviction", 3)]
    assert await context.window_messages() == [answer, now]


# -- thresholds, exactly (get_messages, _check_fixed_part, the header check of _clip) ----------------------------

async def test_warning_eviction_and_trimming_start_just_past_their_thresholds(memory):
    context = _context(memory, model_client=Marks(), summarize_with_model=False, context_id="a")
    for n, kinds in ((750, []), (1, ["warning"]), (149, ["warning"]), (1, ["warning", "eviction"])):
        await context.add_message(_marks(n))  # 750 = 75%: no warning; 751 warns; 900 = 90%: kept; 901 evicts
        await context.get_messages()
        assert [e.kind for e in context.events] == kinds, n
    assert [e.prompt_tokens for e in context.events] == [751, 901]
    at_evict = _context(memory, model_client=Marks(), context_id="f")
    await at_evict.add_message(_marks(900))  # exactly 90%, not warned before: warned now (evicted only past it)
    await at_evict.get_messages()
    assert _events(at_evict) == [("warning", 900, WINDOW, 0)]

    full = _context(memory, model_client=Marks(), context_id="b")
    await full.add_message(_marks(1000))  # exactly the window: sent whole (nothing older to evict)
    assert (await full.get_messages())[1] == _marks(1000) and full.events == [] and full.last_prompt_tokens == 1000
    over = _context(memory, model_client=Marks(), context_id="c")
    await over.add_message(_marks(1001))  # one over: trimmed by the overflow plus 32
    assert (await over.get_messages())[1].content == "§ " * 967 + "§" + SUFFIX
    assert _events(over) == [("clip", 968, WINDOW, 0)] and over.last_prompt_tokens == 968

    exact = _context(memory, model_client=Marks(), context_id="e")
    await exact.add_message(UserMessage(content="§ " * 1010 + "a " * 32, source="ada"))
    prompt = await exact.get_messages()  # the cut (10 over + 32) takes the 32 "a"s and 10 marks: exactly 1000
    assert prompt[1].content == "§ " * 999 + "§" + SUFFIX and exact.last_prompt_tokens == 1000  # fits: stop there

    header = _context(memory, model_client=Marks(), context_id="d")
    await header.add_message(_marks(101))
    header.set_retrieved("§ " * 900)  # the header alone at 90% of the window is still allowed ...
    assert (await header.get_messages())[1].content == "§ " * 67 + "§" + SUFFIX
    header.set_retrieved("§ " * 901)  # ... one more is refused
    with pytest.raises(InvalidInputError, match="alone take 901 of 1000 tokens"):
        await header.get_messages()


async def test_the_fixed_part_of_the_prompt_may_fill_the_window_up_to_the_eviction_point(memory):
    """system prompt + blocks + tool schemas + the summary's budget may reach evict_at of the window, not more; the
    refusal names each part and the smallest window that leaves room for a turn."""
    with_block = await AgentMemory.open(memory.core, agent="other", user="ada",
                                        blocks=[BlockSpec(label="human", value="Ada likes tea.")])
    blocks = COUNTER.text_tokens(await with_block.blocks.render())
    tool = {"name": "ping", "description": "Ping.", "parameters": {"type": "object", "properties": {}}}
    system = 900 - 100 - 10 - blocks  # the summary takes up to 100 (a tenth of the window), the tool 10

    fits = with_block.context(Marks(), window_tokens=WINDOW, tool_schema=[tool], system_prompt="§ " * system)
    await fits.add_message(UserMessage(content="Hello.", source="ada"))
    refused = with_block.context(Marks(), window_tokens=WINDOW, tool_schema=[tool],
                                 system_prompt="§ " * (system + 1), context_id="tight")
    with pytest.raises(InvalidInputError) as error:
        await refused.add_message(UserMessage(content="Hello.", source="ada"))
    assert str(error.value) == (
        f"window_tokens=1000 is too small: the fixed part of every prompt takes 801 tokens (system prompt "
        f"{system + 1}, core memory blocks {blocks}, 1 tool schemas 10) and the summary up to 100; use "
        "window_tokens=1286 or more, or shorten the system prompt, the blocks or the tools")  # (801+100+256)/0.9
    roomy = with_block.context(Marks(), window_tokens=1286, tool_schema=[tool], system_prompt="§ " * (system + 1),
                               summary_tokens=100, context_id="roomy")
    await roomy.add_message(UserMessage(content="Hello.", source="ada"))


# -- construction (__init__) --------------------------------------------------------------------------------------

async def test_thresholds_windows_and_defaults_are_checked_when_built(memory, caplog):
    for evict_to, warn_at, evict_at in ((0.0, 0.75, 0.9), (0.75, 0.75, 0.9), (0.5, 0.9, 0.9), (0.5, 0.75, 1.01)):
        with pytest.raises(InvalidInputError) as refused:
            memory.context(window_tokens=WINDOW, evict_to=evict_to, warn_at=warn_at, evict_at=evict_at)
        assert str(refused.value) == ("context thresholds need 0 < evict_to < warn_at < evict_at <= 1 (got "
                                      f"evict_to={evict_to}, warn_at={warn_at}, evict_at={evict_at})")
    edge = memory.context(window_tokens=WINDOW, evict_to=0.01, warn_at=0.99, evict_at=1.0)
    assert (edge.evict_to, edge.warn_at, edge.evict_at) == (0.01, 0.99, 1.0)

    with pytest.raises(InvalidInputError) as small:
        memory.context(window_tokens=255)
    assert str(small.value) == "window_tokens=255 is too small for a prompt; use at least 256"
    assert memory.context(window_tokens=256).summary_tokens == 64  # a tenth of the window, at least 64
    assert memory.context(window_tokens=WINDOW).summary_tokens == 100
    assert memory.context(window_tokens=WINDOW, summary_tokens=7).summary_tokens == 7
    assert memory.context(Marks(context_window=5000)).window_tokens == 5000  # the model's own window
    with caplog.at_level(logging.WARNING, logger="omne.agents"):
        unknown = memory.context()
    assert unknown.window_tokens == 8192 and [r.getMessage() for r in caplog.records] == [
        "the model's context window is unknown; budgeting for 8192 tokens (pass window_tokens=...)"]

    counter = TokenCounter()
    given = memory.context(window_tokens=WINDOW, counter=counter)
    assert given.counter is counter and given.summarizer.counter is counter
    model = Marks()
    assert memory.context(model, window_tokens=WINDOW).summarizer.model_client is model
    assert memory.context(model, window_tokens=WINDOW, summarize_with_model=False).summarizer.model_client is None
    fresh = memory.context(model, window_tokens=WINDOW)
    assert (fresh.events, fresh.last_prompt_tokens, fresh.summary, fresh.window_record_ids) == ([], 0, None, [])
    assert fresh.model_client is model and fresh.context_id == "main"


# -- the header and the eviction record (_header, _evict) ---------------------------------------------------------

STATUS = ("Every past message, from all sessions, is searchable with conversation_search; archival memory with "
          "archival_memory_search.\n</memory_status>")


async def test_the_header_and_what_an_eviction_writes(memory, caplog):
    """The header: system prompt (stripped), blocks, the status line, the summary. An eviction takes the oldest
    messages until it frees what brings the prompt down to evict_to plus room for the summary, folds them into a
    summary record (provenance: the evicted ids and the previous summary, DERIVED_FROM it) and says so."""
    agent = await AgentMemory.open(memory.core, agent="scribe", user="ada", session="s1",
                                   blocks=[BlockSpec(label="human", value="Ada likes tea.")])
    blocks = await agent.blocks.render()
    context = agent.context(Marks(), window_tokens=WINDOW, tool_schema=[], system_prompt="  Be terse.\n",
                            summarize_with_model=False, context_id="chat", warn_at=0.85)  # 810 tokens: no warning
    said = []
    for _ in range(9):
        said.append(_marks(90))
        await context.add_message(said[-1])
    header = (await context.get_messages())[0].content
    assert header == ("Be terse.\n\n" + blocks + "\n\n<memory_status>\nNo message of this conversation has left "
                      "the window yet. " + STATUS)
    with caplog.at_level(logging.INFO, logger="omne.agents"):
        said += [_marks(90), _marks(90)]
        await context.add_message(said[-2])
        await context.add_message(said[-1])
        prompt = await context.get_messages()  # 11 * 90 = 990 > 900: evict

    # to free: 990 - 0.55 * 1000 + 100 (the summary's budget) = 540; each message frees 4 + 1 ("ada") + 90
    assert COUNTER.message_tokens(said[0]) == 95 and _events(context) == [("eviction", 990, WINDOW, 6)]
    summary = context.summary_record
    assert context.events[0].summary_id == summary.id and prompt[1:] == said[6:]
    ids = [r.id for r in await agent.core.list(scope=agent.session_scope, kinds=[RecordKind.MESSAGE])]
    assert (summary.kind, summary.scope, summary.tags, summary.name, summary.source_ids) == (
        RecordKind.SUMMARY, agent.session_scope, ["context_summary"], "scribe", ids[:6])
    assert summary.text.startswith(f"[{EXTRACTIVE}, not model-written: lead sentences of 6 earlier messages")
    assert summary.metadata == {"context": "chat", "method": EXTRACTIVE, "evicted": 6, "covers_messages": 6,
                                "previous_summary": None, "written_by": "context:scribe"}
    assert await agent.core.edges(scope=agent.session_scope, record_ids=[summary.id]) == []
    assert [r.getMessage() for r in caplog.records if r.name == "omne.agents"] == [
        f"context chat: evicted 6 messages into summary {summary.id} ({EXTRACTIVE})"]
    assert prompt[0].content == (
        "Be terse.\n\n" + blocks + "\n\n<memory_status>\n6 earlier message(s) of this conversation were moved "
        "out of the window (summarised below). " + STATUS + "\n\n" + rendering.wrap(
            "conversation_summary", f"The running summary of the evicted messages; {rendering.QUOTED_DATA}.",
            [rendering.render_record(summary)]))

    for _ in range(40):  # the next eviction folds the first summary in
        await context.add_message(_marks(90))
        await context.get_messages()
        if len(context.events) == 2:
            break
    second = context.summary_record
    assert second.source_ids[0] == summary.id and second.metadata["previous_summary"] == summary.id
    assert second.metadata["covers_messages"] == 6 + second.metadata["evicted"] == 6 + context.events[1].evicted
    assert f"lead sentences of {second.metadata['covers_messages']} earlier messages" in second.text
    links = await agent.core.edges(scope=agent.session_scope, record_ids=[second.id])
    assert [(e.src, e.dst, e.kind) for e in links] == [(second.id, summary.id, EdgeKind.DERIVED_FROM)]
    state = (await context.save_state())["omne"]["state"]
    assert (state["summary_id"], state["evictions"], state["evicted_messages"], state["warned"]) == (
        second.id, 2, second.metadata["covers_messages"], False)

    empty = agent.context(window_tokens=WINDOW, tool_schema=[], system_prompt="   ", context_id="bare")
    assert (await empty.get_messages())[0].content.startswith(blocks)  # a blank system prompt is left out


def _expected_eviction(window: list[LLMMessage], summary_text: str | None, tokens: int) -> int:
    """The rule, written out: the oldest messages before the turn being answered (the newest one at least stays)
    go until they free tokens - evict_to * window + what the summary may still grow by (to summary_tokens)."""
    users = [i for i, m in enumerate(window) if isinstance(m, UserMessage) and m.source != "omne_memory"]
    protected = min(users[-1] if users else len(window), len(window) - 1)
    must_free = tokens - int(0.55 * WINDOW) + max(100 - COUNTER.text_tokens(summary_text or ""), 0)
    freed, cut = 0, 0
    while cut < protected and freed < must_free:
        freed += COUNTER.message_tokens(window[cut])
        cut += 1
    return cut


async def test_an_eviction_frees_down_to_evict_to_plus_room_for_the_summary(memory):
    context = _context(memory, model_client=Marks(), summarize_with_model=False, warn_at=0.85)
    said = [_marks(n) for n in (90, 90, 90, 90, 90, 90, 96, 96, 96, 96, 97)]
    for message in said:
        await context.add_message(message)
    await context.get_messages()
    # 1021 tokens: free 1021 - 550 + 100 = 571; six messages free 6 * 95 = 570, one short: the seventh goes too
    assert _events(context) == [("eviction", 1021, WINDOW, 7)] and await context.window_messages() == said[7:]

    exact = _context(memory, model_client=Marks(), summarize_with_model=False, warn_at=0.85, context_id="exact")
    said = [_marks(n) for n in (90, 90, 90, 90, 90, 90, 96, 96, 96, 96, 96)]
    for message in said:
        await exact.add_message(message)
    await exact.get_messages()  # 1020: free 570, which six messages free exactly: the seventh stays
    assert _events(exact) == [("eviction", 1020, WINDOW, 6)]

    first = context.summary_record
    for _ in range(40):  # the next eviction counts the summary there is: it may only grow to summary_tokens
        window = await context.window_messages()
        await context.add_message(_marks(90))
        await context.get_messages()
        if len(context.events) > 1 and context.events[-1].kind == "eviction":
            break
    event = context.events[-1]
    assert event.kind == "eviction" and COUNTER.text_tokens(first.text) > 0
    assert event.evicted == _expected_eviction([*window, _marks(90)], first.text, event.prompt_tokens)


async def test_an_eviction_keeps_the_newest_message_when_no_user_turn_is_in_the_window(memory):
    """Only assistant messages (no user turn to protect): even a deep eviction keeps the newest one."""
    context = _context(memory, model_client=Marks(), summarize_with_model=False, evict_to=0.01, warn_at=0.85)
    said = [AssistantMessage(content="§ " * 100, source="helper") for _ in range(10)]
    for message in said:
        await context.add_message(message)
    await context.get_messages()
    assert _events(context) == [("eviction", 1000, WINDOW, 9)] and await context.window_messages() == said[9:]


async def test_a_warning_with_nothing_in_the_window_yet_goes_first(memory):
    context = _context(memory, model_client=Marks(), context_id="empty")
    context.set_retrieved("§ " * 800)  # the header alone in the warning band, before any message
    prompt = await context.get_messages()
    assert _events(context) == [("warning", 800, WINDOW, 0)]
    assert len(prompt) == 2 and prompt[1].source == "omne_memory" and await context.window_messages() == [prompt[1]]


async def test_a_summary_over_its_budget_leaves_no_negative_room(memory):
    """summary_tokens=10 is less than the extractive summary's own header: the summary overshoots, and the next
    eviction frees exactly down to evict_to (no room for the summary to grow, and none taken back)."""
    context = _context(memory, model_client=Marks(), summarize_with_model=False, warn_at=0.85, summary_tokens=10)
    for _ in range(11):
        await context.add_message(_marks(90))
    await context.get_messages()  # 990: free 990 - 550 + 10 = 450, five messages (475)
    assert _events(context) == [("eviction", 990, WINDOW, 5)] and COUNTER.text_tokens(context.summary) > 10
    marks = (await context.get_messages()) and context.last_prompt_tokens  # the summary's marks and 6 messages
    n = 4 * 95 + 550 - marks  # a new turn that makes the prompt need exactly four messages freed
    await context.add_message(_marks(n))
    await context.get_messages()
    assert _events(context)[1:] == [("eviction", marks + n, WINDOW, 4)]


async def test_a_fixed_part_refusal_counts_an_empty_system_prompt_and_no_tools_as_nothing(memory):
    context = _context(memory, window_tokens=256, system_prompt="", summary_tokens=304)
    with pytest.raises(InvalidInputError) as refused:
        await context.add_message(UserMessage(content="Hello.", source="ada"))
    assert str(refused.value) == (  # (0 + 304 + 256) / 0.9 = 622.2, rounded up
        "window_tokens=256 is too small: the fixed part of every prompt takes 0 tokens (system prompt 0, core "
        "memory blocks 0, 0 tool schemas 0) and the summary up to 304; use window_tokens=623 or more, or shorten "
        "the system prompt, the blocks or the tools")
