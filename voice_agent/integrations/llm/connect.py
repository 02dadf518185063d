"""The Frappe side of the LLM clients: a Voice Agent LLM Provider record as an ``LLMClient``, a profile's
chat client (its provider, then its fallback), the price of a provider's tokens, and the test of a
provider's connection the form's button runs.

Keys are read with ``get_password`` when a client is built and handed to the client, which keeps them
out of its repr, its errors and its logs; nothing here logs or returns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import frappe
from frappe import _
from frappe.utils import now_datetime

from voice_agent.agent.tools import ToolDefinition
from voice_agent.bot.limits import ModelPrice, price_for
from voice_agent.integrations.llm.anthropic import AnthropicClient
from voice_agent.integrations.llm.base import ChatReply, LLMClient, Turn, UserTurn
from voice_agent.integrations.llm.errors import (
    AuthError,
    BadRequestError,
    InvalidResponseError,
    LLMConnectionError,
    LLMError,
    LLMTimeoutError,
    ModelNotFoundError,
    OverloadedError,
    RateLimitError,
    ServerError,
    SpendLimitError,
    scrub,
)
from voice_agent.integrations.llm.openai_compat import OpenAICompatClient
from voice_agent.integrations.llm.retry import FallbackClient

PROVIDER = "Voice Agent LLM Provider"
PROFILE = "Voice Agent Profile"
# The test asks for a word, not a conversation: cheap, and quick enough for a person waiting on a button.
TEST_SYSTEM = "This is a connection test. Answer with the single word OK."
TEST_MAX_TOKENS = 16
TEST_DEADLINE = 30.0


class _DefaultTemperature:
    """A client whose model accepts only its default temperature (OpenAI's reasoning models refuse any
    other value): the caller's temperature is not sent."""

    def __init__(self, client: LLMClient):
        self.client = client
        self.provider = client.provider
        self.model = client.model

    def __repr__(self) -> str:
        return f"_DefaultTemperature({self.client!r})"

    def chat(self, system: str, turns: Sequence[Turn], tools: Sequence[ToolDefinition], *,
             temperature: float | None = None, max_tokens: int = 1024, timeout: float | None = None) -> ChatReply:
        return self.client.chat(system, turns, tools, temperature=None, max_tokens=max_tokens, timeout=timeout)

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close:
            close()


def client_for_provider(provider: Any) -> LLMClient:
    """The client of an enabled provider (a Voice Agent LLM Provider document or its name)."""
    doc = _provider(provider)
    if not doc.enabled:
        frappe.throw(_("LLM provider {0} is disabled.").format(doc.name))
    return _client(doc)


def chat_client_for_profile(profile: Any) -> LLMClient:
    """The chat client of a profile (a Voice Agent Profile document or its name): its chat provider,
    then its fallback provider when the first cannot answer (a ``FallbackClient``). A disabled one is
    left out, so switching the primary off hands the chats to the fallback; none enabled is an error."""
    doc = frappe.get_cached_doc(PROFILE, profile) if isinstance(profile, str) else profile
    names = [n for n in dict.fromkeys((doc.chat_provider, doc.chat_fallback_provider)) if n]
    if not names:
        frappe.throw(_("Voice Agent Profile {0} has no chat provider.").format(doc.name))
    providers = [_provider(name) for name in names]
    clients = [_client(p) for p in providers if p.enabled]
    if not clients:
        frappe.throw(_("No enabled LLM provider for the chats of Voice Agent Profile {0} ({1}).").format(
            doc.name, ", ".join(names)))
    return clients[0] if len(clients) == 1 else FallbackClient(clients)


def provider_price(provider: Any) -> ModelPrice | None:
    """What a provider's tokens cost per million, in its currency: its own prices, else (both 0) the
    built-in USD list price of its model, else None (unknown)."""
    doc = _provider(provider)
    if doc.input_price or doc.output_price:
        return ModelPrice(float(doc.input_price or 0), float(doc.output_price or 0))
    return price_for(doc.model or doc.azure_deployment or "")


