"""The LLM provider clients (OpenAI-compatible incl. Azure, Anthropic) against the loopback fake of both
APIs: tool definitions from the one source, replies, tool-use round trips in each provider's documented
shape, errors and their retry / fallback policy, timeouts, and keys kept out of every error text."""

from __future__ import annotations

import ast
import email.utils
import json
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from tests.fakes.llm import Call, Drop, Fail, FakeLLM, FakeRequest, Hang, Reply, Respond
from voice_agent.agent.tools import TOOLS, ToolTarget
from voice_agent.integrations.llm import (
    AnthropicClient,
    AssistantTurn,
    AuthError,
    BadRequestError,
    ContextLengthError,
    FallbackClient,
    InvalidResponseError,
    LLMClient,
    LLMConnectionError,
    LLMError,
    LLMTimeoutError,
    ModelNotFoundError,
    OpenAICompatClient,
    ProvidersExhaustedError,
    RateLimitError,
    ServerError,
    SpendLimitError,
    ToolCall,
    ToolResultTurn,
    UserTurn,
    anthropic_tools,
    call_with_retries,
    openai_tools,
)
from voice_agent.integrations.llm.anthropic import EARLIER_MESSAGES_NOTE, tool_use_id
from voice_agent.integrations.llm.base import parse_tool_arguments, validate_turns
from voice_agent.integrations.llm.errors import parse_duration, retry_after_seconds
from voice_agent.integrations.llm.retry import backoff_delay
from voice_agent.integrations.ultravox.tools import selected_tools

ROOT = Path(__file__).resolve().parents[2]
TOOL_LIST = list(TOOLS.values())
SYSTEM = "You are the front desk of a hair salon."
BOOKING = {"customer_name": "Ada Lovelace", "date": "2030-05-01", "time": "10:00", "phone": "+44 20 7946 0000"}
APIS = ("openai", "anthropic", "azure")


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps (or a test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake():
    with FakeLLM() as server:
        yield server


def client_for(fake: FakeLLM, api: str, *, key: str | None = None, clock: FakeClock | None = None,
               **kw: Any) -> OpenAICompatClient | AnthropicClient:
    kw.setdefault("read_timeout", 5.0)
    kw.setdefault("rng", lambda: 0.5)
    if clock is not None:
        kw.update(sleep=clock.sleep, clock=clock)
    if api == "openai":
        return OpenAICompatClient(api_key=key or fake.openai_key, model="gpt-4o-mini", base_url=fake.openai_base_url,
                                  **kw)
    if api == "azure":
        return OpenAICompatClient.azure(endpoint=fake.azure_endpoint, deployment="gpt-4o-mini",
                                        api_key=key or fake.azure_key, **kw)
    return AnthropicClient(api_key=key or fake.anthropic_key, model="claude-sonnet-4-5",
                           base_url=fake.anthropic_base_url, **kw)


def messages_of(request: FakeRequest) -> list[dict[str, Any]]:
    return request.body["messages"]


# -- the package stays pure -------------------------------------------------------------------------


def test_llm_package_never_imports_frappe():
    # connect.py is the Frappe glue (provider records as clients): tests/python/test_layout.py GLUE.
    for path in (ROOT / "voice_agent/integrations/llm").glob("*.py"):
        if path.name == "connect.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "frappe" or n.startswith("frappe.") for n in names), f"{path.name} imports frappe"


# -- tool definitions from the one source -----------------------------------------------------------


def test_openai_tools_are_function_tools_from_the_source():
    tools = openai_tools(TOOL_LIST)
    assert [t["function"]["name"] for t in tools] == list(TOOLS)
    for tool, source in zip(tools, TOOL_LIST, strict=True):
        assert tool == {"type": "function", "function": {"name": source.name, "description": source.description,
                                                         "parameters": source.parameters}}
        assert tool["function"]["parameters"] is not source.parameters  # a copy: nobody can edit the source


def test_anthropic_tools_have_input_schema_from_the_source():
    tools = anthropic_tools(TOOL_LIST)
    assert [set(t) for t in tools] == [{"name", "description", "input_schema"}] * len(TOOL_LIST)
    for tool, source in zip(tools, TOOL_LIST, strict=True):
        assert (tool["name"], tool["description"], tool["input_schema"]) == \
            (source.name, source.description, source.parameters)
        assert tool["input_schema"] is not source.parameters


def test_llm_and_ultravox_tools_agree_on_names_descriptions_and_arguments():
    ultravox = selected_tools([ToolTarget(name, "X") for name in TOOLS], lambda n: f"https://x/{n}", "VS-1", "s")
    by_name = {t["temporaryTool"]["modelToolName"]: t["temporaryTool"] for t in ultravox}
    openai = {t["function"]["name"]: t["function"] for t in openai_tools(TOOL_LIST)}
    anthropic = {t["name"]: t for t in anthropic_tools(TOOL_LIST)}
    assert set(by_name) == set(openai) == set(anthropic) == set(TOOLS)
    for name, tool in by_name.items():
        properties = {p["name"]: p["schema"] for p in tool["dynamicParameters"]}
        required = {p["name"] for p in tool["dynamicParameters"] if p["required"]}
        for schema, description in ((openai[name]["parameters"], openai[name]["description"]),
                                    (anthropic[name]["input_schema"], anthropic[name]["description"])):
            assert description == tool["description"]
            assert schema["properties"] == properties
            assert set(schema["required"]) == required


# -- replies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_text_reply_and_the_request_shape(fake, api):
    fake.script(Reply("We are open from 9 to 6."))
    reply = client_for(fake, api).chat(SYSTEM, [UserTurn("When are you open?")], TOOL_LIST, temperature=0.3,
                                       max_tokens=200)
    assert (reply.text, reply.tool_calls, reply.stop_reason) == ("We are open from 9 to 6.", (), "end")
    assert reply.provider == api and reply.attempts == 1 and reply.duration_ms >= 0 and reply.request_id
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    [sent] = fake.requests
    assert sent.status == 200 and sent.answered_by == "reply"
    body = sent.body
    if api == "anthropic":
        assert sent.path == "/v1/messages"
        assert sent.headers["x-api-key"] == "***" and sent.headers["anthropic-version"] == "2023-06-01"
        assert body["system"] == SYSTEM and body["max_tokens"] == 200 and body["temperature"] == 0.3
        assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "When are you open?"}]}]
        assert body["tools"] == anthropic_tools(TOOL_LIST)
        assert reply.model == "claude-sonnet-4-5" and reply.raw_stop_reason == "end_turn"
    else:
        assert body["messages"] == [{"role": "system", "content": SYSTEM},
                                    {"role": "user", "content": "When are you open?"}]
        assert body["tools"] == openai_tools(TOOL_LIST)
        assert body["max_tokens"] == 200 and body["temperature"] == 0.3 and reply.raw_stop_reason == "stop"
        if api == "azure":
            assert sent.path == "/openai/deployments/gpt-4o-mini/chat/completions"
            assert sent.query == {"api-version": ["2024-10-21"]} and sent.headers["api-key"] == "***"
            assert "model" not in body and reply.model == "gpt-4o-mini-2024-07-18"
        else:
            assert sent.path == "/v1/chat/completions" and sent.headers["Authorization"] == "***"
            assert body["model"] == "gpt-4o-mini" and reply.model == "gpt-4o-mini"


