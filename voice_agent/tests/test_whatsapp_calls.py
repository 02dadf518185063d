"""WhatsApp calls on a real site: the calls webhook both ways, the WhatsApp channel, the desk's endpoints,
call permissions, missed calls and call hours, against the loopback Graph fake (tests/fakes/whatsapp)
and a loopback sidecar that answers the contract's WhatsApp routes (requests checked against
contracts/sidecar-http.schema.json).

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_whatsapp_calls

Every test of TestWhatsAppCalls is rolled back (VoiceAgentTestCase); TestWhatsAppCallRace commits for
real (two connections accepting at once) and deletes what it made.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_to_date, get_datetime, now_datetime

from voice_agent.api import calls as call_api
from voice_agent.api import whatsapp as whatsapp_api
from voice_agent.api import whatsapp_calls as api
from voice_agent.contracts import definition_validator
from voice_agent.integrations.whatsapp import calls, webhook
from voice_agent.integrations.whatsapp.call_rules import whatsapp_participant_id
from voice_agent.integrations.whatsapp.errors import KNOWN_CODES, describe
from voice_agent.tests.utils import (
    Committed,
    VoiceAgentTestCase,
    as_user,
    committed_single,
    delete_for_real,
    ensure_user,
    http_request,
    load_fake,
    run_concurrently,
)

fake_module = load_fake("whatsapp")
hooks = fake_module.wh

APP_SECRET = "calls-app-secret-0123456789"
SIDECAR_SECRET = "calls-shared-secret-0123456789abcdef"
AGENT = "va-wacall-agent@example.com"
OTHER = "va-wacall-other@example.com"
OUTSIDER = "va-wacall-outsider@example.com"
MANAGER = "va-wacall-manager@example.com"
SIDECAR_USER = "va-wacall-sidecar@example.com"
WEBHOOK = "voice_agent.api.whatsapp.whatsapp_webhook"
ANSWER_SDP = hooks.SAMPLE_OFFER_SDP.replace("a=setup:actpass", "a=setup:active").replace("a=ice-lite\r\n", "")
OFFER_SDP = hooks.SAMPLE_OFFER_SDP.replace("a=ice-lite\r\n", "")
CALLING_CODES = sorted(c for c in KNOWN_CODES if 138000 <= c <= 138999)


class FakeSidecar:
    """The sidecar's HTTP API for rooms and WhatsApp legs; every request is checked against the contract
    and recorded. `fail[route] = (status, body)` answers a route with an error instead."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.rooms: dict[str, dict] = {}
        self.fail: dict[str, tuple[int, dict]] = {}
        self.contract_errors: list[str] = []
        fake = self
        routes = json.load(open(frappe.get_app_path("voice_agent", "..", "contracts", "methods.json")))["sidecarHttp"]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                parts = self.path.split("/")
                route = ("createRoom" if self.path == "/api/rooms" else "endCall" if self.path.endswith("/end")
                         and "/whatsapp/" not in self.path else {
                             "answer": "whatsappAnswer", "offer": "whatsappOffer",
                             "remote-answer": "whatsappRemoteAnswer", "end": "whatsappEnd"}.get(parts[-1]))
                fake.requests.append({"route": route, "path": self.path, "body": body})
                if self.headers.get("Authorization") != f"Bearer {SIDECAR_SECRET}":
                    return self._send(401, {"error": "unauthorized", "message": "bad secret"})
                if route is None:
                    return self._send(404, {"error": "not_found", "message": self.path})
                schema = routes[route]["request"].split("/")[-1]
                errors = [e.message for e in definition_validator("sidecar-http.schema.json", schema).iter_errors(body)]
                if errors:
                    fake.contract_errors += errors
                    return self._send(400, {"error": "invalid_request", "message": errors[0]})
                if route in fake.fail:
                    return self._send(*fake.fail[route])
                now = datetime.now(timezone.utc).isoformat()
                call = body.get("callId") or parts[3]
                if route == "createRoom":
                    fake.rooms[call] = {"state": "created", "legs": {}}
                    return self._send(201, {"callId": call, "state": "created", "createdAt": now, "participants": []})
                room = fake.rooms.get(call)
                if room is None:
                    return self._send(404, {"error": "room_not_found", "message": call})
                status = {"callId": call, "state": room["state"], "createdAt": now, "participants": []}
                if route == "endCall":
                    room["state"] = "ended"
                    return self._send(200, {**status, "state": "ended", "endReason": body.get("reason", "hangup"),
                                            "endedAt": now})
                if route == "whatsappAnswer":
                    room["legs"][body["participantId"]] = {"waCallId": body["waCallId"], "answer": None}
                    room["state"] = "ringing"
                    return self._send(201, {"participantId": body["participantId"], "waCallId": body["waCallId"],
                                            "sdpType": "answer", "sdp": ANSWER_SDP})
                if route == "whatsappOffer":
                    room["legs"][body["participantId"]] = {"waCallId": None, "answer": None}
                    return self._send(201, {"participantId": body["participantId"], "sdpType": "offer",
                                            "sdp": OFFER_SDP})
                leg = room["legs"].get(body["participantId"])
                if leg is None:
                    return self._send(404, {"error": "participant_not_found", "message": body["participantId"]})
                if route == "whatsappRemoteAnswer":
                    if leg["answer"]:
                        return self._send(409, {"error": "invalid_state", "message": "the leg has an answer"})
                    leg.update(answer=body["answer"], waCallId=body["waCallId"])
                    return self._send(200, status)
                room["state"] = "ended"
                return self._send(200, {**status, "state": "ended", "endReason": "remote_hangup", "endedAt": now})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def routes(self) -> list[str]:
        return [r["route"] for r in self.requests]

    def end_reasons(self) -> list[str | None]:
        return [r["body"].get("reason") for r in self.requests if r["route"] == "endCall"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WhatsAppCallsBase:
    """Helpers shared by both test classes (a mixin: they differ in how they keep the site clean)."""

    fake: object
    sidecar: FakeSidecar

    def graph_calls(self, action: str | None = None) -> list[dict]:
        bodies = [r.body for r in self.fake.requests_to("/calls", method="POST")]
        return [b for b in bodies if action is None or b.get("action") == action]


class TestWhatsAppCalls(WhatsAppCallsBase, VoiceAgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = fake_module.FakeWhatsApp(token="calls-token").start()
        cls.addClassCleanup(cls.fake.stop)
        cls.sidecar = FakeSidecar()
        cls.addClassCleanup(cls.sidecar.close)
        ensure_user(AGENT, "Voice Agent User", "Sales User")
        ensure_user(OTHER, "Voice Agent User", "Sales User")
        ensure_user(OUTSIDER, "Voice Agent User", "Sales User")
        ensure_user(MANAGER, "Voice Agent Manager", "Sales User")
        ensure_user(SIDECAR_USER, "Voice Sidecar")

    def setUp(self):
        super().setUp()
        self.fake.reset()
        self.fake.configure(auto_statuses=False, enforce_window=False)
        self.sidecar.requests.clear()
        self.sidecar.rooms.clear()
        self.sidecar.fail.clear()
        self.sidecar.contract_errors.clear()
        self.set_single("WhatsApp Settings", {"create_party_for_unknown_numbers": 1, "new_party_doctype": "Lead",
                                              "default_phone_region": "US", "raw_payload_retention_days": 30,
                                              "media_download_limit_mb": 100})
        self.configure_sidecar(self.sidecar.port)
        self.account = self.make_account()
        self.customer = f"1650555{uuid.uuid4().int % 10000:04d}"
        self.published: list[tuple[str, dict, str | None]] = []
        self.site_wide: list[str] = []  # our realtime events sent to every desk user of the site
        self.enqueued: list[dict] = []

    def tearDown(self):
        self.assertEqual(self.sidecar.contract_errors, [], "requests to the sidecar outside the contract")
        super().tearDown()

    def configure_sidecar(self, port: int) -> None:
        settings = frappe.get_single("MediaSoup WebRTC Settings")
        settings.update({"enabled": 1, "server_host": "127.0.0.1", "server_port": port, "use_https": 0,
                         "public_signaling_url": "https://rtc.example.com", "ring_timeout_sec": 60,
                         "max_call_duration_sec": 3600, "shared_secret": SIDECAR_SECRET, "turn_rest_secret": ""})
        settings.set("ice_servers", [])
        settings.save(ignore_permissions=True)

    def make_account(self, **values):
        doc = frappe.get_doc({
            "doctype": "WhatsApp Account", "title": f"Calls {uuid.uuid4().hex[:6]}", "enabled": 1,
            "phone_number_id": self.fake.phone_number_id, "waba_id": self.fake.waba_id,
            "access_token": "calls-token", "app_secret": APP_SECRET, "verify_token": "calls-verify",
            "graph_api_version": "v23.0", "team": [{"user": AGENT}, {"user": OTHER}], "default_owner": MANAGER,
            "calling_enabled": 1, "call_ring_timeout_sec": 25, **values,
        })
        with patch.dict(frappe.conf, {"developer_mode": 1}):
            doc.graph_base_url = self.fake.base_url
            doc.insert()
        return doc

    # --- webhook helpers ------------------------------------------------------------------------

    def post(self, body: dict | bytes, secret: str = APP_SECRET) -> dict:
        raw = hooks.encode(body)
        headers = {"X-Hub-Signature-256": hooks.sign(secret, raw), "Content-Type": "application/json"}
        with http_request(WEBHOOK, headers=headers, body=raw), patch("frappe.enqueue"), as_user("Guest"):
            return whatsapp_api.whatsapp_webhook()

    def deliver(self, body: dict) -> None:
        """A signed webhook, stored and processed as the job does (the steps after its commit included)."""
        result = self.post(body)
        self.assertEqual(result["status"], "accepted", result)
        name = hashlib_name(body)
        with self.capture(), as_user("Guest"):
            webhook.process_event(name)
        self.assertEqual(frappe.db.get_value("WhatsApp Webhook Event", name, "status"), "Processed",
                         frappe.db.get_value("WhatsApp Webhook Event", name, "error"))

    def capture(self):
        test = self

        class Capture:
            def __enter__(self):
                self.patches = [patch("frappe.publish_realtime", side_effect=self.publish),
                                patch("frappe.enqueue", side_effect=self.enqueue)]
                for p in self.patches:
                    p.start()

            def publish(self, event, message=None, user=None, doctype=None, docname=None, room=None, **kwargs):
                test.published.append((event, json.loads(json.dumps(message, default=str)), user))
                if not (user or room or doctype) and event.startswith(("voice_call", "whatsapp")):
                    test.site_wide.append(event)

            def enqueue(self, method, **kwargs):
                test.enqueued.append({"method": method, **kwargs})

            def __exit__(self, *exc):
                for p in self.patches:
                    p.stop()

        return Capture()

    def calls_body(self, *, calls_=(), statuses=(), contacts=(), errors=()) -> dict:
        return hooks.calls_webhook(waba_id=self.fake.waba_id, phone_number_id=self.fake.phone_number_id,
                                   display_phone_number=self.fake.phone.webhook_number, calls=list(calls_),
                                   statuses=list(statuses), contacts=list(contacts), errors=list(errors))

    def incoming(self, name: str = "Ada Lovelace") -> tuple[str, dict]:
        """The customer calls: the fake knows the call, and its connect webhook is delivered."""
        wacid = self.fake.incoming_call(self.customer, name=name)
        body = self.calls_body(calls_=[hooks.call_connect(wacid, from_=self.customer, to=self.fake.phone.webhook_number,
                                                          direction="USER_INITIATED", sdp=hooks.SAMPLE_OFFER_SDP)],
                               contacts=[hooks.contact(self.customer, name)])
        self.deliver(body)
        return wacid, body

    def call_of(self, wacid: str):
        return frappe.get_doc("Voice Call", {"whatsapp_call_id": wacid})

    def terminate(self, wacid: str, *, status: str = "COMPLETED", direction: str = "USER_INITIATED",
                  start: int | None = None, end: int | None = None, errors=None, callback: str | None = None):
        frm, to = (self.customer, self.fake.phone.webhook_number) if direction == "USER_INITIATED" else \
            (self.fake.phone.webhook_number, self.customer)
        item = hooks.call_terminate(wacid, from_=frm, to=to, direction=direction, status_=status, start_time=start,
                                    end_time=end, errors=errors, biz_opaque_callback_data=callback)
        body = self.calls_body(calls_=[item], errors=errors or ())
        self.deliver(body)
        return body

    def settle(self, call: str) -> None:
        self.assertIn(call, [e.get("call") for e in self.enqueued if e["method"] == calls.SETTLE],
                      "the ended call queued its settle job")
        with self.capture():
            calls.settle(call)

    def events(self, name: str) -> list[tuple[dict, str | None]]:
        return [(message, user) for event, message, user in self.published if event == name]

    def accept(self, call: str, user: str = AGENT) -> dict:
        with as_user(user), self.capture():
            return api.accept_whatsapp_call(call)

    def lead(self, **values) -> str:
        return frappe.get_doc({"doctype": "Lead", "first_name": "Grace", "last_name": "Caller",
                               "mobile_no": f"+{self.customer}", **values}).insert(ignore_permissions=True).name

    # --- account settings -------------------------------------------------------------------------

    def test_calling_settings_are_checked_on_the_account(self):
        def saved(**values):
            doc = frappe.get_doc("WhatsApp Account", self.account.name)
            doc.update(values)
            with patch.dict(frappe.conf, {"developer_mode": 1}):
                doc.save()

        self.assertRaisesRegex(frappe.ValidationError, "5 to 600", saved, call_ring_timeout_sec=2)
        self.assertRaisesRegex(frappe.ValidationError, "row 1: Monday ends", saved,
                               call_hours=[{"weekday": "Monday", "from_time": "18:00:00", "to_time": "09:00:00"}])
        self.assertRaisesRegex(frappe.ValidationError, "missed call", saved,
                               unanswered_call_action="Reject and send a message", missed_call_message="")
        saved(call_hours=[{"weekday": "Monday", "from_time": "09:00:00", "to_time": "17:00:00"}])

    # --- inbound (flow C) -----------------------------------------------------------------------

    def test_a_customers_call_rings_the_team_with_who_is_calling(self):
        self.deliver(self.calls_body())  # an empty calls change: nothing happens
        self.deliver(hooks.messages_webhook(phone_number_id=self.fake.phone_number_id,
                                            contacts=[hooks.contact(self.customer, "Ada Lovelace")],
                                            messages=[hooks.text(self.customer, "Can I call you about my order?")]))
        wacid, _body = self.incoming()
        call = self.call_of(wacid)
        self.assertEqual((call.channel, call.direction, call.state, call.agent), ("WhatsApp", "Inbound", "ringing", None))
        conversation = frappe.get_doc("WhatsApp Conversation", call.whatsapp_conversation)
        self.assertEqual((call.whatsapp_account, call.reference_doctype, call.reference_name),
                         (self.account.name, "Lead", conversation.party_name))
        self.assertEqual(call.party_name, "Ada Lovelace")
        # The sidecar: a room ringing for the account's ring time, and the leg answering Meta's offer.
        self.assertEqual(self.sidecar.routes(), ["createRoom", "whatsappAnswer"])
        create, answer = self.sidecar.requests
        self.assertEqual((create["body"]["callId"], create["body"]["ringTimeoutSec"]), (call.name, 25))
        self.assertEqual(answer["body"], {"participantId": whatsapp_participant_id(self.customer), "waCallId": wacid,
                                          "offer": hooks.SAMPLE_OFFER_SDP, "name": "Ada Lovelace"})
        # Graph: pre_accept with the leg's answer; nothing accepted yet.
        [pre_accept] = self.graph_calls()
        self.assertEqual((pre_accept["action"], pre_accept["call_id"], pre_accept["session"]),
                         ("pre_accept", wacid, {"sdp_type": "answer", "sdp": ANSWER_SDP}))
        self.assertEqual(call.whatsapp_answer_sdp, ANSWER_SDP)
        # Every available user of the team is rung, nobody else; the popup says who calls and what they wrote.
        incoming = self.events(calls.INCOMING_EVENT)
        self.assertEqual(sorted(user for _m, user in incoming), [AGENT, MANAGER, OTHER])  # the team, the assignee
        payload = incoming[0][0]
        self.assertMatchesContract("IncomingWhatsAppCall", payload)
        self.assertEqual((payload["call"], payload["caller_name"], payload["wa_id"], payload["party"]["name"]),
                         (call.name, "Ada Lovelace", self.customer, conversation.party_name))
        self.assertEqual([m["text"] for m in payload["last_messages"]], ["Can I call you about my order?"])
        deadline = datetime.fromisoformat(payload["ring_deadline"]) - datetime.fromisoformat(payload["started_at"])
        self.assertEqual(deadline, timedelta(seconds=25))
        self.assertEqual(sorted(call.rung_users.split()), [AGENT, MANAGER, OTHER])
        # Nobody outside the number's team: not in the popup, not on the site.
        self.assertEqual(self.site_wide, [])
        with as_user(AGENT):
            self.assertEqual([c["call"] for c in api.get_incoming_whatsapp_calls()["calls"]], [call.name])
        with as_user(OUTSIDER):
            self.assertEqual(api.get_incoming_whatsapp_calls()["calls"], [])

    def test_a_busy_user_is_not_rung(self):
        busy = frappe.get_doc({"doctype": "Voice Call", "channel": "Browser", "direction": "Outbound",
                               "agent": OTHER, "state": "connected", "started_at": now_datetime()})
        busy.insert(ignore_permissions=True)
        wacid, _ = self.incoming()
        self.assertEqual(sorted(user for _m, user in self.events(calls.INCOMING_EVENT)), [AGENT, MANAGER])

    def test_a_redelivered_call_event_changes_nothing(self):
        wacid, body = self.incoming()
        self.assertEqual(self.post(body)["status"], "duplicate")  # the same delivery again
        # The same event in another delivery (batched with a status): still one call, one pre_accept.
        again = self.calls_body(calls_=body["entry"][0]["changes"][0]["value"]["calls"],
                                contacts=[hooks.contact(self.customer, "Ada Lovelace")],
                                statuses=[hooks.call_status(hooks.new_wacid(), "RINGING", self.customer)])
        self.deliver(again)
        self.assertEqual(frappe.db.count("Voice Call", {"whatsapp_call_id": wacid}), 1)
        self.assertEqual(len(self.graph_calls("pre_accept")), 1)
        self.assertEqual(self.sidecar.routes().count("createRoom"), 1)

    def test_a_forged_calls_webhook_changes_nothing(self):
        wacid = self.fake.incoming_call(self.customer)
        body = self.calls_body(calls_=[hooks.call_connect(wacid, from_=self.customer, to="1555", sdp=OFFER_SDP,
                                                          direction="USER_INITIATED")])
        events = frappe.db.count("WhatsApp Webhook Event")
        self.assertRaises(frappe.AuthenticationError, self.post, body, "forged-app-secret")
        self.assertEqual(frappe.db.count("WhatsApp Webhook Event"), events)
        self.assertFalse(frappe.db.exists("Voice Call", {"whatsapp_call_id": wacid}))
        self.assertEqual((self.sidecar.requests, self.graph_calls()), ([], []))

    def test_the_first_to_accept_takes_the_call_and_the_others_are_told(self):
        wacid, _ = self.incoming()
        call = self.call_of(wacid).name
        answer = self.accept(call, AGENT)
        self.assertMatchesContract("JoinAnswer", answer)
        self.assertEqual((answer["call"], answer["role"], answer["participant_id"]), (call, "agent", AGENT))
        accept = self.graph_calls("accept")
        self.assertEqual([(a["call_id"], a["session"]["sdp"]) for a in accept], [(wacid, ANSWER_SDP)])
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.agent, doc.state), (AGENT, "ringing"))
        self.assertTrue(doc.whatsapp_accepted_at)
        told = self.events(calls.ANSWERED_EVENT)
        self.assertEqual(sorted(user for _m, user in told), sorted([AGENT, MANAGER, OTHER]))  # AGENT: other tabs
        self.assertMatchesContract("WhatsAppCallAnswered", told[0][0])
        self.assertEqual(told[0][0]["answered_by"], AGENT)
        with self.assertRaisesRegex(calls.CallTaken, "answered by"):
            self.accept(call, OTHER)
        self.assertEqual(self.accept(call, AGENT)["participant_id"], AGENT)  # their second tab: still theirs
        self.assertEqual(len(self.graph_calls("accept")), 1)
        with as_user(OUTSIDER), self.assertRaises(frappe.PermissionError):
            api.accept_whatsapp_call(call)
        # The taker's call: on the Lead's timeline for them, with who took it.
        from voice_agent.telephony.timeline import timeline_content

        with as_user(AGENT):
            cards = timeline_content(doc.reference_doctype, doc.reference_name)
        self.assertIn("taken by", cards[0]["content"])

    def test_accept_refused_by_meta_fails_the_call_with_the_reason(self):
        wacid, _ = self.incoming()
        call = self.call_of(wacid).name
        self.fake.fail_next(138007, path_contains="/calls")
        with self.assertRaisesRegex(frappe.ValidationError, "did not apply the call setup"):
            self.accept(call)
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.state, doc.end_reason, doc.whatsapp_error_code), ("failed", "whatsapp_error", 138007))

    def test_declined_by_everyone_it_rang_the_call_is_rejected_and_followed_up(self):
        self.lead(lead_owner=AGENT)
        wacid, _ = self.incoming()
        call = self.call_of(wacid)
        with as_user(AGENT), self.capture():
            first = api.decline_whatsapp_call(call.name)
        self.assertMatchesContract("DeclineAnswer", first)
        self.assertEqual((first["state"], first["declined_by"]), ("ringing", [AGENT]))
        with as_user(OTHER), self.capture():
            api.decline_whatsapp_call(call.name)
        with as_user(MANAGER), self.capture():
            last = api.decline_whatsapp_call(call.name)
        self.assertEqual((last["state"], last["end_reason"]), ("missed", "rejected"))
        self.settle(call.name)
        self.assertEqual([(c["action"], c["call_id"]) for c in self.graph_calls()][-1], ("reject", wacid))
        self.assertEqual(self.sidecar.routes()[-1], "endCall")
        self.assertEqual(self.sidecar.end_reasons()[-1], "rejected")
        # The number found the Contact ERPNext made for the Lead: the Lead's owner follows it up.
        todo = frappe.get_all("ToDo", filters={"description": ("like", f"%{call.name}%")},
                              fields=["allocated_to", "description", "reference_type", "reference_name"])
        self.assertEqual([(t.allocated_to, t.reference_type, t.reference_name) for t in todo],
                         [(AGENT, call.reference_doctype, call.reference_name)])
        self.assertIn("Missed WhatsApp call", todo[0].description)
        ended = self.events(calls.ENDED_EVENT)
        self.assertEqual(sorted(u for _m, u in ended), [AGENT, MANAGER, OTHER])
        self.assertMatchesContract("WhatsAppCallEnded", ended[0][0])
        # Settled once: the job again does nothing more.
        with self.capture():
            calls.settle(call.name)
        self.assertEqual(len(self.graph_calls("reject")), 1)
        self.assertEqual(frappe.db.count("ToDo", {"description": ("like", f"%{call.name}%")}), 1)

    def test_nobody_answering_in_time_the_sidecar_misses_it_and_meta_is_told(self):
        wacid, _ = self.incoming()
        call = self.call_of(wacid).name
        at = datetime.now(timezone.utc)
        event = {"eventId": str(uuid.uuid4()), "callId": call, "sequence": 3, "sidecarId": "test-sidecar",
                 "occurredAt": (at + timedelta(seconds=25)).isoformat().replace("+00:00", "Z"),
                 "type": "call.state_changed", "payload": {"from": "ringing", "to": "missed", "reason": "no_answer"}}
        with as_user(SIDECAR_USER), self.capture():
            call_api.report_call_event([event])
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.state, doc.end_reason), ("missed", "no_answer"))
        self.settle(call)
        self.assertEqual(self.graph_calls()[-1]["action"], "reject")
        self.assertTrue(frappe.db.get_value("Voice Call", call, "whatsapp_closed"))
        # No Lead owner set: the conversation's assignee (the number's default owner) follows it up.
        self.assertEqual(frappe.get_all("ToDo", filters={"description": ("like", f"%{call}%")}, pluck="allocated_to"),
                         [MANAGER])

    def test_a_settle_job_that_deadlocks_with_the_sidecars_reports_is_tried_again(self):
        wacid, _ = self.incoming()
        call = self.call_of(wacid).name
        with as_user(AGENT), self.capture():
            api.decline_whatsapp_call(call)
        with as_user(OTHER), self.capture():
            api.decline_whatsapp_call(call)
        with as_user(MANAGER), self.capture():
            api.decline_whatsapp_call(call)
        frappe.db.commit()  # as each request did: the job's rollback goes back to here
        real, attempts = calls._settle, []

        def deadlocking(name: str) -> None:
            attempts.append(name)
            if len(attempts) == 1:
                frappe.get_doc("Voice Call", name, for_update=True)
                raise frappe.QueryDeadlockError("Deadlock found when trying to get lock; try restarting transaction")
            real(name)

        with patch.object(calls, "_settle", side_effect=deadlocking):
            self.settle(call)
        self.assertEqual(attempts, [call, call])
        self.assertEqual([c["action"] for c in self.graph_calls("reject")], ["reject"])
        self.assertTrue(frappe.db.get_value("Voice Call", call, "whatsapp_closed"))
        self.assertEqual(frappe.db.count("ToDo", {"description": ("like", f"%{call}%")}), 1)

    def test_outside_call_hours_the_call_is_rejected_with_a_message(self):
        other_day = (now_datetime() + timedelta(days=1)).strftime("%A")
        doc = frappe.get_doc("WhatsApp Account", self.account.name)
        doc.append("call_hours", {"weekday": other_day, "from_time": "00:00:00", "to_time": "00:00:00"})
        doc.unanswered_call_action = "Reject and send a message"
        doc.missed_call_message = "Sorry we missed you: we call back between 9 and 5."
        with patch.dict(frappe.conf, {"developer_mode": 1}):
            doc.save()
        self.deliver(hooks.messages_webhook(phone_number_id=self.fake.phone_number_id,
                                            contacts=[hooks.contact(self.customer, "Ada")],
                                            messages=[hooks.text(self.customer, "hello")]))
        wacid, _ = self.incoming()
        call = self.call_of(wacid)
        self.assertEqual((call.state, call.end_reason), ("missed", "unavailable"))
        self.assertEqual((self.sidecar.requests, self.events(calls.INCOMING_EVENT)), ([], []))
        self.settle(call.name)
        self.assertEqual([c["action"] for c in self.graph_calls()], ["reject"])
        sent = frappe.get_all("WhatsApp Message", filters={"conversation": call.whatsapp_conversation,
                                                           "direction": "Outbound"}, pluck="text")
        self.assertEqual(sent, ["Sorry we missed you: we call back between 9 and 5."])
        # The same hours, today: it rings.
        doc.call_hours[0].weekday = now_datetime().strftime("%A")
        with patch.dict(frappe.conf, {"developer_mode": 1}):
            doc.save()
        frappe.clear_document_cache("WhatsApp Account", doc.name)
        wacid, _ = self.incoming()
        self.assertEqual(self.call_of(wacid).state, "ringing")

    def test_calling_off_rejects_and_a_closed_window_keeps_the_missed_message_back(self):
        self.account.db_set({"calling_enabled": 0, "unanswered_call_action": "Reject and send a message",
                             "missed_call_message": "We missed your call."})
        frappe.clear_document_cache("WhatsApp Account", self.account.name)
        wacid, _ = self.incoming()
        call = self.call_of(wacid)
        self.assertEqual((call.state, call.end_reason), ("missed", "unavailable"))
        self.settle(call.name)
        doc = frappe.get_doc("Voice Call", call.name)
        self.assertIn("missed-call message was not sent", doc.error_message)
        self.assertEqual(frappe.db.count("WhatsApp Message", {"conversation": call.whatsapp_conversation,
                                                             "direction": "Outbound"}), 0)

    def test_the_customer_hanging_up_while_it_rings_is_a_missed_call(self):
        wacid, _ = self.incoming()
        body = self.terminate(wacid, status="FAILED")
        call = self.call_of(wacid)
        self.assertEqual((call.state, call.end_reason, call.ended_by, call.whatsapp_status, call.whatsapp_closed),
                         ("missed", "no_answer", "whatsapp", "FAILED", 1))
        self.settle(call.name)
        self.assertEqual([c["action"] for c in self.graph_calls()], ["pre_accept"])  # Meta knows: no reject
        self.assertEqual(self.sidecar.routes()[-1], "endCall")
        # Redelivered in another body: nothing moves, nothing is queued again.
        before = (call.modified, len(self.enqueued))
        value = body["entry"][0]["changes"][0]["value"]
        self.deliver(self.calls_body(calls_=value["calls"], statuses=[hooks.call_status(hooks.new_wacid(), "RINGING")]))
        self.assertEqual(frappe.db.count("Voice Call", {"whatsapp_call_id": wacid}), 1)
        self.assertEqual(frappe.db.get_value("Voice Call", call.name, "state"), "missed")
        self.assertEqual(len([e for e in self.enqueued[before[1]:] if e["method"] == calls.SETTLE]), 0)

    def test_a_terminate_keeps_metas_times_beside_ours(self):
        wacid, _ = self.incoming()
        call = self.call_of(wacid).name
        self.accept(call)
        start = int(datetime.now(timezone.utc).timestamp())
        self.terminate(wacid, start=start, end=start + 42)
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.state, doc.end_reason, doc.ended_by), ("ended", "remote_hangup", "whatsapp"))
        self.assertEqual((doc.whatsapp_status, doc.whatsapp_duration), ("COMPLETED", 42))
        self.assertEqual((get_datetime(doc.whatsapp_end_time) - get_datetime(doc.whatsapp_start_time)).seconds, 42)
        # The room ends with the call's reason: a desk that hears it from the call server first reads the same.
        self.settle(call)
        self.assertEqual(self.sidecar.end_reasons()[-1], "remote_hangup")
        update = [m for m, _u in self.events("voice_call_update") if m["event"] == "whatsapp.terminated"]
        self.assertMatchesContract("VoiceCallUpdate", update[-1])
        self.assertEqual((update[-1]["channel"], update[-1]["direction"]), ("WhatsApp", "Inbound"))
        self.assertEqual((update[-1]["whatsapp"]["call_id"], update[-1]["whatsapp"]["status"],
                          update[-1]["whatsapp"]["duration"]), (wacid, "COMPLETED", 42))

    def test_every_calling_error_in_a_terminate_ends_the_call_with_its_sentence(self):
        for code in CALLING_CODES:
            with self.subTest(code=code):
                self.customer = f"1650556{uuid.uuid4().int % 10000:04d}"
                wacid, _ = self.incoming()
                self.accept(self.call_of(wacid).name)
                self.terminate(wacid, status="FAILED", errors=[hooks.error(code, f"Error {code}", "details")])
                call = self.call_of(wacid)
                self.assertEqual((call.state, call.end_reason, call.whatsapp_error_code),
                                 ("failed", "whatsapp_error", code))
                self.assertEqual(call.error_message, describe(code).message)

    def test_pre_accept_refused_or_no_call_server_fails_the_call_and_meta_is_told(self):
        self.fake.fail_next(138007, path_contains="/calls")
        wacid, _ = self.incoming()
        call = self.call_of(wacid)
        self.assertEqual((call.state, call.end_reason, call.whatsapp_error_code), ("failed", "whatsapp_error", 138007))
        self.assertEqual(self.events(calls.INCOMING_EVENT), [])
        self.settle(call.name)
        self.assertEqual(self.graph_calls()[-1]["action"], "reject")
        self.configure_sidecar(_closed_port())
        self.customer = f"1650557{uuid.uuid4().int % 10000:04d}"
        wacid, _ = self.incoming()
        call = self.call_of(wacid)
        self.assertEqual(call.state, "failed")
        self.assertIn("not reachable", call.error_message)
        self.settle(call.name)
        self.assertEqual((self.graph_calls()[-1]["action"], self.graph_calls()[-1]["call_id"]), ("reject", wacid))

    def test_hanging_up_from_the_desk_terminates_at_meta_and_ends_the_room(self):
        wacid, _ = self.incoming()
        call = self.call_of(wacid).name
        self.accept(call)
        with as_user(AGENT), self.capture():
            ended = call_api.end_call(call)
        self.assertEqual((ended["state"], ended["end_reason"]), ("ended", "hangup"))
        self.assertEqual(self.graph_calls()[-1]["action"], "terminate")
        self.assertEqual(self.sidecar.routes()[-1], "endCall")
        self.assertEqual(self.sidecar.end_reasons()[-1], "ended_by_frappe")  # before the end is recorded
        self.assertTrue(frappe.db.get_value("Voice Call", call, "whatsapp_closed"))

    # --- outbound (flow B) ----------------------------------------------------------------------

    def start_call(self, lead: str, user: str = AGENT) -> dict:
        with as_user(user), self.capture():
            return api.start_whatsapp_call("Lead", lead)

    def test_a_call_without_permission_says_to_ask_first(self):
        lead = self.lead()
        self.fake.set_call_permission(self.customer, "no_permission")
        calls_before = frappe.db.count("Voice Call")
        with self.assertRaisesRegex(calls.PermissionNeeded, "Ask for permission first"):
            self.start_call(lead)
        self.assertEqual(frappe.db.count("Voice Call"), calls_before)
        self.assertEqual((self.sidecar.requests, self.graph_calls()), ([], []))

    def test_an_outbound_call_rings_the_customer_and_connects_through_the_webhooks(self):
        lead = self.lead()
        answer = self.start_call(lead)
        self.assertMatchesContract("JoinAnswer", answer)
        call = frappe.get_doc("Voice Call", answer["call"])
        [connect] = self.graph_calls()
        self.assertEqual((connect["action"], connect["to"], connect["session"], connect["biz_opaque_callback_data"]),
                         ("connect", self.customer, {"sdp_type": "offer", "sdp": OFFER_SDP}, call.name))
        wacid = call.whatsapp_call_id
        self.assertTrue(wacid.startswith("wacid."))
        self.assertEqual((call.channel, call.direction, call.whatsapp_account), ("WhatsApp", "Outbound", self.account.name))
        self.assertEqual(self.sidecar.routes(), ["createRoom", "whatsappOffer"])
        conversation = frappe.get_doc("WhatsApp Conversation", call.whatsapp_conversation)
        self.assertEqual((call.reference_name, conversation.wa_id, conversation.call_permission),
                         (lead, self.customer, "Temporary"))
        # Meta: the customer's answer, ringing, accepted.
        connect_answer = hooks.call_connect(wacid, from_=self.fake.phone.webhook_number, to=self.customer,
                                            direction="BUSINESS_INITIATED", sdp=hooks.SAMPLE_ANSWER_SDP,
                                            biz_opaque_callback_data=call.name)
        self.deliver(self.calls_body(calls_=[connect_answer],
                                     statuses=[hooks.call_status(wacid, "RINGING", self.customer)]))
        remote = [r for r in self.sidecar.requests if r["route"] == "whatsappRemoteAnswer"]
        self.assertEqual([r["body"] for r in remote], [{"participantId": whatsapp_participant_id(self.customer),
                                                        "waCallId": wacid, "answer": hooks.SAMPLE_ANSWER_SDP}])
        self.assertEqual(frappe.db.get_value("Voice Call", call.name, "whatsapp_status"), "RINGING")
        # Redelivered answer: the leg has it already (409), nothing fails.
        self.deliver(self.calls_body(calls_=[connect_answer]))
        self.assertEqual(frappe.db.get_value("Voice Call", call.name, "state"), "created")
        # ACCEPTED arrives in the messages field here: a status never moves back to RINGING after it.
        self.deliver(hooks.messages_webhook(phone_number_id=self.fake.phone_number_id,
                                            statuses=[hooks.call_status(wacid, "ACCEPTED", self.customer)]))
        self.deliver(self.calls_body(statuses=[hooks.call_status(wacid, "RINGING", self.customer)]))
        doc = frappe.get_doc("Voice Call", call.name)
        self.assertEqual(doc.whatsapp_status, "ACCEPTED")
        self.assertTrue(doc.whatsapp_accepted_at)
        self.terminate(wacid, direction="BUSINESS_INITIATED", start=1764400000, end=1764400061)
        doc = frappe.get_doc("Voice Call", call.name)
        self.assertEqual((doc.state, doc.end_reason, doc.whatsapp_duration), ("ended", "remote_hangup", 61))
        self.settle(call.name)
        self.assertEqual([c["action"] for c in self.graph_calls()], ["connect"])  # Meta ended it: no terminate

    def test_meta_answering_before_connect_returned_finds_the_call_by_our_name(self):
        lead = self.lead()
        call = self.start_call(lead)["call"]
        wacid = frappe.db.get_value("Voice Call", call, "whatsapp_call_id")
        frappe.db.set_value("Voice Call", call, "whatsapp_call_id", None)
        self.deliver(self.calls_body(calls_=[hooks.call_connect(
            wacid, from_=self.fake.phone.webhook_number, to=self.customer, direction="BUSINESS_INITIATED",
            sdp=hooks.SAMPLE_ANSWER_SDP, biz_opaque_callback_data=call)]))
        self.assertEqual(frappe.db.get_value("Voice Call", call, "whatsapp_call_id"), wacid)
        self.assertEqual(self.sidecar.routes()[-1], "whatsappRemoteAnswer")

    def test_the_customer_declining_or_not_answering_ends_the_call_with_its_reason(self):
        lead = self.lead()
        call = self.start_call(lead)["call"]
        wacid = frappe.db.get_value("Voice Call", call, "whatsapp_call_id")
        self.deliver(self.calls_body(statuses=[hooks.call_status(wacid, "REJECTED", self.customer)]))
        doc = frappe.get_doc("Voice Call", call)
        self.assertEqual((doc.state, doc.end_reason, doc.ended_by), ("ended", "rejected", "whatsapp"))
        self.settle(call)
        self.assertEqual([c["action"] for c in self.graph_calls()], ["connect"])
        self.assertEqual(self.sidecar.routes()[-1], "endCall")
        self.customer = f"1650558{uuid.uuid4().int % 10000:04d}"
        call = self.start_call(self.lead())["call"]
        wacid = frappe.db.get_value("Voice Call", call, "whatsapp_call_id")
        self.terminate(wacid, status="FAILED", direction="BUSINESS_INITIATED")
        self.assertEqual(frappe.db.get_value("Voice Call", call, ["state", "end_reason"]), ("missed", "no_answer"))
        # With the agent already in the room the call is "connecting", which cannot become "missed".
        self.customer = f"1650558{uuid.uuid4().int % 10000:04d}"
        call = self.start_call(self.lead())["call"]
        wacid = frappe.db.get_value("Voice Call", call, "whatsapp_call_id")
        at = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        joined = [{"eventId": str(uuid.uuid4()), "callId": call, "sequence": n, "sidecarId": "test-sidecar",
                   "occurredAt": at, "type": "call.state_changed", "payload": {"from": src, "to": dst}}
                  for n, (src, dst) in enumerate((("created", "ringing"), ("ringing", "connecting")), start=1)]
        with as_user(SIDECAR_USER), self.capture():
            call_api.report_call_event(joined)
        self.terminate(wacid, status="FAILED", direction="BUSINESS_INITIATED")
        self.assertEqual(frappe.db.get_value("Voice Call", call, ["state", "end_reason"]), ("ended", "no_answer"))

    def test_every_calling_error_of_connect_is_a_clear_message_and_a_failed_call(self):
        for code in CALLING_CODES:
            with self.subTest(code=code):
                self.customer = f"1650559{uuid.uuid4().int % 10000:04d}"
                lead = self.lead()
                self.fake.fail_next(code, path_contains="/calls")
                names = set(frappe.get_all("Voice Call", pluck="name"))
                with self.assertRaises(frappe.ValidationError) as raised:
                    self.start_call(lead)
                self.assertIn(describe(code).message, str(raised.exception))
                [call] = set(frappe.get_all("Voice Call", pluck="name")) - names
                doc = frappe.get_doc("Voice Call", call)
                self.assertEqual((doc.state, doc.end_reason, doc.whatsapp_error_code),
                                 ("failed", "whatsapp_error", code))

    def test_a_call_from_a_number_without_calling_is_refused(self):
        lead = self.lead()
        self.account.db_set("calling_enabled", 0)
        with self.assertRaisesRegex(frappe.ValidationError, "No WhatsApp number with calling on"):
            self.start_call(lead)
        self.account.db_set("calling_enabled", 1)
        with self.assertRaisesRegex(frappe.PermissionError, "not in its team"):
            with as_user(OUTSIDER), self.capture():
                api.start_whatsapp_call("Lead", lead, self.account.name)

    def test_the_desk_knows_at_boot_which_numbers_it_may_call_from(self):
        from voice_agent.telephony.settings import boot_session

        def accounts(user: str) -> list[str]:
            with as_user(user):
                bootinfo = frappe._dict()
                boot_session(bootinfo)
            return [a["name"] for a in bootinfo.voice_agent["whatsapp_calling_accounts"]]

        self.assertIn(self.account.name, accounts(AGENT))
        self.assertNotIn(self.account.name, accounts(OUTSIDER))
        self.account.db_set("calling_enabled", 0)
        self.assertNotIn(self.account.name, accounts(AGENT))

    # --- permissions ----------------------------------------------------------------------------

    def conversation_with_window(self):
        self.deliver(hooks.messages_webhook(phone_number_id=self.fake.phone_number_id,
                                            contacts=[hooks.contact(self.customer, "Ada")],
                                            messages=[hooks.text(self.customer, "hi")]))
        return frappe.get_doc("WhatsApp Conversation", {"account": self.account.name, "wa_id": self.customer})

    def test_the_permission_and_its_limits_are_read_from_graph_and_stored(self):
        conversation = self.conversation_with_window()
        self.fake.set_call_permission(self.customer, "no_permission")
        with as_user(AGENT):
            view = api.get_call_permission(conversation.name)
        self.assertMatchesContract("CallPermission", view)
        self.assertEqual((view["status"], view["can_call"], view["can_request"]), ("No permission", False, True))
        self.assertEqual([(lim["time_period"], lim["max_allowed"]) for lim in view["limits"]["send_call_permission_request"]],
                         [("PT24H", 1), ("P7D", 2)])  # as the fake's Graph says, not assumed
        self.assertEqual(view["calls_remaining"], 100)
        stored = frappe.get_doc("WhatsApp Conversation", conversation.name)
        self.assertEqual(stored.call_permission, "No permission")
        self.assertTrue(stored.call_permission_checked_at)
        self.assertEqual(json.loads(stored.call_permission_limits)[0]["action_name"], "send_call_permission_request")
        expires = int((datetime.now(timezone.utc) + timedelta(days=3)).timestamp())
        self.fake.set_call_permission(self.customer, "temporary", expires)
        with as_user(AGENT):
            view = api.get_call_permission(reference_doctype="Lead", reference_name=stored.party_name)
        self.assertEqual((view["status"], view["can_call"]), ("Temporary", True))
        self.assertEqual(datetime.fromisoformat(view["expires_at"]).timestamp(), expires)
        with as_user(OUTSIDER), self.assertRaises(frappe.PermissionError):
            api.get_call_permission(conversation.name)

    def test_asking_permission_sends_the_request_and_respects_graphs_limit(self):
        conversation = self.conversation_with_window()
        self.account.db_set("call_permission_request_text", "May we call you about your order?")
        frappe.clear_document_cache("WhatsApp Account", self.account.name)
        self.fake.set_call_permission(self.customer, "no_permission")
        with as_user(AGENT), patch("frappe.enqueue"):
            answer = api.request_call_permission(conversation.name)
        self.assertMatchesContract("PermissionRequestAnswer", answer)
        message = frappe.get_doc("WhatsApp Message", answer["message"]["name"])
        self.assertEqual((message.message_type, message.text), ("call_permission_request", "May we call you about your order?"))
        with patch("frappe.enqueue"):
            from voice_agent.integrations.whatsapp import outbound

            outbound.send(message.name)
        [sent] = [m for m in self.fake.sent_messages() if m["type"] == "interactive"]
        self.assertEqual(sent["payload"]["interactive"]["type"], "call_permission_request")
        self.assertTrue(frappe.db.get_value("WhatsApp Conversation", conversation.name, "call_permission_requested_at"))
        # Graph now counts one request today, its limit: the next one is refused with when it is allowed.
        with as_user(AGENT), self.assertRaisesRegex(frappe.ValidationError, "limit of permission requests"):
            api.request_call_permission(conversation.name)

    def test_asking_permission_is_refused_outside_the_window_or_when_given(self):
        conversation = self.conversation_with_window()
        self.fake.set_call_permission(self.customer, "permanent")
        with as_user(AGENT), self.assertRaisesRegex(frappe.ValidationError, "already allows calls for good"):
            api.request_call_permission(conversation.name)
        frappe.db.set_value("WhatsApp Conversation", conversation.name, "window_ends_at",
                            add_to_date(now_datetime(), hours=-1))
        with as_user(AGENT), self.assertRaisesRegex(frappe.ValidationError, "within 24 hours"):
            api.request_call_permission(conversation.name)

    def test_the_customers_permission_reply_is_stored_with_its_expiry(self):
        conversation = self.conversation_with_window()
        expires = int((datetime.now(timezone.utc) + timedelta(days=7)).timestamp())
        reply = hooks.call_permission_reply(self.customer, "accept", context_id=hooks.new_wamid(),
                                            expiration_timestamp=expires)
        self.deliver(hooks.messages_webhook(phone_number_id=self.fake.phone_number_id,
                                            contacts=[hooks.contact(self.customer, "Ada")], messages=[reply]))
        doc = frappe.get_doc("WhatsApp Conversation", conversation.name)
        self.assertEqual((doc.call_permission, doc.call_permission_answer), ("Temporary", "Accepted"))
        self.assertEqual(int(get_datetime(doc.call_permission_expires_at).timestamp()),
                         int(calls._local(datetime.fromtimestamp(expires, timezone.utc)).timestamp()))
        self.assertTrue(frappe.db.exists("WhatsApp Message", {"wamid": reply["id"]}))  # kept as a message too
        pushed = self.events(calls.PERMISSION_EVENT)
        self.assertIn(AGENT, [u for _m, u in pushed])
        self.assertMatchesContract("CallPermission", pushed[0][0])
        declined = hooks.call_permission_reply(self.customer, "reject", context_id=hooks.new_wamid())
        self.deliver(hooks.messages_webhook(phone_number_id=self.fake.phone_number_id,
                                            contacts=[hooks.contact(self.customer, "Ada")], messages=[declined]))
        doc.reload()
        self.assertEqual((doc.call_permission, doc.call_permission_answer, doc.call_permission_expires_at),
                         ("No permission", "Declined", None))


