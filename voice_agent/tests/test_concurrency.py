"""Concurrent requests against the public endpoints, each on its own connection and transaction, as a
busy site serves them: the live-session cap, find-or-create of parties, webhook redeliveries.

Everything here is committed for real (other connections must see it) and deleted afterwards; the
tests assert that the site is left with as many rows as it had.

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_concurrency
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_to_date, now_datetime

from voice_agent import locks, parties
from voice_agent.api import business_logic, voice_processor, webhook_handlers
from voice_agent.integrations.whatsapp import webhook as whatsapp_webhook
from voice_agent.tests.utils import (
    SITE_URL,
    Committed,
    committed_single,
    delete_for_real,
    http_request,
    load_fake,
    run_concurrently,
)

_fake = load_fake("ultravox")
_whatsapp = load_fake("whatsapp").wh
APP_SECRET = "concurrency-app-secret-0123456789"
WEBHOOK_SECRET = "concurrency-webhook-secret"
TOOL_SECRET_HEADER = "X-Voice-Agent-Tool-Secret"
COUNTED = ("Voice Session", "Voice Interaction", "Voice Webhook Event", "Voice Agent Profile", "Customer",
           "Contact", "Sales Order", "Item", "Item Price", "Lead", "WhatsApp Account", "WhatsApp Conversation",
           "WhatsApp Message", "WhatsApp Webhook Event", "ToDo", "Comment", "Deleted Document")


def _lock_is_free(key: str) -> bool:
    name = "va:" + hashlib.sha1(key.encode()).hexdigest()
    return frappe.db.sql("SELECT IS_FREE_LOCK(%s)", (name,))[0][0] == 1


def _live_sessions() -> int:
    # Counted as create_session counts them: recent sessions in Starting or Live.
    since = add_to_date(now_datetime(), seconds=-(600 + 120))
    return frappe.db.count("Voice Session", {"status": ("in", ("Starting", "Live")), "started_at": (">", since)})


class TestConcurrency(FrappeTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = _fake.FakeUltravox(ws_port=None, api_key="concurrency-key").start()
        cls.addClassCleanup(cls.fake.stop)

    def setUp(self):
        frappe.set_user("Administrator")
        self.rows_before = {doctype: frappe.db.count(doctype) for doctype in COUNTED if _exists(doctype)}
        self.committed = Committed()
        self.addCleanup(self._check_site_left_as_found)
        self.addCleanup(self.committed.delete_all)
        settings = committed_single(
            "Voice Agent Settings",
            {"enabled": 1, "api_base_url": self.fake.base_url, "tool_base_url": SITE_URL,
             "allowed_origins": "https://shop.example.com", "rate_limit_per_hour": 1000,
             "max_concurrent_sessions": 1000, "max_session_duration_sec": 600, "webhook_tolerance_sec": 60},
            passwords={"ultravox_api_key": "concurrency-key", "webhook_secret": WEBHOOK_SECRET},
        )
        settings.__enter__()
        self.addCleanup(settings.__exit__, None, None, None)

    def _check_site_left_as_found(self):
        after = {doctype: frappe.db.count(doctype) for doctype in self.rows_before}
        self.assertEqual(after, self.rows_before, "the test left rows behind")

    def profile(self, tools: list[str], **values) -> str:
        # Public: visitors (guests) start sessions with it.
        return self.committed.insert({
            "doctype": "Voice Agent Profile", "title": f"Concurrency {uuid.uuid4().hex[:8]}", "enabled": 1,
            "is_public": 1, "use_case": "Restaurant Orders", "system_prompt": "Be brief.",
            "tools": [{"tool": tool} for tool in tools], **values,
        }).name

    def start_session(self, profile: str) -> tuple[str, str]:
        """A live session for real (committed), and its tool secret."""
        with http_request("voice_agent.api.voice_processor.create_session", headers={"Origin": SITE_URL},
                          ip=f"10.77.{uuid.uuid4().int % 250}.1"):
            started = voice_processor.create_session(profile, f"{SITE_URL}/voice-agent")
        frappe.db.commit()
        self.committed.add("Voice Session", started["session_id"])
        call = self.fake.state.calls[started["join_url"].rsplit("/", 1)[-1]]
        header = next(p for p in call["selectedTools"][0]["temporaryTool"]["staticParameters"]
                      if p["location"] == "PARAMETER_LOCATION_HEADER")
        return started["session_id"], header["value"]

    def test_the_live_session_cap_holds_under_concurrent_starts(self):
        profile = self.profile(["create_support_ticket"])
        cap = _live_sessions() + 5
        frappe.db.set_single_value("Voice Agent Settings", "max_concurrent_sessions", cap, update_modified=False)
        frappe.db.commit()
        frappe.clear_document_cache("Voice Agent Settings", "Voice Agent Settings")

        def start(index: int) -> dict:
            return voice_processor.create_session(profile, f"{SITE_URL}/voice-agent")

        outcomes = run_concurrently(
            start, 20,
            request=lambda i: http_request("voice_agent.api.voice_processor.create_session",
                                           headers={"Origin": SITE_URL}, ip=f"10.78.0.{i + 1}"),
        )
        for outcome in outcomes:
            if outcome.value:
                self.committed.add("Voice Session", outcome.value["session_id"])
        admitted = [o for o in outcomes if o.value]
        refused = [o for o in outcomes if getattr(o.error, "http_status_code", None) == 503]  # all agents busy
        self.assertEqual((len(admitted), len(refused)), (5, 15), [repr(o.error) for o in outcomes if o.error])
        self.assertEqual(_live_sessions(), cap)

    def test_identical_orders_at_once_make_one_order_and_every_caller_hears_it(self):
        suffix = uuid.uuid4().hex[:6]
        item_code = self.menu_item(f"Stew {suffix}", 9.0)
        profile = self.profile(["place_restaurant_order"])
        session, secret = self.start_session(profile)
        customer_name = f"Caller {suffix}"
        args = {"voice_session": session, "customer_name": customer_name, "phone": "+1 555 0142",
                "items": [{"item": f"stew {suffix}", "qty": 2}]}

        outcomes = run_concurrently(
            lambda i: business_logic.place_restaurant_order(**args), 10,
            request=lambda i: http_request("voice_agent.api.business_logic.place_restaurant_order",
                                           headers={TOOL_SECRET_HEADER: secret}),
        )
        self.track_orders(customer_name)
        self.assertEqual([o.error for o in outcomes], [None] * 10)
        replies = {o.value["result"] for o in outcomes}
        self.assertEqual(len(replies), 1, replies)
        self.assertIn("18.00", replies.pop())
        self.assertEqual(frappe.db.count("Customer", {"customer_name": customer_name}), 1)
        customer = frappe.db.get_value("Customer", {"customer_name": customer_name})
        self.assertEqual(frappe.db.count("Sales Order", {"customer": customer}), 1)
        self.assertEqual(frappe.db.count("Sales Order Item", {"item_code": item_code}), 1)

    def test_a_new_caller_ordering_from_several_sessions_at_once_becomes_one_customer(self):
        suffix = uuid.uuid4().hex[:6]
        self.menu_item(f"Pie {suffix}", 4.0)
        profile = self.profile(["place_restaurant_order"])
        sessions = [self.start_session(profile) for _ in range(5)]
        customer_name = f"Newcomer {suffix}"

        def order(index: int) -> dict:
            return business_logic.place_restaurant_order(
                voice_session=sessions[index][0], customer_name=customer_name, phone="+1 555 0143",
                items=[{"item": f"pie {suffix}", "qty": index + 1}])

        outcomes = run_concurrently(
            order, 5,
            request=lambda i: http_request("voice_agent.api.business_logic.place_restaurant_order",
                                           headers={TOOL_SECRET_HEADER: sessions[i][1]}),
        )
        self.track_orders(customer_name)
        self.assertEqual([o.error for o in outcomes], [None] * 5)
        for outcome in outcomes:
            self.assertIn("document", outcome.value, outcome.value["result"])
        self.assertEqual(frappe.db.count("Customer", {"customer_name": customer_name}), 1)
        customer = frappe.db.get_value("Customer", {"customer_name": customer_name})
        self.assertEqual(frappe.db.count("Sales Order", {"customer": customer}), 5)

    def test_concurrent_redeliveries_of_one_webhook_store_it_once_and_queue_one_job(self):
        payload = {"event": "call.ended", "call": {"callId": str(uuid.uuid4())}}
        raw = json.dumps(payload).encode()
        headers = _fake.signed_webhook_headers(WEBHOOK_SECRET, raw)
        with patch("frappe.enqueue") as enqueue:
            outcomes = run_concurrently(
                lambda i: webhook_handlers.ultravox_webhook(), 20,
                request=lambda i: http_request("voice_agent.api.webhook_handlers.ultravox_webhook",
                                               headers=headers, body=raw),
            )
        stored = frappe.get_all("Voice Webhook Event", filters={"ultravox_call_id": payload["call"]["callId"]},
                                pluck="name")
        for name in stored:
            self.committed.add("Voice Webhook Event", name)
        self.assertEqual([o.error for o in outcomes], [None] * 20)
        self.assertEqual(sorted(o.value["status"] for o in outcomes), ["accepted"] + ["duplicate"] * 19)
        self.assertEqual(len(stored), 1)
        self.assertEqual(enqueue.call_count, 1, enqueue.call_args_list)

    def test_a_record_that_exists_is_found_while_another_job_is_creating_records_of_its_kind(self):
        """Every job that makes a Lead needs the "WhatsApp" Lead Source: the creation lock another job
        holds until it commits must not make the others wait for it (or time out)."""
        source = f"Concurrency {uuid.uuid4().hex[:6]}"
        self.committed.insert({"doctype": "Lead Source", "source_name": source})
        order: list[str] = []

        def job(index: int) -> str | None:
            if index == 0:  # a job inside its transaction, holding the creation lock of that source
                parties.creation_lock("Lead Source", {"source_name": source})
                frappe.db.sql("SELECT SLEEP(3)")
                order.append("holder committed")
                return None
            frappe.db.sql("SELECT SLEEP(0.5)")
            found = parties.find_or_create("Lead Source", {"source_name": source}, {"source_name": source})
            order.append("found")
            return found

        outcomes = run_concurrently(job, 2, user="Administrator")
        self.assertEqual([o.error for o in outcomes], [None, None])
        self.assertEqual(outcomes[1].value, source)
        self.assertEqual(order, ["found", "holder committed"])

    def test_locks_taken_together_are_all_or_nothing(self):
        """transaction_locks takes a batch's locks in one statement: when one is held elsewhere, the caller
        gets a clear error and keeps none of the others (a customer of the batch stays free)."""
        held_elsewhere, free = f"lock-test-{uuid.uuid4().hex}", f"lock-test-{uuid.uuid4().hex}"

        def job(index: int) -> bool:
            if index == 0:
                locks.transaction_lock(held_elsewhere)
                frappe.db.sql("SELECT SLEEP(2.5)")
                return True
            frappe.db.sql("SELECT SLEEP(0.3)")
            try:
                locks.transaction_locks([free, held_elsewhere], timeout_sec=1)
            except locks.LockTimeout:
                return _lock_is_free(free)  # asked in the same connection, which took it if anyone did
            return False

        outcomes = run_concurrently(job, 2, user="Administrator")
        self.assertEqual([o.error for o in outcomes], [None, None])
        self.assertEqual(outcomes[1].value, True)
        self.assertTrue(_lock_is_free(held_elsewhere) and _lock_is_free(free))

    # --- WhatsApp ------------------------------------------------------------------------------------

    def whatsapp_account(self) -> str:
        return self.committed.insert({
            "doctype": "WhatsApp Account", "title": f"Concurrency {uuid.uuid4().hex[:6]}", "enabled": 1,
            "phone_number_id": str(uuid.uuid4().int)[:15], "waba_id": "102290129340398", "access_token": "t",
            "app_secret": APP_SECRET, "verify_token": "v", "graph_api_version": "v23.0",
        }).name

    def deliver_concurrently(self, bodies: list[bytes]) -> list:
        def post(index: int) -> dict:
            from voice_agent.api import whatsapp as whatsapp_api

            return whatsapp_api.whatsapp_webhook()

        return run_concurrently(post, len(bodies), request=lambda i: http_request(
            "voice_agent.api.whatsapp.whatsapp_webhook", body=bodies[i],
            headers={"X-Hub-Signature-256": _whatsapp.sign(APP_SECRET, bodies[i]), "Content-Type": "application/json"}))

    def track_whatsapp(self, account: str) -> None:
        for event in frappe.get_all("WhatsApp Webhook Event", filters={"account": account}, pluck="name"):
            self.committed.add("WhatsApp Webhook Event", event)
        for conversation in frappe.get_all("WhatsApp Conversation", filters={"account": account},
                                           fields=["name", "party_doctype", "party_name"]):
            if conversation.party_doctype == "Lead":
                self.committed.add("Lead", conversation.party_name)  # deleted after its contacts
                for contact in frappe.get_all("Dynamic Link", filters={"link_doctype": "Lead", "parenttype": "Contact",
                                                                       "link_name": conversation.party_name},
                                              pluck="parent"):
                    self.committed.add("Contact", contact)
            for todo in frappe.get_all("ToDo", filters={"reference_name": conversation.name}, pluck="name"):
                self.committed.add("ToDo", todo)
            self.committed.add("WhatsApp Conversation", conversation.name)
            for message in frappe.get_all("WhatsApp Message", filters={"conversation": conversation.name}, pluck="name"):
                self.committed.add("WhatsApp Message", message)

    def test_concurrent_redeliveries_of_a_whatsapp_webhook_store_it_once_and_queue_one_job(self):
        account = self.whatsapp_account()
        phone_number_id = frappe.db.get_value("WhatsApp Account", account, "phone_number_id")
        body = _whatsapp.encode(_whatsapp.messages_webhook(phone_number_id=phone_number_id,
                                                           messages=[_whatsapp.text("16505550199", "hi")]))
        with patch("frappe.enqueue") as enqueue:
            outcomes = self.deliver_concurrently([body] * 20)
        self.track_whatsapp(account)
        self.assertEqual([o.error for o in outcomes], [None] * 20)
        self.assertEqual(sorted(o.value["status"] for o in outcomes), ["accepted"] + ["duplicate"] * 19)
        self.assertEqual(frappe.db.count("WhatsApp Webhook Event", {"account": account}), 1)
        self.assertEqual(enqueue.call_count, 1)

    def test_first_messages_of_a_new_number_at_once_make_one_lead_one_conversation_and_each_message_once(self):
        account = self.whatsapp_account()
        phone_number_id = frappe.db.get_value("WhatsApp Account", account, "phone_number_id")
        customer = f"1650777{uuid.uuid4().int % 10000:04d}"
        shared = _whatsapp.new_wamid()  # the same message inside two deliveries
        bodies = [_whatsapp.encode(_whatsapp.messages_webhook(
            phone_number_id=phone_number_id, contacts=[_whatsapp.contact(customer, "Newcomer")],
            messages=[_whatsapp.text(customer, f"message {i}"), _whatsapp.text(customer, "hello", wamid=shared)]))
            for i in range(6)]
        with patch("frappe.enqueue"):
            outcomes = self.deliver_concurrently(bodies)
        self.assertEqual([o.error for o in outcomes], [None] * 6)
        events = frappe.get_all("WhatsApp Webhook Event", filters={"account": account}, pluck="name")
        with committed_single("WhatsApp Settings", {"create_party_for_unknown_numbers": 1, "new_party_doctype": "Lead"}), \
                patch("frappe.enqueue"), patch("frappe.publish_realtime"):
            processed = run_concurrently(lambda i: whatsapp_webhook.process_event(events[i]), len(events),
                                         user="Administrator")
        self.track_whatsapp(account)
        self.assertEqual([o.error for o in processed], [None] * len(events))
        conversations = frappe.get_all("WhatsApp Conversation", filters={"account": account},
                                       fields=["name", "party_doctype", "party_name"])
        self.assertEqual(len(conversations), 1)
        self.assertEqual(frappe.db.count("Lead", {"mobile_no": f"+{customer}"}), 1)
        self.assertEqual(frappe.db.count("WhatsApp Message", {"conversation": conversations[0].name}), 7)
        self.assertEqual(frappe.db.count("WhatsApp Message", {"wamid": shared}), 1)
        self.assertEqual(frappe.db.get_value("WhatsApp Conversation", conversations[0].name, "unread_count"), 7)

    def test_two_jobs_whose_batches_share_customers_in_opposite_orders_both_finish(self):
        account = self.whatsapp_account()
        phone_number_id = frappe.db.get_value("WhatsApp Account", account, "phone_number_id")
        first, second = (f"1650888{uuid.uuid4().int % 10000:04d}" for _ in range(2))
        bodies = [_whatsapp.encode(_whatsapp.messages_webhook(phone_number_id=phone_number_id, messages=[
            _whatsapp.text(a, f"{a} in delivery {i}"), _whatsapp.text(b, f"{b} in delivery {i}")]))
            for i, (a, b) in enumerate(((first, second), (second, first)))]
        with patch("frappe.enqueue"):
            self.deliver_concurrently(bodies)
        events = frappe.get_all("WhatsApp Webhook Event", filters={"account": account}, pluck="name")
        # Each job has its first customer in hand before either goes on to the other's.
        both_started = threading.Barrier(2)
        apply = whatsapp_webhook.apply_message
        seen = threading.local()

        def apply_then_wait(*args):
            apply(*args)
            if not getattr(seen, "once", False):
                seen.once = True
                try:
                    both_started.wait(timeout=2)
                except threading.BrokenBarrierError:
                    pass  # the other job waits for a lock this one holds: as it should

        with patch.object(whatsapp_webhook, "apply_message", apply_then_wait), patch("frappe.enqueue"), \
                patch("frappe.publish_realtime"):
            processed = run_concurrently(lambda i: whatsapp_webhook.process_event(events[i]), 2, user="Administrator")
        self.track_whatsapp(account)
        self.assertEqual([o.error for o in processed], [None, None])
        self.assertEqual([frappe.db.get_value("WhatsApp Webhook Event", e, ["status", "error"]) for e in events],
                         [("Processed", None)] * 2)
        self.assertEqual(frappe.db.count("WhatsApp Message", {"account": account}), 4)

    # --- fixtures ----------------------------------------------------------------------------------

    def menu_item(self, item_name: str, rate: float) -> str:
        code = item_name.replace(" ", "-")
        self.committed.insert({"doctype": "Item", "item_code": code, "item_name": item_name,
                               "item_group": "All Item Groups", "stock_uom": "Nos", "is_stock_item": 0})
        price_list = frappe.db.get_single_value("Selling Settings", "selling_price_list") or "Standard Selling"
        self.committed.insert({"doctype": "Item Price", "item_code": code, "price_list_rate": rate,
                               "price_list": price_list})
        return code

    def track_orders(self, customer_name: str) -> None:
        """Register what the tool calls created so that it is deleted: interactions, orders, customers."""
        for customer in frappe.get_all("Customer", filters={"customer_name": customer_name}, pluck="name"):
            self.committed.add("Customer", customer)
            for order in frappe.get_all("Sales Order", filters={"customer": customer}, pluck="name"):
                self.committed.add("Sales Order", order)
        sessions = [name for doctype, name in self.committed.docs if doctype == "Voice Session"]
        for interaction in frappe.get_all("Voice Interaction", filters={"voice_session": ("in", sessions)},
                                          pluck="name"):
            self.committed.add("Voice Interaction", interaction)

    def tearDown(self):
        # Sessions and their interactions link to the orders' customers: they go first.
        sessions = [name for doctype, name in self.committed.docs if doctype == "Voice Session"]
        if sessions:
            for interaction in frappe.get_all("Voice Interaction", filters={"voice_session": ("in", sessions)},
                                              pluck="name"):
                delete_for_real("Voice Interaction", interaction)
        for session in sessions:
            delete_for_real("Voice Session", session)


def _exists(doctype: str) -> bool:
    return bool(frappe.db.exists("DocType", doctype))