def test_every_client_is_an_llm_client(fake):
    clients = [client_for(fake, api) for api in APIS]
    assert all(isinstance(c, LLMClient) for c in [*clients, FallbackClient(clients)])
    with pytest.raises(ValueError):
        OpenAICompatClient(api_key="k", model="m", base_url="ftp://x")
    with pytest.raises(ValueError):
        OpenAICompatClient(api_key="k", model="m", azure_deployment="d")  # no api-version
    with pytest.raises(ValueError):
        AnthropicClient(api_key="", model="claude-x")
    with pytest.raises(ValueError):
        clients[0].chat(SYSTEM, [UserTurn("x")], [], max_tokens=0)


def test_no_temperature_and_max_completion_tokens_for_reasoning_models(fake):
    fake.script(Reply("ok"))
    client = client_for(fake, "openai", max_tokens_param="max_completion_tokens")
    client.chat(SYSTEM, [UserTurn("hi")], [], max_tokens=50)
    body = fake.requests[0].body
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    assert "temperature" not in body and "tools" not in body  # an empty tools array is an error at OpenAI


def test_a_server_without_key_gets_no_authorization_header(fake):
    fake.script(Reply("ok"))
    # Ollama and a local vLLM take no key; the fake (as OpenAI) refuses a request without one.
    with pytest.raises(AuthError) as caught:
        OpenAICompatClient(api_key=None, model="llama3.1", base_url=fake.openai_base_url).chat(
            SYSTEM, [UserTurn("hi")], [])
    assert "Authorization" not in fake.requests[0].headers
    assert "didn't provide an API key" in caught.value.message


