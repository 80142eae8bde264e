"""Pick and build a responder by name: `simple`, `reactive`, or `package.module:Class` (for harnesses and CLIs)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from autogen_core.models import ChatCompletionClient
from autogen_core.tools import BaseTool

from assistants.reactive import ReactiveResponder
from assistants.responder import Responder
from assistants.settings import ResponderSettings
from assistants.simple import SimpleResponder
from omne.verbs import CoreVerbs
from omne.errors import InvalidInputError

BUILTIN: dict[str, type[Responder]] = {"simple": SimpleResponder, "reactive": ReactiveResponder}


def responder_class(spec: str) -> type[Responder]:
    """`simple`, `reactive`, or `package.module:Class` naming a Responder subclass."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidInputError(f"unknown responder {spec!r}: use simple, reactive or package.module:Class")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(f"cannot load responder {spec!r}: {exc}") from None
    if not (isinstance(found, type) and issubclass(found, Responder)):
        raise InvalidInputError(f"{spec} is not a Responder subclass")
    return found


def build_responder(spec: str, model_client: ChatCompletionClient, *, name: str = "assistant",
                    settings: ResponderSettings | None = None, tools: Sequence[BaseTool[Any, Any]] = (),
                    memory: CoreVerbs | None = None, user: str | None = None, team: str | None = None,
                    **kwargs: Any) -> Responder:
    """A ready responder: the class from `spec`, one model client, settings, tools and memory."""
    cls = responder_class(spec)
    return cls(name, model_client, settings=settings, tools=list(tools), memory=memory, user=user, team=team,
               **kwargs)
