"""A loopback fake of the Ultravox REST API, its join websocket and its webhooks.

Speaks the documented shapes: POST /api/calls -> {callId, joinUrl, ...}; GET /api/calls/{id};
GET /api/calls/{id}/messages -> {results, next, previous, total} (cursor pagination);
POST /api/calls/{id}/send_data_message {type: hang_up}. Modes reproduce Ultravox's failures
(401 bad key, 429 with Retry-After, 500, slow). Every request is recorded for assertions.
Control endpoints under /_fake/ let a browser test switch modes of a standalone server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from .. import LoopbackHandler, LoopbackServer

HTTP_MODES = ("ok", "401", "429", "500", "slow")
# ok: room_info pointing at a media server that never answers (LiveKit keeps connecting), then stay
# open; dead_room: room_info pointing at a closed port (LiveKit fails at once), then close after
# close_after seconds; ended: accept then close at once (the call is over); reject: refuse the upgrade.
WS_MODES = ("ok", "dead_room", "ended", "reject")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeState:
    api_key: str = "test-key"
    mode: str = "ok"
    fail_times: int = 0  # with 429/500: fail this many times then answer normally (0 = always fail)
    retry_after: str = "1"
    slow_seconds: float = 3.0
    ws_mode: str = "ok"
    ws_close_after: float = 1.0
    page_size_cap: int = 2  # small pages so pagination is exercised
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def default_messages() -> list[dict[str, Any]]:
    return [
        {"role": "MESSAGE_ROLE_AGENT", "text": "Hello, how can I help?", "medium": "MESSAGE_MEDIUM_VOICE"},
        {"role": "MESSAGE_ROLE_USER", "text": "I would like to book an appointment.", "medium": "MESSAGE_MEDIUM_VOICE"},
        {"role": "MESSAGE_ROLE_TOOL_CALL", "toolName": "book_appointment", "text": "{}"},
        {"role": "MESSAGE_ROLE_TOOL_RESULT", "toolName": "book_appointment", "text": "Booked."},
        {"role": "MESSAGE_ROLE_AGENT", "text": "You are booked. Goodbye!", "medium": "MESSAGE_MEDIUM_VOICE"},
    ]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class _Handler(LoopbackHandler):
    server: _Server

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode(errors="replace")

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        body = self._body() if method != "GET" else None
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["_fake"]:
            return self._control(method, parts[1:], body)
        with state.lock:
            state.requests.append(RecordedRequest(method, url.path + (f"?{url.query}" if url.query else ""),
                                                  dict(self.headers.items()), body))
        if state.mode == "slow":
            time.sleep(state.slow_seconds)
        if state.mode == "401" or self.headers.get("X-API-Key") != state.api_key:
            return self._send(401, {"detail": "Invalid API key."})
        if state.mode in ("429", "500"):
            with state.lock:
                state.failures += 1
                failing = state.fail_times == 0 or state.failures <= state.fail_times
            if failing:
                if state.mode == "429":
                    return self._send(429, {"detail": "Request was throttled."}, {"Retry-After": state.retry_after})
                return self._send(500, {"detail": "Internal server error."})
        if parts[:2] != ["api", "calls"]:
            return self._send(404, {"detail": "Not found."})
        if method == "POST" and len(parts) == 2:
            return self._create_call(body)
        call = state.calls.get(parts[2]) if len(parts) > 2 else None
        if call is None:
            return self._send(404, {"detail": "Not found."})
        if method == "GET" and len(parts) == 3:
            return self._send(200, call)
        if method == "GET" and parts[3:] == ["messages"]:
            return self._messages(call, parse_qs(url.query))
        if method == "POST" and parts[3:] == ["send_data_message"]:
            if not isinstance(body, dict) or "type" not in body:
                return self._send(400, {"detail": "type is required"})
            if body["type"] == "hang_up" and not call["ended"]:
                call["ended"] = _now()
                call["endReason"] = "hangup"
            return self._send(204)
        return self._send(405, {"detail": "Method not allowed."})

    def _create_call(self, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("systemPrompt"), str):
            return self._send(400, {"systemPrompt": ["This field is required."]})
        medium = body.get("medium") or {}
        if not isinstance(medium, dict) or "webRtc" not in medium:
            return self._send(400, {"medium": ["The fake only answers webRtc calls."]})
        call_id = str(uuid.uuid4())
        call = {
            "callId": call_id,
            "created": _now(),
            "joined": None,
            "ended": None,
            "endReason": None,
            "maxDuration": body.get("maxDuration", "3600s"),
            "joinUrl": f"{self.server.ws_base}/calls/{call_id}",
            "systemPrompt": body["systemPrompt"],
            "voice": body.get("voice"),
            "languageHint": body.get("languageHint"),
            "temperature": body.get("temperature", 0),
            "firstSpeakerSettings": body.get("firstSpeakerSettings"),
            "medium": medium,
            "recordingEnabled": bool(body.get("recordingEnabled")),
            "metadata": body.get("metadata") or {},
            "selectedTools": body.get("selectedTools") or [],
            "shortSummary": None,
            "summary": None,
            "billedDuration": None,
        }
        state = self.server.state
        with state.lock:
            state.calls[call_id] = call
            state.messages.setdefault(call_id, default_messages())
        public = {k: v for k, v in call.items() if k != "selectedTools"}
        return self._send(201, public)

    def _messages(self, call: dict[str, Any], query: dict[str, list[str]]) -> None:
        state = self.server.state
        all_messages = state.messages.get(call["callId"], [])
        size = min(int((query.get("pageSize") or ["100"])[0]), state.page_size_cap)
        start = int((query.get("cursor") or ["0"])[0])
        page = all_messages[start : start + size]
        nxt = start + size
        base = f"{self.server.http_base}/api/calls/{call['callId']}/messages?pageSize={size}"
        self._send(200, {
            "results": page,
            "next": f"{base}&cursor={nxt}" if nxt < len(all_messages) else None,
            "previous": f"{base}&cursor={max(start - size, 0)}" if start else None,
            "total": len(all_messages),
        })

    def _control(self, method: str, parts: list[str], body: Any) -> None:
        state = self.server.state
        if method == "POST" and parts == ["mode"] and isinstance(body, dict):
            if body.get("mode", state.mode) not in HTTP_MODES or body.get("ws_mode", state.ws_mode) not in WS_MODES:
                return self._send(400, {"detail": f"modes: {HTTP_MODES} / ws: {WS_MODES}"})
            for key in ("mode", "ws_mode", "fail_times", "retry_after", "slow_seconds", "ws_close_after"):
                if key in body:
                    setattr(state, key, body[key])
            state.failures = 0
            return self._send(200, {"mode": state.mode, "ws_mode": state.ws_mode})
        if method == "GET" and parts == ["requests"]:
            return self._send(200, [r.__dict__ for r in state.requests])
        if method == "GET" and parts == ["calls"]:
            return self._send(200, list(state.calls.values()))
        return self._send(404, {"detail": "unknown control endpoint"})


class _Server(LoopbackServer):
    state: FakeState
    http_base: str
    ws_base: str


class FakeUltravox:
    """Start with `with FakeUltravox() as fake:`; point the client at fake.base_url with fake.state.api_key."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, ws_port: int | None = 0, api_key: str = "test-key"):
        self.state = FakeState(api_key=api_key)
        self._http = _Server((host, port), _Handler)
        self._http.state = self.state
        self.host = host
        self.port = self._http.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._http.http_base = self.base_url
        self._ws = None
        if ws_port is not None:
            from tests.fakes.ultravox.join_socket import JoinSocketServer

            self._ws = JoinSocketServer(self.state, host, ws_port)
            self._http.ws_base = f"ws://{host}:{self._ws.port}"
        else:
            self._http.ws_base = f"ws://{host}:9/unavailable"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def start(self) -> FakeUltravox:
        self._thread.start()
        if self._ws:
            self._ws.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        if self._ws:
            self._ws.stop()

    def __enter__(self) -> FakeUltravox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- helpers for tests -------------------------------------------------
    def set_mode(self, mode: str, fail_times: int = 0, retry_after: str = "1", slow_seconds: float = 3.0) -> None:
        assert mode in HTTP_MODES
        self.state.mode, self.state.fail_times, self.state.failures = mode, fail_times, 0
        self.state.retry_after, self.state.slow_seconds = retry_after, slow_seconds

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.state.requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method)]

    def finish_call(self, call_id: str, end_reason: str = "hangup", summary: str = "The caller booked a visit.",
                    billed_seconds: float = 42.0) -> dict[str, Any]:
        call = self.state.calls[call_id]
        call.update({"joined": call["joined"] or call["created"], "ended": _now(), "endReason": end_reason,
                     "shortSummary": summary, "summary": f"{summary} Nothing else was asked.",
                     "billedDuration": f"{billed_seconds}s"})
        return call


