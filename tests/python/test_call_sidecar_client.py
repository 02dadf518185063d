"""The sidecar HTTP client against a loopback fake that speaks the contract (and one that breaks it)."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from voice_agent.integrations.sidecar.client import SidecarClient, SidecarError, SidecarUnreachable

SECRET = "test-shared-secret-0123456789abcdef"
ROOM = {
    "callId": "VC-2026-00001",
    "state": "created",
    "createdAt": "2026-11-23T03:00:00Z",
    "participants": [],
}


@pytest.fixture
def fake():
    seen = []
    answers = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            seen.append((self.command, self.path, self.headers.get("Authorization"), body))
            status, payload = answers.get(
                (self.command, self.path), (404, {"error": "not_found", "message": "?"})
            )
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield SidecarClient(f"http://127.0.0.1:{server.server_address[1]}", SECRET, timeout=2), answers, seen
    server.shutdown()
    server.server_close()


def test_create_room_sends_the_contract_body_with_the_bearer_secret(fake):
    client, answers, seen = fake
    answers[("POST", "/api/rooms")] = (201, ROOM)
    assert client.create_room("VC-2026-00001", ring_timeout_sec=45) == ROOM
    assert seen == [("POST", "/api/rooms", f"Bearer {SECRET}", {"callId": "VC-2026-00001", "ringTimeoutSec": 45})]


def test_end_call_and_status_use_the_call_path(fake):
    client, answers, seen = fake
    ended = {**ROOM, "state": "ended", "endReason": "hangup", "endedAt": "2026-11-23T03:01:00Z"}
    answers[("POST", "/api/rooms/VC-2026-00001/end")] = (200, ended)
    answers[("GET", "/api/rooms/VC-2026-00001")] = (200, ended)
    assert client.end_call("VC-2026-00001", "hangup")["state"] == "ended"
    assert client.call_status("VC-2026-00001")["endReason"] == "hangup"
    assert [s[:2] for s in seen] == [
        ("POST", "/api/rooms/VC-2026-00001/end"),
        ("GET", "/api/rooms/VC-2026-00001"),
    ]
    assert seen[0][3] == {"reason": "hangup"}


def test_list_rooms_asks_with_the_bearer_secret_and_checks_the_answer(fake):
    client, answers, seen = fake
    rooms = {
        "sidecarId": "sidecar-1",
        "startedAt": "2026-11-23T02:00:00Z",
        "rooms": [{"callId": "VC-2026-00001", "state": "ringing", "createdAt": "2026-11-23T03:00:00Z"}],
        "unreportedCallIds": ["VC-2026-00002"],
    }
    answers[("GET", "/api/rooms")] = (200, rooms)
    assert client.list_rooms() == rooms
    assert seen == [("GET", "/api/rooms", f"Bearer {SECRET}", None)]
    # An answer that could make Frappe close calls by mistake is refused, not read as "knows nothing".
    answers[("GET", "/api/rooms")] = (200, {"sidecarId": "sidecar-1", "startedAt": "2026-11-23T02:00:00Z"})
    with pytest.raises(SidecarError, match="RoomList"):
        client.list_rooms()


def test_health_needs_no_secret(fake):
    client, answers, seen = fake
    health = {"status": "ok", "version": "1", "uptimeSec": 1, "workers": [], "rooms": 0, "participants": 0}
    answers[("GET", "/health")] = (200, health)
    assert client.health() == health
    assert seen[0][2] is None


def test_sidecar_errors_keep_their_code(fake):
    client, answers, _ = fake
    answers[("POST", "/api/rooms/VC-1/end")] = (404, {"error": "room_not_found", "message": "no room VC-1"})
    with pytest.raises(SidecarError) as excinfo:
        client.end_call("VC-1")
    assert (excinfo.value.status, excinfo.value.code) == (404, "room_not_found")


@pytest.mark.parametrize(
    "answer",
    [(200, {"callId": "VC-2026-00001"}), (200, b"<html>proxy error</html>"), (502, b"Bad Gateway")],
    ids=["breaks the contract", "not JSON", "error without contract body"],
)
def test_answers_outside_the_contract_are_errors(fake, answer):
    client, answers, _ = fake
    answers[("POST", "/api/rooms")] = answer
    with pytest.raises(SidecarError):
        client.create_room("VC-2026-00001")


def test_a_request_outside_the_contract_is_not_sent(fake):
    client, _, seen = fake
    with pytest.raises(SidecarError, match="request does not match"):
        client.create_room("bad id with spaces")
    with pytest.raises(SidecarError, match="request does not match"):
        client.end_call("VC-1", "bored")
    assert seen == []


def test_nothing_listening_is_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SidecarUnreachable, match="refused"):
        SidecarClient(f"http://127.0.0.1:{port}", SECRET, timeout=1).health()


# --- the WhatsApp leg's routes ----------------------------------------------------------------------

WACID = "wacid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QTM2"
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


def test_whatsapp_answer_sends_metas_offer_and_returns_the_answer(fake):
    client, answers, seen = fake
    session = {"participantId": "whatsapp:16505551234", "waCallId": WACID, "sdpType": "answer", "sdp": SDP}
    answers[("POST", "/api/rooms/VC-2026-00001/whatsapp/answer")] = (201, session)
    assert client.whatsapp_answer("VC-2026-00001", "whatsapp:16505551234", WACID, SDP, name="Ada") == session
    assert seen[0][2:] == (f"Bearer {SECRET}", {"participantId": "whatsapp:16505551234", "waCallId": WACID,
                                               "offer": SDP, "name": "Ada"})


def test_whatsapp_offer_remote_answer_and_end_use_their_routes(fake):
    client, answers, seen = fake
    base = "/api/rooms/VC-2026-00001/whatsapp"
    answers[("POST", f"{base}/offer")] = (201, {"participantId": "whatsapp:1", "sdpType": "offer", "sdp": SDP})
    answers[("POST", f"{base}/remote-answer")] = (200, ROOM)
    answers[("POST", f"{base}/end")] = (200, {**ROOM, "state": "ended", "endReason": "remote_hangup"})
    assert client.whatsapp_offer("VC-2026-00001", "whatsapp:1")["sdpType"] == "offer"
    assert client.whatsapp_remote_answer("VC-2026-00001", "whatsapp:1", WACID, SDP)["state"] == "created"
    assert client.whatsapp_end("VC-2026-00001", "whatsapp:1", "rejected")["endReason"] == "remote_hangup"
    assert [(s[1], s[3]) for s in seen] == [
        (f"{base}/offer", {"participantId": "whatsapp:1"}),
        (f"{base}/remote-answer", {"participantId": "whatsapp:1", "waCallId": WACID, "answer": SDP}),
        (f"{base}/end", {"participantId": "whatsapp:1", "reason": "rejected"}),
    ]


def test_whatsapp_requests_and_answers_outside_the_contract_are_refused(fake):
    client, answers, seen = fake
    with pytest.raises(SidecarError, match="request does not match WhatsAppAnswerRequest"):
        client.whatsapp_answer("VC-2026-00001", "whatsapp:1", "not-a-wacid", SDP)
    with pytest.raises(SidecarError, match="request does not match WhatsAppEndRequest"):
        client.whatsapp_end("VC-2026-00001", "whatsapp:1", "dancing")
    assert seen == []
    answers[("POST", "/api/rooms/VC-2026-00001/whatsapp/offer")] = (201, {"participantId": "whatsapp:1", "sdp": SDP})
    with pytest.raises(SidecarError, match="response does not match WhatsAppSession"):
        client.whatsapp_offer("VC-2026-00001", "whatsapp:1")
