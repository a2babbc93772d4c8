"""LLM mode: model construction, resilient calls, PII masking, tool calling and verified grounded answers."""

from graphs.llm.breaker import Breakers, CircuitBreaker
from graphs.llm.client import LLMClient, LLMUnavailable, UsageEvent
from graphs.llm.grounded import Delta, GroundedAnswerer, Outcome
from graphs.llm.models import LLMSetupError, ModelConfig, build_chat_model
from graphs.llm.redact import Redactor
from graphs.llm.understand import ToolCallingUnderstander

__all__ = [
    "Breakers",
    "CircuitBreaker",
    "Delta",
    "GroundedAnswerer",
    "LLMClient",
    "LLMSetupError",
    "LLMUnavailable",
    "ModelConfig",
    "Outcome",
    "Redactor",
    "ToolCallingUnderstander",
    "UsageEvent",
    "build_chat_model",
]
