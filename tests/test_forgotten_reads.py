"""A forgotten record leaves every live read: `get_many` skips it (history and export still show it), and an agent's
context lets go of a forgotten message at once and does not bring it back on resume. Runs on both record stores
and through a server (tests/conftest.py: BACKEND_MODULES, SERVED_MODULES)."""

from __future__ import annotations

import io
import json

from autogen_agentchat.agents import AssistantAgent
from autogen_core.models import UserMessage

from omne.agents import AgentMemory
from omne.testing import FunctionModel
from omne.types import RecordKind, Scope


async def test_get_many_skips_forgotten_records_and_history_and_export_keep_them(fast_core):
    scope = Scope(user="alice")
    kept = await fast_core.remember("The ferry leaves at nine", scope=scope)
    gone = await fast_core.remember("My locker code is 4711", scope=scope)
    forgotten = await fast_core.forget(gone.id, scope=scope)
    assert forgotten.deleted_at is not None

    assert [r.id for r in await fast_core.get_many([gone.id, kept.id], scope=scope)] == [kept.id]
    both = await fast_core.get_many([gone.id, kept.id], scope=scope, include_forgotten=True)
    assert [r.id for r in both] == [gone.id, kept.id] and both[0].deleted_at is not None
    assert [r.id for r in await fast_core.list(scope=scope)] == [kept.id]
    assert (await fast_core.get(gone.id, scope=scope)).deleted_at is not None  # one record by id: any state
    assert (await fast_core.history(gone.id, scope=scope))[-1].deleted_at is not None
    out = io.StringIO()
    await fast_core.export_jsonl(out, scope=scope)
    exported = [json.loads(line)["record"] for line in out.getvalue().splitlines()
                if json.loads(line)["type"] == "record"]
    assert {r["id"] for r in exported} == {kept.id, gone.id}


def _said(prompt) -> str:
    return " | ".join(str(m.content) for m in prompt if isinstance(m, UserMessage))


async def _chat_with_a_secret(core):
    """An agent (OmneContext) told a locker code, then a ferry time; returns its memory, model, agent and the
    code's message record."""
    mem = await AgentMemory.open(core, agent="helper", user="alice")
    model = FunctionModel(lambda messages, tools: "Noted.")
    agent = AssistantAgent("helper", model, system_message=None, model_context=mem.context(model, window_tokens=4096))
    await agent.run(task="My locker code is 4711")
    await agent.run(task="The ferry leaves at nine")
    (secret,) = [r for r in await core.list(scope=mem.session_scope, kinds=[RecordKind.MESSAGE]) if "4711" in r.text]
    return mem, model, agent, secret


async def _resumed_window(mem, model) -> str:
    """What a new context of the same agent (resumed from the saved state) holds."""
    return " | ".join(str(m.content) for m in await mem.context(model, window_tokens=4096).window_messages())


async def test_a_message_forgotten_through_the_api_leaves_the_live_context_and_stays_gone_on_resume(fast_core):
    mem, model, agent, secret = await _chat_with_a_secret(fast_core)
    await fast_core.forget(secret.id, scope=mem.session_scope)
    await agent.run(task="What do you know?")
    assert "4711" not in _said(model.prompts[-1]) and "ferry leaves at nine" in _said(model.prompts[-1])

    resumed_model = FunctionModel(lambda messages, tools: "Hello again.")
    resumed = AssistantAgent("helper", resumed_model, system_message=None,
                             model_context=mem.context(resumed_model, window_tokens=4096))
    await resumed.run(task="Remind me")
    said = _said(resumed_model.prompts[-1])
    assert "4711" not in said and "ferry leaves at nine" in said and "What do you know?" in said


async def test_a_context_saved_with_a_message_forgotten_later_resumes_without_it(fast_core):
    mem, model, _, secret = await _chat_with_a_secret(fast_core)
    await fast_core.forget(secret.id, scope=mem.session_scope)  # the first context never looks again

    state = await fast_core.context_state("main", scope=mem.session_scope) or {}
    assert secret.id in state.get("window_ids", [])  # the saved state still names it ...
    said = await _resumed_window(mem, model)
    assert "4711" not in said and "ferry leaves at nine" in said  # ... but it does not come back


async def test_a_corrected_message_whose_latest_version_is_forgotten_leaves_the_context(fast_core):
    mem, model, agent, said = await _chat_with_a_secret(fast_core)
    corrected = await fast_core.update(said.id, scope=mem.session_scope, text="My locker code is 4712")
    await agent.run(task="Anything new?")
    assert "4711" in _said(model.prompts[-1])  # a correction alone keeps the version the window holds

    await fast_core.forget(corrected.id, scope=mem.session_scope)
    await agent.run(task="What do you know?")
    assert "471" not in _said(model.prompts[-1]) and "ferry leaves at nine" in _said(model.prompts[-1])
    assert "471" not in await _resumed_window(mem, model)
