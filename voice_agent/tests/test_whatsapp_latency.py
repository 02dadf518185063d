"""WhatsApp's two latency paths that docs/benchmarks.md (WhatsApp messaging) measures on a real site: the
webhook's drain job (one job takes every stored event, rather than a new process per delivery) and a
desk send tried right after Frappe's answer instead of in a job. Against the loopback fake of Meta's Graph
API (tests/fakes/whatsapp).

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_whatsapp_latency

Every test is rolled back (voice_agent.tests.utils.VoiceAgentTestCase): the site keeps none of it.
"""

from __future__ import annotations

import time
import uuid
from unittest.mock import patch

import frappe
from frappe.utils import CallbackManager, add_to_date, get_datetime, now_datetime

from voice_agent.api import whatsapp as api
from voice_agent.integrations.whatsapp import outbound, webhook
from voice_agent.tests.utils import VoiceAgentTestCase, as_user, ensure_user, http_request, load_fake

fake_module = load_fake("whatsapp")
hooks = fake_module.wh

APP_SECRET = "latency-app-secret-0123456789"
AGENT = "va-wa-latency@example.com"
WEBHOOK = "voice_agent.api.whatsapp.whatsapp_webhook"


class TestWhatsAppLatency(VoiceAgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.phone_number_id = str(uuid.uuid4().int)[:15]  # a number of its own on a shared site
        cls.fake = fake_module.FakeWhatsApp(token="latency-token", phone_number_id=cls.phone_number_id).start()
        cls.addClassCleanup(cls.fake.stop)
        ensure_user(AGENT, "Voice Agent User", "Sales User")

    def setUp(self):
        super().setUp()
        self.fake.reset()
        self.fake.configure(auto_statuses=False, enforce_window=False)
        self.set_single("WhatsApp Settings", {"create_party_for_unknown_numbers": 1, "new_party_doctype": "Lead",
                                              "default_phone_region": "US"})
        account = frappe.get_doc({
            "doctype": "WhatsApp Account", "title": f"Latency {uuid.uuid4().hex[:6]}", "enabled": 1,
            "phone_number_id": self.phone_number_id, "waba_id": self.fake.waba_id, "access_token": "latency-token",
            "app_secret": APP_SECRET, "verify_token": "latency-verify", "graph_api_version": "v23.0",
            "team": [{"user": AGENT}],
        })
        with patch.dict(frappe.conf, {"developer_mode": 1}):
            account.graph_base_url = self.fake.base_url
            account.insert()
        self.account = account.name
        self.customer = f"1650444{uuid.uuid4().int % 10000:04d}"

    def post(self, *messages: dict) -> str:
        raw = hooks.encode(hooks.messages_webhook(phone_number_id=self.phone_number_id,
                                                  contacts=[hooks.contact(self.customer, "Grace Hopper")],
                                                  messages=list(messages)))
        headers = {"X-Hub-Signature-256": hooks.sign(APP_SECRET, raw), "Content-Type": "application/json"}
        with http_request(WEBHOOK, headers=headers, body=raw), patch("frappe.enqueue") as enqueue, as_user("Guest"):
            self.assertEqual(api.whatsapp_webhook()["status"], "accepted")
        self.assertEqual(enqueue.call_args.args[0], webhook.DRAIN)
        return enqueue.call_args.kwargs["event_name"]

    def test_one_drain_job_processes_every_stored_event_in_order(self):
        first = self.post(hooks.text(self.customer, "first"))
        second = self.post(hooks.text(self.customer, "second"), hooks.text(self.customer, "third"))
        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", return_value=False):
            webhook.drain(first)
        self.assertEqual([frappe.db.get_value(webhook.EVENT, e, "status") for e in (first, second)],
                         ["Processed", "Processed"])
        conversation = frappe.db.get_value("WhatsApp Conversation", {"account": self.account}, "name")
        texts = frappe.get_all("WhatsApp Message", filters={"conversation": conversation}, pluck="text",
                               order_by="creation asc")
        self.assertEqual(texts, ["first", "second", "third"])
        self.assertEqual(frappe.db.get_value("WhatsApp Conversation", conversation, "unread_count"), 3)

    def test_a_drain_waits_for_a_delivery_still_on_its_way_to_its_commit(self):
        event = self.post(hooks.text(self.customer, "late"))
        frappe.db.set_value(webhook.EVENT, event, "status", "Processed")  # hidden until the "commit" below
        looks = []

        def in_flight() -> bool:
            looks.append(True)
            if len(looks) == 3:  # the delivery commits while the job waits for it
                frappe.db.set_value(webhook.EVENT, event, "status", "Received")
            return len(looks) < 3

        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", side_effect=in_flight), \
                patch.object(webhook.time, "sleep"):
            webhook.drain(None)
        self.assertEqual(frappe.db.get_value(webhook.EVENT, event, "status"), "Processed")
        self.assertEqual(frappe.db.count("WhatsApp Message", {"text": "late", "account": self.account}), 1)

    def test_a_desk_text_goes_to_meta_right_after_the_answer_not_through_a_job(self):
        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", return_value=False):
            webhook.drain(self.post(hooks.text(self.customer, "hello")))
        conversation = frappe.db.get_value("WhatsApp Conversation", {"account": self.account}, "name")
        with http_request("voice_agent.api.whatsapp.send_message"), as_user(AGENT), \
                patch("frappe.enqueue") as enqueue:
            frappe.local.request.after_response = CallbackManager()
            message = api.send_message(conversation, kind="text", text="Right away")
            self.assertEqual(message["status"], "queued")
            self.assertEqual(enqueue.call_count, 0)
            # The scheduler's sweep leaves it to this request for a minute.
            self.assertGreater(get_datetime(frappe.db.get_value("WhatsApp Message", message["name"],
                                                                "next_attempt_at")), now_datetime())
            self.assertEqual(self.fake.sent_messages(), [])
            frappe.local.request.after_response.run()
        self.assertEqual(frappe.db.get_value("WhatsApp Message", message["name"], ["status", "error_message"]),
                         ("Sent", None))
        self.assertEqual([m["payload"]["text"]["body"] for m in self.fake.sent_messages()], ["Right away"])

    def test_a_send_outside_a_request_still_goes_through_the_queue(self):
        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", return_value=False):
            webhook.drain(self.post(hooks.text(self.customer, "hello")))
        conversation = frappe.db.get_value("WhatsApp Conversation", {"account": self.account}, "name")
        with as_user(AGENT), patch("frappe.enqueue") as enqueue:
            message = api.send_message(conversation, kind="text", text="Queued")
        self.assertEqual(enqueue.call_args.kwargs["job_id"], f"whatsapp-send:{message['name']}")
        self.assertEqual(self.fake.sent_messages(), [])

    def test_a_slow_meta_does_not_hold_the_web_worker_after_the_answer(self):
        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", return_value=False):
            webhook.drain(self.post(hooks.text(self.customer, "hello")))
        conversation = frappe.db.get_value("WhatsApp Conversation", {"account": self.account}, "name")
        self.fake.set_mode("slow", slow_seconds=3.0)
        with http_request("voice_agent.api.whatsapp.send_message"), as_user(AGENT), patch("frappe.enqueue"), \
                patch.object(outbound, "AFTER_RESPONSE_TIMEOUT_SEC", 0.5):
            frappe.local.request.after_response = CallbackManager()
            message = api.send_message(conversation, kind="text", text="Meta is slow today")
            started = time.monotonic()
            frappe.local.request.after_response.run()
            held = time.monotonic() - started
        self.assertLess(held, 2.0)
        # It may have reached Meta: retried once its status had time to arrive, never lost.
        status, next_attempt, error = frappe.db.get_value("WhatsApp Message", message["name"],
                                                          ["status", "next_attempt_at", "error_message"])
        self.assertEqual(status, "Queued")
        self.assertGreater(get_datetime(next_attempt), add_to_date(now_datetime(), seconds=60))
        self.assertTrue(error)

    def test_an_event_undone_by_a_deadlock_is_tried_again_at_once(self):
        event = self.post(hooks.text(self.customer, "after a deadlock"))
        process, tries = webhook._process, []

        def deadlocked_once(name: str) -> None:
            tries.append(name)
            if len(tries) == 1:
                raise frappe.QueryDeadlockError("(1213, 'Deadlock found when trying to get lock')")
            process(name)

        with patch.object(webhook, "_process", deadlocked_once), patch("frappe.enqueue"), \
                patch.object(webhook, "_in_flight", return_value=False), patch.object(webhook.time, "sleep"):
            webhook.drain(event)
        self.assertEqual(tries, [event, event])
        self.assertEqual(frappe.db.get_value(webhook.EVENT, event, ["status", "attempts"]), ("Processed", 1))
        self.assertEqual(frappe.db.count("WhatsApp Message", {"text": "after a deadlock", "account": self.account}), 1)

    def test_a_drain_gives_way_to_a_send_waiting_on_its_queue(self):
        event = self.post(hooks.text(self.customer, "behind a send"))

        class Queue:
            def __init__(self, *job_ids: str):
                self.job_ids = list(job_ids)

            def get_job_ids(self) -> list[str]:
                return self.job_ids

        site = frappe.local.site
        with patch.object(webhook, "get_queue", return_value=Queue(f"{site}::{webhook.DRAIN_JOB}7")):
            self.assertFalse(webhook._others_waiting())  # drains queued by deliveries do not count
        waiting = Queue(f"{site}::{webhook.DRAIN_JOB}7", f"{site}::whatsapp-send:abc")
        with patch.object(webhook, "get_queue", return_value=waiting), \
                patch.object(webhook, "GIVE_WAY_CHECK_SECONDS", 0), patch("frappe.enqueue") as enqueue:
            webhook.drain(None)
        self.assertEqual(frappe.db.get_value(webhook.EVENT, event, "status"), "Received")  # left to the successor
        self.assertEqual(enqueue.call_args.args[0], webhook.DRAIN)
