"""What a failed LLM request means for us (no frappe import).

Every failure is an ``LLMError`` subclass that says whether waiting and sending the same request again
can help (``retryable``, ``retry_after``) and whether another provider should be tried
(``falls_back``). Messages are ours or the provider's, with keys scrubbed: safe to log and to show a
manager, never containing the API key.

Classification follows the providers' documented errors:

- OpenAI (and Azure OpenAI, vLLM, Ollama, gateways speaking its shape): ``{"error": {"message",
  "type", "param", "code"}}``. A 429 is a rate limit unless ``type`` or ``code`` is one of the quota
  codes (``insufficient_quota``, ``credit_balance_exhausted``, ``organization_spend_limit_exceeded``,
  ``project_spend_limit_exceeded``, ``organization_usage_limit_exceeded``): those stay until someone
  adds credit or raises a limit, and OpenAI says retrying does not restore access.
- Anthropic: ``{"type": "error", "error": {"type", "message", "details"?}, "request_id"}``. 429
  ``rate_limit_error`` is a rate limit (with ``retry-after``) unless ``error.details.error_code`` is
  ``enforced_spend_limit_reached`` (the usage tier's monthly cap: no ``retry-after``, paused until the
  1st of next month); a spend limit the organization or workspace set answers 400
  ``invalid_request_error`` "You have reached your specified (workspace) API usage limits"; an empty
  prepaid balance 400 "Your credit balance is too low"; 402 ``billing_error``. 529
  ``overloaded_error`` is Anthropic-wide load, not our limit.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar


class LLMError(Exception):
    """A failed chat request. ``message`` is safe to log (no key); ``error_type`` is the provider's
    error type or code (``rate_limit_error``, ``insufficient_quota``...)."""

    retryable_by_default: ClassVar[bool] = False
    # Another provider should be tried: this one cannot answer now (down, limited, misconfigured).
    falls_back: ClassVar[bool] = True

    def __init__(self, message: str, *, provider: str, http_status: int | None = None,
                 retryable: bool | None = None, retry_after: float | None = None, error_type: str | None = None,
                 request_id: str | None = None, model: str | None = None):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.http_status = http_status
        self.retryable = self.retryable_by_default if retryable is None else retryable
        self.retry_after = retry_after
        self.error_type = error_type
        self.request_id = request_id
        self.model = model
        self.attempts = 1  # set by call_with_retries: how many requests were made before giving up

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(provider={self.provider!r}, http_status={self.http_status!r}, "
                f"error_type={self.error_type!r}, retryable={self.retryable!r}, retry_after={self.retry_after!r}, "
                f"message={self.message!r})")


class RateLimitError(LLMError):
    """Our account's request or token rate limit (429): wait ``retry_after`` and send again."""

    retryable_by_default = True


class OverloadedError(LLMError):
    """The provider is overloaded for everyone (Anthropic 529 ``overloaded_error``)."""

    retryable_by_default = True


class ServerError(LLMError):
    """The provider failed (5xx, or 409 conflict, which the providers' SDKs also retry)."""

    retryable_by_default = True


class LLMTimeoutError(LLMError):
    """No answer within the read timeout (or a 408 from the provider). The request may have been
    processed and billed."""

    retryable_by_default = True


class LLMConnectionError(LLMError):
    """The provider could not be reached (refused, reset, DNS, TLS)."""

    retryable_by_default = True


class SpendLimitError(LLMError):
    """Credit, quota or spend limit exhausted: no request succeeds until someone pays or raises the
    limit. Never retried, whatever the caller asks."""

    def __init__(self, message: str, **kwargs: Any):
        kwargs["retryable"] = False
        kwargs["retry_after"] = None
        super().__init__(message, **kwargs)


class AuthError(LLMError):
    """The key is missing, wrong, revoked or lacks permission (401/403): an admin must fix it."""


class BadRequestError(LLMError):
    """The provider refused the request itself (400/413/422): sending it again, or to another
    provider, would fail the same way; it is a bug or a content problem to report."""

    falls_back = False


class ContextLengthError(BadRequestError):
    """The conversation is longer than the model's context window: shorten it and ask again."""


class ModelNotFoundError(BadRequestError):
    """The model or Azure deployment does not exist for this key (404): a configuration error of this
    provider only, so another provider is tried."""

    falls_back = True


class InvalidResponseError(LLMError):
    """The provider answered 2xx with something that is not a chat reply (not JSON, no choices)."""


class ProvidersExhaustedError(LLMError):
    """Every provider of a ``FallbackClient`` failed. ``failures`` lists them in order; ``retryable``
    and ``retry_after`` say whether any of them may answer later (a spend limit or an auth error
    does not)."""

    def __init__(self, message: str, *, failures: list[LLMError], provider: str):
        retryable = [f for f in failures if f.retryable]
        waits = [f.retry_after for f in retryable if f.retry_after is not None]
        super().__init__(message, provider=provider, retryable=bool(retryable),
                         retry_after=min(waits) if waits else None,
                         http_status=failures[-1].http_status if failures else None)
        self.failures = failures


# -- classification ---------------------------------------------------------------------------------

