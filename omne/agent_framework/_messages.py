"""Agent Framework messages <-> the AutoGen message models Omne records, budgets and summarises.

Omne's recall memory, virtual context and summaries work on `autogen_core.models` messages (plain
pydantic data). This door translates Agent Framework `Message`s to them and back: text, function calls
(with their call ids) and function results; other content (images, files, reasoning) is kept as a
bracketed note so the turn stays readable.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping, Sequence

from agent_framework import Content, Message
from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)

_SKIPPED = {"usage", "function_approval_request", "function_approval_response"}


def _arguments(content: Content) -> str:
    args = content.arguments
    if args is None:
        return "{}"
    return args if isinstance(args, str) else json.dumps(dict(args), default=str)


def _note(content: Content) -> str:
    return f"[{content.type}]"


def to_autogen(messages: Sequence[Message], call_names: MutableMapping[str, str] | None = None) -> list[LLMMessage]:
    """Agent Framework messages as AutoGen messages (one or more each). `call_names` maps function-call ids to
    tool names across calls (a function result names its tool only through the call it answers)."""
    names = call_names if call_names is not None else {}
    out: list[LLMMessage] = []
    for message in messages:
        texts: list[str] = []
        calls: list[FunctionCall] = []
        results: list[FunctionExecutionResult] = []
        for content in message.contents:
            if content.type == "text":
                texts.append(content.text or "")
            elif content.type == "function_call" and content.call_id and content.name:
                names[content.call_id] = content.name
                calls.append(FunctionCall(id=content.call_id, name=content.name, arguments=_arguments(content)))
            elif content.type == "function_result" and content.call_id:
                text = content.result if isinstance(content.result, str) else str(content.result or "")
                results.append(FunctionExecutionResult(content=text, call_id=content.call_id,
                                                       name=names.get(content.call_id, "tool"),
                                                       is_error=content.exception is not None))
            elif content.type not in _SKIPPED:
                texts.append(_note(content))
        text = "\n".join(t for t in texts if t)
        source = message.author_name or message.role
        if message.role == "system":
            out.append(SystemMessage(content=text))
        elif message.role == "assistant":
            out.append(AssistantMessage(content=calls, thought=text or None, source=source) if calls
                       else AssistantMessage(content=text, source=source))
        elif message.role == "tool" or results:
            if results:
                out.append(FunctionExecutionResultMessage(content=results))
        else:
            out.append(UserMessage(content=text, source=source))
    return out


def from_autogen(messages: Sequence[LLMMessage]) -> list[Message]:
    """AutoGen messages (a window Omne kept) as Agent Framework messages for the chat client."""
    out: list[Message] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            out.append(Message("system", [message.content]))
        elif isinstance(message, UserMessage):
            text = message.content if isinstance(message.content, str) else "\n".join(
                p if isinstance(p, str) else "[image]" for p in message.content)
            out.append(Message("user", [text]))
        elif isinstance(message, AssistantMessage):
            if isinstance(message.content, str):
                out.append(Message("assistant", [message.content]))
            else:
                thought: list[Content] = [Content.from_text(message.thought)] if message.thought else []
                out.append(Message("assistant", [*thought, *(Content.from_function_call(c.id, c.name,
                                                                                       arguments=c.arguments)
                                                            for c in message.content)]))
        elif isinstance(message, FunctionExecutionResultMessage):
            out.append(Message("tool", [Content.from_function_result(r.call_id, result=r.content)
                                        for r in message.content]))
    return out