def test_connection(provider: str) -> dict[str, Any]:
    """Send one short chat through the provider's real client (one attempt: a failure is reported as it
    is, not retried away) and say what is wrong in words a manager can act on. The result is kept on
    the record (status, last tested, last error)."""
    doc = frappe.get_doc(PROVIDER, provider)
    key = doc.get_password("api_key", raise_exception=False) or ""
    client = _client(doc, attempts=1, deadline=min(float(doc.deadline or TEST_DEADLINE), TEST_DEADLINE))
    try:
        reply = client.chat(TEST_SYSTEM, [UserTurn("Say OK.")], [], max_tokens=TEST_MAX_TOKENS)
    except LLMError as error:
        message = scrub(explain(doc, error), (key,))
        frappe.db.set_value(PROVIDER, doc.name, {"status": "Error", "last_error": message,
                                                 "last_tested_at": now_datetime()})
        return {"ok": False, "message": message, "error": type(error).__name__}
    finally:
        close = getattr(client, "close", None)
        if close:
            close()
    frappe.db.set_value(PROVIDER, doc.name, {"status": "Connected", "last_error": None,
                                             "last_tested_at": now_datetime()})
    return {"ok": True, "model": reply.model, "duration_ms": reply.duration_ms,
            "message": _("Connected: {0} answered in {1} ms ({2} input and {3} output tokens).").format(
                reply.model, round(reply.duration_ms), reply.usage.input_tokens, reply.usage.output_tokens)}


def explain(doc: Any, error: LLMError) -> str:
    """What a failed test means, for the manager who pressed the button. Never the key: an auth error's
    own text is left out, as OpenAI's quotes part of the key it refused."""
    where = doc.base_url or ""
    model = doc.azure_deployment if doc.kind == "Azure OpenAI" else doc.model
    details = _("Details: {0}").format(error.message)
    if isinstance(error, AuthError):
        return _("The provider refused the API key (HTTP {0}): check the key and that it may use {1}.").format(
            error.http_status or "?", model)
    if isinstance(error, SpendLimitError):
        return _("The account has no credit left or has reached its spend limit: add credit or raise the limit "
                 "with the provider. {0}").format(details)
    if isinstance(error, ModelNotFoundError):
        return _("The model or deployment {0} was not found at {1}: check its name and the base URL. {2}").format(
            model, where, details)
    if isinstance(error, LLMConnectionError):
        return _("{0} could not be reached: check the base URL and that the server is running. {1}").format(
            where, details)
    if isinstance(error, LLMTimeoutError):
        return _("{0} did not answer in time: the server is slow or busy, or the read timeout is too short. "
                 "{1}").format(where, details)
    if isinstance(error, RateLimitError):
        return _("The key works, but the provider is rate limiting it right now: try again in a moment. "
                 "{0}").format(details)
    if isinstance(error, OverloadedError | ServerError):
        return _("The provider is failing or overloaded right now: try again later. {0}").format(details)
    if isinstance(error, InvalidResponseError):
        return _("{0} answered, but not as a chat API does: check the base URL and the kind. {1}").format(
            where, details)
    if isinstance(error, BadRequestError):
        return _("The provider refused the test request: check the model and the settings. {0}").format(details)
    return _("The test failed. {0}").format(details)


def _provider(provider: Any) -> Any:
    return frappe.get_cached_doc(PROVIDER, provider) if isinstance(provider, str) else provider


def _client(doc: Any, **overrides: Any) -> LLMClient:
    key = doc.get_password("api_key", raise_exception=False) or None
    options: dict[str, Any] = {"connect_timeout": float(doc.connect_timeout), "read_timeout": float(doc.read_timeout),
                               "deadline": float(doc.deadline), "attempts": int(doc.attempts), **overrides}
    try:
        if doc.kind == "Anthropic":
            client: LLMClient = AnthropicClient(api_key=key or "", model=doc.model, base_url=doc.base_url, **options)
        elif doc.kind == "Azure OpenAI":
            client = OpenAICompatClient.azure(endpoint=doc.base_url, deployment=doc.azure_deployment,
                                              api_key=key or "", api_version=doc.azure_api_version,
                                              model=doc.model or doc.azure_deployment,
                                              max_tokens_param=doc.max_tokens_param or "max_tokens", **options)
        else:
            client = OpenAICompatClient(api_key=key, model=doc.model, base_url=doc.base_url,
                                        organization=doc.organization or None,
                                        max_tokens_param=doc.max_tokens_param or "max_tokens", **options)
    except ValueError as exc:  # the clients' own checks; their messages never contain the key
        frappe.throw(_("LLM provider {0} is not usable: {1}").format(doc.name, exc))
    return client if doc.send_temperature else _DefaultTemperature(client)
