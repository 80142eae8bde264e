"""Core memory blocks: edits, limits, read-only, history, sharing in a team, and user isolation."""

import pytest

from omne.agents import AgentMemory, BlockError, BlockSpec


def _tool(memory, name):
    return next(t for t in memory.tools() if t.name == name)


async def _run(tool, **args):
    from autogen_core import CancellationToken

    return await tool.run_json(args, CancellationToken())


async def test_block_edits_keep_history_and_render_usage(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice",
                                 blocks=[BlockSpec(label="human", value="Name: Alice", limit=100,
                                                   description="Facts about the user")])
    await mem.blocks.append("human", "Likes: sailing")
    await mem.blocks.replace("human", "sailing", "sailing, tea")
    await mem.blocks.insert("human", "City: Porto", line=1)
    block = await mem.blocks.get("human")
    assert block.value == "Name: Alice\nCity: Porto\nLikes: sailing, tea"
    history = await mem.blocks.history("human")
    assert [b.value for b in history] == ["Name: Alice", "Name: Alice\nLikes: sailing",
                                          "Name: Alice\nLikes: sailing, tea", block.value]
    assert [b.version for b in history] == [1, 2, 3, 4]
    rendered = await mem.blocks.render()
    assert f'chars="{len(block.value)}/100"' in rendered
    assert "Facts about the user" in rendered and "City: Porto" in rendered
    await mem.blocks.rethink("human", "Alice from Porto")
    assert (await mem.blocks.get("human")).value == "Alice from Porto"


async def test_block_refuses_bad_edits_with_clear_errors(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice", blocks=[
        BlockSpec(label="human", value="a b a", limit=10),
        BlockSpec(label="rules", value="Be kind.", read_only=True)])
    cases = [
        (mem.blocks.append("nope", "x"), "no memory block labelled 'nope'; the blocks are: human, rules"),
        (mem.blocks.append("human", "0123456789"), "over its limit of 10"),
        (mem.blocks.rethink("rules", "Be rude."), "read-only"),
        (mem.blocks.replace("human", "zzz", "y"), "was not found"),
        (mem.blocks.replace("human", "a", "y"), "occurs 2 times"),
        (mem.blocks.insert("human", "x", line=7), "line 7 is outside block 'human', which has 1 lines"),
    ]
    for edit, message in cases:
        with pytest.raises(BlockError, match=message.replace("(", r"\(")):
            await edit
    assert (await mem.blocks.get("human")).value == "a b a"
    await mem.blocks.set("rules", "Be kind and brief.", as_agent=False)  # the developer may
    assert (await mem.blocks.get("rules")).value == "Be kind and brief."


async def test_a_stored_block_outlives_its_initial_value(fast_core):
    first = await AgentMemory.open(fast_core, agent="helper", user="alice", blocks=[BlockSpec(label="human", value="v1")])
    await first.blocks.append("human", "learned")
    again = await AgentMemory.open(fast_core, agent="helper", user="alice", blocks=[BlockSpec(label="human", value="v1")])
    assert (await again.blocks.get("human")).value == "v1\nlearned"


async def test_two_agents_sharing_a_block_see_each_others_edits(fast_core):
    shared = BlockSpec(label="project", value="Goal: ship v1", shared=True)
    planner = await AgentMemory.open(fast_core, agent="planner", user="alice", team="crew", blocks=[shared])
    coder = await AgentMemory.open(fast_core, agent="coder", user="alice", team="crew",
                                   blocks=[shared, BlockSpec(label="notes", value="coder only")])
    coder_ctx = coder.context(window_tokens=4096)
    planner_ctx = planner.context(window_tokens=4096)

    assert (await _run(_tool(planner, "core_memory_append"), label="project", content="Deadline: Friday")).startswith("Appended")
    header = (await coder_ctx.get_messages())[0].content
    assert "Goal: ship v1\nDeadline: Friday" in header

    await _run(_tool(coder, "core_memory_replace"), label="project", old_content="Friday", new_content="Monday")
    header = (await planner_ctx.get_messages())[0].content
    assert "Deadline: Monday" in header and "coder only" not in header  # private blocks stay private
    editors = [b.edited_by for b in await planner.blocks.history("project")]
    assert editors == ["agent:planner", "agent:planner", "agent:coder"]


async def test_shared_blocks_need_a_team(fast_core):
    from omne.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="has no team"):
        await AgentMemory.open(fast_core, agent="solo", blocks=[BlockSpec(label="project", shared=True)])


async def test_an_agent_serving_user_a_cannot_read_user_b(fast_core):
    from autogen_core.models import UserMessage

    for_a = await AgentMemory.open(fast_core, agent="helper", user="user-a")
    for_b = await AgentMemory.open(fast_core, agent="helper", user="user-b")
    await for_b.recall.record([UserMessage(content="My bank PIN is 4321.", source="user")])
    await _run(_tool(for_b, "archival_memory_insert"), content="User B's PIN is 4321")
    await for_a.recall.record([UserMessage(content="Hello there", source="user")])

    assert "4321" in await _run(_tool(for_b, "conversation_search"), query="PIN")
    assert "4321" in await _run(_tool(for_b, "archival_memory_search"), query="PIN")
    seen_by_a = await _run(_tool(for_a, "conversation_search"), query="PIN 4321")
    assert "4321" not in seen_by_a and "Hello there" in seen_by_a  # dense search returns A's nearest message only
    assert await _run(_tool(for_a, "archival_memory_search"), query="PIN 4321") == \
        "No archival records found for 'PIN 4321'."
    listed = await _run(_tool(for_a, "conversation_search"), query="")
    assert "Hello there" in listed and "4321" not in listed
