"""The structured-output helper: repair, bounded retry and timeout around a ChatCompletionClient."""

from __future__ import annotations

import asyncio

import pytest
from autogen_core.models import UserMessage
from autogen_ext.models.replay import ReplayChatCompletionClient
from pydantic import BaseModel

from omne.construction.structured import (
    StructuredCallConfig, StructuredOutputError, extract_json_object, structured_call,
)
from omne.testing import FunctionModel


class Answer(BaseModel):
    city: str
    year: int


ASK = [UserMessage(content="where and when?", source="test")]


@pytest.mark.parametrize("reply", [
    '{"city": "Lisbon", "year": 2024}',
    '```json\n{"city": "Lisbon", "year": 2024}\n```',
    'Sure! Here it is: {"city": "Lisbon", "year": 2024} Hope that helps {not json}',
])
def test_extract_json_object_repairs_fences_and_prose(reply):
    assert extract_json_object(reply) == '{"city": "Lisbon", "year": 2024}'


def test_extract_json_object_handles_braces_inside_strings():
    assert extract_json_object('x {"a": "}{", "b": {"c": 1}} y') == '{"a": "}{", "b": {"c": 1}}'


async def test_a_bad_reply_is_fed_back_and_the_retry_succeeds():
    client = ReplayChatCompletionClient(['{"city": "Lisbon", "year": "soon"}', '{"city": "Lisbon", "year": 2024}'])
    answer = await structured_call(client, ASK, Answer, StructuredCallConfig(attempts=3))
    assert answer == Answer(city="Lisbon", year=2024)
    retry_prompt = client.create_calls[1]["messages"][-1].content
    assert "year" in retry_prompt and "could not be used" in retry_prompt


async def test_malformed_then_garbage_then_timeout_raises_with_every_reason():
    replies = iter(['{"city": "Lisbon", "year": ', "I am a teapot", None])

    async def script(messages, tools):
        reply = next(replies)
        if reply is None:
            await asyncio.sleep(5)
        return reply

    client = FunctionModel(script)
    with pytest.raises(StructuredOutputError) as info:
        await structured_call(client, ASK, Answer, StructuredCallConfig(attempts=3, timeout_s=0.1))
    message = str(info.value)
    assert "attempt 1: invalid JSON: Expecting value" in message
    assert "attempt 2: no JSON object in the reply ('I am a teapot')" in message
    assert "attempt 3: timed out after 0.1 s" in message
    assert info.value.last_reply == "I am a teapot"


async def test_a_client_error_counts_as_a_failed_attempt():
    def boom(messages, tools):
        raise ConnectionError("endpoint down")

    with pytest.raises(StructuredOutputError, match="model call failed: ConnectionError: endpoint down"):
        await structured_call(FunctionModel(boom), ASK, Answer, StructuredCallConfig(attempts=2))


async def test_a_check_rejects_a_valid_but_unusable_reply_and_usage_and_replies_are_kept():
    from autogen_core.models import CreateResult, RequestUsage

    from omne.construction.structured import structured_reply

    def reply(text, tokens):
        return CreateResult(finish_reason="stop", content=text, usage=RequestUsage(tokens, 1), cached=False)

    def only_lisbon(answer: Answer) -> None:
        if answer.city != "Lisbon":
            raise ValueError(f"city {answer.city!r} is not one of ['Lisbon']")

    client = ReplayChatCompletionClient([reply('{"city": "Porto", "year": 2024}', 10),
                                         reply('{"city": "Lisbon", "year": 2024}', 20)])
    got = await structured_reply(client, ASK, Answer, StructuredCallConfig(attempts=2, timeout_s=None),
                                 check=only_lisbon, source="planner")
    assert got.value == Answer(city="Lisbon", year=2024)
    assert (got.usage.prompt_tokens, got.usage.completion_tokens) == (30, 2)
    assert got.replies == ['{"city": "Porto", "year": 2024}', '{"city": "Lisbon", "year": 2024}']
    repair = client.create_calls[1]["messages"]
    assert repair[-2].source == "planner" and "city 'Porto' is not one of ['Lisbon']" in repair[-1].content

    client = ReplayChatCompletionClient([reply('{"city": "Porto", "year": 1}', 7)])
    with pytest.raises(StructuredOutputError) as info:
        await structured_reply(client, ASK, Answer, StructuredCallConfig(attempts=1), check=only_lisbon)
    assert info.value.replies == ['{"city": "Porto", "year": 1}'] and info.value.usage.prompt_tokens == 7


async def test_client_errors_can_propagate_at_once():
    calls = []

    def refused(messages, tools):
        calls.append(messages)
        raise PermissionError("key rejected")

    with pytest.raises(PermissionError, match="key rejected"):
        await structured_call(FunctionModel(refused), ASK, Answer,
                              StructuredCallConfig(attempts=3, retry_client_errors=False))
    assert len(calls) == 1
