"""The provider-neutral conversation and reply the bot loop works with (no frappe import).

A conversation is a list of turns: what the customer wrote (``UserTurn``), what the model answered
(``AssistantTurn``, text and/or tool calls) and what our tools returned (``ToolResultTurn``). Each
client turns it into its provider's shape and parses the answer into a ``ChatReply``; the loop never
sees a provider's JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from voice_agent.agent.tools import ToolDefinition

StopReason = Literal["end", "tool_use", "max_tokens"]


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asked for. ``arguments`` is the parsed JSON object; when the model's
    arguments could not be parsed, ``arguments`` is empty and ``error`` says why, in a sentence the
    model can act on (send it back with ``error_result()`` instead of running the tool)."""

    id: str
    name: str
    arguments: dict[str, Any]
    # The provider's own text of the arguments (OpenAI sends a JSON string), replayed verbatim in
    # later requests so the provider sees its own call unchanged.
    raw_arguments: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def error_result(self) -> ToolResultTurn:
        if self.error is None:
            raise ValueError(f"Tool call {self.id} has valid arguments; run the tool instead.")
        return ToolResultTurn(self.id, self.name, self.error, is_error=True)


@dataclass(frozen=True)
class UserTurn:
    text: str


@dataclass(frozen=True)
class AssistantTurn:
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class ToolResultTurn:
    call_id: str
    tool_name: str
    content: str
    is_error: bool = False


Turn = UserTurn | AssistantTurn | ToolResultTurn


@dataclass(frozen=True)
class Usage:
    """Tokens billed for one request. ``input_tokens`` counts every prompt token, cached or not
    (OpenAI's ``prompt_tokens``; Anthropic's ``input_tokens`` plus both cache counts), so the same
    figure means the same thing for both providers; the cache counts say how many of them were read
    from or written to the provider's prompt cache (priced differently)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens,
                     self.cache_read_tokens + other.cache_read_tokens,
                     self.cache_write_tokens + other.cache_write_tokens)


@dataclass(frozen=True)
class ProviderFailure:
    """A provider a ``FallbackClient`` gave up on before another one answered (or before it gave up
    on all): enough to report it, nothing secret."""

    provider: str
    model: str
    error: str  # the error class name, e.g. "RateLimitError"
    message: str
    http_status: int | None
    retryable: bool
    retry_after: float | None
    # No waiting fixes it: a key, a model name or the billing needs someone (auth, spend limit, 404).
    needs_attention: bool = False


@dataclass(frozen=True)
class ChatReply:
    """One answer of the model. ``stop_reason`` is ``"tool_use"`` whenever the reply carries tool
    calls (even from servers that say ``stop``), ``"max_tokens"`` when the answer was cut off (its
    tool calls may then be truncated: do not run them), else ``"end"``; ``raw_stop_reason`` keeps the
    provider's own word (``content_filter``, ``refusal``...) for the loop to act on. ``duration_ms`` is
    the whole ``chat()`` call, retries, waits and failed-over providers included."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    stop_reason: StopReason
    usage: Usage
    model: str
    provider: str
    duration_ms: float
    raw_stop_reason: str | None = None
    request_id: str | None = None
    attempts: int = 1
    # Providers tried before this one answered (a FallbackClient fills it).
    failed_over: tuple[ProviderFailure, ...] = field(default=())

    def as_turn(self) -> AssistantTurn:
        return AssistantTurn(self.text, self.tool_calls)


@runtime_checkable
class LLMClient(Protocol):
    """What the bot loop calls. ``timeout`` is the total time budget of this call in seconds, retries
    included (``None``: the client's own deadline); ``temperature=None`` leaves the provider's
    default (some models accept no other value)."""

    provider: str
    model: str

    def chat(self, system: str, turns: Sequence[Turn], tools: Sequence[ToolDefinition], *,
             temperature: float | None = None, max_tokens: int = 1024,
             timeout: float | None = None) -> ChatReply: ...


def parse_tool_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """``(arguments, None)``, or ``({}, reason)`` when the provider's arguments are not a JSON object.
    An empty string means no arguments (some servers send it for a call without parameters)."""
    if isinstance(raw, dict):
        return raw, None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    if not isinstance(raw, str):
        return {}, f"The tool arguments must be a JSON object, not {type(raw).__name__}. Call the tool again."
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return {}, f"The tool arguments were not valid JSON ({exc}). Call the tool again with a JSON object."
    if not isinstance(value, dict):
        return {}, (f"The tool arguments must be a JSON object, not {type(value).__name__}. "
                    "Call the tool again with a JSON object.")
    return value, None


def validate_turns(turns: Sequence[Turn]) -> None:
    """Refuse a conversation no provider accepts, before sending it: every tool call answered by one
    result before the next user or assistant turn, and every result answering a call just made.
    Raises ``ValueError`` (a bug in the caller, not a provider failure)."""
    if not turns:
        raise ValueError("The conversation is empty: it needs at least one turn.")
    pending: dict[str, str] = {}
    answerable: set[str] = set()
    for index, turn in enumerate(turns):
        if isinstance(turn, ToolResultTurn):
            if turn.call_id not in answerable:
                raise ValueError(f"Turn {index} answers tool call {turn.call_id!r}, which the assistant turn just "
                                 "before it did not make.")
            if turn.call_id not in pending:
                raise ValueError(f"Turn {index} answers tool call {turn.call_id!r} a second time.")
            del pending[turn.call_id]
            continue
        if pending:
            raise ValueError(f"Turn {index} comes before the result of tool call(s) "
                             f"{', '.join(sorted(pending))}; every call needs its result first.")
        if isinstance(turn, AssistantTurn):
            ids = [call.id for call in turn.tool_calls]
            if len(set(ids)) != len(ids) or not all(ids):
                raise ValueError(f"Turn {index} has tool calls without an id or with the same id twice.")
            pending = {call.id: call.name for call in turn.tool_calls}
            answerable = set(ids)
        elif isinstance(turn, UserTurn):
            answerable = set()
        else:
            raise TypeError(f"Turn {index} is a {type(turn).__name__}, not a UserTurn, AssistantTurn or "
                            "ToolResultTurn.")
    if pending:
        raise ValueError(f"The conversation ends with tool call(s) {', '.join(sorted(pending))} without results.")
