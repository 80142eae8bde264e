"""AutoGen's OpenAI and Azure OpenAI clients, knowing the model's context window and counting tokens offline.

`omne.llm.make_client` builds these. They are AutoGen's own clients with two changes: `context_window`
(from the model config, saved in the component config) is what `remaining_tokens` counts against, and
`count_tokens` uses Omne's tokenizer (omne.tokenizer, shipped with the package) instead of tiktoken,
which downloads its encodings on first use and warns about model names it does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autogen_core.models import LLMMessage
from autogen_core.tools import Tool, ToolSchema
from autogen_ext.models.openai import AzureOpenAIChatCompletionClient, OpenAIChatCompletionClient
from autogen_ext.models.openai.config import (
    AzureOpenAIClientConfigurationConfigModel,
    OpenAIClientConfigurationConfigModel,
)

DEFAULT_CONTEXT_WINDOW = 128_000


def _count(messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> int:
    from omne.agents.tokens import TokenCounter

    return TokenCounter().count(messages, tools)


class OpenAIClientConfig(OpenAIClientConfigurationConfigModel):
    """AutoGen's OpenAI client config plus the model's context window."""

    context_window: int = DEFAULT_CONTEXT_WINDOW


class AzureClientConfig(AzureOpenAIClientConfigurationConfigModel):
    """AutoGen's Azure OpenAI client config plus the model's context window."""

    context_window: int = DEFAULT_CONTEXT_WINDOW


class _KnowsItsWindow:
    """Mixed into AutoGen's clients: a `context_window` they are built with, and offline counting."""

    def __init__(self, *, context_window: int = DEFAULT_CONTEXT_WINDOW, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context_window = context_window

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        """Prompt tokens, counted with Omne's tokenizer (offline)."""
        return _count(messages, tools)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        """Tokens left in the context window after `messages` and `tools`."""
        return self.context_window - self.count_tokens(messages, tools=tools)


class OmneOpenAIChatCompletionClient(_KnowsItsWindow, OpenAIChatCompletionClient):
    """AutoGen's OpenAI client (any OpenAI-compatible server) with a known context window and offline counting."""

    component_config_schema = OpenAIClientConfig
    component_provider_override = "omne.llm_clients.OmneOpenAIChatCompletionClient"

    def _to_config(self) -> OpenAIClientConfig:
        return OpenAIClientConfig(**self._raw_config, context_window=self.context_window)


class OmneAzureOpenAIChatCompletionClient(_KnowsItsWindow, AzureOpenAIChatCompletionClient):
    """AutoGen's Azure OpenAI client with a known context window and offline counting."""

    component_config_schema = AzureClientConfig
    component_provider_override = "omne.llm_clients.OmneAzureOpenAIChatCompletionClient"

    def _to_config(self) -> AzureClientConfig:
        if "azure_ad_token_provider" in self._raw_config:  # AutoGen serialises the provider (needs azure-core)
            base = super()._to_config().model_dump(exclude_none=True)
        else:
            base = dict(self._raw_config)
        return AzureClientConfig(**base, context_window=self.context_window)
