"""A loopback fake of both LLM APIs the chat bot uses, in one HTTP server, scripted per test.

- ``POST /v1/chat/completions``: OpenAI Chat Completions (``Authorization: Bearer``).
- ``POST /openai/deployments/{deployment}/chat/completions?api-version=``: Azure OpenAI (``api-key``).
- ``POST /v1/messages``: the Anthropic Messages API (``x-api-key``, ``anthropic-version``).

Keys and request shapes are checked as the real APIs check them; a malformed request gets the API's
own 400 (or 401/404) and consumes no step. Otherwise the first queued step whose ``api`` matches
answers (see ``_steps.py``): a ``Reply`` (text and/or tool calls), a ``Fail`` (429 with
``retry-after``, quota / spend limit, 529, 5xx, 401...), a ``Hang`` past the client's timeout, a
``Drop``, or a ``Respond`` computing the answer from the conversation. ``set_latency(ms)`` makes
every answer take that long (slow mode; the benchmark's fixed latency). An unscripted request gets a
400 saying so, which no client retries. Every request is recorded, keys redacted.

``python -m tests.fakes.llm`` runs it alone; ``/_fake/...`` routes script it over HTTP.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .. import LoopbackHandler, LoopbackServer
from . import _anthropic, _openai
from ._steps import (
    APIS,
    FAIL_KINDS,
    Answer,
    Call,
    Drop,
    Fail,
    FakeMessage,
    FakeRequest,
    Hang,
    Reply,
    Respond,
    Step,
    step_from_json,
)

__all__ = ["APIS", "FAIL_KINDS", "Call", "Drop", "Fail", "FakeLLM", "FakeMessage", "FakeRequest", "Hang", "Reply",
           "Respond", "Step", "echo"]

REDACTED_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})


def echo(request: FakeRequest) -> Reply:
    """A responder for a standalone run: repeats the customer's last message."""
    return Reply(f"(fake {request.api}) You said: {request.last_user_text or '(nothing)'}")


@dataclass
class _Scripted:
    step: Step
    api: str | None


@dataclass
class FakeState:
    openai_key: str
    anthropic_key: str
    azure_key: str
    azure_deployments: dict[str, str]
    known_models: frozenset[str] | None = None
    latency_ms: float = 0.0
    default: Step | None = None
    queue: deque[_Scripted] = field(default_factory=deque)
    requests: list[FakeRequest] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(LoopbackHandler):
    server: _Server

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.server.fake
        try:
            if url.path.startswith("/_fake/"):
                answer = fake._control(method, url.path[len("/_fake/"):].strip("/"), parse_qs(url.query), raw)
            else:
                answer = fake._serve(method, url.path, parse_qs(url.query), self.headers, raw)
        except Exception as exc:  # a bug in the fake must show as a 500, not a hung test
            answer = Answer(500, {"error": {"message": f"The fake failed: {type(exc).__name__}: {exc}",
                                            "type": "fake_error"}})
        if answer is None:  # hang or drop: no answer at all
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        data = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(LoopbackServer):
    fake: FakeLLM


