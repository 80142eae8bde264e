"""Token counting for prompts: the model client's own counter when it works, else a real tokenizer.

The fallback is the MiniLM WordPiece tokenizer of `omne.tokenizer` (no character heuristics).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema

from omne.tokenizer import word_pieces

log = logging.getLogger("omne.agents")

_PER_MESSAGE = 4  # role and separators, as chat formats add per message
_PER_REPLY = 3  # the primed assistant turn


def message_text(message: LLMMessage) -> str:
    """Everything in a message that a model reads, flattened to text (tool calls and results included)."""
    if isinstance(message, SystemMessage):
        return message.content
    if isinstance(message, UserMessage):
        if isinstance(message.content, str):
            return message.content
        return "\n".join(part if isinstance(part, str) else "[image]" for part in message.content)
    if isinstance(message, AssistantMessage):
        thought = f"{message.thought}\n" if message.thought else ""
        if isinstance(message.content, str):
            return thought + message.content
        return thought + "\n".join(f"{call.name}({call.arguments})" for call in message.content)
    if isinstance(message, FunctionExecutionResultMessage):
        return "\n".join(f"{result.name}: {result.content}" for result in message.content)
    raise TypeError(f"not an LLM message: {type(message).__name__}")


def tool_text(tool: Tool | ToolSchema) -> str:
    """A tool definition as a model reads it: name, description, then each parameter with type and description.

    Providers render tool schemas into compact text before tokenising; counting the raw JSON with a
    WordPiece tokenizer would charge a token for every brace and quote.
    """
    schema = tool.schema if isinstance(tool, Tool) else tool
    lines = [f"{schema.get('name', '')}: {schema.get('description', '')}"]
    params: Mapping[str, Any] = schema.get("parameters") or {}
    required = set(params.get("required", []))
    for name, spec in (params.get("properties") or {}).items():
        kinds = [spec.get("type")] if spec.get("type") else [a.get("type") for a in spec.get("anyOf", [])]
        items = spec.get("items", {}).get("type")
        kind = " | ".join(f"{k}[{items}]" if k == "array" and items else str(k) for k in kinds if k) or "any"
        flag = ", required" if name in required else ""
        lines.append(f"  {name} ({kind}{flag}): {spec.get('description', '')}")
    return "\n".join(lines)


class TokenCounter:
    """Counts prompt tokens with `model_client.count_tokens`, falling back (once, logged) to MiniLM WordPiece.

    A client's counter is skipped when it raises (AutoGen's OpenAI client needs tiktoken, which downloads
    its encoding and fails offline) or when it is a whitespace word count (the replay test client).
    """

    def __init__(self, model_client: ChatCompletionClient | None = None) -> None:
        self._client = model_client if model_client is not None and _has_real_counter(model_client) else None
        self._pieces = word_pieces()

    @property
    def source(self) -> str:
        """Which counter is in use: `model client` or `MiniLM WordPiece tokenizer`."""
        return "model client" if self._client is not None else "MiniLM WordPiece tokenizer"

    def count(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema] = ()) -> int:
        """Tokens the prompt `messages` (plus tool schemas) occupies."""
        if self._client is not None:
            try:
                value = self._client.count_tokens(list(messages), tools=list(tools))
                if isinstance(value, int) and value >= 0:
                    return value
                raise ValueError(f"count_tokens returned {value!r}")
            except Exception as exc:  # noqa: BLE001 - any failure means: use the tokenizer from now on
                log.warning("the model client cannot count tokens (%s: %s); counting with the MiniLM "
                            "WordPiece tokenizer from now on", type(exc).__name__, str(exc).splitlines()[0][:160])
                self._client = None
        total = _PER_REPLY + sum(self.message_tokens(m) for m in messages)
        return total + sum(self.text_tokens(tool_text(t)) + _PER_MESSAGE for t in tools)

    def message_tokens(self, message: LLMMessage) -> int:
        """Tokens of one message with its per-message overhead (tokenizer path)."""
        name = getattr(message, "source", "") or ""
        return _PER_MESSAGE + self.text_tokens(name) + self.text_tokens(message_text(message))

    def text_tokens(self, text: str) -> int:
        """WordPiece tokens in `text` (cached)."""
        return self._pieces.count(text)

    def clip(self, text: str, max_tokens: int) -> str:
        """The longest prefix of `text` within `max_tokens` WordPiece tokens (cut at a token boundary)."""
        return self._pieces.clip(text, max_tokens)


def window_from_client(model_client: ChatCompletionClient | None) -> int | None:
    """The model's context window as its client knows it: a `context_window` attribute (the clients of
    `omne.llm.make_client` carry the model config's), else `remaining_tokens([])` where the client can count
    offline; None when it cannot say."""
    if model_client is None:
        return None
    window = getattr(model_client, "context_window", None)
    if isinstance(window, int) and window > 0:
        return window
    if not _has_real_counter(model_client):
        return None
    try:
        value = model_client.remaining_tokens([], tools=[])
    except Exception:  # noqa: BLE001 - e.g. an unknown model name
        return None
    return value if isinstance(value, int) and value >= 512 else None


def _has_real_counter(client: ChatCompletionClient) -> bool:
    """Whether the client counts tokens itself, offline. AutoGen's OpenAI clients count with tiktoken, which
    downloads its encodings on first use (and warns about model names it does not know), so Omne counts for
    them, unless the client is one of omne.llm's (which count with Omne's tokenizer)."""
    if getattr(client, "context_window", None) is not None:
        return True
    try:
        from autogen_ext.models.openai import BaseOpenAIChatCompletionClient
        from autogen_ext.models.replay import ReplayChatCompletionClient
    except ImportError:  # pragma: no cover - autogen-ext is a dependency
        return True
    return not isinstance(client, (ReplayChatCompletionClient, BaseOpenAIChatCompletionClient))
