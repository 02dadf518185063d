"""Anthropic Messages API client (no frappe import).

Request: ``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version: 2023-06-01``;
body ``{model, max_tokens, system?, messages, tools?, temperature?}``. Tools are ``{name,
description, input_schema}``; an assistant turn's tool calls are ``tool_use`` blocks ``{id, name,
input}``; tool results go back in the next user message as ``tool_result`` blocks ``{tool_use_id,
content, is_error}``, before any text (the API requires them first).
Reply: ``content`` blocks (``text``, ``tool_use``), ``stop_reason`` (``end_turn``, ``tool_use``,
``max_tokens``, ``stop_sequence``, ``refusal``...), ``usage`` (``input_tokens``, ``output_tokens``,
``cache_creation_input_tokens``, ``cache_read_input_tokens``).

The API wants user and assistant messages to alternate from a user message: consecutive turns of one
role are merged into one message, and a history that starts with the assistant (a window cut out of
a longer conversation) gets a short user note in front.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

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

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
EARLIER_MESSAGES_NOTE = "(Earlier messages of this conversation are not shown.)"
_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def anthropic_tools(tools: Iterable[ToolDefinition]) -> list[dict[str, Any]]:
    """Client tools from the one source of tool definitions (voice_agent.agent.tools)."""
    return [{"name": tool.name, "description": tool.description, "input_schema": copy.deepcopy(tool.parameters)}
            for tool in tools]


def tool_use_id(call_id: str) -> str:
    """The id as Anthropic accepts it (``^[a-zA-Z0-9_-]+$``). Ids made by another provider (after a
    fallback) may not fit; the same id always maps to the same replacement, so a call and its result
    still match."""
    if _TOOL_USE_ID.match(call_id):
        return call_id
    return "toolu_" + hashlib.sha256(call_id.encode()).hexdigest()[:24]


def anthropic_messages(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for turn in turns:
        if isinstance(turn, UserTurn):
            # The API refuses whitespace-only text blocks.
            add("user", [{"type": "text", "text": turn.text}] if turn.text.strip() else [])
        elif isinstance(turn, AssistantTurn):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text.strip() else []
            blocks += [{"type": "tool_use", "id": tool_use_id(call.id), "name": call.name, "input": call.arguments}
                       for call in turn.tool_calls]
            add("assistant", blocks)
        elif isinstance(turn, ToolResultTurn):
            add("user", [{"type": "tool_result", "tool_use_id": tool_use_id(turn.call_id), "content": turn.content,
                          "is_error": turn.is_error}])
    for message in messages:
        if message["role"] == "user":
            message["content"].sort(key=lambda block: block["type"] != "tool_result")  # stable: results first
    if not messages or messages[0]["role"] != "user":
        messages.insert(0, {"role": "user", "content": [{"type": "text", "text": EARLIER_MESSAGES_NOTE}]})
    return messages


class AnthropicClient(HTTPChatClient):
    """``chat()`` against the Messages API. Timeouts, retries and the deadline: see
    ``HTTPChatClient``."""

    provider = "anthropic"
    request_id_headers = ("request-id", "x-request-id")

    def __init__(self, *, api_key: str, model: str, base_url: str = DEFAULT_BASE_URL,
                 api_version: str = API_VERSION, **kwargs: Any):
        if not api_key:
            raise ValueError("The Anthropic API key is not configured.")
        if not model:
            raise ValueError("The model is not configured.")
        super().__init__(api_key=api_key, model=model, base_url=base_url, **kwargs)
        self.api_version = api_version

    def _url(self) -> str:
        return f"{self.base_url}/v1/messages"

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key, "anthropic-version": self.api_version}

    def _body(self, system: str, turns: Sequence[Turn], tools: Sequence[ToolDefinition],
              temperature: float | None, max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens}
        if system:
            body["system"] = system
        body["messages"] = anthropic_messages(turns)
        if tools:
            body["tools"] = anthropic_tools(tools)
        if temperature is not None:
            body["temperature"] = temperature
        return body

    def _parse(self, payload: dict[str, Any]) -> ChatReply:
        if payload.get("type") == "error":  # a proxy passing an error on with 200
            raise self._error(502, payload, {}, None)
        content = payload.get("content")
        if not isinstance(content, list):
            raise InvalidResponseError(f"{self._label} answered without content blocks.", provider=self.provider,
                                       model=self.model)
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif block.get("type") == "tool_use":
                if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str) \
                        or not block["id"] or not block["name"]:
                    raise InvalidResponseError(f"{self._label} answered with a tool_use block without id or name.",
                                               provider=self.provider, model=self.model)
                arguments, error = parse_tool_arguments(block.get("input"))
                calls.append(ToolCall(block["id"], block["name"], arguments, None, error))
        raw_stop = payload.get("stop_reason") if isinstance(payload.get("stop_reason"), str) else None
        stop: StopReason
        if raw_stop in ("max_tokens", "model_context_window_exceeded"):
            stop = "max_tokens"
        elif calls:
            stop = "tool_use"
        else:
            stop = "end"
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
        cache_write = token_count(usage.get("cache_creation_input_tokens"))
        cache_read = token_count(usage.get("cache_read_input_tokens"))
        return ChatReply(
            text="\n\n".join(t.strip() for t in texts if t.strip()), tool_calls=tuple(calls), stop_reason=stop,
            usage=Usage(token_count(usage.get("input_tokens")) + cache_write + cache_read,
                        token_count(usage.get("output_tokens")), cache_read_tokens=cache_read,
                        cache_write_tokens=cache_write),
            model=str(payload.get("model") or self.model), provider=self.provider, duration_ms=0.0,
            raw_stop_reason=raw_stop)