# -- tool use ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_tool_call_round_trip_in_each_providers_shape(fake, api):
    fake.script(Reply("Let me book that.", [Call("book_appointment", BOOKING)]), Reply("You are booked for 10:00."))
    client = client_for(fake, api)
    turns: list[Any] = [UserTurn("Book me a haircut on 1 May at 10, I'm Ada, +44 20 7946 0000")]
    first = client.chat(SYSTEM, turns, TOOL_LIST)
    assert first.stop_reason == "tool_use" and first.text == "Let me book that."
    [call] = first.tool_calls
    assert (call.name, call.arguments, call.ok) == ("book_appointment", BOOKING, True)
    turns += [first.as_turn(), ToolResultTurn(call.id, call.name, '{"booked": "APT-0001"}')]
    second = client.chat(SYSTEM, turns, TOOL_LIST)
    assert (second.text, second.stop_reason) == ("You are booked for 10:00.", "end")
    sent = messages_of(fake.requests[1])
    if api == "anthropic":
        assert sent[1] == {"role": "assistant", "content": [
            {"type": "text", "text": "Let me book that."},
            {"type": "tool_use", "id": call.id, "name": "book_appointment", "input": BOOKING}]}
        assert sent[2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": '{"booked": "APT-0001"}', "is_error": False}]}
    else:
        assert sent[2] == {"role": "assistant", "content": "Let me book that.", "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": "book_appointment", "arguments": call.raw_arguments}}]}
        assert json.loads(call.raw_arguments) == BOOKING
        assert sent[3] == {"role": "tool", "tool_call_id": call.id, "content": '{"booked": "APT-0001"}'}
    # The fake's neutral view of the same conversation, as a responder would read it.
    seen = fake.requests[1]
    assert [m.role for m in seen.messages] == ["user", "assistant", "tool"]
    assert seen.tool_results[0].tool_call_id == call.id and seen.messages[1].tool_calls[0]["arguments"] == BOOKING


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_several_tool_calls_in_one_reply_and_a_second_round(fake, api):
    ticket = {"customer_name": "Ada", "subject": "Broken dryer", "description": "It smokes."}
    fake.script(Reply(tool_calls=[Call("book_appointment", BOOKING), Call("create_support_ticket", ticket)]),
                Reply(tool_calls=[Call("book_appointment", {**BOOKING, "time": "11:00"})]),
                Reply("Booked at 11:00 and your ticket is open."))
    client = client_for(fake, api)
    turns: list[Any] = [UserTurn("Book me and report the dryer")]
    first = client.chat(SYSTEM, turns, TOOL_LIST)
    assert [c.name for c in first.tool_calls] == ["book_appointment", "create_support_ticket"]
    assert first.tool_calls[0].id != first.tool_calls[1].id and first.text == ""
    turns += [first.as_turn(), ToolResultTurn(first.tool_calls[0].id, "book_appointment", "10:00 is taken; free: 11:00",
                                              is_error=True),
              ToolResultTurn(first.tool_calls[1].id, "create_support_ticket", "HD-7")]
    second = client.chat(SYSTEM, turns, TOOL_LIST)
    turns += [second.as_turn(), ToolResultTurn(second.tool_calls[0].id, "book_appointment", "APT-2")]
    third = client.chat(SYSTEM, turns, TOOL_LIST)
    assert third.text == "Booked at 11:00 and your ticket is open." and fake.pending == 0
    sent = messages_of(fake.requests[1])
    if api == "anthropic":
        results = sent[-1]["content"]
        assert [(b["tool_use_id"], b["is_error"]) for b in results] == \
            [(first.tool_calls[0].id, True), (first.tool_calls[1].id, False)]
        assert [b["type"] for b in sent[-2]["content"]] == ["tool_use", "tool_use"]
    else:
        assert sent[-3]["content"] is None and len(sent[-3]["tool_calls"]) == 2
        assert sent[-2] == {"role": "tool", "tool_call_id": first.tool_calls[0].id,
                            "content": "ERROR: 10:00 is taken; free: 11:00"}
        assert sent[-1]["tool_call_id"] == first.tool_calls[1].id
    assert len(messages_of(fake.requests[2])) == len(sent) + 2


@pytest.mark.parametrize("api,raw", [("openai", '{"customer_name": "Ada", '), ("openai", "[1, 2]"),
                                     ("anthropic", '{"customer_name": ')])
def test_unparsable_arguments_become_an_error_result_not_a_crash(fake, api, raw):
    fake.script(Reply(tool_calls=[Call("book_appointment", raw)]), Reply("Could you repeat the date?"))
    client = client_for(fake, api)
    turns: list[Any] = [UserTurn("book")]
    reply = client.chat(SYSTEM, turns, TOOL_LIST)
    [call] = reply.tool_calls
    assert call.arguments == {} and not call.ok and "JSON" in call.error
    result = call.error_result()
    assert result == ToolResultTurn(call.id, "book_appointment", call.error, is_error=True)
    turns += [reply.as_turn(), result]
    assert client.chat(SYSTEM, turns, TOOL_LIST).text == "Could you repeat the date?"
    replayed = messages_of(fake.requests[1])
    if api == "openai":  # the provider sees its own call unchanged
        assert replayed[2]["tool_calls"][0]["function"]["arguments"] == raw
    else:
        assert replayed[1]["content"][0]["input"] == {}
        assert replayed[2]["content"][0]["is_error"] is True


def test_parse_tool_arguments_cases():
    assert parse_tool_arguments('{"a": 1}') == ({"a": 1}, None)
    assert parse_tool_arguments({"a": 1}) == ({"a": 1}, None)
    assert parse_tool_arguments("") == ({}, None) and parse_tool_arguments(None) == ({}, None)
    for bad in ("{", '"text"', "42", 7):
        arguments, error = parse_tool_arguments(bad)
        assert arguments == {} and error and "JSON object" in error
    with pytest.raises(ValueError):
        ToolCall("c1", "book_appointment", {}).error_result()


def test_servers_that_say_stop_with_tool_calls_still_mean_tool_use(fake):
    fake.script(Reply(tool_calls=[Call("book_appointment", BOOKING)], stop="stop"))  # as Ollama answers
    reply = client_for(fake, "openai").chat(SYSTEM, [UserTurn("book")], TOOL_LIST)
    assert reply.stop_reason == "tool_use" and reply.raw_stop_reason == "stop"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_cut_off_and_filtered_replies(fake, api):
    fake.script(Reply("We are open from", stop="max_tokens"),
                Reply("", stop="content_filter" if api == "openai" else "refusal"))
    client = client_for(fake, api)
    cut = client.chat(SYSTEM, [UserTurn("hours?")], [])
    assert cut.stop_reason == "max_tokens" and cut.raw_stop_reason == ("length" if api == "openai" else "max_tokens")
    filtered = client.chat(SYSTEM, [UserTurn("hours?")], [])
    assert filtered.stop_reason == "end" and filtered.raw_stop_reason in ("content_filter", "refusal")