class FakeLLM:
    """``with FakeLLM() as fake:``; then ``OpenAICompatClient(api_key=fake.openai_key,
    base_url=fake.openai_base_url)``, ``AnthropicClient(api_key=fake.anthropic_key,
    base_url=fake.anthropic_base_url)`` or ``OpenAICompatClient.azure(endpoint=fake.azure_endpoint,
    deployment=..., api_key=fake.azure_key)``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, openai_key: str = "test-openai-key",
                 anthropic_key: str = "test-anthropic-key", azure_key: str = "test-azure-key",
                 azure_deployments: Mapping[str, str] | None = None, known_models: Iterable[str] | None = None,
                 latency_ms: float = 0.0, default: Step | None = None):
        self.state = FakeState(openai_key, anthropic_key, azure_key,
                               dict(azure_deployments or {"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}),
                               frozenset(known_models) if known_models is not None else None, latency_ms, default)
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self.host = host
        self.port = self._server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)
        self._started = False
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeLLM:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.state.stopped.set()  # wakes hanging and slow handlers
        if self._started:
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    @property
    def azure_endpoint(self) -> str:
        return self.base_url

    @property
    def openai_key(self) -> str:
        return self.state.openai_key

    @property
    def anthropic_key(self) -> str:
        return self.state.anthropic_key

    @property
    def azure_key(self) -> str:
        return self.state.azure_key

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "openai_base_url": self.openai_base_url,
                "anthropic_base_url": self.anthropic_base_url, "azure_endpoint": self.azure_endpoint,
                "azure_deployments": self.state.azure_deployments, "openai_key": self.openai_key,
                "anthropic_key": self.anthropic_key, "azure_key": self.azure_key,
                "control": f"{self.base_url}/_fake/"}

    # -- scripting -------------------------------------------------------------------------------

    def script(self, *steps: Step, api: str | None = None, times: int = 1) -> None:
        """Queue steps (each ``times`` times) for requests to ``api`` (``openai``, ``azure``,
        ``anthropic``; None: any)."""
        if api is not None and api not in APIS:
            raise ValueError(f"api is one of {APIS} or None")
        with self.state.lock:
            for step in steps:
                for _ in range(times):
                    self.state.queue.append(_Scripted(step, api))

    def set_default(self, step: Step | None) -> None:
        """What answers when no queued step matches (None: a 400 saying the fake was not scripted)."""
        with self.state.lock:
            self.state.default = step

    def set_latency(self, ms: float) -> None:
        """Every answer (error or reply) waits until ``ms`` after the request arrived; a step's own
        ``delay_ms`` comes on top."""
        with self.state.lock:
            self.state.latency_ms = max(0.0, float(ms))

    def reset(self) -> None:
        with self.state.lock:
            self.state.queue.clear()
            self.state.requests.clear()
            self.state.latency_ms = 0.0

    @property
    def pending(self) -> int:
        """Steps queued and not used yet."""
        with self.state.lock:
            return len(self.state.queue)

    @property
    def requests(self) -> list[FakeRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def requests_to(self, api: str) -> list[FakeRequest]:
        return [r for r in self.requests if r.api == api]

    # -- serving ---------------------------------------------------------------------------------

    def _route(self, method: str, path: str) -> tuple[str | None, str | None]:
        if method != "POST":
            return None, None
        if path == "/v1/chat/completions":
            return "openai", None
        if path == "/v1/messages":
            return "anthropic", None
        parts = path.strip("/").split("/")
        if len(parts) == 5 and parts[:2] == ["openai", "deployments"] and parts[3:] == ["chat", "completions"]:
            return "azure", unquote(parts[2])
        return None, None

    def _serve(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               raw: bytes) -> Answer | None:
        received = time.monotonic()
        api, deployment = self._route(method, path)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        shown = {k: ("***" if k.lower() in REDACTED_HEADERS else v) for k, v in headers.items()}
        request = FakeRequest(api or "unknown", method, path, query, shown, body, time.time())
        with self.state.lock:
            self.state.requests.append(request)
        self._wait_latency(received)
        answer = self._answer(request, api, deployment, headers)
        if isinstance(answer, Hang | Drop):
            request.answered_by = "hang" if isinstance(answer, Hang) else "drop"
            if isinstance(answer, Hang):
                self.state.stopped.wait(answer.seconds)
            return None
        request.status = answer.status
        return answer

    def _answer(self, request: FakeRequest, api: str | None, deployment: str | None,
                headers: Mapping[str, str]) -> Answer | Hang | Drop:
        if api is None:
            request.answered_by = "invalid"
            return _openai.openai_error(404, f"Invalid URL ({request.method} {request.path})")
        if api == "anthropic":
            refused = _anthropic.check_auth(headers, self.state.anthropic_key) or \
                _anthropic.validate(request.body, self.state.known_models)
        elif api == "azure":
            refused = _openai.check_azure_route(deployment or "", request.query, self.state.azure_deployments) or \
                _openai.check_auth(api, headers, self.state.azure_key) or \
                _openai.validate(api, request.body, None)
        else:
            refused = _openai.check_auth(api, headers, self.state.openai_key) or \
                _openai.validate(api, request.body, self.state.known_models)
        if refused is not None:
            request.answered_by = "auth" if refused.status == 401 else "invalid"
            return refused
        if api == "anthropic":
            _anthropic.describe(request)
        else:
            _openai.describe(request, self.state.azure_deployments, deployment)
        step = self._next_step(api)
        if step is None:
            request.answered_by = "unscripted"
            message = "The fake LLM has no scripted step left for this request."
            return _anthropic.anthropic_error(400, "invalid_request_error", message) if api == "anthropic" \
                else _openai.openai_error(400, message, code="fake_unscripted")
        return self._run(step, request, api)

    def _run(self, step: Step, request: FakeRequest, api: str) -> Answer | Hang | Drop:
        if isinstance(step, Respond):
            self._pause(step.delay_ms)
            try:
                step = step.fn(request)
            except Exception as exc:
                request.answered_by = "responder_failed"
                return Answer(500, {"error": {"message": f"The fake's responder failed: {type(exc).__name__}: {exc}",
                                              "type": "fake_error"}})
            if isinstance(step, Respond) or not isinstance(step, Reply | Fail | Hang | Drop):
                raise TypeError("A responder returns a Reply, Fail, Hang or Drop.")
        if isinstance(step, Hang | Drop):
            return step
        self._pause(step.delay_ms)
        if isinstance(step, Fail):
            request.answered_by = f"fail:{step.kind}"
            return _anthropic.render_fail(step, request) if api == "anthropic" else \
                _openai.render_fail(api, step, request)
        request.answered_by = "reply"
        return _anthropic.render_reply(step, request) if api == "anthropic" else _openai.render_reply(step, request)

    def _next_step(self, api: str) -> Step | None:
        with self.state.lock:
            for index, scripted in enumerate(self.state.queue):
                if scripted.api is None or scripted.api == api:
                    del self.state.queue[index]
                    return scripted.step
            return self.state.default

    def _pause(self, ms: float) -> None:
        if ms > 0:
            self.state.stopped.wait(ms / 1000.0)

    def _wait_latency(self, received: float) -> None:
        left = received + self.state.latency_ms / 1000.0 - time.monotonic()
        if left > 0:
            self.state.stopped.wait(left)

    # -- control routes (a standalone fake driven over HTTP) -------------------------------------

    def _control(self, method: str, route: str, query: dict[str, list[str]], raw: bytes) -> Answer:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return Answer(400, {"error": "the body is not JSON"})
        if method == "GET" and route == "health":
            return Answer(200, self.describe())
        if method == "GET" and route == "requests":
            api = (query.get("api") or [None])[0]
            return Answer(200, [r.as_dict() for r in self.requests if api is None or r.api == api])
        if method == "POST" and route == "script" and isinstance(body, dict):
            try:
                steps = [step_from_json(s) for s in body.get("steps") or []]
                self.script(*steps, api=body.get("api"), times=int(body.get("times", 1)))
            except (TypeError, ValueError, KeyError) as exc:
                return Answer(400, {"error": f"bad step: {exc}"})
            return Answer(200, {"pending": self.pending})
        if method == "POST" and route == "default" and isinstance(body, dict):
            if body.get("echo"):
                self.set_default(Respond(echo))
            else:
                try:
                    self.set_default(step_from_json(body["step"]) if body.get("step") else None)
                except (TypeError, ValueError, KeyError) as exc:
                    return Answer(400, {"error": f"bad step: {exc}"})
            return Answer(200, {"default": repr(self.state.default)})
        if method == "POST" and route == "latency" and isinstance(body, dict):
            self.set_latency(float(body.get("ms") or 0))
            return Answer(200, {"latency_ms": self.state.latency_ms})
        if method == "POST" and route == "reset":
            self.reset()
            return Answer(200, {"pending": 0})
        return Answer(404, {"error": f"unknown control route {method} /_fake/{route}"})
