"""AI voice agent (flow A) on a real site: doctypes, permissions, every endpoint, idempotency and the
rate limit, against the loopback fake of Ultravox (tests/fakes/ultravox).

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_voice_agent

Every test is rolled back (voice_agent.tests.utils.VoiceAgentTestCase): the site keeps none of it.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from unittest.mock import patch

import frappe
from frappe.utils import add_days, add_to_date, now_datetime, nowdate
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from voice_agent.actions import runner
from voice_agent.api import analytics, business_logic, voice_processor, webhook_handlers
from voice_agent.integrations import webhook_inbox
from voice_agent.integrations.ultravox import webhook as ultravox_webhook
from voice_agent.integrations.ultravox.tools import TOOL_SECRET_HEADER
from voice_agent.portal import sessions
from voice_agent.tests.utils import (
    SITE_URL,
    VoiceAgentTestCase,
    as_user,
    ensure_user,
    http_request,
    load_fake,
)
from voice_agent.voice_agent.report.voice_agent_analytics import voice_agent_analytics
from voice_agent.web.secrets import hash_secret

_fake = load_fake("ultravox")
FakeUltravox, signed_webhook_headers = _fake.FakeUltravox, _fake.signed_webhook_headers
SITE_ORIGIN = SITE_URL
WEBHOOK_SECRET = "unit-webhook-secret"
USER = "va-ultravox-user@example.com"
MANAGER = "va-ultravox-manager@example.com"


class TestVoiceAgent(VoiceAgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeUltravox(ws_port=None, api_key="unit-key").start()
        cls.addClassCleanup(cls.fake.stop)
        ensure_user(USER, "Voice Agent User")
        ensure_user(MANAGER, "Voice Agent Manager")

    def setUp(self):
        super().setUp()
        self.fake.set_mode("ok")
        self.fake.state.requests.clear()
        self.set_single("Voice Agent Settings", {
            "enabled": 1, "api_base_url": self.fake.base_url, "tool_base_url": SITE_URL,
            "allowed_origins": "https://shop.example.com", "rate_limit_per_hour": 1000,
            "max_concurrent_sessions": 1000, "max_session_duration_sec": 600, "webhook_tolerance_sec": 60,
        }, passwords={"ultravox_api_key": "unit-key", "webhook_secret": WEBHOOK_SECRET, "previous_webhook_secret": ""})
        self.profile = self.make_profile()

    def make_profile(self, **values):
        doc = frappe.get_doc({
            "doctype": "Voice Agent Profile", "title": f"Unit {uuid.uuid4().hex[:8]}", "enabled": 1, "is_public": 1,
            "use_case": "Customer Support", "system_prompt": "Be brief.", "greeting": "Hi!", "max_duration_sec": 900,
            "tools": [{"tool": "create_support_ticket"}, {"tool": "book_appointment"}], **values,
        })
        return doc.insert()

    def start(self, origin: str = SITE_ORIGIN, profile: str | None = None, ip: str = "10.9.8.7") -> dict:
        with http_request("voice_agent.api.voice_processor.create_session",
                          headers={"Origin": origin} if origin else {}, ip=ip):
            return voice_processor.create_session(profile or self.profile.name, f"{SITE_ORIGIN}/voice-agent",
                                                  {"source": "page"})

    def call_of(self, started: dict) -> dict:
        return self.fake.state.calls[started["join_url"].rsplit("/", 1)[-1]]

    def tool_secret(self, call: dict) -> str:
        params = call["selectedTools"][0]["temporaryTool"]["staticParameters"]
        return next(p["value"] for p in params if p["location"] == "PARAMETER_LOCATION_HEADER")

    def run_tool(self, fn, secret: str | None, **args):
        headers = {TOOL_SECRET_HEADER: secret} if secret else {}
        with http_request(f"voice_agent.api.business_logic.{fn.__name__}", headers=headers), as_user("Guest"):
            return fn(**args)

    # --- doctypes and permissions ------------------------------------------------------------
    def test_settings_validate_origins_and_limits(self):
        settings = frappe.get_single("Voice Agent Settings")
        settings.api_base_url = ""
        settings.allowed_origins = "not a url"
        self.assertRaisesRegex(frappe.ValidationError, "Allowed origin", settings.save)
        settings.reload()
        settings.api_base_url, settings.max_session_duration_sec = "", 5
        self.assertRaisesRegex(frappe.ValidationError, "maximum session duration", settings.save)

    def test_a_custom_ultravox_address_needs_developer_mode(self):
        """The API key goes to that address: outside developer mode only Ultravox's own is accepted."""
        settings = frappe.get_single("Voice Agent Settings")
        settings.api_base_url = "https://ultravox.example.net"
        with patch.dict(frappe.conf, {"developer_mode": 0}):
            self.assertRaisesRegex(frappe.ValidationError, "developer mode", settings.save)
        settings = frappe.get_single("Voice Agent Settings")
        settings.api_base_url = "https://ultravox.example.net"
        with patch.dict(frappe.conf, {"developer_mode": 1}):
            settings.save()

    def test_only_allowed_origins_may_frame_the_page_and_nobody_the_call_page(self):
        from werkzeug.wrappers import Response

        from voice_agent import page_headers

        def policy(path: str) -> str | None:
            response = Response()
            page_headers.add_frame_ancestors(response, Request(EnvironBuilder(path=path).get_environ()))
            return response.headers.get("Content-Security-Policy")

        self.assertEqual(policy("/voice-agent"), "frame-ancestors 'self' https://shop.example.com")
        self.assertEqual(policy("/call"), "frame-ancestors 'self'")
        self.assertIsNone(policy("/app/voice-session"))

    def test_profile_validates_temperature_and_duplicate_tools(self):
        self.assertRaises(frappe.ValidationError, self.make_profile, temperature=1.5)
        self.assertRaises(frappe.ValidationError, self.make_profile,
                          tools=[{"tool": "book_appointment"}, {"tool": "book_appointment"}])

    def test_role_permissions(self):
        frappe.set_user(USER)
        self.assertTrue(frappe.has_permission("Voice Session", "read"))
        self.assertFalse(frappe.has_permission("Voice Session", "write"))
        self.assertFalse(frappe.has_permission("Voice Agent Profile", "write"))
        self.assertFalse(frappe.has_permission("Voice Agent Settings", "read"))
        self.assertFalse(frappe.has_permission("Voice Webhook Event", "read"))
        frappe.set_user(MANAGER)
        for doctype in ("Voice Agent Settings", "Voice Agent Profile", "Voice Session", "Voice Webhook Event"):
            self.assertTrue(frappe.has_permission(doctype, "read"), doctype)
        self.assertTrue(frappe.has_permission("Voice Agent Profile", "create"))
        frappe.set_user("Guest")
        self.assertFalse(frappe.has_permission("Voice Session", "read"))

    def test_users_read_what_their_work_needs_and_nobody_reads_secret_hashes(self):
        """A manager reads everything but the secret hashes; a Voice Agent User reads a session's outcome,
        summary and documents, not the visitor's address, page, transcript or what they told the tools."""
        from frappe import client

        started = self.start()
        sid = started["session_id"]
        secret = self.tool_secret(self.call_of(started))
        self.run_tool(business_logic.create_support_ticket, secret, voice_session=sid, customer_name="Ann",
                      subject="Printer jams", description="Paper stuck", email="ann.private@example.com")
        frappe.db.set_value("Voice Session", sid, {"transcript": "User: my card is 4111", "short_summary": "Printer"})
        interaction = frappe.db.get_value("Voice Interaction", {"voice_session": sid})
        hashes = (hash_secret(started["client_token"]), hash_secret(secret))
        personal = ("10.9.8.7", "my card is 4111", "ann.private@example.com")

        def everything_readable(user: str) -> str:
            with as_user(user):
                return json.dumps([
                    client.get("Voice Session", sid),
                    client.get_list("Voice Session", filters={"name": sid}, fields=["*"]),
                    client.get_value("Voice Session", ["client_ip", "transcript", "tool_secret_hash",
                                                       "client_token_hash"], {"name": sid}),
                    client.get("Voice Interaction", interaction),
                    client.get_list("Voice Interaction", filters={"name": interaction}, fields=["*"]),
                ], default=str)

        as_agent, as_manager = everything_readable(USER), everything_readable(MANAGER)
        self.assertIn("Printer", as_agent)
        for value in personal:
            self.assertNotIn(value, as_agent)
            self.assertIn(value, as_manager)
        for value in hashes:
            self.assertNotIn(value, as_agent)
            self.assertNotIn(value, as_manager)

    # --- sessions ---------------------------------------------------------------------------
    def test_public_profiles_hide_prompts_and_private_profiles(self):
        private = self.make_profile(is_public=0)
        frappe.set_user("Guest")
        profiles = voice_processor.get_public_profiles()
        names = [p["name"] for p in profiles]
        self.assertIn(self.profile.name, names)
        self.assertNotIn(private.name, names)
        for profile in profiles:
            self.assertMatchesContract("PublicProfile", profile)

    def test_create_session_starts_a_webrtc_call_and_keeps_only_hashes(self):
        started = self.start()
        self.assertMatchesContract("SessionGrant", started)
        self.assertEqual(started["max_duration_sec"], 600)  # capped by the settings, not the profile's 900
        call = self.call_of(started)
        self.assertEqual(call["medium"], {"webRtc": {}})
        self.assertEqual(call["maxDuration"], "600s")
        self.assertEqual(call["metadata"]["voice_session"], started["session_id"])
        self.assertEqual(call["firstSpeakerSettings"], {"agent": {"text": "Hi!"}})
        tools = [t["temporaryTool"]["modelToolName"] for t in call["selectedTools"]]
        self.assertEqual(tools, ["create_support_ticket", "book_appointment"])
        session = frappe.get_doc("Voice Session", started["session_id"])
        self.assertEqual((session.status, session.ultravox_call_id), ("Starting", call["callId"]))
        self.assertEqual(session.get_password("client_token_hash"), hash_secret(started["client_token"]))
        self.assertEqual(session.get_password("tool_secret_hash"), hash_secret(self.tool_secret(call)))
        self.assertNotIn(self.tool_secret(call), json.dumps(session.as_dict(), default=str))
        self.assertEqual(self.fake.requests_to("/api/calls", "POST")[0].headers["X-API-Key"], "unit-key")

    def test_create_session_checks_the_origin(self):
        self.assertTrue(self.start(origin="https://shop.example.com")["session_id"])
        with self.assertRaises(sessions.OriginNotAllowed) as refused:
            self.start(origin="https://evil.example.net")
        self.assertEqual(refused.exception.http_status_code, 403)
        self.assertRaises(sessions.OriginNotAllowed, self.start, origin="")

    def test_create_session_refuses_unknown_and_disabled_profiles(self):
        frappe.set_user("Guest")
        self.assertRaises(frappe.DoesNotExistError, self.start, profile="No Such Profile")
        frappe.set_user("Administrator")
        self.profile.db_set("enabled", 0)
        frappe.set_user("Guest")
        self.assertRaises(frappe.DoesNotExistError, self.start)

    def test_concurrent_live_sessions_are_capped(self):
        # Counted as the endpoint counts: live sessions started within the longest possible call.
        recent = add_to_date(now_datetime(), seconds=-(600 + 120))
        live = frappe.db.count("Voice Session", {"status": ("in", ["Starting", "Live"]), "started_at": (">", recent)})
        self.set_single("Voice Agent Settings", {"max_concurrent_sessions": live + 1})
        self.start()
        with self.assertRaises(sessions.AgentsBusy) as busy:
            self.start()
        self.assertEqual(busy.exception.http_status_code, 503)
        self.assertIn("busy", str(busy.exception))

    def test_ultravox_failure_is_a_502_and_the_session_is_failed(self):
        self.fake.set_mode("401")
        before = frappe.db.count("Voice Session", {"status": "Failed"})
        with self.assertRaises(sessions.UltravoxUnavailable) as failed:
            self.start()
        self.assertEqual(failed.exception.http_status_code, 502)
        self.assertIn("refused the API key", str(failed.exception))
        self.assertEqual(frappe.db.count("Voice Session", {"status": "Failed"}), before + 1)

    def test_rate_limit_per_ip(self):
        self.set_single("Voice Agent Settings", {"rate_limit_per_hour": 2})
        ip = f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
        self.start(ip=ip)
        self.start(ip=ip)
        with self.assertRaises(frappe.RateLimitExceededError):
            self.start(ip=ip)
        self.assertTrue(self.start(ip="10.200.0.1")["session_id"])  # another IP is not affected

    def test_live_display_endpoints_need_the_client_token(self):
        started = self.start()
        sid, token = started["session_id"], started["client_token"]
        with http_request("voice_agent.api.voice_processor.update_session_status"):
            self.assertRaises(frappe.PermissionError, voice_processor.update_session_status, sid, "wrong", "listening")
            self.assertRaises(frappe.ValidationError, voice_processor.update_session_status, sid, token, "hacked")
            self.assertEqual(voice_processor.update_session_status(sid, token, "speaking"), {"status": "Starting"})
            result = voice_processor.process_transcript(sid, token, [
                {"text": "Hello", "isFinal": True, "speaker": "agent"}, {"text": "Hi th", "isFinal": False},
                {"text": "I need help", "isFinal": True, "speaker": "user"}, "junk"])
        self.assertEqual(result, {"lines": 2})
        session = frappe.get_doc("Voice Session", sid)
        self.assertEqual(session.client_status, "speaking")
        self.assertEqual(session.live_transcript, "Agent: Hello\nUser: I need help")
        self.assertEqual(session.status, "Starting")  # the page never decides the outcome

    def test_end_session_hangs_up_at_ultravox(self):
        started = self.start()
        with http_request("voice_agent.api.voice_processor.end_session"):
            self.assertRaises(frappe.PermissionError, voice_processor.end_session, started["session_id"], "x")
            self.assertEqual(voice_processor.end_session(started["session_id"], started["client_token"]), {"ended": True})
        sent = self.fake.requests_to(f"/api/calls/{self.call_of(started)['callId']}/send_data_message")
        self.assertEqual(sent[0].body["type"], "hang_up")

    # --- tools ------------------------------------------------------------------------------
    def test_tools_refuse_a_missing_or_wrong_secret_and_ended_sessions(self):
        started = self.start()
        args = {"voice_session": started["session_id"], "customer_name": "Eve", "subject": "Hello there",
                "description": "x"}
        self.assertRaises(frappe.PermissionError, self.run_tool, business_logic.create_support_ticket, None, **args)
        self.assertRaises(frappe.PermissionError, self.run_tool, business_logic.create_support_ticket, "guess", **args)
        self.assertRaises(frappe.PermissionError, self.run_tool, business_logic.create_support_ticket, "guess",
                          **{**args, "voice_session": "missing"})
        secret = self.tool_secret(self.call_of(started))
        frappe.db.set_value("Voice Session", started["session_id"], "status", "Ended")
        self.assertRaises(frappe.PermissionError, self.run_tool, business_logic.create_support_ticket, secret, **args)
        self.assertFalse(frappe.db.exists("Issue", {"subject": "Hello there", "creation": (">", nowdate())}))

    def test_ticket_tool_is_idempotent_and_logged(self):
        started = self.start()
        secret = self.tool_secret(self.call_of(started))
        subject = f"Printer {uuid.uuid4().hex[:6]}"
        args = {"voice_session": started["session_id"], "customer_name": "Ann", "subject": subject,
                "description": "It jams.", "priority": "High"}
        first = self.run_tool(business_logic.create_support_ticket, secret, **args)
        again = self.run_tool(business_logic.create_support_ticket, secret, **{**args, "subject": subject.upper()})
        self.assertEqual(first["result"], again["result"])
        self.assertEqual(frappe.db.count("Issue", {"subject": subject}), 1)
        issue = frappe.get_doc("Issue", first["document"]["name"])
        self.assertEqual(issue.priority, "High")
        logged = frappe.get_all("Voice Interaction", filters={"voice_session": started["session_id"]},
                                fields=["tool", "status", "reference_name", "duration_ms"])
        self.assertEqual(len(logged), 1)
        self.assertEqual((logged[0].status, logged[0].reference_name), ("Success", issue.name))
        self.assertIn("Ticket", frappe.db.get_value("Voice Session", started["session_id"], "outcome"))
        second = self.run_tool(business_logic.create_support_ticket, secret, **{**args, "subject": f"{subject} too"})
        self.assertEqual(frappe.db.get_value("Voice Session", started["session_id"], "documents_created"),
                         f"Issue: {issue.name}\nIssue: {second['document']['name']}")

    def test_a_retry_that_races_past_the_lookup_rolls_its_document_back(self):
        started = self.start()
        secret = self.tool_secret(self.call_of(started))
        subject = f"Race {uuid.uuid4().hex[:6]}"
        args = {"voice_session": started["session_id"], "customer_name": "Ann", "subject": subject,
                "description": "It jams."}
        first = self.run_tool(business_logic.create_support_ticket, secret, **args)
        issues_before = frappe.db.count("Issue")
        # As if the retry had looked before the first call committed: it creates a ticket, then meets
        # the idempotency key on writing its log.
        with patch.object(runner, "_previous_reply", return_value=None):
            again = self.run_tool(business_logic.create_support_ticket, secret, **args)
        self.assertEqual(again, {"result": first["result"]})
        self.assertEqual(frappe.db.count("Issue"), issues_before)
        self.assertEqual(frappe.db.count("Voice Interaction", {"voice_session": started["session_id"]}), 1)

    def test_invalid_tool_arguments_are_refused_in_words_and_logged(self):
        started = self.start()
        secret = self.tool_secret(self.call_of(started))
        reply = self.run_tool(business_logic.create_support_ticket, secret, voice_session=started["session_id"],
                              customer_name="Ann", subject="x", description="y")
        self.assertIn("short subject", reply["result"])
        reply = self.run_tool(business_logic.place_restaurant_order, secret, voice_session=started["session_id"],
                              customer_name="Ann", phone="555 0100", items=[{"item": "Pizza", "qty": 1}])
        self.assertIn("cannot do that", reply["result"])  # not among this profile's tools
        statuses = frappe.get_all("Voice Interaction", filters={"voice_session": started["session_id"]}, pluck="status")
        self.assertEqual(sorted(statuses), ["Refused", "Refused"])

    def test_appointment_has_a_real_end_and_clashes_offer_free_slots(self):
        started = self.start()
        secret = self.tool_secret(self.call_of(started))
        day = add_days(nowdate(), 400 + uuid.uuid4().int % 300)
        base = {"voice_session": started["session_id"], "customer_name": "Bo", "phone": "+1 555 0100",
                "email": "bo@example.com", "date": str(day), "time": "10:00"}
        booked = self.run_tool(business_logic.book_appointment, secret, **base)
        self.assertIn("document", booked, booked)
        doctype, name = booked["document"]["doctype"], booked["document"]["name"]
        if doctype == "Appointment":
            event = frappe.db.get_value("Appointment", name, "calendar_event")
            starts, ends = frappe.db.get_value("Event", event, ["starts_on", "ends_on"])
        else:
            starts, ends = frappe.db.get_value("Event", name, ["starts_on", "ends_on"])
        self.assertEqual((ends - starts).total_seconds(), 30 * 60)
        clash = self.run_tool(business_logic.book_appointment, secret, **{**base, "customer_name": "Cy",
                                                                           "time": "10:15"})
        self.assertIn("already booked", clash["result"])
        self.assertIn("10:30", clash["result"])
        past = self.run_tool(business_logic.book_appointment, secret, **{**base, "customer_name": "Di",
                                                                          "date": "2020-01-01"})
        self.assertIn("already passed", past["result"])

    def test_order_matches_items_prices_them_and_is_submitted(self):
        suffix = uuid.uuid4().hex[:6]
        names = {f"Soup {suffix}": 6.0, f"Salad {suffix}": 7.5}
        for item_name, rate in names.items():
            code = item_name.replace(" ", "-")
            frappe.get_doc({"doctype": "Item", "item_code": code, "item_name": item_name, "item_group": "All Item Groups",
                            "stock_uom": "Nos", "is_stock_item": 0}).insert()
            frappe.get_doc({"doctype": "Item Price", "item_code": code, "price_list_rate": rate,
                            "price_list": frappe.db.get_single_value("Selling Settings", "selling_price_list")
                            or "Standard Selling"}).insert()
        frappe.db.commit()
        profile = self.make_profile(tools=[{"tool": "place_restaurant_order"}], submit_orders_automatically=1)
        started = self.start(profile=profile.name)
        secret = self.tool_secret(self.call_of(started))
        order = {"voice_session": started["session_id"], "customer_name": f"Diner {suffix}", "phone": "+1 555 0199",
                 "items": [{"item": f"soup {suffix}", "qty": 2}, {"item": f"Salad  {suffix}", "qty": 1}]}
        reply = self.run_tool(business_logic.place_restaurant_order, secret, **order)
        self.assertIn("19.50", reply["result"])
        so = frappe.get_doc("Sales Order", reply["document"]["name"])
        self.assertEqual((so.docstatus, so.grand_total), (1, 19.5))
        self.assertEqual(str(so.delivery_date), nowdate())
        self.assertEqual(so.company, frappe.db.get_single_value("Global Defaults", "default_company") or so.company)
        self.assertEqual(frappe.db.get_value("Customer", so.customer, "mobile_no"), "+1 555 0199")
        self.assertEqual(frappe.db.get_value("Voice Session", started["session_id"], ["party_type", "party", "outcome"]),
                         ("Customer", so.customer, "Order"))
        again = self.run_tool(business_logic.place_restaurant_order, secret, **order)
        self.assertEqual(again["result"], reply["result"])
        self.assertEqual(frappe.db.count("Sales Order", {"customer": so.customer}), 1)
        past = self.run_tool(business_logic.place_restaurant_order, secret, **{**order, "delivery_date": "2020-01-01"})
        self.assertIn("already passed", past["result"])
        unknown = self.run_tool(business_logic.place_restaurant_order, secret,
                                **{**order, "items": [{"item": "Unicorn steak", "qty": 1}]})
        self.assertIn("not on our menu", unknown["result"])

    # --- webhooks ---------------------------------------------------------------------------
    def post_webhook(self, payload: dict, secret: str = WEBHOOK_SECRET, timestamp: str | None = None):
        raw = json.dumps(payload).encode()
        headers = signed_webhook_headers(secret, raw, timestamp)
        with http_request("voice_agent.api.webhook_handlers.ultravox_webhook", headers=headers, body=raw), \
                patch("frappe.enqueue") as enqueue, as_user("Guest"):
            return webhook_handlers.ultravox_webhook(), enqueue

    def test_signed_call_ended_completes_the_session(self):
        started = self.start()
        call = self.fake.finish_call(self.call_of(started)["callId"], summary="Ann asked about printers.")
        payload = {"event": "call.ended", "call": {k: v for k, v in call.items() if k != "selectedTools"}}
        result, enqueue = self.post_webhook(payload)
        self.assertEqual(result, {"status": "accepted"})
        event_name = enqueue.call_args.kwargs["event_name"]
        self.assertEqual(self.post_webhook(payload)[0], {"status": "duplicate"})
        ultravox_webhook.process_webhook_event(event_name)
        session = frappe.get_doc("Voice Session", started["session_id"])
        self.assertEqual((session.status, session.end_reason), ("Ended", "hangup"))
        self.assertIn("User: I would like to book an appointment.", session.transcript)
        self.assertEqual(session.short_summary, "Ann asked about printers.")
        self.assertEqual(session.billed_duration_sec, 42.0)
        self.assertEqual(frappe.db.get_value("Voice Webhook Event", event_name, "status"), "Processed")

    def test_a_redelivery_that_races_past_the_lookup_is_a_duplicate(self):
        started = self.start()
        payload = {"event": "call.joined", "call": {"callId": self.call_of(started)["callId"], "joined": "2026-01-01T10:00:00Z"}}
        self.assertEqual(self.post_webhook(payload)[0], {"status": "accepted"})
        count = frappe.db.count("Voice Webhook Event")
        # As if the redelivery had looked before the first delivery committed.
        with patch.object(webhook_inbox.frappe.db, "exists", return_value=False):
            result, enqueue = self.post_webhook(payload)
        self.assertEqual(result, {"status": "duplicate"})
        enqueue.assert_not_called()
        self.assertEqual(frappe.db.count("Voice Webhook Event"), count)
        self.assertFalse(frappe.local.message_log)

    def test_forged_stale_and_rotated_webhooks(self):
        started = self.start()
        payload = {"event": "call.joined", "call": {"callId": self.call_of(started)["callId"]}}
        count = frappe.db.count("Voice Webhook Event")
        self.assertRaises(frappe.AuthenticationError, self.post_webhook, payload, "forged-secret")
        stale = datetime(2020, 1, 1, tzinfo=timezone.utc).isoformat()
        self.assertRaises(frappe.AuthenticationError, self.post_webhook, payload, WEBHOOK_SECRET, stale)
        self.assertEqual(frappe.db.count("Voice Webhook Event"), count)
        self.set_single("Voice Agent Settings", {}, passwords={"webhook_secret": "the-new-secret",
                                                                "previous_webhook_secret": WEBHOOK_SECRET})
        self.assertEqual(self.post_webhook(payload)[0], {"status": "accepted"})  # signed with the previous one

    def test_failed_processing_keeps_the_event_for_retry(self):
        started = self.start()
        call = self.fake.finish_call(self.call_of(started)["callId"])
        _, enqueue = self.post_webhook({"event": "call.ended", "call": {"callId": call["callId"]}})
        event_name = enqueue.call_args.kwargs["event_name"]
        frappe.db.commit()  # as the webhook request does before the job runs
        self.fake.set_mode("500")
        with patch("voice_agent.integrations.ultravox.client.time.sleep"):
            ultravox_webhook.process_webhook_event(event_name)
        record = frappe.get_doc("Voice Webhook Event", event_name)
        self.assertEqual((record.status, record.attempts), ("Failed", 1))
        self.fake.set_mode("ok")
        ultravox_webhook.process_webhook_event(event_name)
        self.assertEqual(frappe.db.get_value("Voice Webhook Event", event_name, "status"), "Processed")
        self.assertEqual(frappe.db.get_value("Voice Session", started["session_id"], "status"), "Ended")

    # --- analytics --------------------------------------------------------------------------
    def test_analytics_validates_the_period(self):
        self.assertRaises(frappe.ValidationError, analytics.get_voice_analytics, "decade")
        self.assertRaises(frappe.ValidationError, analytics.get_voice_analytics, "custom", "2026-02-01", "2026-01-01")
        self.start()
        data = analytics.get_voice_analytics("year")
        self.assertGreaterEqual(data["sessions"], 1)
        self.assertTrue(0 <= data["completion_rate"] <= 100)
        frappe.set_user("Guest")
        self.assertRaises(frappe.PermissionError, analytics.get_voice_analytics, "month")

    def test_report_runs(self):
        self.start()
        columns, rows, _, chart, summary = voice_agent_analytics.execute(
            {"from_date": add_days(nowdate(), -7), "to_date": nowdate()})
        self.assertIn(self.profile.name, [r["profile"] for r in rows])
        self.assertEqual(summary[0]["label"], "Sessions")
        self.assertTrue(chart["data"]["labels"])
