"""The virtual context manager: window budget, pressure warning, eviction into recursive summaries, restart."""

import logging

import pytest

from autogen_agentchat.agents import AssistantAgent
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    SystemMessage,
    UserMessage,
)

from omne.agents import EXTRACTIVE, AgentMemory, BlockSpec, TokenCounter
from omne.errors import InvalidInputError
from omne.types import RecordKind
from omne.testing import FunctionModel, call, open_fast_core

TOPICS = ["the garden", "a train journey", "spring weather", "bread", "an old film", "chess openings"]
FACT = "Turn 3: by the way, my sister Zephyrine lives in Reykjavik and collects antique barometers."


def _chat_script(messages, tools):
    last = messages[-1]
    if isinstance(last, FunctionExecutionResultMessage):
        return "From our history: " + last.content[0].content
    if isinstance(last, UserMessage) and "sister's name" in str(last.content):
        return [call("conversation_search", query="sister name")]
    return f"Thanks, noted. That sounds like a good point about {TOPICS[len(messages) % 6]}; tell me more any time."


def _alert(prompt):
    return any(isinstance(m, UserMessage) and m.source == "omne_memory" for m in prompt)


async def _summaries(core, mem):
    records = await core.list(scope=mem.session_scope, kinds=[RecordKind.SUMMARY])
    return [r for r in records if "context_summary" in r.tags]


