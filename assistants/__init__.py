"""Omne assistants: responders with long-term memory, built on AutoGen AgentChat."""

from assistants.ledgers import FactsLedger, Plan, PlanStep, ProgressLedger, Reflection
from assistants.memory_policy import CoreMemoryPolicy, MemoryPolicy, NullMemoryPolicy, Recollection
from assistants.responder import FinalReply, Responder, ResponderConfig
from assistants.results import ResponderResult, Step, TokenUsage, ToolCallRecord
from assistants.settings import AnswerFormat, Budgets, MemorySettings, ResponderSettings, load_responder_settings
from assistants.reactive import ReactiveResponder
from assistants.simple import SimpleResponder

__all__ = [
    "AnswerFormat", "Budgets", "CoreMemoryPolicy", "FactsLedger", "FinalReply", "MemoryPolicy", "MemorySettings",
    "NullMemoryPolicy", "Plan", "PlanStep", "ProgressLedger", "ReactiveResponder", "Recollection", "Reflection",
    "Responder",
    "ResponderConfig", "ResponderResult", "ResponderSettings", "SimpleResponder", "Step",
    "TokenUsage", "ToolCallRecord", "load_responder_settings",
]