def drive_tool_call(call: dict[str, Any], tool_name: str, arguments: dict[str, Any], timeout: float = 10.0,
                    session: requests.Session | None = None) -> requests.Response:
    """POST to a temporary tool exactly as Ultravox does: dynamic parameters + static body parameters
    as the JSON body, static header parameters as headers, to http.baseUrlPattern."""
    for selected in call.get("selectedTools") or []:
        tool = selected.get("temporaryTool") or {}
        if tool.get("modelToolName") != tool_name:
            continue
        body = dict(arguments)
        headers = {"Content-Type": "application/json"}
        for param in tool.get("staticParameters") or []:
            if param["location"] == "PARAMETER_LOCATION_HEADER":
                headers[param["name"]] = str(param["value"])
            elif param["location"] == "PARAMETER_LOCATION_BODY":
                body[param["name"]] = param["value"]
        http = tool["http"]
        return (session or requests).request(http["httpMethod"], http["baseUrlPattern"], json=body,
                                             headers=headers, timeout=timeout)
    raise KeyError(f"the call has no tool {tool_name}")


def signed_webhook_headers(secret: str, raw_body: bytes, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or _now()
    signature = hmac.new(secret.encode(), raw_body + timestamp.encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Ultravox-Webhook-Timestamp": timestamp,
            "X-Ultravox-Webhook-Signature": signature}


def send_webhook(url: str, secret: str, event: str, call: dict[str, Any], timestamp: str | None = None,
                 timeout: float = 10.0) -> requests.Response:
    raw = json.dumps({"event": event, "call": {k: v for k, v in call.items() if k != "selectedTools"}}).encode()
    return requests.post(url, data=raw, headers=signed_webhook_headers(secret, raw, timestamp), timeout=timeout)