async def test_300_turns_through_a_4k_window(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice", blocks=[BlockSpec(label="human", limit=500)])
    model = FunctionModel(_chat_script)
    ctx = mem.context(model, window_tokens=4096, summarize_with_model=False)
    agent = AssistantAgent("helper", model, system_message=None, tools=mem.tools(), model_context=ctx,
                           reflect_on_tool_use=True)
    for turn in range(1, 300):
        task = FACT if turn == 3 else (f"Turn {turn}: I have been thinking about {TOPICS[turn % 6]} and how it "
                                       "changed over the years, and I wanted to share a few thoughts with you today.")
        await agent.run(task=task)
    result = await agent.run(task="What is my sister's name?")

    counter = TokenCounter()
    sizes = [counter.count(c["messages"], c["tools"]) for c in model.calls]
    assert len(sizes) == 301 and max(sizes) <= 4096
    assert max(sizes) > 0.85 * 4096  # the window is really used, not kept trivially small

    evictions = [e for e in ctx.events if e.kind == "eviction"]
    warnings = [e for e in ctx.events if e.kind == "warning"]
    assert len(evictions) >= 5 and warnings
    assert ctx.events[0].kind == "warning"  # the agent is warned before anything is evicted
    first_warned = next(i for i, p in enumerate(model.prompts) if _alert(p))
    first_summarised = next(i for i, p in enumerate(model.prompts) if "<conversation_summary>" in p[0].content)
    assert first_warned < first_summarised

    summaries = await _summaries(fast_core, mem)
    assert len(summaries) == len(evictions)
    for previous, summary in zip(summaries, summaries[1:]):  # each summary folds in the one before
        assert summary.source_ids[0] == previous.id == summary.metadata["previous_summary"]
        assert summary.metadata["method"] == EXTRACTIVE and summary.text.startswith(f"[{EXTRACTIVE}")
        carried = summary.text.split("\n")[1].removesuffix(" …")
        assert any(line.startswith(carried) for line in previous.text.split("\n")[1:])
    assert summaries[-1].metadata["covers_messages"] == ctx._state.evicted_messages

    fact_id = (await fast_core.list(scope=mem.session_scope, kinds=[RecordKind.MESSAGE], text_contains="Zephyrine"))[0].id
    assert fact_id not in ctx.window_record_ids  # evicted long ago ...
    assert all("Zephyrine" not in str(m.content) for m in model.prompts[-2])
    found = model.prompts[-1][-1].content[0].content  # ... yet conversation_search finds it at turn 300
    lines = found.split("\n")  # a header, then two lines per message: "[n] who and when", "> text"
    # among the first two: the learned ranker weighs the message after a match almost as much as the match (on
    # LoCoMo, evidence often spans adjacent turns), and here the window's question and tool call take BM25's top
    assert lines[1].startswith("[1] ") and f"> {FACT}" in (lines[2], lines[4])
    assert "Zephyrine" in result.messages[-1].content


async def test_eviction_never_separates_a_tool_call_from_its_result(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice")
    turn = {"n": 0}

    def script(messages, tools):
        if isinstance(messages[-1], UserMessage):
            turn["n"] += 1
            return [call("archival_memory_insert", content=f"note {turn['n']}: " + "details " * 40)]
        return "Stored."

    model = FunctionModel(script)
    tools = [t for t in mem.tools() if t.name == "archival_memory_insert"]
    ctx = mem.context(model, window_tokens=1200, summarize_with_model=False, tool_schema=tools)
    agent = AssistantAgent("helper", model, system_message=None, tools=tools, model_context=ctx,
                           reflect_on_tool_use=True)
    for i in range(12):
        await agent.run(task=f"Please store note {i} for me with all its details.")
    assert sum(e.kind == "eviction" for e in ctx.events) >= 2
    for prompt in model.prompts:
        for i, message in enumerate(prompt):
            if isinstance(message, FunctionExecutionResultMessage):
                asked = prompt[i - 1]
                assert isinstance(asked, AssistantMessage) and not isinstance(asked.content, str)
                assert [c.id for c in asked.content] == [r.call_id for r in message.content]
        assert TokenCounter().count(prompt, ctx.tool_schema) <= 1200


async def test_model_written_summaries_fold_in_the_previous_one(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice")
    summary_prompts = []

    def summarise(messages, tools):
        summary_prompts.append(messages[-1].content)
        return f"Summary number {len(summary_prompts)}: the user talked about their week."

    ctx = mem.context(FunctionModel(summarise), window_tokens=600, tool_schema=[])
    for i in range(40):
        await ctx.add_message(UserMessage(content=f"Message {i}: a long-ish story about my week, day {i}.", source="user"))
        await ctx.add_message(AssistantMessage(content=f"Reply {i}: thanks for sharing.", source="helper"))
        await ctx.get_messages()
    assert len(summary_prompts) >= 3
    assert "Previous summary:\n(none)" in summary_prompts[0]
    for n, prompt in enumerate(summary_prompts[1:], 1):
        assert f"Summary number {n}: the user talked about their week." in prompt
    records = await _summaries(fast_core, mem)
    assert [r.metadata["method"] for r in records] == ["model"] * len(summary_prompts)
    assert records[-1].text.startswith("[model-written summary of")
    assert f"Summary number {len(summary_prompts)}" in (await ctx.get_messages())[0].content


async def test_context_state_survives_a_restart(tmp_path):
    core = await open_fast_core(tmp_path / "store")
    mem = await AgentMemory.open(core, agent="helper", user="alice", session="s1")
    ctx = mem.context(window_tokens=600, tool_schema=[])
    for i in range(30):
        await ctx.add_message(UserMessage(content=f"Message {i}: something worth remembering, item {i}.", source="user"))
        await ctx.add_message(AssistantMessage(content=f"Reply {i}.", source="helper"))
        before = await ctx.get_messages()
    assert ctx.summary and ctx.events
    ids = ctx.window_record_ids
    await core.close()

    core = await open_fast_core(tmp_path / "store")
    try:
        again = await AgentMemory.open(core, agent="helper", user="alice", session="s1")
        restored = again.context(window_tokens=600, tool_schema=[])
        after = await restored.get_messages()
        assert restored.window_record_ids == ids
        assert [m.model_dump() for m in after] == [m.model_dump() for m in before]
        other_session = await (await AgentMemory.open(core, agent="helper", user="alice", session="s2")
                               ).context(window_tokens=600, tool_schema=[]).get_messages()
        assert len(other_session) == 1 and "<conversation_summary>" not in other_session[0].content
    finally:
        await core.close()


async def test_clear_empties_the_window_but_recall_keeps_everything(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice")
    ctx = mem.context(window_tokens=4096)
    await ctx.add_message(UserMessage(content="The spare key is under the blue pot", source="user"))
    assert await mem.recall.search("spare key") == []  # the model sees it in its window: not a search result
    await ctx.clear()
    assert await ctx.get_messages() == [(await ctx.get_messages())[0]]
    assert "blue pot" in (await mem.recall.search("spare key"))[0].text


async def test_token_counter_never_asks_tiktoken_and_falls_back_once(caplog):
    """AutoGen's OpenAI client counts with tiktoken, which downloads its encodings: Omne counts for it, quietly.
    A client whose own counter fails is used until then, and the fallback is logged once."""
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    messages = [SystemMessage(content="You are terse."), UserMessage(content="Hello there, how are you?", source="u"),
                FunctionExecutionResultMessage(content=[FunctionExecutionResult(content="ok", name="f", call_id="1")])]
    tokenizer = TokenCounter()
    assert tokenizer.source == "MiniLM WordPiece tokenizer"
    expected = tokenizer.count(messages)
    t = tokenizer.text_tokens
    assert expected == 3 + (4 + t("You are terse.")) + (4 + t("u") + t("Hello there, how are you?")) + (4 + t("f: ok"))

    client = OpenAIChatCompletionClient(model="gpt-4o-mini", api_key="x", base_url="http://127.0.0.1:9/v1")
    counter = TokenCounter(client)
    with caplog.at_level(logging.WARNING):
        try:
            counted = [counter.count(messages) for _ in range(3)]
        finally:
            await client.close()
    assert counter.source == "MiniLM WordPiece tokenizer" and counted == [expected] * 3
    assert not caplog.records  # no tiktoken attempt, so no "Model ... not found" and no fallback warning

    class Flaky(FunctionModel):
        def count_tokens(self, messages, *, tools=[]):  # noqa: ANN001, ANN202, B006
            raise RuntimeError("tokenizer unavailable")

    flaky = TokenCounter(Flaky(lambda m, t: "x"))
    assert flaky.source == "model client"
    with caplog.at_level(logging.WARNING, logger="omne.agents"):
        assert [flaky.count(messages) for _ in range(3)] == [expected] * 3
    assert len([r for r in caplog.records if "cannot count tokens" in r.message]) == 1


async def test_autogen_save_and_load_state_restore_the_window(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice")
    ctx = mem.context(window_tokens=600, tool_schema=[])
    for i in range(20):
        await ctx.add_message(UserMessage(content=f"Message {i}: the plan for day {i} of the trip.", source="user"))
        await ctx.add_message(AssistantMessage(content=f"Reply {i}.", source="helper"))
        await ctx.get_messages()
    saved = await ctx.save_state()
    snapshot = await ctx.get_messages()
    await ctx.add_message(UserMessage(content="Something after the snapshot.", source="user"))

    await ctx.load_state(saved)
    assert [m.model_dump() for m in await ctx.get_messages()] == [m.model_dump() for m in snapshot]
    plain = mem.context(window_tokens=600, tool_schema=[], context_id="imported")
    await plain.load_state({"messages": saved["messages"]})  # a plain AutoGen state: its messages are recorded
    assert [m.model_dump() for m in await plain.window_messages()] == saved["messages"]


async def test_a_window_the_fixed_prompt_does_not_fit_is_refused_with_the_parts_and_a_size_that_works(fast_core):
    mem = await AgentMemory.open(fast_core, agent="a", user="u", blocks=[BlockSpec(label="human")])
    context = mem.context(FunctionModel(lambda m, t: "hi"), window_tokens=1000)
    with pytest.raises(InvalidInputError) as refused:
        await context.add_message(UserMessage(content="hello", source="user"))
    text = str(refused.value)
    assert "window_tokens=1000 is too small" in text and "8 tool schemas" in text and "system prompt" in text
    needed = int(text.split("use window_tokens=")[1].split(" ")[0])
    assert not await mem.recall.search("")  # refused before anything was recorded
    roomy = mem.context(FunctionModel(lambda m, t: "hi"), window_tokens=needed, context_id="roomy")
    await roomy.add_message(UserMessage(content="hello", source="user"))
    assert len(await roomy.get_messages()) == 2