OPENAI_QUOTA_CODES = frozenset({
    "insufficient_quota", "credit_balance_exhausted", "organization_spend_limit_exceeded",
    "project_spend_limit_exceeded", "organization_usage_limit_exceeded",
})
ANTHROPIC_SPEND_CAP_CODE = "enforced_spend_limit_reached"
_ANTHROPIC_SPEND_MESSAGES = re.compile(
    r"credit balance is too low|reached your specified (workspace )?API usage limits|spend limit", re.I)
_CONTEXT_MESSAGES = re.compile(
    r"prompt is too long|context length|context window|maximum context|too many tokens", re.I)
_KEY_LIKE = re.compile(r"\b(sk|sk-ant|sk-proj)-[A-Za-z0-9_*.\-]{6,}")


def scrub(text: Any, secrets: tuple[str, ...] = ()) -> str:
    """The text without any of ``secrets`` and without anything shaped like an API key (OpenAI echoes
    a masked key in its 401 message; even masked, it does not belong in our logs)."""
    value = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            value = value.replace(secret, "***")
    return _KEY_LIKE.sub("***", value)


def provider_label(provider: str) -> str:
    return {"openai": "OpenAI", "azure": "Azure OpenAI", "anthropic": "Anthropic"}.get(provider, provider)


def most_specific(error_type: str | None, code: str | None, details_code: str | None) -> str | None:
    """The most telling of an error's labels: Anthropic's ``details.error_code``, then OpenAI's
    ``code`` (``insufficient_quota``, ``invalid_api_key``...), then the ``type``
    (``invalid_request_error`` says little when a code is there)."""
    return details_code or code or error_type


def classify(provider: str, status: int, error_type: str | None, code: str | None, message: str,
             details_code: str | None = None) -> tuple[type[LLMError], str]:
    """The error class for an HTTP error answer and our sentence describing it."""
    who = provider_label(provider)
    specific = most_specific(error_type, code, details_code)
    shown = f"{who} answered HTTP {status}" + (f" ({specific})" if specific else "")
    kinds = {k for k in (error_type, code, details_code) if k}
    if kinds & OPENAI_QUOTA_CODES or details_code == ANTHROPIC_SPEND_CAP_CODE or error_type == "billing_error" \
            or status == 402 or (status == 400 and _ANTHROPIC_SPEND_MESSAGES.search(message or "")):
        return SpendLimitError, f"{shown}: the account's credit, quota or spend limit is exhausted. {message}"
    if status == 429:
        return RateLimitError, f"{shown}: rate limited. {message}"
    if status == 529 or error_type == "overloaded_error":
        return OverloadedError, f"{shown}: overloaded. {message}"
    if status in (401, 403) or error_type in ("authentication_error", "permission_error"):
        return AuthError, f"{shown}: the API key was refused or lacks permission. {message}"
    if status == 404 or error_type == "not_found_error" or code in ("model_not_found", "DeploymentNotFound"):
        return ModelNotFoundError, f"{shown}: the model, deployment or endpoint does not exist. {message}"
    if status == 408:
        return LLMTimeoutError, f"{shown}: the provider timed out. {message}"
    if status == 409 or status >= 500:
        return ServerError, f"{shown}: the provider failed. {message}"
    if code == "context_length_exceeded" or (status in (400, 413) and _CONTEXT_MESSAGES.search(message or "")):
        return ContextLengthError, f"{shown}: the conversation is too long for the model. {message}"
    return BadRequestError, f"{shown}: the request was refused. {message}"


# -- retry hints ------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(value: str) -> float | None:
    """OpenAI's reset durations: ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"`` -> seconds."""
    text = value.strip()
    if not text:
        return None
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        number, unit = float(match.group(1)), match.group(2)
        total += number * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
        pos = match.end()
    if pos != len(text):
        try:
            return float(text)
        except ValueError:
            return None
    return total


def _seconds_until(when: datetime, now: float) -> float:
    return max(0.0, when.timestamp() - now)


def retry_after_seconds(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """How long the provider asks us to wait, from its headers, in this order: ``retry-after-ms``
    (OpenAI, Azure), ``retry-after`` (seconds or an HTTP date), then the reset time of whichever
    rate limit is exhausted: Anthropic's ``anthropic-ratelimit-*-reset`` (RFC 3339) or OpenAI's
    ``x-ratelimit-reset-*`` (durations). ``headers`` must be case-insensitive (requests' are)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return _seconds_until(email.utils.parsedate_to_datetime(value), now())
            except (TypeError, ValueError):
                pass
    waits: list[float] = []
    for limit in ("requests", "tokens", "input-tokens", "output-tokens"):
        if headers.get(f"anthropic-ratelimit-{limit}-remaining", "").strip() == "0":
            reset = headers.get(f"anthropic-ratelimit-{limit}-reset", "").strip()
            try:
                waits.append(_seconds_until(datetime.fromisoformat(reset.replace("Z", "+00:00")), now()))
            except ValueError:
                pass
        if headers.get(f"x-ratelimit-remaining-{limit}", "").strip() == "0":
            seconds = parse_duration(headers.get(f"x-ratelimit-reset-{limit}", ""))
            if seconds is not None:
                waits.append(seconds)
    return max(waits) if waits else None