def test_usage_is_parsed_with_cache_counts(fake):
    fake.script(Reply("a", usage={"prompt_tokens": 1200, "completion_tokens": 30,
                                  "prompt_tokens_details": {"cached_tokens": 1024}}), api="openai")
    fake.script(Reply("b", usage={"input_tokens": 20, "output_tokens": 7, "cache_read_input_tokens": 1000,
                                  "cache_creation_input_tokens": 300}), api="anthropic")
    openai = client_for(fake, "openai").chat(SYSTEM, [UserTurn("x")], []).usage
    anthropic = client_for(fake, "anthropic").chat(SYSTEM, [UserTurn("x")], []).usage
    assert (openai.input_tokens, openai.output_tokens, openai.cache_read_tokens) == (1200, 30, 1024)
    # Anthropic's input_tokens exclude the cache: ours count every prompt token, as OpenAI's do.
    assert (anthropic.input_tokens, anthropic.output_tokens) == (1320, 7)
    assert (anthropic.cache_read_tokens, anthropic.cache_write_tokens) == (1000, 300)
    assert (openai + anthropic).output_tokens == 37


# -- conversation checks ----------------------------------------------------------------------------


def test_conversations_no_provider_accepts_are_refused_before_sending():
    call = ToolCall("c1", "book_appointment", BOOKING)
    with pytest.raises(ValueError, match="without results"):
        validate_turns([UserTurn("x"), AssistantTurn("", (call,))])
    with pytest.raises(ValueError, match="did not make"):
        validate_turns([UserTurn("x"), ToolResultTurn("c9", "book_appointment", "ok")])
    with pytest.raises(ValueError, match="before the result"):
        validate_turns([UserTurn("x"), AssistantTurn("", (call,)), UserTurn("hello?")])
    with pytest.raises(ValueError, match="second time"):
        validate_turns([UserTurn("x"), AssistantTurn("", (call,)), ToolResultTurn("c1", "b", "1"),
                        ToolResultTurn("c1", "b", "2")])
    with pytest.raises(ValueError, match="empty"):
        validate_turns([])


def test_a_history_window_starting_with_the_assistant_reaches_anthropic_well_formed(fake):
    fake.script(Reply("Sure."))
    client_for(fake, "anthropic").chat(SYSTEM, [AssistantTurn("Hello! How can I help?"), UserTurn("Book me"),
                                                UserTurn("tomorrow at 10")], [])
    sent = messages_of(fake.requests[0])
    assert sent[0] == {"role": "user", "content": [{"type": "text", "text": EARLIER_MESSAGES_NOTE}]}
    assert sent[2] == {"role": "user", "content": [{"type": "text", "text": "Book me"},
                                                   {"type": "text", "text": "tomorrow at 10"}]}


def test_tool_call_ids_from_another_provider_are_made_acceptable_to_anthropic(fake):
    fake.script(Reply("Done."))
    odd = ToolCall("call.7:abc", "book_appointment", BOOKING, json.dumps(BOOKING))
    client_for(fake, "anthropic").chat(SYSTEM, [UserTurn("book"), AssistantTurn("", (odd,)),
                                                ToolResultTurn(odd.id, odd.name, "APT-1")], TOOL_LIST)
    sent = messages_of(fake.requests[0])
    assert sent[1]["content"][0]["id"] == sent[2]["content"][0]["tool_use_id"] == tool_use_id("call.7:abc")
    assert fake.requests[0].status == 200


def test_a_message_typed_while_tools_ran_follows_the_results_for_anthropic(fake):
    fake.script(Reply("Booked, and yes we have parking."))
    call = ToolCall("toolu_1", "book_appointment", BOOKING)
    client_for(fake, "anthropic").chat(SYSTEM, [UserTurn("book"), AssistantTurn("", (call,)),
                                                ToolResultTurn("toolu_1", call.name, "APT-1"),
                                                UserTurn("do you have parking?")], TOOL_LIST)
    assert [b["type"] for b in messages_of(fake.requests[0])[2]["content"]] == ["tool_result", "text"]
    assert fake.requests[0].status == 200


# -- errors, retries ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_429_waits_the_retry_after_the_provider_asked_for(fake, api):
    clock = FakeClock()
    fake.script(Fail("rate_limit", retry_after="7"), Reply("ok"))
    reply = client_for(fake, api, clock=clock).chat(SYSTEM, [UserTurn("x")], [])
    assert reply.text == "ok" and reply.attempts == 2
    assert clock.sleeps == [7.0]
    assert [r.status for r in fake.requests] == [429, 200]


