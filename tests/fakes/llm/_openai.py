"""The Chat Completions side of the fake: OpenAI (``POST /v1/chat/completions``, bearer key) and
Azure OpenAI (``POST /openai/deployments/{deployment}/chat/completions?api-version=``, ``api-key``
header). Requests are checked as the real APIs check them and refused with their error shapes:
OpenAI's ``{"error": {"message", "type", "param", "code"}}``, Azure's auth/routing errors
``{"error": {"code", "message"}}``."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from ._steps import Answer, Call, Fail, FakeMessage, FakeRequest, Reply, estimate_tokens, text_of

KNOWN_PARAMS = frozenset({
    "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p", "max_tokens",
    "max_completion_tokens", "n", "stop", "stream", "stream_options", "presence_penalty", "frequency_penalty",
    "logit_bias", "logprobs", "top_logprobs", "user", "seed", "response_format", "service_tier", "store",
    "metadata", "reasoning_effort", "modalities", "audio", "prediction", "functions", "function_call",
    "safety_identifier", "prompt_cache_key", "verbosity", "web_search_options",
})
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def openai_error(status: int, message: str, type_: str | None = "invalid_request_error", param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"error": {"message": message, "type": type_, "param": param, "code": code}},
                  {"x-request-id": f"req_{secrets.token_hex(16)}", **(headers or {})})


def azure_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message}},
                  {"apim-request-id": secrets.token_hex(16), **(headers or {})})


# -- auth and routing -------------------------------------------------------------------------------


def check_auth(api: str, headers: Mapping[str, str], key: str) -> Answer | None:
    if api == "azure":
        given = headers.get("api-key")
        bearer = headers.get("Authorization", "")
        if given != key and bearer != f"Bearer {key}":
            return azure_error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. "
                               "Make sure to provide a valid key for an active subscription and use a correct "
                               "regional API endpoint for your resource.")
        return None
    auth = headers.get("Authorization")
    if not auth:
        return openai_error(401, "You didn't provide an API key. You need to provide your API key in an "
                            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
    if auth != f"Bearer {key}":
        # As OpenAI does: the key's start and end around stars (a client must not log even this).
        given = auth.removeprefix("Bearer ")
        shown = given[:8] + "*" * max(0, len(given) - 12) + given[-4:] if len(given) > 12 else "*" * len(given)
        return openai_error(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                            "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
    return None


def check_azure_route(deployment: str, query: Mapping[str, list[str]], deployments: Mapping[str, str]) -> Answer | None:
    version = (query.get("api-version") or [""])[0]
    if not _API_VERSION.match(version):
        return azure_error(404, "404", "Resource not found")
    if deployment not in deployments:
        return azure_error(404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you "
                           "created the deployment within the last 5 minutes, please wait a moment and try again.")
    return None


# -- request checks ---------------------------------------------------------------------------------


def validate(api: str, body: Any, known_models: frozenset[str] | None) -> Answer | None:
    """The first problem the real API would report, as its 400 (or 404 for an unknown model)."""
    if not isinstance(body, dict):
        return openai_error(400, "We could not parse the JSON body of your request. (HINT: This likely means you "
                            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what "
                            "was sent was not valid JSON.)")
    for key in body:
        if key not in KNOWN_PARAMS:
            return openai_error(400, f"Unrecognized request argument supplied: {key}")
    if api == "openai":
        if not isinstance(body.get("model"), str) or not body["model"]:
            return openai_error(400, "you must provide a model parameter")
        if known_models is not None and body["model"] not in known_models:
            return openai_error(404, f"The model `{body['model']}` does not exist or you do not have access to it.",
                                code="model_not_found")
    if body.get("stream"):
        return openai_error(400, "The fake LLM does not stream; send stream: false.", param="stream")
    messages = body.get("messages")
    if messages is None:
        return openai_error(400, "Missing required parameter: 'messages'.", param="messages",
                            code="missing_required_parameter")
    if not isinstance(messages, list):
        return openai_error(400, "Invalid type for 'messages': expected an array, but got an object instead.",
                            param="messages", code="invalid_type")
    if not messages:
        return openai_error(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got "
                            "an empty array instead.", param="messages", code="empty_array")
    problem = _check_messages(messages)
    if problem:
        return problem
    problem = _check_tools(body.get("tools"))
    if problem:
        return problem
    for name, low, high in (("temperature", 0, 2), ("top_p", 0, 1)):
        value = body.get(name)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)
                                  or not low <= value <= high):
            return openai_error(400, f"Invalid '{name}': expected a number between {low} and {high}, but got "
                                f"{value!r} instead.", param=name, code="invalid_value")
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            return openai_error(400, f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but "
                                f"got {value!r} instead.", param=name, code="integer_below_min_value")
    return None


def _check_messages(messages: list[Any]) -> Answer | None:
    pending: list[str] = []
    pending_at = 0
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return openai_error(400, f"Invalid type for 'messages[{i}]': expected an object, but got "
                                f"{type(message).__name__} instead.", param=f"messages[{i}]", code="invalid_type")
        role = message.get("role")
        if role not in ROLES:
            return openai_error(400, f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                                "'function', 'tool', and 'developer'.", param=f"messages[{i}].role",
                                code="invalid_value")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                return openai_error(400, f"Missing required parameter: 'messages[{i}].tool_call_id'.",
                                    param=f"messages[{i}].tool_call_id", code="missing_required_parameter")
            if call_id not in pending:
                return openai_error(400, "Invalid parameter: messages with role 'tool' must be a response to a "
                                    "preceeding message with 'tool_calls'.", param=f"messages.[{i}].role")
            pending.remove(call_id)
            if not isinstance(message.get("content"), str | list):
                return openai_error(400, f"Missing required parameter: 'messages[{i}].content'.",
                                    param=f"messages[{i}].content", code="missing_required_parameter")
            continue
        if pending:
            return openai_error(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                                "responding to each 'tool_call_id'. The following tool_call_ids did not have response "
                                f"messages: {', '.join(pending)}", param=f"messages.[{pending_at}].role")
        if role == "assistant":
            calls = message.get("tool_calls")
            if message.get("content") is None and not calls:
                return openai_error(400, "Invalid value for 'content': expected a string, got null.",
                                    param=f"messages.[{i}].content")
            if calls is not None:
                problem = _check_tool_calls(i, calls)
                if problem:
                    return problem
                pending = [c["id"] for c in calls]
                pending_at = i
        elif not isinstance(message.get("content"), str | list):
            return openai_error(400, f"Missing required parameter: 'messages[{i}].content'.",
                                param=f"messages[{i}].content", code="missing_required_parameter")
    if pending:
        return openai_error(400, "An assistant message with 'tool_calls' must be followed by tool messages responding "
                            "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                            f"{', '.join(pending)}", param=f"messages.[{pending_at}].role")
    return None


def _check_tool_calls(i: int, calls: Any) -> Answer | None:
    if not isinstance(calls, list) or not calls:
        return openai_error(400, f"Invalid 'messages[{i}].tool_calls': empty array. Expected an array with minimum "
                            "length 1, but got an empty array instead.", param=f"messages[{i}].tool_calls",
                            code="empty_array")
    for j, call in enumerate(calls):
        where = f"messages[{i}].tool_calls[{j}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(call.get("id"), str) or call.get("type") != "function" \
                or not isinstance(function, dict):
            return openai_error(400, f"Missing required parameter: '{where}.id', '{where}.type' or "
                                f"'{where}.function'.", param=where, code="missing_required_parameter")
        if not isinstance(function.get("name"), str):
            return openai_error(400, f"Missing required parameter: '{where}.function.name'.",
                                param=f"{where}.function.name", code="missing_required_parameter")
        if not isinstance(function.get("arguments"), str):
            arguments = function.get("arguments")
            got = "an object" if isinstance(arguments, dict) else type(arguments).__name__
            return openai_error(400, f"Invalid type for '{where}.function.arguments': expected a string, but got "
                                f"{got} instead.", param=f"{where}.function.arguments", code="invalid_type")
    return None


def _check_tools(tools: Any) -> Answer | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return openai_error(400, "Invalid type for 'tools': expected an array, but got an object instead.",
                            param="tools", code="invalid_type")
    if not tools:
        return openai_error(400, "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an "
                            "empty array instead.", param="tools", code="empty_array")
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            return openai_error(400, f"Missing required parameter: 'tools[{i}].function'.",
                                param=f"tools[{i}].function", code="missing_required_parameter")
        name = function.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            return openai_error(400, f"Invalid 'tools[{i}].function.name': string does not match pattern. Expected a "
                                "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                                param=f"tools[{i}].function.name", code="invalid_value")
        parameters = function.get("parameters")
        if parameters is not None and (not isinstance(parameters, dict) or parameters.get("type") != "object"):
            shown = parameters.get("type") if isinstance(parameters, dict) else None
            return openai_error(400, f"Invalid schema for function '{name}': schema must be a JSON Schema of 'type: "
                                f"\"object\"', got 'type: \"{shown}\"'.", param=f"tools[{i}].function.parameters",
                                code="invalid_function_parameters")
    return None


# -- the neutral view -------------------------------------------------------------------------------


def describe(request: FakeRequest, deployments: Mapping[str, str], deployment: str | None) -> None:
    body = request.body
    request.model = deployments.get(deployment or "") if request.api == "azure" else body.get("model")
    system_parts: list[str] = []
    for message in body["messages"]:
        role = message["role"]
        if role in ("system", "developer"):
            system_parts.append(text_of(message.get("content")))
        elif role == "tool":
            request.messages.append(FakeMessage("tool", text_of(message.get("content")),
                                                tool_call_id=message["tool_call_id"]))
        elif role == "assistant":
            calls = []
            for call in message.get("tool_calls") or []:
                try:
                    arguments: Any = json.loads(call["function"]["arguments"])
                except ValueError:
                    arguments = call["function"]["arguments"]
                calls.append({"id": call["id"], "name": call["function"]["name"], "arguments": arguments})
            request.messages.append(FakeMessage("assistant", text_of(message.get("content")), tool_calls=calls))
        else:
            request.messages.append(FakeMessage("user", text_of(message.get("content"))))
    request.system = "\n".join(system_parts)
    request.tool_names = [t["function"]["name"] for t in body.get("tools") or []]


# -- answers ----------------------------------------------------------------------------------------

_STOP = {"end": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def render_reply(reply: Reply, request: FakeRequest) -> Answer:
    calls = [_render_call(call) for call in reply.tool_calls]
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if calls:
        message["tool_calls"] = calls
    stop = _STOP.get(reply.stop or "", reply.stop) or ("tool_calls" if calls else "stop")
    prompt = estimate_tokens(request.body.get("messages")) + estimate_tokens(request.body.get("tools") or "")
    completion = estimate_tokens(reply.text + json.dumps(calls))
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                             "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}}
    if isinstance(reply.usage, tuple):
        usage["prompt_tokens"], usage["completion_tokens"] = reply.usage
    elif isinstance(reply.usage, Mapping):
        usage.update(reply.usage)
    usage["total_tokens"] = int(usage["prompt_tokens"]) + int(usage["completion_tokens"])
    body = {"id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion", "created": int(time.time()),
            "model": reply.model or request.model or "gpt-fake",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": stop}],
            "usage": usage, "system_fingerprint": "fp_fake"}
    return Answer(200, body, {"x-request-id": f"req_{secrets.token_hex(16)}"})


def _render_call(call: Call) -> dict[str, Any]:
    arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(dict(call.arguments))
    return {"id": call.id or f"call_{secrets.token_urlsafe(18).replace('-', 'a').replace('_', 'b')}",
            "type": "function", "function": {"name": call.name, "arguments": arguments}}


def render_fail(api: str, fail: Fail, request: FakeRequest) -> Answer:
    model = request.model or "gpt-fake"
    headers: dict[str, str] = {}
    if fail.retry_after is not None:
        headers["retry-after"] = fail.retry_after
        try:
            seconds = float(fail.retry_after)
        except ValueError:
            seconds = None
        if seconds is not None:
            if api == "azure":
                headers["retry-after-ms"] = str(int(seconds * 1000))
            else:
                headers["x-ratelimit-remaining-requests"] = "0"
                headers["x-ratelimit-reset-requests"] = f"{seconds:g}s"
    headers.update(fail.headers)
    kind = fail.kind
    if api == "azure" and kind in ("rate_limit", "auth", "not_found"):
        status, code, message = {
            "rate_limit": (429, "429", f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                           f"version {(request.query.get('api-version') or ['?'])[0]} have exceeded token rate limit "
                           f"of your current OpenAI S0 pricing tier. Please retry after {fail.retry_after or 60} "
                           "seconds."),
            "auth": (401, "401", "Access denied due to invalid subscription key or wrong API endpoint."),
            "not_found": (404, "DeploymentNotFound", "The API deployment for this resource does not exist."),
        }[kind]
        return azure_error(fail.status or status, code, fail.message or message, headers)
    status, type_, code, message = {
        "rate_limit": (429, "requests", "rate_limit_exceeded",
                       f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): "
                       f"Limit 3, Used 3, Requested 1. Please try again in {fail.retry_after or 20}s."),
        "quota": (429, "insufficient_quota", "insufficient_quota",
                  "You exceeded your current quota, please check your plan and billing details. For more "
                  "information on this error, read the docs: "
                  "https://platform.openai.com/docs/guides/error-codes/api-errors."),
        "overloaded": (503, "server_error", None, "The engine is currently overloaded, please try again later."),
        "server": (500, "server_error", None,
                   "The server had an error while processing your request. Sorry about that!"),
        "unavailable": (503, "server_error", None, "Service Unavailable."),
        "auth": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-fak********."),
        "bad_request": (400, "invalid_request_error", None, "The request is invalid."),
        "not_found": (404, "invalid_request_error", "model_not_found",
                      f"The model `{model}` does not exist or you do not have access to it."),
        "context_length": (400, "invalid_request_error", "context_length_exceeded",
                           "This model's maximum context length is 128000 tokens. However, your messages resulted "
                           "in 130000 tokens. Please reduce the length of the messages."),
    }[kind]
    return openai_error(fail.status or status, fail.message or message, type_, None, code, headers)
