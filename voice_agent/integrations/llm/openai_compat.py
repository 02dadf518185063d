"""Chat Completions client for OpenAI and the servers speaking its shape (no frappe import).

One client, by base URL: OpenAI (``https://api.openai.com/v1``), Azure OpenAI (``azure()``: the
deployment in the path, ``api-version`` in the query, the key in an ``api-key`` header), vLLM
(``http://host:8000/v1``), Ollama (``http://host:11434/v1``, no key) and gateways.

Request: ``{model, messages, tools?, max_tokens, temperature?}`` with the system prompt as the first
``system`` message, tools as ``{type: "function", function: {name, description, parameters}}``,
assistant tool calls replayed as ``tool_calls [{id, type: "function", function: {name, arguments:
"<JSON string>"}}]`` and tool results as ``{role: "tool", tool_call_id, content}``.
Reply: ``choices[0].message`` (``content``, ``tool_calls``, ``refusal``), ``finish_reason``, ``usage``
(``prompt_tokens``, ``completion_tokens``, ``prompt_tokens_details.cached_tokens``).

Choices left to the caller: ``max_tokens_param`` (OpenAI's reasoning models take only
``max_completion_tokens``; vLLM, Ollama and most gateways know ``max_tokens``, the default), and
``temperature=None`` to send none (those models refuse any but their default).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Literal
from urllib.parse import quote

from voice_agent.agent.tools import ToolDefinition
from voice_agent.integrations.llm._http import HTTPChatClient, token_count
from voice_agent.integrations.llm.base import (
    AssistantTurn,
    ChatReply,
    StopReason,
    ToolCall,
    ToolResultTurn,
    Turn,
    Usage,
    UserTurn,
    parse_tool_arguments,
)
from voice_agent.integrations.llm.errors import InvalidResponseError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Azure OpenAI's latest GA data-plane inference version at the time of writing.
DEFAULT_AZURE_API_VERSION = "2024-10-21"
MAX_TOKENS_PARAMS = ("max_tokens", "max_completion_tokens")
# The model's own error report for a failed tool, since Chat Completions has no is_error flag.
TOOL_ERROR_PREFIX = "ERROR: "


def openai_tools(tools: Iterable[ToolDefinition]) -> list[dict[str, Any]]:
    """Function tools from the one source of tool definitions (voice_agent.agent.tools)."""
    return [{"type": "function", "function": {"name": tool.name, "description": tool.description,
                                              "parameters": copy.deepcopy(tool.parameters)}}
            for tool in tools]


def openai_messages(system: str, turns: Sequence[Turn]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for turn in turns:
        if isinstance(turn, UserTurn):
            messages.append({"role": "user", "content": turn.text})
        elif isinstance(turn, AssistantTurn):
            message: dict[str, Any] = {"role": "assistant", "content": turn.text or (None if turn.tool_calls else "")}
            if turn.tool_calls:
                message["tool_calls"] = [
                    {"id": call.id, "type": "function",
                     "function": {"name": call.name,
                                  "arguments": call.raw_arguments if call.raw_arguments is not None
                                  else json.dumps(call.arguments, ensure_ascii=False)}}
                    for call in turn.tool_calls
                ]
            messages.append(message)
        elif isinstance(turn, ToolResultTurn):
            content = f"{TOOL_ERROR_PREFIX}{turn.content}" if turn.is_error else turn.content
            messages.append({"role": "tool", "tool_call_id": turn.call_id, "content": content})
    return messages


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some gateways answer with content parts
        return "".join(part.get("text", "") for part in content
                       if isinstance(part, dict) and part.get("type") in ("text", "output_text"))
    return ""


class OpenAICompatClient(HTTPChatClient):
    """``chat()`` against ``{base_url}/chat/completions``. ``api_key`` may be empty for servers that
    take none (Ollama, a local vLLM). Timeouts, retries and the deadline: see ``HTTPChatClient``."""

    def __init__(self, *, api_key: str | None, model: str, base_url: str = DEFAULT_BASE_URL,
                 provider: str = "openai", auth: Literal["bearer", "api-key"] = "bearer",
                 max_tokens_param: str = "max_tokens", organization: str | None = None,
                 azure_deployment: str | None = None, azure_api_version: str | None = None, **kwargs: Any):
        if max_tokens_param not in MAX_TOKENS_PARAMS:
            raise ValueError(f"max_tokens_param is one of {', '.join(MAX_TOKENS_PARAMS)}.")
        if auth not in ("bearer", "api-key"):
            raise ValueError("auth is 'bearer' (OpenAI and most servers) or 'api-key' (Azure OpenAI).")
        if azure_deployment is not None and not azure_deployment.strip():
            raise ValueError("The Azure deployment name is empty.")
        if (azure_deployment is None) != (azure_api_version is None):
            raise ValueError("An Azure deployment needs an api-version, and an api-version needs a deployment.")
        if not model and not azure_deployment:
            raise ValueError("The model is not configured.")
        super().__init__(api_key=api_key, model=model or azure_deployment or "", base_url=base_url, **kwargs)
        self.provider = provider
        self.auth = auth
        self.max_tokens_param = max_tokens_param
        self.organization = organization
        self.azure_deployment = azure_deployment.strip() if azure_deployment else None
        self.azure_api_version = azure_api_version
        if self.azure_deployment:
            self.request_id_headers = ("apim-request-id", "x-request-id")

    @classmethod
    def azure(cls, *, endpoint: str, deployment: str, api_key: str, api_version: str = DEFAULT_AZURE_API_VERSION,
              auth: Literal["bearer", "api-key"] = "api-key", **kwargs: Any) -> OpenAICompatClient:
        """Azure OpenAI: ``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=``.
        ``endpoint`` is the resource URL (``https://NAME.openai.azure.com``); ``auth="bearer"`` takes
        a Microsoft Entra ID token instead of the resource key."""
        if not api_key:
            raise ValueError("The Azure OpenAI key is not configured.")
        kwargs.setdefault("model", deployment)
        return cls(api_key=api_key, base_url=endpoint, provider="azure", auth=auth, azure_deployment=deployment,
                   azure_api_version=api_version, **kwargs)

    def __repr__(self) -> str:
        extra = f", deployment={self.azure_deployment!r}" if self.azure_deployment else ""
        return (f"OpenAICompatClient(provider={self.provider!r}, model={self.model!r}, "
                f"base_url={self.base_url!r}{extra})")

    # -- request ---------------------------------------------------------------------------------

    def _url(self) -> str:
        if self.azure_deployment:
            return f"{self.base_url}/openai/deployments/{quote(self.azure_deployment, safe='')}/chat/completions"
        return f"{self.base_url}/chat/completions"

    def _params(self) -> dict[str, str] | None:
        return {"api-version": self.azure_api_version} if self.azure_api_version else None

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self._api_key:
            if self.auth == "api-key":
                headers["api-key"] = self._api_key
            else:
                headers["Authorization"] = f"Bearer {self._api_key}"
        if self.organization:
            headers["OpenAI-Organization"] = self.organization
        return headers

    def _body(self, system: str, turns: Sequence[Turn], tools: Sequence[ToolDefinition],
              temperature: float | None, max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if not self.azure_deployment:  # Azure takes the model from the deployment in the path
            body["model"] = self.model
        body["messages"] = openai_messages(system, turns)
        if tools:
            body["tools"] = openai_tools(tools)
        body[self.max_tokens_param] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        return body

    # -- reply -----------------------------------------------------------------------------------

    def _parse(self, payload: dict[str, Any]) -> ChatReply:
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            if isinstance(payload.get("error"), dict | str):  # gateways that report errors with 200
                code = payload["error"].get("code") if isinstance(payload["error"], dict) else None
                status = int(code) if isinstance(code, int | str) and str(code).isdigit() and \
                    400 <= int(code) <= 599 else 502
                raise self._error(status, payload, {}, None)
            raise self._invalid("an answer without choices")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise self._invalid("a choice without a message")
        calls = []
        for index, raw in enumerate(message.get("tool_calls") or []):
            function = raw.get("function") if isinstance(raw, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
                raise self._invalid("a tool call without a function name")
            raw_arguments = function.get("arguments")
            arguments, error = parse_tool_arguments(raw_arguments)
            call_id = raw.get("id") if isinstance(raw.get("id"), str) and raw.get("id") else \
                f"call_{index}_{uuid.uuid4().hex[:20]}"  # a server that gives none: we still need one to answer
            calls.append(ToolCall(call_id, function["name"], arguments,
                                  raw_arguments if isinstance(raw_arguments, str) else None, error))
        finish = choice.get("finish_reason")
        text = _text_of(message.get("content"))
        refusal = message.get("refusal")
        raw_stop = finish if isinstance(finish, str) else None
        if not text and isinstance(refusal, str) and refusal:
            text, raw_stop = refusal, "refusal"
        stop: StopReason
        if finish == "length":
            stop = "max_tokens"
        elif calls:
            stop = "tool_use"  # Ollama and some gateways say "stop" even when they call tools
        else:
            stop = "end"
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
        details = usage.get("prompt_tokens_details") if isinstance(usage.get("prompt_tokens_details"), dict) else {}
        return ChatReply(
            text=text, tool_calls=tuple(calls), stop_reason=stop,
            usage=Usage(token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens")),
                        cache_read_tokens=token_count(details.get("cached_tokens"))),
            model=str(payload.get("model") or self.model), provider=self.provider, duration_ms=0.0,
            raw_stop_reason=raw_stop)

    def _invalid(self, what: str) -> InvalidResponseError:
        return InvalidResponseError(f"{self._label} answered with {what}.", provider=self.provider, model=self.model)