def test_retry_hints_in_every_documented_form():
    now = 1_700_000_000.0
    headers = CaseInsensitiveDict
    assert retry_after_seconds(headers({"Retry-After": "3"})) == 3.0
    assert retry_after_seconds(headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert retry_after_seconds(headers({"Retry-After": date}), now=lambda: now) == pytest.approx(12.0)
    anthropic = headers({"anthropic-ratelimit-tokens-remaining": "0",
                         "anthropic-ratelimit-tokens-reset": "2023-11-14T22:13:40Z",
                         "anthropic-ratelimit-requests-remaining": "12",
                         "anthropic-ratelimit-requests-reset": "2023-11-14T23:00:00Z"})
    assert retry_after_seconds(anthropic, now=lambda: now) == pytest.approx(20.0)  # only the exhausted limit
    openai = headers({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s",
                      "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms"})
    assert retry_after_seconds(openai) == 360.0
    assert retry_after_seconds(headers({"x-ratelimit-reset-tokens": "6m0s"})) is None  # not exhausted
    assert retry_after_seconds(headers({"Retry-After": "soon"})) is None
    assert [parse_duration(v) for v in ("1s", "6m0s", "20ms", "1h2m3.5s", "2.5", "x1s", "")] == \
        [1.0, 360.0, 0.02, 3723.5, 2.5, None, None]


def test_a_rate_limit_without_retry_after_uses_the_reset_headers(fake):
    clock = FakeClock()
    fake.script(Fail("rate_limit", headers={"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1.5s"}),
                Reply("ok"))
    client_for(fake, "openai", clock=clock).chat(SYSTEM, [UserTurn("x")], [])
    assert clock.sleeps == [1.5]


def test_529_overloaded_is_retried_with_backoff(fake):
    clock = FakeClock()
    fake.script(Fail("overloaded"), Fail("overloaded"), Reply("ok"))
    reply = client_for(fake, "anthropic", clock=clock, base_delay=0.5, rng=lambda: 1.0).chat(
        SYSTEM, [UserTurn("x")], [])
    assert reply.attempts == 3 and clock.sleeps == [0.5, 1.0]
    assert [r.status for r in fake.requests] == [529, 529, 200]


@pytest.mark.parametrize("api,variant", [("openai", None), ("azure", None), ("anthropic", "tier_cap"),
                                         ("anthropic", "workspace"), ("anthropic", "credit"),
                                         ("anthropic", "billing")])
def test_a_spend_limit_is_never_retried(fake, api, variant):
    clock = FakeClock()
    fake.script(Fail("quota", variant=variant), Reply("never sent"))
    with pytest.raises(SpendLimitError) as caught:
        client_for(fake, api, clock=clock, attempts=5).chat(SYSTEM, [UserTurn("x")], [])
    error = caught.value
    assert not error.retryable and error.retry_after is None and error.attempts == 1
    assert clock.sleeps == [] and len(fake.requests) == 1 and fake.pending == 1
    assert "credit, quota or spend limit" in error.message


def test_5xx_then_success(fake):
    clock = FakeClock()
    fake.script(Fail("server"), Fail("unavailable"), Reply("ok"))
    reply = client_for(fake, "openai", clock=clock, base_delay=0.5, rng=lambda: 0.0).chat(SYSTEM, [UserTurn("x")], [])
    assert reply.text == "ok" and reply.attempts == 3
    assert clock.sleeps == [0.25, 0.5]  # exponential, half of it jitter (none with rng 0)


def test_retries_give_up_after_the_attempts_with_the_last_error(fake):
    clock = FakeClock()
    fake.script(Fail("server"), times=3)
    with pytest.raises(ServerError) as caught:
        client_for(fake, "anthropic", clock=clock, attempts=3).chat(SYSTEM, [UserTurn("x")], [])
    assert caught.value.attempts == 3 and caught.value.http_status == 500 and len(clock.sleeps) == 2
    assert "Anthropic answered HTTP 500 (api_error)" in caught.value.message


def test_a_wait_past_the_deadline_is_not_started(fake):
    clock = FakeClock()
    fake.script(Fail("rate_limit", retry_after="30"), Reply("too late"))
    with pytest.raises(RateLimitError) as caught:
        client_for(fake, "openai", clock=clock, deadline=10.0).chat(SYSTEM, [UserTurn("x")], [])
    assert caught.value.retry_after == 30.0 and clock.sleeps == [] and len(fake.requests) == 1


def test_the_callers_timeout_shortens_the_deadline(fake):
    clock = FakeClock()
    fake.script(Fail("rate_limit", retry_after="5"), Reply("ok"))
    with pytest.raises(RateLimitError):
        client_for(fake, "anthropic", clock=clock, deadline=60.0).chat(SYSTEM, [UserTurn("x")], [], timeout=4.0)


@pytest.mark.parametrize("step", [Fail("auth"), Fail("bad_request"), Fail("context_length"), Fail("not_found")])
def test_errors_that_waiting_cannot_fix_are_not_retried(fake, step):
    clock = FakeClock()
    fake.script(step, Reply("never"))
    with pytest.raises(LLMError) as caught:
        client_for(fake, "openai", clock=clock).chat(SYSTEM, [UserTurn("x")], [])
    expected = {"auth": AuthError, "bad_request": BadRequestError, "context_length": ContextLengthError,
                "not_found": ModelNotFoundError}[step.kind]
    assert type(caught.value) is expected and not caught.value.retryable and clock.sleeps == []


def test_a_hang_past_the_read_timeout_is_a_timeout_then_retried(fake):
    fake.script(Hang(5.0), Reply("ok"))
    started = time.monotonic()
    reply = client_for(fake, "openai", read_timeout=0.3, base_delay=0.01).chat(SYSTEM, [UserTurn("x")], [])
    assert reply.text == "ok" and reply.attempts == 2 and time.monotonic() - started < 3
    assert [r.answered_by for r in fake.requests] == ["hang", "reply"]


def test_a_timeout_when_no_attempt_is_left(fake):
    fake.script(Hang(5.0))
    with pytest.raises(LLMTimeoutError) as caught:
        client_for(fake, "anthropic", read_timeout=0.2, attempts=1).chat(SYSTEM, [UserTurn("x")], [])
    assert caught.value.retryable and "did not answer within 0.2 s" in caught.value.message


def test_the_deadline_bounds_the_read_timeout(fake):
    fake.script(Hang(5.0))
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError):
        client_for(fake, "openai", read_timeout=30.0, deadline=0.3).chat(SYSTEM, [UserTurn("x")], [])
    assert time.monotonic() - started < 2


def test_slow_mode_answers_after_the_latency(fake):
    fake.set_latency(150)
    fake.script(Reply("slow"), Reply("slower", delay_ms=100))
    client = client_for(fake, "anthropic")
    assert client.chat(SYSTEM, [UserTurn("x")], []).duration_ms >= 150
    assert client.chat(SYSTEM, [UserTurn("x")], []).duration_ms >= 250


