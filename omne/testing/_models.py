"""Scripted model clients for tests: a function-backed chat client and helpers for AutoGen's replay client.

None of them is a model. `FunctionModel` returns exactly what the test's function says (text or tool
calls; it may be async, sleep or raise); `replay(...)` scripts AutoGen's ReplayChatCompletionClient
in order.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, ModelInfo, RequestUsage
from autogen_core.tools import Tool, ToolSchema
from autogen_ext.models.replay import ReplayChatCompletionClient
from pydantic import TypeAdapter

Reply = str | list[FunctionCall]
Script = Callable[[list[LLMMessage], list[Any]], Reply]

# What the scripted clients claim to support (tools and JSON mode; no vision, no native schemas).
MODEL_INFO: ModelInfo = {"vision": False, "function_calling": True, "json_output": True, "family": "unknown",
                         "structured_output": False}
_MODEL_INFO = TypeAdapter(ModelInfo)
_MODEL_INFO_KEYS = ModelInfo.__required_keys__ | ModelInfo.__optional_keys__


class FunctionModel(ChatCompletionClient):
    """A ChatCompletionClient whose every reply is `script(messages, tools)`; it records what it received.

    It has no tokenizer and no window: `count_tokens` and `remaining_tokens` raise, so Omne falls back to
    its own tokenizer and to the window it is given.
    """

    def __init__(self, script: Script, **model_info: Any) -> None:
        self.script = script
        self.calls: list[dict[str, Any]] = []
        unknown = sorted(model_info.keys() - _MODEL_INFO_KEYS)
        if unknown:
            raise TypeError(f"FunctionModel: unknown model_info key(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(_MODEL_INFO_KEYS))}")
        self._info = _MODEL_INFO.validate_python({**MODEL_INFO, "multiple_system_messages": False, **model_info})

    @property
    def prompts(self) -> list[list[LLMMessage]]:
        """The messages of every call, in order."""
        return [call["messages"] for call in self.calls]

    async def create(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = [],
                     tool_choice: Any = "auto", json_output: Any = None, extra_create_args: Any = {},
                     cancellation_token: Any = None) -> CreateResult:
        self.calls.append({"messages": list(messages), "tools": list(tools), "json_output": json_output})
        reply = self.script(list(messages), list(tools))
        if inspect.isawaitable(reply):
            reply = await reply
        return CreateResult(finish_reason="function_calls" if isinstance(reply, list) else "stop", content=reply,
                            usage=RequestUsage(prompt_tokens=0, completion_tokens=0), cached=False)

    async def create_stream(self, messages: Sequence[LLMMessage], **kwargs: Any) -> AsyncGenerator[Any, None]:
        yield await self.create(messages, **kwargs)

    async def close(self) -> None:
        pass

    def actual_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=0, completion_tokens=0)

    def total_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=0, completion_tokens=0)

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        raise NotImplementedError("a scripted model has no tokenizer")

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        raise NotImplementedError("a scripted model has no window")

    @property
    def capabilities(self) -> Any:
        return self._info

    @property
    def model_info(self) -> ModelInfo:
        return self._info


def call(name: str, call_id: str | None = None, **arguments: Any) -> FunctionCall:
    """A tool call as a model would emit it (its id derived from the call unless given)."""
    digest = hashlib.md5((name + json.dumps(arguments, sort_keys=True)).encode()).hexdigest()[:8]
    return FunctionCall(id=call_id or f"call_{digest}", name=name, arguments=json.dumps(arguments))


def tool_call(name: str, call_id: str = "call-1", **arguments: Any) -> CreateResult:
    """A scripted replay reply that calls one tool."""
    return CreateResult(finish_reason="function_calls", cached=False, content=[call(name, call_id, **arguments)],
                        usage=RequestUsage(prompt_tokens=0, completion_tokens=5))


def as_json(value: Any) -> str:
    """A scripted JSON reply (dicts, or pydantic models)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value)


def replay(*replies: str | CreateResult) -> ReplayChatCompletionClient:
    """AutoGen's replay client with these replies, in order, and MODEL_INFO."""
    return ReplayChatCompletionClient(list(replies), model_info=MODEL_INFO)


def prompts_sent(client: ReplayChatCompletionClient) -> list[str]:
    """The text messages of each call the client received, joined, in order."""
    out = []
    for sent in client.create_calls:
        texts = [m.content for m in sent["messages"] if isinstance(getattr(m, "content", None), str)]
        out.append("\n".join(texts))
    return out
