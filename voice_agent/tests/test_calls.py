"""Desk calling on a real site: doctypes, permissions, every endpoint, sidecar events.

The sidecar is a loopback HTTP fake that checks the Bearer secret and answers per
contracts/sidecar-http.schema.json; every request it receives is recorded.

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_calls

Every test is rolled back (voice_agent.tests.utils.VoiceAgentTestCase): the site keeps none of it.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

import frappe
from frappe.utils import add_to_date, now_datetime

from voice_agent.api import calls
from voice_agent.calling import tokens
from voice_agent.calling.metrics import mos_score, quality_label
from voice_agent.integrations.sidecar import reconcile
from voice_agent.patches.v0_2 import end_talk_time_when_the_last_party_left
from voice_agent.site_time import from_iso
from voice_agent.telephony.timeline import timeline_content
from voice_agent.tests.utils import VoiceAgentTestCase
from voice_agent.voice_agent.report.voice_agent_activity import voice_agent_activity

SECRET = "test-shared-secret-0123456789abcdef"
AGENT = "va-agent1@example.com"
OTHER_AGENT = "va-agent2@example.com"
MANAGER = "va-manager@example.com"
SIDECAR = "va-sidecar@example.com"
OUTSIDER = "va-outsider@example.com"
NO_LEAD_AGENT = "va-nolead@example.com"
LEAD_EMAIL = f"va-test-lead-{uuid.uuid4().hex[:8]}@example.com"
ROLES = ("Voice Agent User", "Voice Agent Manager", "Voice Sidecar")


class FakeSidecar:
    """A loopback sidecar HTTP API: rooms (create, end, list), health."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.rooms: dict[str, str] = {}
        self.started_at = datetime.now(timezone.utc)
        self.unreported: set[str] = set()
        self.list_answer: tuple[int, dict] | None = None  # instead of the RoomList of `rooms`
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                entry = {
                    "method": self.command,
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "body": body,
                }
                fake.requests.append(entry)
                return entry

            def do_GET(self):
                entry = self._record()
                if self.path == "/api/rooms":
                    if entry["auth"] != f"Bearer {SECRET}":
                        return self._send(401, {"error": "unauthorized", "message": "bad secret"})
                    if fake.list_answer:
                        return self._send(*fake.list_answer)
                    since = fake.started_at.isoformat()
                    rooms = [
                        {"callId": call, "state": state, "createdAt": since}
                        for call, state in fake.rooms.items()
                        if state != "ended"
                    ]
                    return self._send(
                        200,
                        {
                            "sidecarId": "test-sidecar",
                            "startedAt": since,
                            "rooms": rooms,
                            "unreportedCallIds": sorted(fake.unreported),
                        },
                    )
                if self.path == "/health":
                    return self._send(
                        200,
                        {
                            "status": "ok",
                            "version": "test",
                            "uptimeSec": 12.5,
                            "rooms": len(fake.rooms),
                            "participants": 0,
                            "workers": [
                                {"pid": 4242, "alive": True, "rooms": len(fake.rooms), "cpuPercent": 1.5}
                            ],
                        },
                    )
                return self._send(404, {"error": "not_found", "message": self.path})

            def do_POST(self):
                entry = self._record()
                if entry["auth"] != f"Bearer {SECRET}":
                    return self._send(401, {"error": "unauthorized", "message": "bad secret"})
                now = datetime.now(timezone.utc).isoformat()
                if self.path == "/api/rooms":
                    call_id = entry["body"]["callId"]
                    fake.rooms[call_id] = "created"
                    return self._send(
                        201, {"callId": call_id, "state": "created", "createdAt": now, "participants": []}
                    )
                if self.path.startswith("/api/rooms/") and self.path.endswith("/end"):
                    call_id = self.path.split("/")[3]
                    if call_id not in fake.rooms:
                        return self._send(404, {"error": "room_not_found", "message": call_id})
                    fake.rooms[call_id] = "ended"
                    return self._send(
                        200,
                        {
                            "callId": call_id,
                            "state": "ended",
                            "createdAt": now,
                            "endedAt": now,
                            "endReason": entry["body"].get("reason", "hangup"),
                            "participants": [],
                        },
                    )
                return self._send(404, {"error": "not_found", "message": self.path})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_user(email: str, roles: list[str]) -> None:
    if not frappe.db.exists("User", email):
        frappe.get_doc(
            {
                "doctype": "User",
                "email": email,
                "first_name": email.split("@")[0],
                "send_welcome_email": 0,
                "user_type": "System User",
            }
        ).insert(ignore_permissions=True)
    user = frappe.get_doc("User", email)
    user.set("roles", [])
    user.add_roles(*roles)


def _event(call: str, sequence: int, type_: str, payload: dict, at: datetime) -> dict:
    return {
        "eventId": str(uuid.uuid4()),
        "callId": call,
        "sequence": sequence,
        "occurredAt": at.isoformat().replace("+00:00", "Z"),
        "sidecarId": "test-sidecar",
        "type": type_,
        "payload": payload,
    }


def _state(call: str, sequence: int, src: str, dst: str, at: datetime, reason: str | None = None,
           ended_by: dict | None = None) -> dict:
    payload = {"from": src, "to": dst, **({"reason": reason} if reason else {}),
               **({"endedBy": ended_by} if ended_by else {})}
    return _event(call, sequence, "call.state_changed", payload, at)