def test_a_dropped_connection_and_a_closed_port_are_connection_errors(fake):
    fake.script(Drop(), Reply("ok"))
    assert client_for(fake, "openai", base_delay=0.01).chat(SYSTEM, [UserTurn("x")], []).attempts == 2
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    with pytest.raises(LLMConnectionError) as caught:
        OpenAICompatClient(api_key="k", model="m", base_url=closed, attempts=1).chat(SYSTEM, [UserTurn("x")], [])
    assert caught.value.retryable


def test_an_answer_that_is_not_a_chat_reply(fake):
    client = client_for(fake, "openai")
    with pytest.raises(InvalidResponseError):
        client._parse({"id": "x", "choices": []})
    with pytest.raises(RateLimitError):  # a gateway passing the error on with a 200
        client._parse({"error": {"message": "slow down", "type": "rate_limit", "code": 429}})
    with pytest.raises(InvalidResponseError):
        client_for(fake, "anthropic")._parse({"type": "message"})


def test_an_unscripted_request_fails_loudly(fake):
    with pytest.raises(BadRequestError, match="no scripted step"):
        client_for(fake, "openai").chat(SYSTEM, [UserTurn("x")], [])


def test_call_with_retries_on_its_own():
    clock = FakeClock()
    calls: list[float] = []

    def flaky(remaining: float) -> str:
        calls.append(remaining)
        if len(calls) < 3:
            raise ServerError("down", provider="p")
        return "up"

    assert call_with_retries(flaky, attempts=3, base_delay=1.0, deadline=clock() + 100, sleep=clock.sleep,
                             clock=clock, rng=lambda: 0.5) == "up"
    assert clock.sleeps == [0.75, 1.5] and calls == [100.0, 99.25, 97.75]
    with pytest.raises(AuthError):
        call_with_retries(lambda _: (_ for _ in ()).throw(AuthError("no", provider="p")), attempts=5,
                          sleep=clock.sleep, clock=clock)
    spend = SpendLimitError("broke", provider="p", retryable=True, retry_after=1.0)
    assert not spend.retryable and spend.retry_after is None  # whatever the caller says
    assert all(0.5 <= backoff_delay(n, 1.0, 4.0, r) / min(4.0, 2 ** (n - 1)) <= 1.0
               for n in range(1, 6) for r in (lambda: 0.0, lambda: 0.99))


# -- fallback ---------------------------------------------------------------------------------------


def fallback_for(fake: FakeLLM, *, primary_key: str | None = None, clock: FakeClock | None = None,
                 **kw: Any) -> FallbackClient:
    return FallbackClient([client_for(fake, "openai", key=primary_key, clock=clock, **kw),
                           client_for(fake, "anthropic", clock=clock, **kw)], clock=clock or time.monotonic)


def test_a_down_primary_falls_back_to_the_secondary(fake):
    clock = FakeClock()
    fake.script(Fail("server"), api="openai", times=3)
    fake.script(Reply("Hello from the secondary."), api="anthropic")
    reply = fallback_for(fake, clock=clock).chat(SYSTEM, [UserTurn("hi")], TOOL_LIST)
    assert (reply.text, reply.provider, reply.model) == ("Hello from the secondary.", "anthropic", "claude-sonnet-4-5")
    [failure] = reply.failed_over
    assert (failure.provider, failure.error, failure.http_status, failure.needs_attention) == \
        ("openai", "ServerError", 500, False)
    assert [r.api for r in fake.requests] == ["openai"] * 3 + ["anthropic"]
    assert reply.duration_ms == sum(clock.sleeps) * 1000  # the whole call: the primary's retries too


def test_a_refused_primary_key_falls_back_and_is_reported(fake, caplog):
    fake.script(Reply("answered"), api="anthropic")
    with caplog.at_level(logging.ERROR, logger="voice_agent.integrations.llm.retry"):
        reply = fallback_for(fake, primary_key="sk-proj-wrongwrongwrong1234").chat(SYSTEM, [UserTurn("hi")], [])
    assert reply.provider == "anthropic"
    assert [(f.error, f.needs_attention) for f in reply.failed_over] == [("AuthError", True)]
    assert "AuthError" in caplog.text and "wrongwrong" not in caplog.text and "1234" not in caplog.text


def test_a_spend_limit_falls_back_at_once(fake):
    clock = FakeClock()
    fake.script(Fail("quota"), api="openai")
    fake.script(Reply("answered"), api="anthropic")
    reply = fallback_for(fake, clock=clock, attempts=4).chat(SYSTEM, [UserTurn("hi")], [])
    assert reply.failed_over[0].error == "SpendLimitError" and clock.sleeps == []
    assert len(fake.requests_to("openai")) == 1


@pytest.mark.parametrize("kind,error", [("bad_request", BadRequestError), ("context_length", ContextLengthError)])
def test_no_fallback_on_a_bad_request(fake, kind, error):
    fake.script(Fail(kind), api="openai")
    fake.script(Reply("never"), api="anthropic")
    with pytest.raises(error):
        fallback_for(fake).chat(SYSTEM, [UserTurn("hi")], [])
    assert fake.requests_to("anthropic") == []


