"""What both HTTP clients share (no frappe import): the request with connect/read timeouts bounded
by the call's deadline, retries, error answers turned into ``LLMError``s, and the timing of a reply.

The key travels only in the per-request headers a subclass builds; it is never put in a session's
defaults (the session may be shared), never in a URL, an exception, a repr or a log line.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import requests

from voice_agent.agent.tools import ToolDefinition
from voice_agent.integrations.llm.base import ChatReply, Turn, validate_turns
from voice_agent.integrations.llm.errors import (
    InvalidResponseError,
    LLMConnectionError,
    LLMError,
    LLMTimeoutError,
    classify,
    most_specific,
    provider_label,
    retry_after_seconds,
    scrub,
)
from voice_agent.integrations.llm.retry import call_with_retries

_MAX_PROVIDER_MESSAGE = 500


class HTTPChatClient:
    """Base of the provider clients. Subclasses set ``provider`` and implement ``_url``,
    ``_headers``, ``_params``, ``_body`` and ``_parse``."""

    provider: str = ""
    request_id_headers: tuple[str, ...] = ("x-request-id",)

    def __init__(self, *, api_key: str | None, model: str, base_url: str, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, deadline: float = 60.0, attempts: int = 3, base_delay: float = 0.5,
                 max_delay: float = 8.0, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, rng: Callable[[], float] = random.random):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ValueError("The LLM base URL must start with http:// or https://.")
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout),
                            ("deadline", deadline)):
            if not value > 0:
                raise ValueError(f"{name} must be positive.")
        if attempts < 1:
            raise ValueError("attempts must be at least 1.")
        if base_delay < 0 or max_delay < 0:
            raise ValueError("base_delay and max_delay must not be negative.")
        self._api_key = api_key or ""
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._http = session or requests.Session()
        self._owns_session = session is None
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP session if the client made it (a session passed in belongs to the caller)."""
        if self._owns_session:
            self._http.close()

    def __enter__(self) -> HTTPChatClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the call --------------------------------------------------------------------------------

    def chat(self, system: str, turns: Sequence[Turn], tools: Sequence[ToolDefinition], *,
             temperature: float | None = None, max_tokens: int = 1024, timeout: float | None = None) -> ChatReply:
        validate_turns(turns)
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise ValueError("max_tokens must be a positive integer.")
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be positive.")
        body = self._body(system, turns, tools, temperature, max_tokens)
        started = self._clock()
        budget = self.deadline if timeout is None else min(self.deadline, timeout)
        made = 0

        def attempt(remaining: float) -> tuple[dict[str, Any], str | None]:
            nonlocal made
            made += 1
            return self._post(body, remaining)

        payload, request_id = call_with_retries(attempt, attempts=self.attempts, base_delay=self.base_delay,
                                                max_delay=self.max_delay, deadline=started + budget,
                                                sleep=self._sleep, clock=self._clock, rng=self._rng)
        reply = self._parse(payload)
        return replace(reply, duration_ms=round((self._clock() - started) * 1000.0, 1), attempts=made,
                       request_id=request_id)

    def _post(self, body: dict[str, Any], remaining: float) -> tuple[dict[str, Any], str | None]:
        # requests' read timeout bounds each wait for bytes, so both are capped by the time left.
        timeout = (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))
        if timeout[1] <= 0:
            raise LLMTimeoutError(f"{self._label} was not asked: the call's deadline had passed.",
                                  provider=self.provider, model=self.model, retryable=False)
        try:
            response = self._http.post(self._url(), params=self._params(), data=json.dumps(body),
                                       headers={"Content-Type": "application/json", "Accept": "application/json",
                                                **self._headers()},
                                       timeout=timeout, allow_redirects=False)
        except requests.ConnectTimeout:
            raise LLMConnectionError(f"{self._label} did not accept the connection within {timeout[0]:.1f} s.",
                                     provider=self.provider, model=self.model) from None
        except requests.ReadTimeout:
            raise LLMTimeoutError(f"{self._label} did not answer within {timeout[1]:.1f} s.",
                                  provider=self.provider, model=self.model) from None
        except requests.RequestException as exc:
            raise LLMConnectionError(f"{self._label} could not be reached ({type(exc).__name__}).",
                                     provider=self.provider, model=self.model) from None
        request_id = next((response.headers[h] for h in self.request_id_headers if response.headers.get(h)), None)
        if response.status_code >= 300:
            raise self._error(response.status_code, _json_or_none(response), response.headers, request_id)
        payload = _json_or_none(response)
        if not isinstance(payload, dict):
            raise InvalidResponseError(f"{self._label} answered HTTP {response.status_code} with a body that is "
                                       "not a JSON object.", provider=self.provider, model=self.model,
                                       http_status=response.status_code, request_id=request_id)
        return payload, request_id

    def _error(self, status: int, body: Any, headers: Mapping[str, str], request_id: str | None) -> LLMError:
        error_type, code, details_code, message = error_fields(body)
        message = scrub(message, (self._api_key,))[:_MAX_PROVIDER_MESSAGE] if message else ""
        cls, text = classify(self.provider, status, error_type, code, message, details_code)
        error = cls(text.strip(), provider=self.provider, model=self.model, http_status=status,
                    error_type=most_specific(error_type, code, details_code), request_id=request_id)
        if error.retryable:
            error.retry_after = retry_after_seconds(headers, now=self._wall_clock)
        return error

    @property
    def _label(self) -> str:
        return provider_label(self.provider)

    # -- provider specifics ----------------------------------------------------------------------

    def _url(self) -> str:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _params(self) -> dict[str, str] | None:
        return None

    def _body(self, system: str, turns: Sequence[Turn], tools: Sequence[ToolDefinition],
              temperature: float | None, max_tokens: int) -> dict[str, Any]:
        raise NotImplementedError

    def _parse(self, payload: dict[str, Any]) -> ChatReply:
        raise NotImplementedError


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_fields(body: Any) -> tuple[str | None, str | None, str | None, str]:
    """``(type, code, details.error_code, message)`` of an error body in any of the shapes met:
    OpenAI / Azure / Anthropic ``{"error": {...}}``, Ollama ``{"error": "text"}``, vLLM's top-level
    ``{"object": "error", "message", "type", "code"}``."""
    if not isinstance(body, dict):
        return None, None, None, ""
    error = body.get("error")
    if isinstance(error, str):
        return None, None, None, error
    source = error if isinstance(error, dict) else body
    details = source.get("details")
    details_code = details.get("error_code") if isinstance(details, dict) else None

    def text(value: Any) -> str | None:
        return str(value) if value is not None and value != "" else None

    return (text(source.get("type")), text(source.get("code")), text(details_code),
            str(source.get("message") or ""))


def token_count(value: Any) -> int:
    """A token count from a usage object: a non-negative int, else 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return 0
    return int(value)