def hashlib_name(body: dict) -> str:
    import hashlib

    return hashlib.sha256(hooks.encode(body)).hexdigest()


class TestWhatsAppCallRace(WhatsAppCallsBase, FrappeTestCase):
    """Two desk users accept the same call at the same moment, each on their own connection."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = fake_module.FakeWhatsApp(token="race-token").start()
        cls.addClassCleanup(cls.fake.stop)

    def setUp(self):
        frappe.set_user("Administrator")
        self.committed = Committed()
        self.made: list[tuple[str, str]] = []
        self.made_users: list[str] = []
        self.addCleanup(self._check_site_left_as_found)
        self.addCleanup(self._forget_deleted_user_settings)
        self.addCleanup(self.committed.delete_all)
        self.addCleanup(lambda: setattr(self, "made", list(self.committed.docs)))  # runs first
        settings = committed_single("MediaSoup WebRTC Settings", {
            "enabled": 1, "server_host": "127.0.0.1", "server_port": 3999, "public_signaling_url": "https://rtc.example.com"},
            passwords={"shared_secret": SIDECAR_SECRET})
        settings.__enter__()
        self.addCleanup(settings.__exit__, None, None, None)

    def _forget_deleted_user_settings(self):
        # Deleting a user deletes its Notification Settings, which Frappe keeps as a Deleted Document, and
        # leaves the "shared with" comment of the user's own record.
        if self.made_users:
            frappe.db.delete("Deleted Document", {"deleted_doctype": "Notification Settings",
                                                  "deleted_name": ("in", self.made_users)})
            frappe.db.delete("Comment", {"reference_doctype": "User", "reference_name": ("in", self.made_users),
                                         "comment_type": "Shared"})
            # ... and the "Deleted" feed line of those settings, which names the user in its subject only.
            frappe.db.delete("Comment", {"comment_type": "Deleted", "reference_doctype": "Notification Settings",
                                         "subject": ("in", [f"Notification Settings {u}" for u in self.made_users])})
            frappe.db.commit()

    def _check_site_left_as_found(self):
        # Other work may run on the site meanwhile: what this test made is counted by its names.
        made = [(doctype, name) for doctype, name in self.made if frappe.db.exists(doctype, name)]
        self.assertEqual(made, [], "the test left rows behind")
        names = [n for _d, n in self.made] + self.made_users or [""]
        self.assertEqual(frappe.db.count("Deleted Document", {"deleted_name": ("in", names)}), 0)
        for email in self.made_users:
            traces = {dt: frappe.db.count(dt, {field: email}) for dt, field in (
                ("Contact", "email_id"), ("Notification Settings", "name"), ("DocShare", "user"),
                ("Has Role", "parent"), ("Version", "docname"), ("ToDo", "allocated_to"),
                ("Comment", "reference_name"))}
            traces["Comment (deleted settings)"] = frappe.db.count(
                "Comment", {"comment_type": "Deleted", "subject": f"Notification Settings {email}"})
            self.assertEqual(traces, dict.fromkeys(traces, 0), f"{email} left traces")

    def user(self) -> str:
        """A desk user made for real (the threads must see it); deleted afterwards with the Contact and
        settings Frappe makes for every user."""
        email = f"va-race-{uuid.uuid4().hex[:8]}@example.com"
        self.committed.insert({"doctype": "User", "email": email, "first_name": email.split("@")[0],
                               "send_welcome_email": 0, "user_image": "/assets/frappe/images/ui/avatar.png",
                               "roles": [{"role": "Voice Agent User"}]})
        self.made_users.append(email)
        for contact in frappe.get_all("Contact", filters={"user": email}, pluck="name"):
            self.committed.add("Contact", contact)  # deleted before its user
        return email

    def test_two_concurrent_accepts_one_takes_the_call_the_other_is_told_who(self):
        first, second = self.user(), self.user()
        with patch.dict(frappe.conf, {"developer_mode": 1}):
            account = self.committed.insert({
                "doctype": "WhatsApp Account", "title": f"Race {uuid.uuid4().hex[:6]}", "enabled": 1,
                "phone_number_id": self.fake.phone_number_id, "waba_id": self.fake.waba_id,
                "access_token": "race-token", "app_secret": APP_SECRET, "verify_token": "race-verify",
                "graph_api_version": "v23.0", "graph_base_url": self.fake.base_url, "calling_enabled": 1,
                "team": [{"user": first}, {"user": second}]})
        wacid = self.fake.incoming_call("16505550199")
        call = frappe.get_doc({"doctype": "Voice Call", "channel": "WhatsApp", "direction": "Inbound",
                               "state": "ringing", "started_at": now_datetime(), "whatsapp_call_id": wacid,
                               "whatsapp_account": account.name, "whatsapp_answer_sdp": ANSWER_SDP,
                               "rung_users": f"{first}\n{second}", "party_name": "Race Customer"})
        call.insert(ignore_permissions=True)
        frappe.db.commit()
        self.committed.add("Voice Call", call.name)
        users = (first, second)

        def take(index: int) -> dict:
            frappe.set_user(users[index])
            with patch("frappe.publish_realtime"), patch("frappe.enqueue"):
                return api.accept_whatsapp_call(call.name)

        outcomes = run_concurrently(take, 2)
        won = [o for o in outcomes if o.value]
        lost = [o for o in outcomes if o.error]
        self.assertEqual((len(won), len(lost)), (1, 1), [o.error for o in outcomes])
        winner = won[0].value["participant_id"]
        self.assertIsInstance(lost[0].error, calls.CallTaken)
        self.assertIn(f"answered by {frappe.utils.get_fullname(winner)}", str(lost[0].error))
        self.assertEqual(frappe.db.get_value("Voice Call", call.name, "agent"), winner)
        self.assertEqual(len(self.graph_calls("accept")), 1)
        delete_for_real("Voice Call", call.name)
