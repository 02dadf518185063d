import json

import pytest
import requests
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.sync.client import connect

from tests.fakes.ultravox import FakeUltravox, drive_tool_call
from voice_agent.integrations.ultravox.client import UltravoxClient, UltravoxError

CALL = {"systemPrompt": "You are helpful.", "medium": {"webRtc": {}}, "maxDuration": "300s",
        "selectedTools": [{"temporaryTool": {
            "modelToolName": "create_support_ticket", "description": "d", "dynamicParameters": [],
            "staticParameters": [
                {"name": "voice_session", "location": "PARAMETER_LOCATION_BODY", "value": "VS-1"},
                {"name": "X-Voice-Agent-Tool-Secret", "location": "PARAMETER_LOCATION_HEADER", "value": "sek"}],
            "http": {"baseUrlPattern": "", "httpMethod": "POST"}}}]}


@pytest.fixture
def fake():
    with FakeUltravox() as server:
        yield server


def client_for(fake, key="test-key", **kw):
    sleeps = []
    client = UltravoxClient(key, fake.base_url, sleep=sleeps.append, **kw)
    return client, sleeps


def test_create_get_messages_and_end(fake):
    client, _ = client_for(fake)
    call = client.create_call(CALL)
    assert call["joinUrl"].startswith("ws://127.0.0.1:") and call["callId"]
    sent = fake.requests_to("/api/calls", "POST")[0]
    assert sent.headers["X-API-Key"] == "test-key" and sent.body["medium"] == {"webRtc": {}}
    assert client.get_call(call["callId"])["maxDuration"] == "300s"
    messages = client.list_messages(call["callId"])
    assert len(messages) == 5  # three pages of two: the cursor was followed
    assert len(fake.requests_to(f"/api/calls/{call['callId']}/messages")) == 3
    client.end_call(call["callId"])
    assert client.get_call(call["callId"])["endReason"] == "hangup"


def test_bad_key_is_a_clear_error_without_retry(fake):
    client, sleeps = client_for(fake, key="wrong")
    with pytest.raises(UltravoxError, match="refused the API key") as info:
        client.create_call(CALL)
    assert info.value.status == 401 and sleeps == [] and len(fake.state.requests) == 1


def test_429_is_retried_honouring_retry_after(fake):
    fake.set_mode("429", fail_times=2, retry_after="3")
    client, sleeps = client_for(fake)
    assert client.create_call(CALL)["callId"]
    assert sleeps == [3.0, 3.0]


def test_500_retried_with_backoff_then_fails(fake):
    fake.set_mode("500")
    client, sleeps = client_for(fake, max_attempts=3, backoff=0.5)
    with pytest.raises(UltravoxError, match="internal error") as info:
        client.create_call(CALL)
    assert info.value.status == 500 and info.value.retryable
    assert sleeps == [0.5, 1.0] and len(fake.state.requests) == 3


def test_slow_answer_times_out(fake):
    fake.set_mode("slow", slow_seconds=1.0)
    client, sleeps = client_for(fake, timeout=0.2, max_attempts=2)
    with pytest.raises(UltravoxError, match="did not answer in time"):
        client.get_call("x")
    assert len(sleeps) == 1


def test_unreachable_host():
    client = UltravoxClient("k", "http://127.0.0.1:9", sleep=lambda s: None, max_attempts=2, timeout=0.5)
    with pytest.raises(UltravoxError, match="could not be reached"):
        client.get_call("x")


def test_unknown_call_is_404(fake):
    client, _ = client_for(fake)
    with pytest.raises(UltravoxError, match=r"\(404\)"):
        client.get_call("nope")


def test_drive_tool_call_sends_static_header_and_body(fake):
    received = {}

    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Tool(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            received["headers"] = dict(self.headers.items())
            received["body"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = HTTPServer(("127.0.0.1", 0), Tool)
    threading.Thread(target=server.handle_request, daemon=True).start()
    call = json.loads(json.dumps(CALL))
    call["selectedTools"][0]["temporaryTool"]["http"]["baseUrlPattern"] = f"http://127.0.0.1:{server.server_address[1]}/t"
    assert drive_tool_call(call, "create_support_ticket", {"subject": "Hi"}).status_code == 200
    server.server_close()
    assert received["headers"]["X-Voice-Agent-Tool-Secret"] == "sek"
    assert received["body"] == {"subject": "Hi", "voice_session": "VS-1"}


def test_join_socket_modes(fake):
    client, _ = client_for(fake)
    call = client.create_call(CALL)
    with connect(call["joinUrl"] + "?apiVersion=1") as ws:
        info = json.loads(ws.recv(timeout=5))
        assert info["type"] == "room_info" and info["roomUrl"].startswith("ws://127.0.0.1:") and info["token"]
    requests.post(f"{fake.base_url}/_fake/mode", json={"ws_mode": "ended"}, timeout=5)
    with connect(call["joinUrl"]) as ws, pytest.raises(ConnectionClosedOK):
        ws.recv(timeout=5)
    assert ws.close_code == 1000
    client.end_call(call["callId"])
    requests.post(f"{fake.base_url}/_fake/mode", json={"ws_mode": "ok"}, timeout=5)
    with pytest.raises(InvalidStatus):
        connect(call["joinUrl"])
