"""Retries with backoff within a deadline, and failing over from one provider to the next (no frappe
import).

Retry policy: only errors marked ``retryable`` are sent again (rate limited, overloaded, 5xx, timeout,
connection); a spend limit, an auth error or a bad request never are. The wait is the provider's
``retry_after`` when it gave one, else exponential backoff with jitter; a wait that would end past
the call's deadline is not started: the error is raised at once, so the caller (or the next
provider) can act while there is still time.

Fallback policy (``FallbackClient``): the next provider is tried when the current one cannot answer
now or at all: rate limited, overloaded, 5xx, timeout or unreachable (after its own retries), spend
limit, model or deployment not found, an unusable answer, and also an auth error: a refused key
makes that provider unusable for everyone, so the customer still gets an answer from the next one
while the failure is reported (``ChatReply.failed_over``, a log line at error level). A bad request
or a context too long does not fall back: the same conversation would fail the same way elsewhere,
and it is a bug or a context-building problem to surface, not to hide.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from voice_agent.agent.tools import ToolDefinition
from voice_agent.integrations.llm.base import ChatReply, LLMClient, ProviderFailure, Turn
from voice_agent.integrations.llm.errors import (
    AuthError,
    LLMError,
    ModelNotFoundError,
    ProvidersExhaustedError,
    SpendLimitError,
)

T = TypeVar("T")

logger = logging.getLogger(__name__)


def backoff_delay(attempt: int, base_delay: float, max_delay: float, rng: Callable[[], float]) -> float:
    """Delay before retry number ``attempt`` (1-based): base * 2^(attempt-1), capped, with "equal
    jitter" (half fixed, half random) so a crowd of workers does not retry in step but none retries
    at once."""
    delay = min(max_delay, base_delay * (2 ** (attempt - 1)))
    return delay / 2 + rng() * delay / 2


def call_with_retries(fn: Callable[[float], T], *, attempts: int = 3, base_delay: float = 0.5,
                      max_delay: float = 8.0, deadline: float | None = None,
                      sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                      rng: Callable[[], float] = random.random) -> T:
    """``fn(remaining_seconds)`` until it returns, at most ``attempts`` times. ``deadline`` is a
    ``clock()`` value; ``remaining_seconds`` is the time left until it (``math.inf`` without one), for
    ``fn`` to bound its own timeouts. The last error is raised with ``attempts`` set on it."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1.")
    attempt = 1
    while True:
        remaining = math.inf if deadline is None else deadline - clock()
        try:
            return fn(remaining)
        except LLMError as error:
            error.attempts = attempt
            if not error.retryable or isinstance(error, SpendLimitError) or attempt >= attempts:
                raise
            wait = error.retry_after if error.retry_after is not None else backoff_delay(
                attempt, base_delay, max_delay, rng)
            if deadline is not None and clock() + wait >= deadline:
                logger.info("call_with_retries() | giving up: waiting %.2fs would pass the deadline "
                            "[provider:%s error:%s attempt:%d]", wait, error.provider, type(error).__name__, attempt)
                raise
            logger.info("call_with_retries() | retrying in %.2fs [provider:%s error:%s attempt:%d]",
                        wait, error.provider, type(error).__name__, attempt)
            sleep(wait)
            attempt += 1


def _failure(client: LLMClient, error: LLMError) -> ProviderFailure:
    return ProviderFailure(provider=error.provider or client.provider, model=error.model or client.model,
                           error=type(error).__name__, message=error.message, http_status=error.http_status,
                           retryable=error.retryable, retry_after=error.retry_after,
                           needs_attention=needs_attention(error))


def needs_attention(error: LLMError) -> bool:
    """A failure no waiting fixes: someone must fix a key, a model name or the billing."""
    return isinstance(error, AuthError | SpendLimitError | ModelNotFoundError)


class FallbackClient:
    """An ``LLMClient`` asking each client in turn until one answers (see the module docstring for
    which failures move on). ``deadline`` bounds the whole call, every provider included; each client
    gets what is left of it, capped by its own deadline."""

    def __init__(self, clients: Sequence[LLMClient], *, deadline: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if not clients:
            raise ValueError("A FallbackClient needs at least one client.")
        if deadline is not None and deadline <= 0:
            raise ValueError("The deadline must be positive.")
        self.clients = tuple(clients)
        self.deadline = deadline
        self._clock = clock
        self.provider = "+".join(c.provider for c in self.clients)
        self.model = "+".join(c.model for c in self.clients)

    def __repr__(self) -> str:
        return f"FallbackClient({', '.join(repr(c) for c in self.clients)})"

    def chat(self, system: str, turns: Sequence[Turn], tools: Sequence[ToolDefinition], *,
             temperature: float | None = None, max_tokens: int = 1024, timeout: float | None = None) -> ChatReply:
        started = self._clock()
        budgets = [b for b in (timeout, self.deadline) if b is not None]
        end = started + min(budgets) if budgets else None
        failures: list[tuple[LLMClient, LLMError]] = []
        tried = 0
        for client in self.clients:
            remaining = None if end is None else end - self._clock()
            if remaining is not None and remaining <= 0:
                break
            tried += 1
            try:
                reply = client.chat(system, turns, tools, temperature=temperature, max_tokens=max_tokens,
                                    timeout=remaining)
            except LLMError as error:
                if not error.falls_back:
                    raise
                failures.append((client, error))
                log = logger.error if needs_attention(error) else logger.warning
                log("chat() | trying the next provider [provider:%s model:%s error:%s status:%s]: %s",
                    client.provider, client.model, type(error).__name__, error.http_status, error.message)
                continue
            if failures:
                reported = tuple(_failure(c, e) for c, e in failures)
                return replace(reply, failed_over=reported + reply.failed_over,
                               duration_ms=round((self._clock() - started) * 1000.0, 1))
            return reply
        untried = [c.provider for c in self.clients[tried:]]
        summary = "; ".join(f"{e.provider}: {type(e).__name__}" for _, e in failures) or "none answered"
        if untried:
            summary += f"; no time left for {', '.join(untried)}"
        raise ProvidersExhaustedError(f"No LLM provider answered ({summary}).", failures=[e for _, e in failures],
                                      provider=self.provider)
