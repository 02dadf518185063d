"""The Messages API side of the fake (``POST /v1/messages``, ``x-api-key`` and ``anthropic-version``
headers). Requests are checked as the real API checks them and refused with its error shape
``{"type": "error", "error": {"type", "message"}, "request_id"}``."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ._steps import Answer, Call, Fail, FakeMessage, FakeRequest, Reply, estimate_tokens, text_of

KNOWN_PARAMS = frozenset({
    "model", "max_tokens", "messages", "system", "tools", "tool_choice", "temperature", "top_p", "top_k",
    "stop_sequences", "stream", "metadata", "thinking", "service_tier", "container", "mcp_servers",
})
TOOL_KEYS = frozenset({"name", "description", "input_schema", "cache_control", "type"})
BLOCK_TYPES = frozenset({"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
                         "search_result"})
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def anthropic_error(status: int, type_: str, message: str, headers: dict[str, str] | None = None,
                    details: dict[str, Any] | None = None) -> Answer:
    request_id = f"req_{secrets.token_hex(12)}"
    error: dict[str, Any] = {"type": type_, "message": message}
    if details:
        error["details"] = details
    return Answer(status, {"type": "error", "error": error, "request_id": request_id},
                  {"request-id": request_id, **(headers or {})})


def _invalid(message: str) -> Answer:
    return anthropic_error(400, "invalid_request_error", message)


def check_auth(headers: Mapping[str, str], key: str) -> Answer | None:
    given = headers.get("x-api-key")
    if not given:
        return anthropic_error(401, "authentication_error", "x-api-key header is required")
    if given != key:
        return anthropic_error(401, "authentication_error", "invalid x-api-key")
    if not headers.get("anthropic-version"):
        return _invalid("anthropic-version: header is required")
    return None


def validate(body: Any, known_models: frozenset[str] | None) -> Answer | None:
    if not isinstance(body, dict):
        return _invalid("The request body is not valid JSON.")
    for key in body:
        if key not in KNOWN_PARAMS:
            return _invalid(f"{key}: Extra inputs are not permitted")
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return _invalid(f"{key}: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        return _invalid("model: Input should be a valid string")
    if known_models is not None and body["model"] not in known_models:
        return anthropic_error(404, "not_found_error", f"model: {body['model']}")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return _invalid("max_tokens: Input should be greater than or equal to 1")
    temperature = body.get("temperature")
    if temperature is not None and (not isinstance(temperature, int | float) or isinstance(temperature, bool)
                                    or not 0 <= temperature <= 1):
        return _invalid("temperature: Input should be less than or equal to 1")
    if body.get("stream"):
        return _invalid("stream: the fake LLM does not stream; send stream: false")
    system = body.get("system")
    if system is not None and not isinstance(system, str) and not (
            isinstance(system, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in system)):
        return _invalid("system: Input should be a valid string or a list of text blocks")
    problem = _check_tools(body.get("tools"))
    if problem:
        return problem
    return _check_messages(body["messages"], has_tools=bool(body.get("tools")))


def _check_tools(tools: Any) -> Answer | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return _invalid("tools: Input should be a valid list")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            return _invalid(f"tools.{i}: Input should be a valid dictionary")
        for key in tool:
            if key not in TOOL_KEYS:
                return _invalid(f"tools.{i}.custom.{key}: Extra inputs are not permitted")
        if not isinstance(tool.get("name"), str) or not _NAME.match(tool["name"]):
            return _invalid(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        schema = tool.get("input_schema")
        if schema is None:
            return _invalid(f"tools.{i}.custom.input_schema: Field required")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return _invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
        if "description" in tool and not isinstance(tool["description"], str):
            return _invalid(f"tools.{i}.custom.description: Input should be a valid string")
    return None


def _blocks(content: Any) -> list[Any]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _check_messages(messages: Any, has_tools: bool) -> Answer | None:
    if not isinstance(messages, list):
        return _invalid("messages: Input should be a valid list")
    if not messages:
        return _invalid("messages: at least one message is required")
    uses_tools = False
    previous_tool_uses: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return _invalid(f"messages.{i}: Input should be a valid dictionary")
        role = message.get("role")
        if role == "system":
            return _invalid('messages: Unexpected role "system". The Messages API accepts a top-level `system` '
                            'parameter, not "system" as an input message role.')
        if role not in ("user", "assistant"):
            return _invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if i == 0 and role != "user":
            return _invalid('messages: first message must use the "user" role')
        content = message.get("content")
        if not isinstance(content, str | list):
            return _invalid(f"messages.{i}.content: Field required")
        blocks = _blocks(content)
        last = i == len(messages) - 1
        if not blocks and not (last and role == "assistant"):
            return _invalid(f"messages.{i}: all messages must have non-empty content except for the optional final "
                            "assistant message")
        results: list[str] = []
        tool_uses: list[str] = []
        seen_other = False
        for j, block in enumerate(blocks):
            if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
                return _invalid(f"messages.{i}.content.{j}.type: Input should be a valid content block type")
            kind = block["type"]
            if kind == "text":
                if not isinstance(block.get("text"), str) or not block["text"].strip():
                    return _invalid("messages: text content blocks must contain non-whitespace text")
                seen_other = True
            elif kind == "tool_use":
                if role != "assistant":
                    return _invalid(f"messages.{i}.content.{j}: `tool_use` blocks can only be in `assistant` messages")
                if not isinstance(block.get("id"), str) or not _TOOL_USE_ID.match(block["id"]):
                    return _invalid(f"messages.{i}.content.{j}.tool_use.id: String should match pattern "
                                    "'^[a-zA-Z0-9_-]+$'")
                if not isinstance(block.get("name"), str) or not block["name"]:
                    return _invalid(f"messages.{i}.content.{j}.tool_use.name: Field required")
                if not isinstance(block.get("input"), dict):
                    return _invalid(f"messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary")
                tool_uses.append(block["id"])
                uses_tools = True
            elif kind == "tool_result":
                if role != "user":
                    return _invalid(f"messages.{i}.content.{j}: `tool_result` blocks can only be in `user` messages")
                if not isinstance(block.get("tool_use_id"), str):
                    return _invalid(f"messages.{i}.content.{j}.tool_result.tool_use_id: Field required")
                content_value = block.get("content")
                if content_value is not None and not isinstance(content_value, str | list):
                    return _invalid(f"messages.{i}.content.{j}.tool_result.content: Input should be a valid string "
                                    "or list")
                if "is_error" in block and not isinstance(block["is_error"], bool):
                    return _invalid(f"messages.{i}.content.{j}.tool_result.is_error: Input should be a valid boolean")
                if block["tool_use_id"] not in previous_tool_uses:
                    return _invalid(f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                                    f"blocks: {block['tool_use_id']}. Each `tool_result` block must have a "
                                    "corresponding `tool_use` block in the previous message.")
                if not seen_other:
                    results.append(block["tool_use_id"])
                uses_tools = True
            else:
                seen_other = True
        if previous_tool_uses:
            # The results must open the very next message, before any other block.
            missing = [tid for tid in previous_tool_uses if tid not in results]
            if role != "user" or missing:
                return _invalid(f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                                f"after: {', '.join(missing or previous_tool_uses)}. Each `tool_use` block must have "
                                "a corresponding `tool_result` block in the next message.")
        if tool_uses and last:
            return _invalid(f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately "
                            f"after: {', '.join(tool_uses)}. Each `tool_use` block must have a corresponding "
                            "`tool_result` block in the next message.")
        previous_tool_uses = tool_uses
    if uses_tools and not has_tools:
        return _invalid("Requests which include `tool_use` or `tool_result` blocks must define tools.")
    return None


# -- the neutral view -------------------------------------------------------------------------------


def describe(request: FakeRequest) -> None:
    body = request.body
    request.model = body.get("model")
    system = body.get("system")
    request.system = system if isinstance(system, str) else text_of(system or [])
    for message in body["messages"]:
        blocks = _blocks(message["content"])
        if message["role"] == "assistant":
            text = "".join(b["text"] for b in blocks if b["type"] == "text")
            calls = [{"id": b["id"], "name": b["name"], "arguments": b["input"]} for b in blocks
                     if b["type"] == "tool_use"]
            request.messages.append(FakeMessage("assistant", text, tool_calls=calls))
            continue
        for block in blocks:
            if block["type"] == "tool_result":
                request.messages.append(FakeMessage("tool", text_of(block.get("content")),
                                                    tool_call_id=block["tool_use_id"],
                                                    is_error=bool(block.get("is_error"))))
        text = "".join(b["text"] for b in blocks if b["type"] == "text")
        if text:
            request.messages.append(FakeMessage("user", text))
    request.tool_names = [t["name"] for t in body.get("tools") or []]


# -- answers ----------------------------------------------------------------------------------------

_STOP = {"end": "end_turn", "tool_use": "tool_use", "max_tokens": "max_tokens"}


def _tool_use_id() -> str:
    return "toolu_01" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")


def render_reply(reply: Reply, request: FakeRequest) -> Answer:
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    content += [_render_call(call) for call in reply.tool_calls]
    stop = _STOP.get(reply.stop or "", reply.stop) or ("tool_use" if reply.tool_calls else "end_turn")
    usage: dict[str, Any] = {
        "input_tokens": estimate_tokens(request.body.get("messages"))
        + estimate_tokens(request.body.get("tools") or ""),
        "output_tokens": estimate_tokens(repr(content)),
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "service_tier": "standard",
    }
    if isinstance(reply.usage, tuple):
        usage["input_tokens"], usage["output_tokens"] = reply.usage
    elif isinstance(reply.usage, Mapping):
        usage.update(reply.usage)
    request_id = f"req_{secrets.token_hex(12)}"
    body = {"id": "msg_01" + secrets.token_hex(12), "type": "message", "role": "assistant",
            "model": reply.model or request.model, "content": content, "stop_reason": stop,
            "stop_sequence": None, "usage": usage}
    return Answer(200, body, {"request-id": request_id})


def _render_call(call: Call) -> dict[str, Any]:
    # A string stands for arguments the model got wrong: Anthropic always sends an object, so this
    # shape exists only to test a client's robustness.
    arguments = call.arguments if isinstance(call.arguments, str) else dict(call.arguments)
    return {"type": "tool_use", "id": call.id or _tool_use_id(), "name": call.name, "input": arguments}


def render_fail(fail: Fail, request: FakeRequest) -> Answer:
    headers: dict[str, str] = {}
    if fail.retry_after is not None:
        headers["retry-after"] = fail.retry_after
        try:
            reset = datetime.now(timezone.utc) + timedelta(seconds=float(fail.retry_after))
        except ValueError:
            reset = None
        if reset is not None:
            headers["anthropic-ratelimit-requests-remaining"] = "0"
            headers["anthropic-ratelimit-requests-reset"] = reset.isoformat(timespec="seconds").replace("+00:00", "Z")
    headers.update(fail.headers)
    model = request.model or "claude-fake"
    if fail.kind == "quota":
        variant = fail.variant or "tier_cap"
        if variant == "tier_cap":  # no retry-after: waiting does not help until next month
            return anthropic_error(fail.status or 429, "rate_limit_error", fail.message or (
                "You have reached your API usage limits: your organization has crossed its monthly API usage "
                "threshold, set based on your organization's API tier. You will regain access on 2099-01-01 at "
                "00:00 UTC."), {k: v for k, v in headers.items() if k != "retry-after"},
                details={"error_code": "enforced_spend_limit_reached"})
        status, type_, message = {
            "workspace": (400, "invalid_request_error", "You have reached your specified workspace API usage "
                          "limits. You will regain access on 2099-01-01 at 00:00 UTC."),
            "credit": (400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. "
                       "Please go to Plans & Billing to upgrade or purchase credits."),
            "billing": (402, "billing_error", "There is an issue with your billing or payment information."),
        }[variant]
        return anthropic_error(fail.status or status, type_, fail.message or message, headers)
    status, type_, message = {
        "rate_limit": (429, "rate_limit_error", "This request would exceed the rate limit for your organization of "
                       f"50 requests per minute for {model}. Please retry after the time in the retry-after header."),
        "overloaded": (529, "overloaded_error", "Overloaded"),
        "server": (500, "api_error", "Internal server error"),
        "unavailable": (503, "api_error", "Service unavailable"),
        "auth": (401, "authentication_error", "invalid x-api-key"),
        "bad_request": (400, "invalid_request_error", "The request is invalid."),
        "not_found": (404, "not_found_error", f"model: {model}"),
        "context_length": (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    }[fail.kind]
    return anthropic_error(fail.status or status, type_, fail.message or message, headers)