def _quality(call: str, sequence: int, at: datetime, samples: int, loss: float, jitter: float, rtt: float | None,
             final: bool = False, participants: dict | None = None) -> dict:
    payload = {"samples": samples, "packetLossPct": loss, "jitterMs": jitter, "rttMs": rtt, "bitrateKbps": 32.0,
               "final": final, **({"participants": participants} if participants is not None else {})}
    return _event(call, sequence, "quality.summary", payload, at)


class TestCalls(VoiceAgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _ensure_user(AGENT, ["Voice Agent User", "Sales User"])
        _ensure_user(OTHER_AGENT, ["Voice Agent User", "Sales User"])
        _ensure_user(MANAGER, ["Voice Agent Manager", "Sales User"])
        _ensure_user(SIDECAR, ["Voice Sidecar"])
        _ensure_user(OUTSIDER, ["Sales User"])
        _ensure_user(NO_LEAD_AGENT, ["Voice Agent User"])
        cls.lead = frappe.get_doc(
            {
                "doctype": "Lead",
                "first_name": "Vat",
                "last_name": "Tester",
                "email_id": LEAD_EMAIL,
                "mobile_no": "+15550100",
            }
        ).insert(ignore_permissions=True)
        cls.sidecar = FakeSidecar()
        cls.addClassCleanup(cls.sidecar.close)

    @classmethod
    def configure(cls, **changes):
        settings = frappe.get_single("MediaSoup WebRTC Settings")
        values = {
            "enabled": 1,
            "server_host": "127.0.0.1",
            "port": cls.sidecar.port,
            "use_https": 0,
            "public_signaling_url": "https://rtc.example.com",
            "ring_timeout_sec": 60,
            "max_call_duration_sec": 3600,
            "shared_secret": SECRET,
            "turn_rest_secret": "",
            **changes,
        }
        settings.server_port = values.pop("port")
        settings.update(values)
        settings.set("ice_servers", [])
        settings.append("ice_servers", {"urls": "stun:stun.example.com:3478"})
        settings.append(
            "ice_servers",
            {"urls": "turn:turn.example.com:3478?transport=udp", "username": "u1", "credential": "turn-pass"},
        )
        settings.save(ignore_permissions=True)

    def setUp(self):
        super().setUp()
        self.configure(port=self.sidecar.port)
        self.sidecar.requests.clear()
        self.sidecar.started_at = datetime.now(timezone.utc) - timedelta(hours=1)
        self.sidecar.unreported.clear()
        self.sidecar.list_answer = None

    def start_call(self, user: str = AGENT) -> dict:
        frappe.set_user(user)
        answer = calls.initiate_call("Lead", self.lead.name)
        frappe.set_user("Administrator")
        return answer

    def report(self, events: list[dict], user: str = SIDECAR) -> dict:
        frappe.set_user(user)
        try:
            return calls.report_call_event(events)
        finally:
            frappe.set_user("Administrator")

    # --- initiate_call ---------------------------------------------------------

    def test_initiate_call_creates_the_call_the_room_and_an_agent_token(self):
        answer = self.start_call()
        self.assertEqual(
            set(answer),
            {
                "call",
                "signaling_url",
                "token",
                "expires_at",
                "ice_servers",
                "role",
                "participant_id",
            },
        )
        self.assertMatchesContract("JoinAnswer", answer)
        self.assertEqual((answer["role"], answer["participant_id"]), ("agent", AGENT))
        self.assertEqual(answer["signaling_url"], "https://rtc.example.com")
        claims = tokens.verify(answer["token"], SECRET, expected_call=answer["call"])
        self.assertEqual((claims["sub"], claims["role"], claims["call"]), (AGENT, "agent", answer["call"]))
        self.assertLessEqual(claims["exp"] - claims["iat"], 600)
        self.assertNotIn(SECRET, json.dumps(answer))

        call = frappe.get_doc("Voice Call", answer["call"])
        self.assertEqual(
            (call.state, call.agent, call.reference_doctype, call.reference_name),
            ("created", AGENT, "Lead", self.lead.name),
        )
        self.assertEqual(
            (call.party_name, call.party_phone, call.party_email),
            ("Vat Tester", "+15550100", LEAD_EMAIL),
        )
        self.assertEqual(call.sidecar_room, call.name)
        self.assertEqual([r.to_state for r in call.state_history], ["created"])
        [request] = self.sidecar.requests
        self.assertEqual(
            (request["method"], request["path"], request["auth"]), ("POST", "/api/rooms", f"Bearer {SECRET}")
        )
        self.assertEqual(request["body"]["callId"], call.name)
        self.assertEqual(request["body"]["ringTimeoutSec"], 60)

    def test_a_deleted_calls_name_is_never_given_to_the_next_call(self):
        """Frappe steps a doctype's declared series back when its newest record is deleted: the next call
        got the deleted one's name, which the sidecar refused (409, "has already ended") and which an
        unexpired token of the deleted call would open."""
        first = self.start_call()["call"]
        frappe.delete_doc("Voice Call", first, force=True, ignore_permissions=True)
        second = self.start_call()["call"]
        self.assertNotEqual(second, first)
        self.assertTrue(second.startswith(f"VC-{now_datetime().year}-"), second)

    def test_sidecar_down_gives_a_clear_error_and_a_failed_call(self):
        self.configure(port=_closed_port())
        before = set(frappe.get_all("Voice Call", pluck="name"))
        frappe.set_user(AGENT)
        with self.assertRaisesRegex(frappe.ValidationError, "call server is not reachable"):
            calls.initiate_call("Lead", self.lead.name)
        frappe.set_user("Administrator")
        [new] = set(frappe.get_all("Voice Call", pluck="name")) - before
        call = frappe.get_doc("Voice Call", new)
        self.assertEqual(call.state, "failed")
        self.assertTrue(call.ended_at)
        self.assertIn("Connection refused", call.error_message)

    def test_a_wrong_shared_secret_is_reported_as_such(self):
        self.configure(shared_secret="another-secret-0123456789")
        frappe.set_user(AGENT)
        with self.assertRaisesRegex(frappe.ValidationError, "refused Frappe's shared secret"):
            calls.initiate_call("Lead", self.lead.name)

    def test_initiate_call_needs_a_calling_role_a_readable_document_and_enabled_settings(self):
        frappe.set_user(OUTSIDER)
        with self.assertRaises(frappe.PermissionError):
            calls.initiate_call("Lead", self.lead.name)
        frappe.set_user(AGENT)
        with self.assertRaises(frappe.DoesNotExistError):
            calls.initiate_call("Lead", "no-such-lead")
        with self.assertRaisesRegex(frappe.ValidationError, "Calls can be started from"):
            calls.initiate_call("User", AGENT)
        with self.assertRaisesRegex(frappe.ValidationError, "not available on this site"):
            calls.initiate_call("Lead", self.lead.name, channel="carrier-pigeon")
        frappe.set_user("Administrator")
        self.configure(enabled=0)
        frappe.set_user(AGENT)
        with self.assertRaisesRegex(frappe.ValidationError, "not enabled"):
            calls.initiate_call("Lead", self.lead.name)
        self.assertEqual(self.sidecar.requests, [])

    def test_a_document_the_agent_cannot_read_cannot_be_called(self):
        frappe.set_user(NO_LEAD_AGENT)  # Voice Agent User without any role that reads Leads
        with self.assertRaises(frappe.PermissionError):
            calls.initiate_call("Lead", self.lead.name)
        self.assertEqual(self.sidecar.requests, [])

    # --- permissions -----------------------------------------------------------

    def test_an_agent_cannot_see_or_join_another_agents_call_but_a_manager_can(self):
        call = self.start_call(AGENT)["call"]
        frappe.set_user(OTHER_AGENT)
        self.assertFalse(frappe.has_permission("Voice Call", "read", doc=call))
        self.assertNotIn(call, frappe.get_list("Voice Call", pluck="name", limit_page_length=0))
        for attempt in (
            lambda: calls.get_call_state(call),
            lambda: calls.create_invite(call),
            lambda: calls.end_call(call),
            lambda: calls.rejoin_call(call),
            lambda: calls.join_as_supervisor(call),
        ):
            with self.assertRaises(frappe.PermissionError):
                attempt()
        self.assertEqual(timeline_content("Lead", self.lead.name), [])

        frappe.set_user(AGENT)
        self.assertTrue(frappe.has_permission("Voice Call", "read", doc=call))
        self.assertIn(call, frappe.get_list("Voice Call", pluck="name", limit_page_length=0))
        self.assertEqual(calls.rejoin_call(call)["role"], "agent")
        with self.assertRaises(frappe.PermissionError):
            calls.join_as_supervisor(call)

        frappe.set_user(MANAGER)
        self.assertIn(call, frappe.get_list("Voice Call", pluck="name", limit_page_length=0))
        listen = calls.join_as_supervisor(call)
        self.assertMatchesContract("JoinAnswer", listen)
        self.assertMatchesContract("CallSnapshot", calls.get_call_state(call))
        self.assertEqual((listen["role"], listen["participant_id"]), ("supervisor", MANAGER))
        self.assertIs(tokens.verify(listen["token"], SECRET, expected_call=call)["listenOnly"], True)
        talk = calls.join_as_supervisor(call, listen_only=False)
        self.assertIs(tokens.verify(talk["token"], SECRET, expected_call=call)["listenOnly"], False)

    # --- invites ---------------------------------------------------------------

    def test_invite_link_lets_a_guest_join_this_call_only_while_valid(self):
        call = self.start_call()["call"]
        frappe.set_user(AGENT)
        invite = calls.create_invite(call)
        self.assertMatchesContract("InviteAnswer", invite)
        self.assertIn(f"/call?invite={invite['invite']}", invite["url"])
        self.assertGreaterEqual(len(invite["invite"]), 32)
        expires = datetime.fromisoformat(invite["expires_at"])
        self.assertAlmostEqual((expires - datetime.now(timezone.utc)).total_seconds(), 1800, delta=120)

        frappe.set_user("Guest")
        joined = calls.join_invite(invite["invite"], name="<b>Ada</b>")
        self.assertMatchesContract("JoinAnswer", joined)
        self.assertEqual(
            (joined["role"], joined["participant_id"], joined["call"]), ("customer", invite["invite"], call)
        )
        claims = tokens.verify(joined["token"], SECRET, expected_call=call)
        self.assertEqual((claims["role"], claims["name"]), ("customer", "Ada"))
        with self.assertRaises(frappe.PermissionError):
            calls.join_invite("not-an-invite")

        frappe.set_user("Administrator")
        frappe.db.set_value(
            "Voice Call Invite", invite["invite"], "expires_at", add_to_date(now_datetime(), minutes=-1)
        )
        frappe.set_user("Guest")
        with self.assertRaisesRegex(frappe.PermissionError, "expired"):
            calls.join_invite(invite["invite"])

        frappe.set_user(AGENT)
        fresh = calls.create_invite(call)
        calls.end_call(call)
        frappe.set_user("Guest")
        with self.assertRaisesRegex(frappe.PermissionError, "over"):
            calls.join_invite(fresh["invite"])

    def test_send_invite_mails_the_link_and_refuses_a_bad_address(self):
        call = self.start_call()["call"]
        frappe.set_user(AGENT)
        with self.assertRaisesRegex(frappe.ValidationError, "not a valid email"):
            calls.send_invite(call, "not-an-email")
        with patch("frappe.sendmail") as sendmail:
            answer = calls.send_invite(call, LEAD_EMAIL)
        sendmail.assert_called_once()
        self.assertMatchesContract("InviteAnswer", answer)
        sent = sendmail.call_args.kwargs
        self.assertEqual(sent["recipients"], [LEAD_EMAIL])
        self.assertIn(answer["url"], sent["message"])
        self.assertEqual((sent["reference_doctype"], sent["reference_name"]), ("Voice Call", call))
        self.assertEqual(frappe.db.get_value("Voice Call Invite", answer["invite"], "email"), LEAD_EMAIL)

    def test_send_invite_without_outgoing_email_says_so(self):
        call = self.start_call()["call"]
        frappe.set_user(AGENT)
        with patch("frappe.sendmail", side_effect=frappe.OutgoingEmailError("no account")):
            with self.assertRaisesRegex(frappe.ValidationError, "outgoing email account"):
                calls.send_invite(call, LEAD_EMAIL)

    # --- report_call_event -----------------------------------------------------

    def full_call_events(self, call: str, t0: datetime) -> list[dict]:
        at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
        return [
            _event(call, 1, "participant.joined", {"participantId": AGENT, "role": "agent"}, at(1)),
            _state(call, 2, "created", "ringing", at(1)),
            _event(call, 3, "participant.joined", {"participantId": "INV-x1", "role": "customer"}, at(5)),
            _state(call, 4, "ringing", "connecting", at(5)),
            _state(call, 5, "connecting", "connected", at(6)),
            _quality(call, 6, at(36), 6, 1.0, 4.0, 40.0),
            _quality(call, 7, at(66), 12, 2.0, 6.0, 40.0, final=True),
            _event(
                call,
                8,
                "participant.left",
                {"participantId": "INV-x1", "role": "customer", "reason": "hangup"},
                at(66),
            ),
            _state(call, 9, "connected", "ended", at(66), reason="remote_hangup"),
        ]

    def test_sidecar_events_drive_state_history_durations_quality_and_realtime(self):
        call = self.start_call()["call"]
        t0 = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
        frappe.db.set_value("Voice Call", call, "started_at", from_iso(t0.isoformat()))
        with patch("frappe.publish_realtime") as publish:
            self.assertEqual(self.report(self.full_call_events(call, t0)), {"accepted": 9, "duplicates": 0})
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.state, doc.end_reason, doc.last_state_sequence), ("ended", "remote_hangup", 9))
        self.assertEqual(
            [r.to_state for r in doc.state_history],
            ["created", "ringing", "connecting", "connected", "ended"],
        )
        self.assertTrue(all(r.applied for r in doc.state_history))
        self.assertEqual((doc.ring_duration, doc.talk_duration, doc.total_duration), (6, 60, 66))
        self.assertAlmostEqual(doc.avg_packet_loss, 2.0)
        self.assertAlmostEqual(doc.avg_jitter_ms, 6.0)
        self.assertAlmostEqual(doc.avg_rtt_ms, 40.0)
        self.assertEqual(doc.quality_samples, 12)  # the last summary covers the whole call
        self.assertTrue(doc.quality_label)
        parts = {r.participant_id: r for r in doc.participants}
        self.assertEqual(parts["INV-x1"].leave_reason, "hangup")
        self.assertTrue(parts[AGENT].joined_at and not parts[AGENT].left_at)
        self.assertEqual(frappe.db.count("Voice Call Event", {"voice_call": call}), 9)

        ours = [c for c in publish.call_args_list if c.args and c.args[0] == "voice_call_update"]
        rooms = {(c.kwargs.get("user"), c.kwargs.get("doctype"), c.kwargs.get("docname")) for c in ours}
        self.assertEqual(
            rooms, {(AGENT, None, None), (None, "Voice Call", call), (None, "Lead", self.lead.name)}
        )
        self.assertTrue(all(c.kwargs["after_commit"] for c in ours))
        message = ours[0].args[1]
        self.assertMatchesContract("VoiceCallUpdate", message)
        self.assertEqual(
            (message["call"], message["state"], message["event"]), (call, "ended", "call.state_changed")
        )
        self.assertEqual(message["quality"]["label"], doc.quality_label)

        frappe.set_user(AGENT)
        card = timeline_content("Lead", self.lead.name)[0]  # newest first
        self.assertIn(f"/app/voice-call/{call}", card["content"])
        self.assertIn("ended", card["content"])
        self.assertIn("talk 1:00", card["content"])
        self.assertTrue(card["is_card"])

    def test_duplicate_events_change_nothing(self):
        call = self.start_call()["call"]
        events = self.full_call_events(call, datetime.now(timezone.utc))[:6]
        self.assertEqual(self.report(events), {"accepted": 6, "duplicates": 0})
        before = frappe.get_doc("Voice Call", call).as_dict()
        with patch("frappe.publish_realtime") as publish:
            self.assertEqual(self.report(events), {"accepted": 0, "duplicates": 6})
            self.assertEqual(self.report(events[2:] + events[:1]), {"accepted": 0, "duplicates": 5})
        self.assertFalse([c for c in publish.call_args_list if c.args and c.args[0] == "voice_call_update"])
        after = frappe.get_doc("Voice Call", call).as_dict()
        self.assertEqual(before, after)
        self.assertEqual(frappe.db.count("Voice Call Event", {"voice_call": call}), 6)
        # a batch mixing new and already-stored events stores only the new ones
        more = _quality(call, 7, datetime.now(timezone.utc), 3, 0.0, 1.0, 20.0)
        self.assertEqual(self.report([events[0], more]), {"accepted": 1, "duplicates": 1})

    def test_a_quality_summary_fills_each_participants_row_and_one_without_them_still_applies(self):
        """Each participant's figures (the WhatsApp leg's among them) land on their row with a MOS and label;
        a summary from a sidecar before per-participant figures still moves the call's own."""
        call = self.start_call()["call"]
        t0 = datetime.now(timezone.utc)
        wa_leg = "wa-15550100"
        figures = {
            AGENT: {"role": "agent", "samples": 4, "packetLossPct": 0.0, "jitterMs": 2.0, "rttMs": 20.0,
                    "bitrateKbps": 32.0},
            wa_leg: {"role": "whatsapp", "samples": 4, "packetLossPct": 8.0, "jitterMs": 30.0, "rttMs": 180.0,
                     "bitrateKbps": 28.0},
            # Sampled while in the call, no joined event applied yet: the summary still gives them a row.
            "INV-late": {"role": "customer", "samples": 2, "packetLossPct": 1.0, "jitterMs": 3.0, "rttMs": None,
                         "bitrateKbps": 30.0},
        }
        self.report([
            _event(call, 1, "participant.joined", {"participantId": AGENT, "role": "agent"}, t0),
            _event(call, 2, "participant.joined", {"participantId": wa_leg, "role": "whatsapp"}, t0),
            _quality(call, 3, t0, 10, 2.0, 15.0, 100.0, participants=figures),
        ])
        doc = frappe.get_doc("Voice Call", call)
        rows = {r.participant_id: r for r in doc.participants}
        self.assertEqual(set(rows), {AGENT, wa_leg, "INV-late"})
        for participant_id, expected in figures.items():
            row = rows[participant_id]
            mos = mos_score(expected["packetLossPct"], expected["jitterMs"], expected["rttMs"])
            self.assertEqual(
                (row.role, row.quality_samples, row.avg_packet_loss, row.avg_jitter_ms, row.avg_rtt_ms,
                 row.avg_bitrate_kbps, row.mos, row.quality_label),
                (expected["role"], expected["samples"], expected["packetLossPct"], expected["jitterMs"],
                 expected["rttMs"] or 0, expected["bitrateKbps"], mos, quality_label(mos)),
                participant_id,
            )
        self.assertEqual((rows[AGENT].quality_label, rows[wa_leg].quality_label), ("Excellent", "Poor"))
        self.assertTrue(rows[AGENT].joined_at and not rows["INV-late"].joined_at)
        self.assertEqual((doc.quality_samples, doc.avg_rtt_ms), (10, 100.0))

        # A sidecar of the version before per-participant figures: the call's figures move, the rows keep theirs.
        self.report([_quality(call, 4, t0, 14, 1.0, 5.0, 50.0, final=True)])
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.quality_samples, doc.avg_packet_loss, doc.avg_rtt_ms), (14, 1.0, 50.0))
        self.assertEqual(doc.quality_label, quality_label(mos_score(1.0, 5.0, 50.0)))
        rows = {r.participant_id: r for r in doc.participants}
        self.assertEqual((rows[wa_leg].quality_samples, rows[wa_leg].avg_rtt_ms), (4, 180.0))

    def test_stale_and_refused_transitions_are_recorded_but_do_not_move_the_state(self):
        call = self.start_call()["call"]
        t0 = datetime.now(timezone.utc)
        self.report([_state(call, 2, "created", "ringing", t0), _state(call, 5, "ringing", "connected", t0)])
        self.report([_state(call, 3, "ringing", "connecting", t0)])  # older than the applied sequence 5
        self.report([_state(call, 6, "connected", "missed", t0)])  # connected -> missed is not a transition
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual(doc.state, "connected")
        history = [(r.to_state, r.applied, r.note.split(":")[0]) for r in doc.state_history]
        self.assertEqual(
            history,
            [
                ("created", 1, "call created"),
                ("ringing", 1, ""),
                ("connected", 1, ""),
                ("connecting", 0, "stale"),
                ("missed", 0, "refused"),
            ],
        )
        self.report(
            [
                _state(call, 7, "connected", "ended", t0, reason="hangup"),
                _state(call, 8, "ended", "connected", t0),
            ]
        )
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.state, doc.state_history[-1].applied), ("ended", 0))

    def test_forged_or_invalid_reports_change_nothing(self):
        call = self.start_call()["call"]
        valid = _state(call, 1, "created", "ringing", datetime.now(timezone.utc))
        for user in (AGENT, MANAGER, "Administrator", "Guest"):
            with self.assertRaises(frappe.PermissionError, msg=user):
                self.report([valid], user=user)
        bad_uuid = {**_state(call, 2, "ringing", "connecting", datetime.now(timezone.utc)), "eventId": "123"}
        bad_state = _state(call, 3, "ringing", "dancing", datetime.now(timezone.utc))
        extra_field = {**_state(call, 4, "ringing", "connecting", datetime.now(timezone.utc)), "admin": True}
        unknown_call = _state("VC-1999-99999", 1, "created", "ringing", datetime.now(timezone.utc))
        for batch in ([valid, bad_uuid], [valid, bad_state], [extra_field], [valid, unknown_call], []):
            with self.assertRaisesRegex(frappe.ValidationError, "Invalid call events"):
                self.report(batch)
        self.assertEqual(frappe.db.count("Voice Call Event", {"voice_call": call}), 0)
        self.assertEqual(frappe.db.get_value("Voice Call", call, "state"), "created")
        self.assertEqual(self.report([valid]), {"accepted": 1, "duplicates": 0})

    # --- end_call --------------------------------------------------------------

    def test_end_call_ends_the_room_records_the_end_and_is_idempotent(self):
        call = self.start_call()["call"]
        frappe.set_user(AGENT)
        with self.assertRaisesRegex(frappe.ValidationError, "Unknown end reason"):
            calls.end_call(call, reason="bored")
        ended = calls.end_call(call)
        self.assertMatchesContract("EndCallAnswer", ended)
        self.assertEqual(ended, {"call": call, "state": "ended", "end_reason": "hangup"})
        self.assertEqual(calls.end_call(call)["state"], "ended")
        ends = [r for r in self.sidecar.requests if r["path"].endswith("/end")]
        self.assertEqual(
            [(r["path"], r["body"]) for r in ends], [(f"/api/rooms/{call}/end", {"reason": "hangup"})]
        )
        doc = frappe.get_doc("Voice Call", call)
        self.assertTrue(doc.ended_at)
        self.assertEqual(doc.state_history[-1].source, "frappe")
        # the sidecar's own report of the end arrives later: recorded, no regression
        self.report(
            [_state(call, 3, "created", "ended", datetime.now(timezone.utc), reason="ended_by_frappe")]
        )
        self.assertEqual(
            frappe.db.get_value("Voice Call", call, ["state", "end_reason"]), ("ended", "hangup")
        )

    def test_the_call_records_who_hung_up(self):
        """From the sidecar (a party's hang-up) or from the desk (the agent, or a manager ending the call)."""
        call = self.start_call()["call"]
        now = datetime.now(timezone.utc)
        self.report([_state(call, 1, "created", "ringing", now),
                     _state(call, 2, "ringing", "ended", now, reason="hangup",
                            ended_by={"participantId": "INV-x1", "role": "customer"})])
        self.assertEqual(frappe.db.get_value("Voice Call", call, ["end_reason", "ended_by"]), ("hangup", "customer"))
        frappe.set_user(AGENT)
        self.assertIn("(hangup by customer)", timeline_content("Lead", self.lead.name)[0]["content"])

        mine = self.start_call()["call"]
        frappe.set_user(AGENT)
        calls.end_call(mine)
        self.assertEqual(frappe.db.get_value("Voice Call", mine, "ended_by"), "agent")

    def test_end_call_still_records_the_end_when_the_sidecar_is_gone(self):
        call = self.start_call()["call"]
        self.configure(port=_closed_port())
        frappe.set_user(MANAGER)
        self.assertEqual(calls.end_call(call, reason="ended_by_frappe")["state"], "ended")
        self.assertIn("not reachable", frappe.get_doc("Voice Call", call).state_history[-1].note)

    def test_talk_time_ends_when_the_last_party_leaves_not_when_the_empty_room_closes(self):
        call = self.start_call()["call"]
        t0 = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
        at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
        frappe.db.set_value("Voice Call", call, "started_at", from_iso(t0.isoformat()))
        customer = {"participantId": "INV-x1", "role": "customer"}
        agent = {"participantId": AGENT, "role": "agent"}
        # Both browsers closed without hanging up; the sidecar ended the empty room 60 s later.
        self.report(
            [
                _event(call, 1, "participant.joined", agent, at(1)),
                _state(call, 2, "created", "ringing", at(1)),
                _event(call, 3, "participant.joined", customer, at(5)),
                _state(call, 4, "ringing", "connecting", at(5)),
                _state(call, 5, "connecting", "connected", at(6)),
                _event(call, 6, "participant.left", {**customer, "reason": "disconnected"}, at(40)),
                _state(call, 7, "connected", "reconnecting", at(40)),
                _event(call, 8, "participant.left", {**agent, "reason": "disconnected"}, at(41.5)),
                _state(call, 9, "reconnecting", "ended", at(101.5), reason="room_empty"),
            ]
        )
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.state, doc.end_reason), ("ended", "room_empty"))
        self.assertEqual(doc.ended_at, from_iso(at(101.5).isoformat()))
        self.assertEqual((doc.ring_duration, doc.talk_duration, doc.total_duration), (6, 35.5, 41.5))

        # The patch gives calls stored before this rule the same figures.
        frappe.db.set_value("Voice Call", call, {"talk_duration": 95.5, "total_duration": 101.5})
        end_talk_time_when_the_last_party_left.execute()
        self.assertEqual(
            frappe.db.get_value("Voice Call", call, ["ring_duration", "talk_duration", "total_duration"]),
            (6, 35.5, 41.5),
        )

    # --- reconciliation with the sidecar ---------------------------------------

    def started_minutes_ago(self, minutes: float) -> tuple[str, datetime]:
        call = self.start_call()["call"]
        started = datetime.now(timezone.utc) - timedelta(minutes=minutes)
        frappe.db.set_value("Voice Call", call, "started_at", from_iso(started.isoformat()))
        return call, started

    def test_reconciliation_closes_the_calls_the_sidecar_no_longer_knows(self):
        self.sidecar.started_at = datetime.now(timezone.utc) - timedelta(minutes=10)
        # Rang on the sidecar process before the restart: lost, ended when the new process started.
        ringing, t0 = self.started_minutes_ago(16)
        self.report(
            [
                _event(ringing, 1, "participant.joined", {"participantId": AGENT, "role": "agent"},
                       t0 + timedelta(seconds=1)),
                _state(ringing, 2, "created", "ringing", t0 + timedelta(seconds=1)),
            ]
        )
        # Connected after the restart, then gone without a word: ended at its last report.
        talking, t1 = self.started_minutes_ago(8)
        after = lambda s: t1 + timedelta(seconds=s)  # noqa: E731
        self.report(
            [
                _state(talking, 1, "created", "ringing", after(1)),
                _state(talking, 2, "ringing", "connecting", after(3)),
                _state(talking, 3, "connecting", "connected", after(5)),
                _quality(talking, 4, after(65), 6, 0.0, 2.0, 30.0),
            ]
        )
        kept = {
            "live on the sidecar": self.started_minutes_ago(30)[0],
            "end still in its outbox": self.started_minutes_ago(30)[0],
            "too young to judge": self.started_minutes_ago(1)[0],
        }
        ended, _ = self.started_minutes_ago(20)
        frappe.set_user(AGENT)
        calls.end_call(ended)
        frappe.set_user("Administrator")
        for call in (ringing, talking, kept["end still in its outbox"], kept["too young to judge"]):
            self.sidecar.rooms.pop(call)
        self.sidecar.unreported.add(kept["end still in its outbox"])

        with patch("frappe.publish_realtime") as publish:
            closed = reconcile.close_lost_calls()
        self.assertIn(ringing, closed)
        self.assertIn(talking, closed)
        for why, call in kept.items():
            self.assertNotIn(call, closed, why)
            self.assertNotIn(frappe.db.get_value("Voice Call", call, "state"), ("failed", "ended"), why)
        self.assertNotIn(ended, closed)
        self.assertEqual(frappe.db.get_value("Voice Call", ended, "end_reason"), "hangup")
        listing = [r for r in self.sidecar.requests if r["path"] == "/api/rooms" and r["method"] == "GET"]
        self.assertEqual([r["auth"] for r in listing], [f"Bearer {SECRET}"])

        lost = frappe.get_doc("Voice Call", ringing)
        self.assertEqual((lost.state, lost.end_reason), ("failed", "call_lost"))
        self.assertEqual(lost.ended_at, from_iso(self.sidecar.started_at.isoformat()))
        last = lost.state_history[-1]
        self.assertEqual(
            (last.from_state, last.to_state, last.reason, last.source),
            ("ringing", "failed", "call_lost", "frappe"),
        )
        self.assertIn("no longer knows", last.note)
        self.assertIn("test-sidecar", lost.error_message)
        self.assertEqual(
            [(p.participant_id, p.leave_reason) for p in lost.participants], [(AGENT, "call_ended")]
        )
        self.assertAlmostEqual(lost.ring_duration, 6 * 60, delta=2)

        gone = frappe.get_doc("Voice Call", talking)
        self.assertEqual(gone.ended_at, from_iso(after(65).isoformat()))
        self.assertEqual((gone.ring_duration, gone.talk_duration, gone.total_duration), (5, 60, 65))

        updates = [c.args[1] for c in publish.call_args_list if c.args and c.args[0] == "voice_call_update"]
        mine = [u for u in updates if u["call"] == ringing]
        self.assertTrue(mine)
        for update in mine:
            self.assertMatchesContract("VoiceCallUpdate", update)
            self.assertEqual(
                (update["event"], update["state"], update["end_reason"]), ("call.lost", "failed", "call_lost")
            )
            self.assertEqual([p["joined"] for p in update["participants"]], [False])

        # Closed once: the next run has nothing of these to close.
        self.assertFalse({ringing, talking} & set(reconcile.close_lost_calls()))
        self.assertEqual(len(frappe.get_doc("Voice Call", ringing).state_history), len(lost.state_history))

    def test_reconciliation_closes_nothing_without_a_definite_answer(self):
        call, _ = self.started_minutes_ago(30)
        self.sidecar.rooms.pop(call)
        for answer in (
            (404, {"error": "not_found", "message": "no route GET /api/rooms"}),  # an older sidecar
            (500, {"error": "internal", "message": "internal error"}),
            (200, {"sidecarId": "test-sidecar", "rooms": []}),  # outside the contract
        ):
            self.sidecar.list_answer = answer
            with patch("frappe.log_error") as log_error:
                self.assertNotIn(call, reconcile.close_lost_calls(), answer)
            log_error.assert_called_once()
        self.sidecar.list_answer = None
        self.configure(shared_secret="another-secret-0123456789")
        with patch("frappe.log_error") as log_error:
            self.assertNotIn(call, reconcile.close_lost_calls())
        self.assertIn("unauthorized", log_error.call_args.kwargs["message"])
        self.configure(port=_closed_port())
        with patch("frappe.log_error") as log_error:
            self.assertNotIn(call, reconcile.close_lost_calls())  # unreachable: only a log line
        log_error.assert_not_called()
        self.assertEqual(frappe.db.get_value("Voice Call", call, "state"), "created")

    # --- settings, config, status ----------------------------------------------

    def test_browser_config_has_ice_servers_and_no_secrets(self):
        frappe.set_user(AGENT)
        config = calls.get_mediasoup_config()
        self.assertEqual(config["signaling_url"], "https://rtc.example.com")
        self.assertMatchesContract("BrowserConfig", config)
        self.assertEqual(
            config["ice_servers"],
            [
                {"urls": ["stun:stun.example.com:3478"]},
                {
                    "urls": ["turn:turn.example.com:3478?transport=udp"],
                    "username": "u1",
                    "credential": "turn-pass",
                },
            ],
        )
        self.assertNotIn(SECRET, json.dumps(config))
        frappe.set_user("Administrator")
        self.configure(turn_rest_secret="coturn-static-auth-secret")
        frappe.set_user(AGENT)
        turn = calls.get_mediasoup_config()["ice_servers"][1]
        expiry, user = turn["username"].split(":", 1)
        self.assertEqual(user, AGENT)
        self.assertGreater(int(expiry), datetime.now(timezone.utc).timestamp())
        self.assertNotEqual(turn["credential"], "turn-pass")
        frappe.set_user("Guest")
        with self.assertRaises(frappe.PermissionError):
            calls.get_mediasoup_config()

    def test_check_status_reads_health_for_managers_only(self):
        frappe.set_user(MANAGER)
        status = calls.check_mediasoup_status()
        self.assertTrue(status["ok"])
        self.assertEqual(status["health"]["workers"][0]["pid"], 4242)
        self.assertEqual(self.sidecar.requests[-1]["path"], "/health")
        frappe.set_user(AGENT)
        with self.assertRaises(frappe.PermissionError):
            calls.check_mediasoup_status()
        frappe.set_user("Administrator")
        self.configure(port=_closed_port())
        frappe.set_user(MANAGER)
        with self.assertRaisesRegex(frappe.ValidationError, "not reachable"):
            calls.check_mediasoup_status()

    def test_settings_validation(self):
        for changes, message in (
            ({"port": 70000}, "Server Port"),
            ({"public_signaling_url": "ftp://x"}, "Public Signaling URL"),
            ({"server_host": "http://host/path"}, "Server Host"),
            ({"shared_secret": "short"}, "at least 16"),
            ({"ring_timeout_sec": 1}, "Ring Timeout"),
        ):
            with self.assertRaisesRegex(frappe.ValidationError, message):
                self.configure(port=changes.pop("port", self.sidecar.port), **changes)
        settings = frappe.get_single("MediaSoup WebRTC Settings")
        settings.append("ice_servers", {"urls": "http://not-ice"})
        with self.assertRaisesRegex(frappe.ValidationError, "not a stun"):
            settings.save(ignore_permissions=True)

    # --- report ----------------------------------------------------------------

    def test_agent_activity_report(self):
        call = self.start_call()["call"]
        t0 = datetime.now(timezone.utc)
        frappe.db.set_value("Voice Call", call, "started_at", from_iso(t0.isoformat()))
        self.report(self.full_call_events(call, t0))
        today = frappe.utils.today()
        frappe.set_user(MANAGER)
        columns, rows = voice_agent_activity.execute({"from_date": today, "to_date": today, "agent": AGENT})
        self.assertIn("talk_time", [c["fieldname"] for c in columns])
        [row] = rows
        self.assertEqual(row["agent"], AGENT)
        self.assertGreaterEqual(row["calls"], row["answered"])
        self.assertGreaterEqual(row["talk_time"], 60)
        self.assertTrue(row["avg_mos"])
        frappe.set_user(OTHER_AGENT)
        self.assertEqual(
            voice_agent_activity.execute({"from_date": today, "to_date": today, "agent": AGENT})[1], []
        )
        with self.assertRaisesRegex(frappe.ValidationError, "From Date"):
            voice_agent_activity.execute({"from_date": today, "to_date": "2000-01-01"})