def test_when_every_provider_fails(fake):
    clock = FakeClock()
    fake.script(Fail("quota"), api="openai")
    fake.script(Fail("rate_limit", retry_after="40"), api="anthropic")
    with pytest.raises(ProvidersExhaustedError) as caught:
        fallback_for(fake, clock=clock, deadline=30.0).chat(SYSTEM, [UserTurn("hi")], [])
    error = caught.value
    assert [type(f) for f in error.failures] == [SpendLimitError, RateLimitError]
    assert error.retryable and error.retry_after == 40.0  # the rate-limited one may answer later
    assert "openai: SpendLimitError; anthropic: RateLimitError" in error.message


def test_the_fallback_deadline_is_shared_by_the_providers(fake):
    clock = FakeClock()

    def slow_failure(request: FakeRequest) -> Fail:
        clock.now += 11.0  # the primary takes 11 s of the 10 s budget before failing
        return Fail("server")

    fake.script(Respond(slow_failure), api="openai")
    fallback = FallbackClient([client_for(fake, "openai", clock=clock, attempts=1),
                               client_for(fake, "anthropic", clock=clock)], deadline=10.0, clock=clock)
    with pytest.raises(ProvidersExhaustedError, match="no time left for anthropic"):
        fallback.chat(SYSTEM, [UserTurn("hi")], [])
    assert fake.requests_to("anthropic") == []


def test_each_provider_gets_what_is_left_of_the_fallback_deadline(fake):
    clock = FakeClock()
    fake.script(Fail("server"), api="openai", times=2)
    fake.script(Fail("rate_limit", retry_after="5"), Reply("too late"), api="anthropic")
    fallback = FallbackClient([client_for(fake, "openai", clock=clock, attempts=2, base_delay=6.0, rng=lambda: 1.0),
                               client_for(fake, "anthropic", clock=clock, deadline=60.0)], deadline=10.0, clock=clock)
    with pytest.raises(ProvidersExhaustedError):
        fallback.chat(SYSTEM, [UserTurn("hi")], [])
    # OpenAI waited 6 s of the 10; Anthropic's 5 s retry-after would end past the 4 s left.
    assert clock.sleeps == [6.0] and len(fake.requests_to("anthropic")) == 1 and fake.pending == 1


# -- keys stay secret -------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_keys_never_appear_in_errors_reprs_or_logs(fake, api, caplog):
    # OpenAI echoes a wrong key's first 8 and last 4 characters in its 401 message (so does the fake).
    key = {"openai": "sk-proj-TOPSECRETvalue01234ZqXw", "azure": "azurekeyTOPSECRET01234ZqXw",
           "anthropic": "sk-ant-api03-TOPSECRETvalue01234ZqXw"}[api]
    client = client_for(fake, api, key=key)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(AuthError) as caught:
            client.chat(SYSTEM, [UserTurn("x")], [])
        fake.script(Fail("server"), times=3)
        with pytest.raises(ServerError) as server_error:
            client_for(fake, api, key=None, base_delay=0.01).chat(SYSTEM, [UserTurn("x")], [])
    texts = [str(caught.value), repr(caught.value), caught.value.message, repr(client), repr(server_error.value),
             caplog.text, repr(FallbackClient([client]))]
    for text in texts:
        assert "TOPSECRET" not in text and "ZqXw" not in text and key[:12] not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # no chained error text
    assert fake.requests[0].headers.get("x-api-key", fake.requests[0].headers.get("api-key",
                                        fake.requests[0].headers.get("Authorization"))) == "***"


# -- the fake refuses what the real APIs refuse ------------------------------------------------------


def post(url: str, body: Any, headers: dict[str, str]) -> requests.Response:
    return requests.post(url, data=json.dumps(body), headers={"Content-Type": "application/json", **headers},
                         timeout=5)


def test_the_fake_checks_chat_completions_requests_as_openai_does(fake):
    url, auth = f"{fake.openai_base_url}/chat/completions", {"Authorization": f"Bearer {fake.openai_key}"}
    base = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    cases = [
        ({**base, "messages": [{"role": "user", "content": "x"},
                               {"role": "tool", "tool_call_id": "c", "content": "1"}]},
         "must be a response to a preceeding message with 'tool_calls'"),
        ({**base, "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]},
         "The following tool_call_ids did not have response messages: c1"),
        ({**base, "messages": [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {}}}]}]},
         "expected a string, but got an object"),
        ({**base, "tools": []}, "Invalid 'tools': empty array"),
        ({**base, "tools": [{"type": "function", "function": {"name": "bad name"}}]}, "does not match pattern"),
        ({**base, "max_token": 5}, "Unrecognized request argument supplied: max_token"),
        ({"messages": base["messages"]}, "you must provide a model parameter"),
        ({**base, "messages": [{"role": "robot", "content": "x"}]}, "Invalid value: 'robot'"),
        ({**base, "temperature": 3}, "Invalid 'temperature'"),
    ]
    for body, message in cases:
        answer = post(url, body, auth)
        assert answer.status_code == 400, message
        error = answer.json()["error"]
        assert message in error["message"] and error["type"] == "invalid_request_error"
    assert post(url, base, {"Authorization": "Bearer nope-nope-nope-nope"}).json()["error"]["code"] == "invalid_api_key"
    assert fake.pending == 0 and {r.answered_by for r in fake.requests} == {"invalid", "auth"}


