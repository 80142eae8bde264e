"""Model configuration: YAML files in configs/ with environment overrides, turned into AutoGen clients.

A model is optional everywhere in Omne. Every entry point finds it the same way (`configured_client`):
a model config file (`--config` / `--model-config`, or $OMNE_MODEL_CONFIG) and the OPENAI_* / OMNE_MODEL /
AZURE_OPENAI_* environment. Code that needs one calls `require_client`, which fails with one line naming
the fix when none is configured.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omne.config import read_yaml_mapping, validate_config
from omne.errors import InvalidInputError, OmneError

if TYPE_CHECKING:  # autogen loads when a client is built
    from autogen_core.models import ChatCompletionClient


class ModelNotConfiguredError(OmneError):
    """A command needs a language model and none is configured."""


class ModelInfoConfig(BaseModel):
    """What the model can do (AutoGen's ModelInfo); needed for model names AutoGen does not know."""

    model_config = ConfigDict(extra="forbid")

    vision: bool = False
    function_calling: bool = True
    json_output: bool = True
    structured_output: bool = False
    family: str = "unknown"


class ModelConfig(BaseModel):
    """One chat model endpoint: OpenAI, any OpenAI-compatible server (vLLM, llama.cpp, ...), Azure or Ollama."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["openai", "azure", "ollama"] = "openai"
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    api_version: str = "2024-06-01"
    temperature: float | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    context_window: int = Field(default=128_000, ge=512)
    model_info: ModelInfoConfig = Field(default_factory=ModelInfoConfig)


def _env_configured() -> bool:
    return any(os.environ.get(k) for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OMNE_MODEL",
                                           "AZURE_OPENAI_ENDPOINT"))


def load_model_config(path: Path | str | None = None) -> ModelConfig | None:
    """The model config from `path` (YAML; $OMNE_MODEL_CONFIG when not given) and the environment; None when
    nothing configures a model.

    Environment overrides: OMNE_MODEL, OMNE_MODEL_PROVIDER, OPENAI_BASE_URL, OPENAI_API_KEY,
    AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_DEPLOYMENT, AZURE_OPENAI_API_KEY.
    """
    data: dict[str, Any] = {}
    path = path or os.environ.get("OMNE_MODEL_CONFIG") or None
    if path is not None:
        loaded = read_yaml_mapping(path, what="model config", example="configs/model.example.yaml")
        if "responder" in loaded and "model" not in loaded:
            raise InvalidInputError(f"model config {path} has no `model:` section (it configures a responder); "
                                    "pass a model config like configs/model.example.yaml")
        data = loaded.get("model", loaded)
    elif not _env_configured():
        return None
    env = os.environ
    overrides = {"model": env.get("OMNE_MODEL"), "provider": env.get("OMNE_MODEL_PROVIDER"),
                 "base_url": env.get("OPENAI_BASE_URL"), "azure_endpoint": env.get("AZURE_OPENAI_ENDPOINT"),
                 "azure_deployment": env.get("AZURE_OPENAI_DEPLOYMENT")}
    data = {**data, **{k: v for k, v in overrides.items() if v}}
    if data.get("azure_endpoint") and "provider" not in data:
        data["provider"] = "azure"
    return validate_config(ModelConfig, data, what="model config")


def make_client(config: ModelConfig) -> ChatCompletionClient:
    """An AutoGen ChatCompletionClient for the configured endpoint (omne.llm_clients: AutoGen's OpenAI / Azure
    client that knows `context_window` and counts tokens offline)."""
    info = {**config.model_info.model_dump()}
    common: dict[str, Any] = {"model": config.model, "model_info": info, "timeout": config.timeout_s,
                              "max_retries": config.max_retries, "context_window": config.context_window}
    if config.temperature is not None:
        common["temperature"] = config.temperature
    if config.provider == "azure":
        from omne.llm_clients import OmneAzureOpenAIChatCompletionClient

        if not config.azure_endpoint:
            raise ModelNotConfiguredError("provider azure needs azure_endpoint (or AZURE_OPENAI_ENDPOINT)")
        key = config.api_key or os.environ.get("AZURE_OPENAI_API_KEY") or os.environ.get(config.api_key_env)
        if not key and not os.environ.get("AZURE_OPENAI_AD_TOKEN"):
            raise ModelNotConfiguredError(f"no API key: set {config.api_key_env} (or api_key in the model config; "
                                          "AZURE_OPENAI_AD_TOKEN for a Microsoft Entra ID token)")
        return OmneAzureOpenAIChatCompletionClient(azure_endpoint=config.azure_endpoint, api_key=key,
                                               azure_deployment=config.azure_deployment or config.model,
                                               api_version=config.api_version, **common)
    from omne.llm_clients import OmneOpenAIChatCompletionClient

    base_url = config.base_url or ("http://localhost:11434/v1" if config.provider == "ollama" else None)
    key = config.api_key or os.environ.get(config.api_key_env) or ("ollama" if config.provider == "ollama" else None)
    if not key and base_url:
        key = "not-needed"  # many OpenAI-compatible servers ignore the key, but the client requires one
    if not key:
        raise ModelNotConfiguredError(f"no API key: set {config.api_key_env} (or api_key in the model config)")
    return OmneOpenAIChatCompletionClient(base_url=base_url, api_key=key, **common)


def _component_config(data: dict[str, Any]) -> bool:
    """An AutoGen component config of a client (`provider: package.module.Class`, `config: {...}`)."""
    provider = data.get("provider")
    return isinstance(provider, str) and "." in provider and isinstance(data.get("config"), dict)


def configured_client(path: Path | str | None = None) -> ChatCompletionClient | None:
    """The model client every Omne entry point uses: from `path` ($OMNE_MODEL_CONFIG when not given) — the
    project's model YAML (configs/model.example.yaml) or an AutoGen component config of a ChatCompletionClient —
    and the environment (OPENAI_API_KEY, OPENAI_BASE_URL, OMNE_MODEL, AZURE_OPENAI_*); None when nothing
    configures a model."""
    path = path or os.environ.get("OMNE_MODEL_CONFIG") or None
    if path is not None:
        data = read_yaml_mapping(path, what="model config", example="configs/model.example.yaml")
        if _component_config(data):
            from autogen_core.models import ChatCompletionClient

            return ChatCompletionClient.load_component(data)
    config = load_model_config(path)
    return make_client(config) if config is not None else None


def require_client(path: Path | str | None = None, *, flag: str | None = None) -> ChatCompletionClient:
    """The configured client (see `configured_client`), or a ModelNotConfiguredError naming the fix;
    `flag` names the command-line option that takes a model config file, when there is one."""
    client = configured_client(path)
    if client is None:
        where = f"pass {flag}" if flag else "set OMNE_MODEL_CONFIG to"
        raise ModelNotConfiguredError(
            "no language model is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for any "
            f"OpenAI-compatible server, OMNE_MODEL for its model name), or {where} a file like "
            "configs/model.example.yaml")
    return client


def model_call_failure(exc: BaseException) -> str | None:
    """One line saying why a model call failed (endpoint down or refusing, timeout, an error status), with the
    fix; None when `exc` is not a failed model call."""
    try:
        import openai
    except ImportError:  # pragma: no cover - autogen-ext[openai] is a dependency
        openai = None  # type: ignore[assignment]
    if openai is not None and isinstance(exc, openai.APITimeoutError):
        return "the model endpoint did not answer in time; raise timeout_s in the model config or check the server"
    if openai is not None and isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        why = f" ({type(cause).__name__}: {str(cause).splitlines()[0][:160]})" if cause else ""
        return (f"cannot reach the model endpoint{why}; check that the server is running and OPENAI_BASE_URL "
                "(or base_url in the model config)")
    if openai is not None and isinstance(exc, openai.APIStatusError):
        return (f"the model endpoint answered HTTP {exc.status_code}: {str(exc).splitlines()[0][:200]}; check the "
                "model name (OMNE_MODEL), the API key and the endpoint")
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return f"the model call failed ({type(exc).__name__}: {exc}); check the model endpoint"
    if exc.__cause__ is not None and exc.__cause__ is not exc:  # a wrapper (Agent Framework's ChatClientException)
        return model_call_failure(exc.__cause__)
    return None