def test_the_fake_checks_azure_routes_as_azure_does(fake):
    body = {"messages": [{"role": "user", "content": "hi"}]}
    key = {"api-key": fake.azure_key}
    missing_version = post(f"{fake.azure_endpoint}/openai/deployments/gpt-4o-mini/chat/completions", body, key)
    assert missing_version.status_code == 404 and missing_version.json()["error"]["code"] == "404"
    unknown = post(f"{fake.azure_endpoint}/openai/deployments/nope/chat/completions?api-version=2024-10-21", body, key)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "DeploymentNotFound"
    with pytest.raises(ModelNotFoundError):
        OpenAICompatClient.azure(endpoint=fake.azure_endpoint, deployment="nope", api_key=fake.azure_key).chat(
            SYSTEM, [UserTurn("x")], [])
    refused = post(f"{fake.azure_endpoint}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
                   body, {"api-key": "wrong"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "401"


def test_the_fake_checks_messages_requests_as_anthropic_does(fake):
    url = f"{fake.anthropic_base_url}/v1/messages"
    auth = {"x-api-key": fake.anthropic_key, "anthropic-version": "2023-06-01"}
    tools = anthropic_tools(TOOL_LIST[:1])
    use = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "book_appointment",
                                             "input": {}}]}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}
    base = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    cases = [
        ({**base, "messages": [{"role": "user", "content": "x"}, use, {"role": "user", "content": "and?"}],
          "tools": tools}, "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1"),
        ({**base, "messages": [{"role": "user", "content": "x"}, use, {"role": "user", "content": [
            {"type": "text", "text": "first"}, result]}], "tools": tools}, "without `tool_result` blocks"),
        ({**base, "messages": [{"role": "user", "content": [result]}], "tools": tools}, "unexpected `tool_use_id`"),
        ({**base, "messages": [{"role": "user", "content": "x"}, use, {"role": "user", "content": [result]}]},
         "must define tools"),
        ({**base, "messages": [{"role": "system", "content": "x"}]}, 'Unexpected role "system"'),
        ({**base, "messages": [{"role": "user", "content": [{"type": "text", "text": " "}]}]}, "non-whitespace"),
        ({"model": "claude-x", "messages": base["messages"]}, "max_tokens: Field required"),
        ({**base, "tools": [{"name": "t", "description": "d"}]}, "input_schema: Field required"),
        ({**base, "top_n": 1}, "top_n: Extra inputs are not permitted"),
        ({**base, "temperature": 1.5}, "temperature"),
    ]
    for body, message in cases:
        answer = post(url, body, auth)
        assert answer.status_code == 400, message
        payload = answer.json()
        assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
        assert message in payload["error"]["message"] and payload["request_id"]
    assert post(url, base, {"x-api-key": fake.anthropic_key}).json()["error"]["message"] == \
        "anthropic-version: header is required"
    assert post(url, base, {**auth, "x-api-key": "nope"}).status_code == 401
    assert fake.pending == 0


# -- a responder scripts from the conversation so far -----------------------------------------------


def test_a_responder_drives_a_multi_round_conversation(fake):
    def salon(request: FakeRequest) -> Reply:
        results = request.tool_results
        if results:
            return Reply(f"Booked: {results[0].text}.")
        if "haircut" in request.last_user_text and "book_appointment" in request.tool_names:
            return Reply(tool_calls=[Call("book_appointment", BOOKING)])
        return Reply("How can I help?")

    fake.set_default(Respond(salon))
    for api in ("openai", "anthropic"):
        client = client_for(fake, api)
        assert client.chat(SYSTEM, [UserTurn("hello")], TOOL_LIST).text == "How can I help?"
        turns: list[Any] = [UserTurn("a haircut tomorrow at 10")]
        reply = client.chat(SYSTEM, turns, TOOL_LIST)
        turns += [reply.as_turn(), ToolResultTurn(reply.tool_calls[0].id, "book_appointment", "APT-9")]
        assert client.chat(SYSTEM, turns, TOOL_LIST).text == "Booked: APT-9."


def test_a_responder_that_fails_shows_as_a_500(fake):
    fake.script(Respond(lambda request: 1 / 0))
    with pytest.raises(ServerError, match="ZeroDivisionError"):
        client_for(fake, "openai", attempts=1).chat(SYSTEM, [UserTurn("x")], [])


# -- standalone -------------------------------------------------------------------------------------


def test_the_fake_runs_standalone_and_is_scripted_over_http():
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.llm", "--port", "0"], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(process.stdout.readline())
        client = OpenAICompatClient(api_key=ready["openai_key"], model="m", base_url=ready["openai_base_url"])
        assert client.chat(SYSTEM, [UserTurn("ping")], []).text == "(fake openai) You said: ping"
        scripted = requests.post(f"{ready['control']}script", json={"steps": [
            {"reply": {"text": "scripted", "usage": [5, 2]}}, {"fail": {"kind": "quota"}}], "api": "anthropic"},
            timeout=5)
        assert scripted.json() == {"pending": 2}
        anthropic = AnthropicClient(api_key=ready["anthropic_key"], model="claude-x",
                                    base_url=ready["anthropic_base_url"])
        reply = anthropic.chat(SYSTEM, [UserTurn("x")], [])
        assert reply.text == "scripted" and (reply.usage.input_tokens, reply.usage.output_tokens) == (5, 2)
        with pytest.raises(SpendLimitError):
            anthropic.chat(SYSTEM, [UserTurn("x")], [])
        recorded = requests.get(f"{ready['control']}requests?api=anthropic", timeout=5).json()
        assert [r["status"] for r in recorded] == [200, 429] and recorded[0]["headers"]["x-api-key"] == "***"
    finally:
        process.terminate()
        process.wait(timeout=10)
