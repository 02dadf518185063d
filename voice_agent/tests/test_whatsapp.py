"""WhatsApp messaging on a real site against the loopback fake of Meta's Graph API (tests/fakes/whatsapp):
accounts, the signed webhook, every message and status type, parties and Leads, sending through the
durable queue with Graph's errors, media both ways, templates, permissions, the inbox, the timeline,
the drain job and desk sends right after the answer.

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_whatsapp

Every test is rolled back (voice_agent.tests.utils.VoiceAgentTestCase): the site keeps none of it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import timedelta
from unittest.mock import patch

import frappe
from frappe.utils import CallbackManager, add_to_date, get_datetime, now_datetime

from voice_agent.api import whatsapp as api
from voice_agent.conversations import parties
from voice_agent.integrations.whatsapp import media, outbound, template_sync, webhook
from voice_agent.tests.utils import VoiceAgentTestCase, as_user, ensure_user, http_request, load_fake

fake_module = load_fake("whatsapp")
hooks = fake_module.wh  # the builders of Meta's webhook bodies

APP_SECRET = "unit-app-secret-0123456789"
VERIFY_TOKEN = "unit-verify-token"
AGENT = "va-wa-agent@example.com"
OTHER = "va-wa-other@example.com"
MANAGER = "va-wa-manager@example.com"
WEBHOOK = "voice_agent.api.whatsapp.whatsapp_webhook"


class TestWhatsApp(VoiceAgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = fake_module.FakeWhatsApp(token="unit-token").start()
        cls.addClassCleanup(cls.fake.stop)
        ensure_user(AGENT, "Voice Agent User", "Sales User")
        ensure_user(OTHER, "Voice Agent User", "Sales User")
        ensure_user(MANAGER, "Voice Agent Manager", "Sales User")

    def setUp(self):
        super().setUp()
        self.fake.reset()
        self.fake.rotate_token("unit-token")
        # Webhooks are posted by the tests themselves; they open the 24-hour window, not the fake.
        self.fake.configure(auto_statuses=False, enforce_window=False)
        frappe.cache.delete(webhook._key("last-landed"))  # a drain here ends when nothing is left to claim
        self.set_single("WhatsApp Settings", {"create_party_for_unknown_numbers": 1, "new_party_doctype": "Lead",
                                              "default_phone_region": "US", "raw_payload_retention_days": 30,
                                              "media_download_limit_mb": 100})
        self.account = self.make_account()
        self.customer = f"1650555{uuid.uuid4().int % 10000:04d}"

    def make_account(self, **values):
        doc = frappe.get_doc({
            "doctype": "WhatsApp Account", "title": f"Unit {uuid.uuid4().hex[:6]}", "enabled": 1,
            "phone_number_id": self.fake.phone_number_id, "waba_id": self.fake.waba_id,
            "access_token": "unit-token", "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN,
            "graph_api_version": "v23.0", "team": [{"user": AGENT}], **values,
        })
        with patch.dict(frappe.conf, {"developer_mode": 1}):
            doc.graph_base_url = self.fake.base_url
            doc.insert()
        return doc

    # --- helpers -------------------------------------------------------------------------------

    def post(self, body: dict | bytes, secret: str = APP_SECRET, signature: str | None = None):
        raw = hooks.encode(body)
        headers = {"X-Hub-Signature-256": signature or hooks.sign(secret, raw), "Content-Type": "application/json"}
        with http_request(WEBHOOK, headers=headers, body=raw), patch("frappe.enqueue") as enqueue, as_user("Guest"):
            result = api.whatsapp_webhook()
        return result, enqueue

    def queued(self, body: dict) -> str:
        """Post a signed webhook: stored, and a drain job queued for it. Returns the event name."""
        result, enqueue = self.post(body)
        self.assertEqual(result["status"], "accepted", result)
        self.assertEqual(enqueue.call_args.args[0], webhook.DRAIN)
        return enqueue.call_args.kwargs["event_name"]

    def deliver(self, body: dict) -> str:
        """Post a signed webhook and process it as the background job would; returns the event name."""
        name = self.queued(body)
        with patch("frappe.enqueue"), as_user("Guest"):  # the job runs as whoever queued it: the webhook's Guest
            webhook.process_event(name)
        return name

    def batch(self, *messages: dict, name: str = "Ada Lovelace") -> dict:
        """Meta's webhook body with these messages from the customer."""
        return hooks.messages_webhook(contacts=[hooks.contact(self.customer, name)], messages=list(messages))

    def inbound(self, *messages: dict, name: str = "Ada Lovelace") -> None:
        self.deliver(self.batch(*messages, name=name))

    def conversation(self) -> frappe.model.document.Document:
        return frappe.get_doc("WhatsApp Conversation", {"account": self.account.name, "wa_id": self.customer})

    def send(self, **args) -> dict:
        conversation = self.conversation().name
        with as_user(AGENT), patch("frappe.enqueue") as enqueue:
            message = api.send_message(conversation, **args)
        return message, enqueue

    def run_send(self, message: str) -> frappe.model.document.Document:
        with patch("frappe.enqueue"):
            outbound.send(message)
        return frappe.get_doc("WhatsApp Message", message)

    def assertWhatsAppContract(self, definition: str, value) -> None:
        from voice_agent.contracts import definition_validator

        plain = json.loads(json.dumps(value, default=str))
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in definition_validator("whatsapp-api.schema.json", definition).iter_errors(plain)]
        self.assertEqual(errors, [], f"{definition} contract")

    # --- accounts ------------------------------------------------------------------------------

    def test_account_needs_digits_and_meta_unless_developer_mode(self):
        with self.assertRaisesRegex(frappe.ValidationError, "digits only"):
            self.make_account(phone_number_id="abc")
        doc = frappe.get_doc("WhatsApp Account", self.account.name)
        doc.graph_base_url = "https://graph.example.net"
        with patch.dict(frappe.conf, {"developer_mode": 0}):
            self.assertRaisesRegex(frappe.ValidationError, "developer mode", doc.save)

    def test_a_new_app_secret_keeps_the_previous_one_for_a_day(self):
        doc = frappe.get_doc("WhatsApp Account", self.account.name)
        doc.app_secret = "the-new-app-secret-0123"
        with patch.dict(frappe.conf, {"developer_mode": 1}):
            doc.save()
        self.assertEqual(doc.get_password("previous_app_secret"), APP_SECRET)
        self.assertGreater(doc.previous_app_secret_until, now_datetime() + timedelta(hours=23))
        body = hooks.messages_webhook(messages=[hooks.text(self.customer, "old secret")])
        self.assertEqual(self.post(body, secret=APP_SECRET)[0]["status"], "accepted")
        other = hooks.messages_webhook(messages=[hooks.text(self.customer, "new secret")])
        self.assertEqual(self.post(other, secret="the-new-app-secret-0123")[0]["status"], "accepted")

    def test_test_connection_reads_the_profile_and_explains_failures(self):
        with as_user(MANAGER):
            result = api.test_connection(self.account.name)
        self.assertTrue(result["ok"], result)
        self.assertEqual(frappe.db.get_value("WhatsApp Account", self.account.name, "status"), "Connected")
        self.fake.expire_token()
        with as_user(MANAGER):
            result = api.test_connection(self.account.name)
        self.assertFalse(result["ok"])
        self.assertIn("expired", result["message"])
        self.assertEqual(frappe.db.get_value("WhatsApp Account", self.account.name, "status"), "Token expired")
        with as_user(AGENT), self.assertRaises(frappe.PermissionError):
            api.test_connection(self.account.name)

    # --- webhook -------------------------------------------------------------------------------

    def test_handshake_answers_only_subscribe_with_our_token(self):
        query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        with http_request(WEBHOOK, method="GET", query=query), as_user("Guest"):
            response = api.whatsapp_webhook()
        self.assertEqual((response.status_code, response.get_data(as_text=True)), (200, "1158201444"))
        for bad in ({**query, "hub.verify_token": "wrong"}, {**query, "hub.mode": "unsubscribe"}):
            with http_request(WEBHOOK, method="GET", query=bad), as_user("Guest"), \
                    self.assertRaises(frappe.PermissionError):
                api.whatsapp_webhook()

    def test_forged_altered_unsigned_and_replayed_webhooks_change_nothing(self):
        body = hooks.messages_webhook(messages=[hooks.text(self.customer, "hello")])
        before = frappe.db.count("WhatsApp Webhook Event")
        self.assertRaises(frappe.AuthenticationError, self.post, body, "forged-secret")
        raw = hooks.encode(body)
        altered = raw.replace(b"hello", b"hellx")
        self.assertRaises(frappe.AuthenticationError, self.post, altered, APP_SECRET, hooks.sign(APP_SECRET, raw))
        self.assertRaises(frappe.AuthenticationError, self.post, body, APP_SECRET, "sha256=" + "0" * 64)
        self.assertEqual(frappe.db.count("WhatsApp Webhook Event"), before)
        first, enqueue = self.post(body)
        again, enqueue_again = self.post(body)
        self.assertEqual((first["status"], again["status"]), ("accepted", "duplicate"))
        self.assertEqual((enqueue.call_count, enqueue_again.call_count), (1, 0))
        self.assertEqual(frappe.db.count("WhatsApp Webhook Event"), before + 1)

    def test_a_message_from_an_unknown_number_creates_one_lead_and_one_message(self):
        wamid = hooks.new_wamid()
        self.inbound(hooks.text(self.customer, "Do you deliver on Sundays?", wamid=wamid))
        conversation = self.conversation()
        self.assertEqual((conversation.party_doctype, conversation.profile_name), ("Lead", "Ada Lovelace"))
        lead = frappe.get_doc("Lead", conversation.party_name)
        self.assertEqual(lead.mobile_no, f"+{self.customer}")
        self.assertEqual(lead.source, "WhatsApp")
        message = frappe.get_doc("WhatsApp Message", {"wamid": wamid})
        self.assertEqual((message.direction, message.status, message.text), ("Inbound", "Received",
                                                                             "Do you deliver on Sundays?"))
        self.assertEqual((message.party_doctype, message.party_name), ("Lead", lead.name))
        self.assertEqual(conversation.unread_count, 1)
        self.assertTrue(conversation.window_ends_at)
        # The same message inside another delivery (Meta retries with a new body): still one message.
        self.inbound(hooks.text(self.customer, "Do you deliver on Sundays?", wamid=wamid),
                     hooks.text(self.customer, "Thanks", wamid=hooks.new_wamid()))
        self.assertEqual(frappe.db.count("WhatsApp Message", {"wamid": wamid}), 1)
        self.assertEqual(frappe.db.count("Lead", {"mobile_no": f"+{self.customer}"}), 1)
        self.assertEqual(self.conversation().unread_count, 2)

    def test_a_new_numbers_lead_is_made_once_its_message_is_committed_when_the_bot_answers(self):
        # ERPNext takes about 0.2 s for a Lead and its Contact: the bot answers first. Without a bot the Lead
        # comes in the message's transaction (test_a_message_from_an_unknown_number_creates_one_lead...).
        wamid = hooks.new_wamid()
        seen = []
        create_party = parties.create_party

        def create(phone: str, profile_name: str | None):
            seen.append(frappe.db.get_value("WhatsApp Message", {"wamid": wamid}, ["name", "party_name"]))
            return create_party(phone, profile_name)

        with patch("voice_agent.conversations.parties.create_party", side_effect=create), \
                patch("voice_agent.conversations.bot.bot_profile_for", return_value="A profile"), \
                patch("voice_agent.conversations.bot.on_customer_message"):
            self.inbound(hooks.text(self.customer, "Hello", wamid=wamid))
        self.assertEqual(len(seen), 1)
        self.assertIsNotNone(seen[0], "the message was stored before the Lead was made")
        self.assertIsNone(seen[0][1])
        lead = self.conversation().party_name
        self.assertEqual(frappe.db.get_value("Lead", lead, "mobile_no"), f"+{self.customer}")
        self.assertEqual(frappe.db.get_value("WhatsApp Message", {"wamid": wamid}, ["party_doctype", "party_name"]),
                         ("Lead", lead))
        # A second message finds the Lead: no second one, none deferred.
        self.inbound(hooks.text(self.customer, "Anyone?"))
        self.assertEqual(len(seen), 1)
        self.assertEqual(frappe.db.count("Lead", {"mobile_no": f"+{self.customer}"}), 1)

    def test_a_new_conversation_goes_to_the_numbers_default_owner(self):
        self.account.db_set("default_owner", AGENT)
        self.inbound(hooks.text(self.customer, "Is anyone there?"))
        conversation = self.conversation()
        self.assertEqual(conversation.assigned_to, AGENT)
        self.assertEqual(frappe.get_all("ToDo", filters={"reference_type": "WhatsApp Conversation",
                                                         "reference_name": conversation.name, "status": "Open"},
                                        pluck="allocated_to"), [AGENT])
        self.assertEqual(frappe.db.count("WhatsApp Message", {"conversation": conversation.name}), 1)
        self.assertEqual(conversation.unread_count, 1)
        # Made by the site, not by "Guest" (the webhook's user, whom the job inherits).
        todo = frappe.get_doc("ToDo", {"reference_name": conversation.name})
        self.assertEqual((conversation.owner, frappe.db.get_value("Lead", conversation.party_name, "owner"),
                          todo.assigned_by), ("Administrator",) * 3)

    def test_every_message_type_of_a_batch_is_kept(self):
        media_id = self.fake.seed_media(b"\x89PNG fake image", "image/png").id
        target = hooks.new_wamid()
        batch = [
            hooks.text(self.customer, "hi", wamid=target),
            hooks.image(self.customer, media_id, mime_type="image/png", caption="my receipt"),
            hooks.audio(self.customer, "audio-1"),
            hooks.document(self.customer, "doc-1", filename="invoice.pdf"),
            hooks.sticker(self.customer, "sticker-1"),
            hooks.reaction(self.customer, target, "👍"),
            hooks.button_reply(self.customer, "yes", "Yes please", context_id=target),
            hooks.list_reply(self.customer, "row-2", "Tuesday", context_id=target),
            hooks.location(self.customer, 48.8584, 2.2945, name="Eiffel Tower"),
            hooks.contacts(self.customer, [hooks.contact_card("Grace Hopper", "+15550000001")]),
            hooks.unsupported(self.customer),
            {**hooks.text(self.customer, "x"), "type": "hologram", "hologram": {"depth": 3}},
        ]
        self.inbound(*batch)
        conversation = self.conversation()
        kinds = frappe.get_all("WhatsApp Message", filters={"conversation": conversation.name},
                               fields=["message_type", "text", "media_state", "reply_to"], order_by="received_at asc")
        self.assertEqual(len(kinds), len(batch))
        by_kind = {k.message_type: k for k in kinds}
        self.assertEqual(by_kind["image"].text, "my receipt")
        self.assertEqual(by_kind["image"].media_state, "Pending")
        self.assertEqual(by_kind["reaction"].text, "👍")
        self.assertEqual(by_kind["location"].text, "Eiffel Tower")
        self.assertIn("Grace Hopper", by_kind["contacts"].text)
        self.assertIn("does not pass on", by_kind["unsupported"].text)
        self.assertIn("hologram", by_kind["unknown"].text)
        self.assertEqual(frappe.db.count("WhatsApp Message", {"conversation": conversation.name,
                                                             "reply_to": ("is", "set")}), 2)

    def test_inbound_media_is_downloaded_privately_and_checked(self):
        content = b"%PDF-1.4 fake invoice"
        seeded = self.fake.seed_media(content, "application/pdf")
        self.inbound(hooks.document(self.customer, seeded.id, filename="invoice.pdf",
                                    sha256=hooks.sha256_b64(content)))
        message = frappe.get_doc("WhatsApp Message", {"conversation": self.conversation().name})
        with patch("frappe.publish_realtime"):
            media.download(message.name)
        message.reload()
        self.assertEqual((message.media_state, message.media_size), ("Downloaded", len(content)))
        file_doc = frappe.get_doc("File", {"file_url": message.media_file})
        self.assertTrue(file_doc.is_private)
        with open(file_doc.get_full_path(), "rb") as handle:
            self.assertEqual(handle.read(), content)
        bad = self.fake.seed_media(b"other bytes", "application/pdf")
        self.inbound(hooks.document(self.customer, bad.id, sha256=hashlib.sha256(b"x").hexdigest()))
        wrong = frappe.get_doc("WhatsApp Message", {"media_id": bad.id})
        with patch("frappe.publish_realtime"):
            media.download(wrong.name)
        self.assertEqual(frappe.db.get_value("WhatsApp Message", wrong.name, "media_state"), "Failed")
        # A damaged photo: Frappe re-encodes JPEGs to strip their EXIF data and cannot read this one.
        self.set_single("System Settings", {"strip_exif_metadata_from_uploaded_images": 1})
        damaged = b"\xff\xd8\xff\xe0 not really a jpeg"
        photo = self.fake.seed_media(damaged, "image/jpeg")
        self.inbound(hooks.image(self.customer, photo.id, sha256=hooks.sha256_b64(damaged)))
        unreadable = frappe.get_doc("WhatsApp Message", {"media_id": photo.id})
        with patch("frappe.publish_realtime"):
            media.download(unreadable.name)
        unreadable.reload()
        self.assertEqual(unreadable.media_state, "Failed")
        self.assertIn("cannot be read", unreadable.error_message)

    def test_media_wait_out_a_graph_outage_and_one_job_fetches_them_all(self):
        content = b"%PDF-1.4 delivery note"
        seeded = self.fake.seed_media(content, "application/pdf")
        self.inbound(hooks.document(self.customer, seeded.id, filename="note.pdf", sha256=hooks.sha256_b64(content)))
        name = frappe.db.get_value("WhatsApp Message", {"media_id": seeded.id})
        self.fake.set_mode("5xx")
        with patch("frappe.publish_realtime"):
            media.download_due()
        state, attempts, due, error = frappe.db.get_value("WhatsApp Message", name, ["media_state", "attempts",
                                                                                     "next_attempt_at", "error_message"])
        self.assertEqual((state, attempts), ("Pending", 1))
        self.assertGreater(get_datetime(due), now_datetime())
        self.assertTrue(error)
        self.fake.set_mode("ok")
        with patch("frappe.publish_realtime"):
            media.download_due()  # not due yet
        self.assertEqual(frappe.db.get_value("WhatsApp Message", name, "media_state"), "Pending")
        frappe.db.set_value("WhatsApp Message", name, "next_attempt_at", add_to_date(now_datetime(), minutes=-1))
        with patch("frappe.publish_realtime"):
            media.download_due()
        self.assertEqual(frappe.db.get_value("WhatsApp Message", name, "media_state"), "Downloaded")
        # A job is queued after a file's commit unless one is queued that has not started yet.
        with patch.dict(frappe.flags, {"in_test": False}), patch("frappe.enqueue") as enqueue:
            frappe.cache.delete(media._queued_key())
            media._ensure_drain()
            media._ensure_drain()  # the first has not started: it will see this file too
            self.assertEqual(enqueue.call_count, 1)
            media.download_due()  # started: the next file needs a job of its own
            media._ensure_drain()
            self.assertEqual(enqueue.call_count, 2)
            frappe.cache.delete(media._queued_key())

    def test_the_scheduler_retries_a_failed_event_a_bounded_number_of_times(self):
        name = self.queued(self.batch(hooks.text(self.customer, "hello")))
        frappe.db.set_value(webhook.EVENT, name, "payload", "{not json", update_modified=False)
        for attempt in (1, 2):
            frappe.db.set_value(webhook.EVENT, name, "modified", add_to_date(now_datetime(), minutes=-10),
                                update_modified=False)
            webhook.retry_failed_events()
            self.assertEqual(frappe.db.get_value(webhook.EVENT, name, ["status", "attempts"]), ("Failed", attempt))

    def test_user_changed_number_moves_the_conversation(self):
        self.inbound(hooks.text(self.customer, "hello"))
        before = self.conversation().name
        new_number = f"1650777{uuid.uuid4().int % 10000:04d}"
        self.inbound(hooks.user_changed_number(self.customer, new_number))
        moved = frappe.get_doc("WhatsApp Conversation", before)
        self.assertEqual((moved.wa_id, moved.phone), (new_number, f"+{new_number}"))

    # --- statuses ------------------------------------------------------------------------------

    def test_statuses_only_move_forward_and_a_failure_says_why(self):
        self.inbound(hooks.text(self.customer, "hi"))
        message, _ = self.send(kind="text", text="Yes, on Sundays too.")
        sent = self.run_send(message["name"])
        self.assertEqual(sent.status, "Sent")
        wamid = sent.wamid
        self.deliver(hooks.statuses_webhook([hooks.status(wamid, "read", self.customer),
                                             hooks.status(wamid, "delivered", self.customer)]))
        self.assertEqual(frappe.db.get_value("WhatsApp Message", sent.name, "status"), "Read")
        self.deliver(hooks.statuses_webhook([hooks.status(wamid, "sent", self.customer)]))
        self.assertEqual(frappe.db.get_value("WhatsApp Message", sent.name, "status"), "Read")
        failing, _ = self.send(kind="text", text="second")
        second = self.run_send(failing["name"])
        self.deliver(hooks.statuses_webhook([hooks.failed_status(second.wamid, self.customer, code=131026)]))
        second.reload()
        self.assertEqual((second.status, second.error_code), ("Failed", 131026))
        self.assertTrue(second.error_message)

    def test_a_status_for_an_unknown_message_is_kept_until_its_id_arrives(self):
        wamid = hooks.new_wamid()
        self.deliver(hooks.statuses_webhook([hooks.status(wamid, "delivered", self.customer)]))
        self.assertEqual(frappe.db.count("WhatsApp Pending Status", {"wamid": wamid}), 1)
        self.inbound(hooks.text(self.customer, "hi"))
        message, _ = self.send(kind="text", text="hello")
        frappe.db.set_value("WhatsApp Message", message["name"], "status", "Sending")
        with patch("frappe.publish_realtime"):
            outbound._record_sent(message["name"], wamid)
        self.assertEqual(frappe.db.get_value("WhatsApp Message", message["name"], "status"), "Delivered")
        self.assertEqual(frappe.db.count("WhatsApp Pending Status", {"wamid": wamid}), 0)

    # --- sending -------------------------------------------------------------------------------

    def test_text_is_queued_then_sent_and_outside_the_window_only_templates_go(self):
        self.inbound(hooks.text(self.customer, "hi"))
        message, enqueue = self.send(kind="text", text="Hello Ada")
        self.assertWhatsAppContract("Message", message)
        self.assertEqual(message["status"], "queued")
        self.assertEqual(enqueue.call_args.kwargs["job_id"], f"whatsapp-send:{message['name']}")
        sent = self.run_send(message["name"])
        self.assertEqual(sent.status, "Sent")
        graph = self.fake.sent_messages()[-1]["payload"]
        self.assertEqual((graph["to"], graph["text"]["body"]), (self.customer, "Hello Ada"))
        frappe.db.set_value("WhatsApp Conversation", self.conversation().name, "last_inbound_at",
                            now_datetime() - timedelta(hours=25))
        with self.assertRaisesRegex(frappe.ValidationError, "only a template"):
            self.send(kind="text", text="too late")
        template = self.synced_template("order_update", "en_US")
        with self.assertRaisesRegex(frappe.ValidationError, "Fill in"):
            self.send(kind="template", template=template, template_values={"body": {"1": "Ada"}})
        queued, _ = self.send(kind="template", template=template,
                              template_values={"body": {"1": "Ada", "2": "SO-0042"}})
        self.assertEqual(queued["text"], "Hi Ada, your order SO-0042 has shipped.")
        self.assertEqual(self.run_send(queued["name"]).status, "Sent")
        graph = self.fake.sent_messages()[-1]["payload"]
        self.assertEqual(graph["template"]["components"][0]["parameters"][1]["text"], "SO-0042")

    def test_an_image_is_uploaded_and_sent_by_id(self):
        self.inbound(hooks.text(self.customer, "hi"))
        with as_user(AGENT):  # as the panel uploads it: the user's own private file on the conversation
            file_doc = frappe.get_doc({"doctype": "File", "file_name": "menu.png", "is_private": 1,
                                       "attached_to_doctype": "WhatsApp Conversation",
                                       "attached_to_name": self.conversation().name,
                                       "content": b"\x89PNG\r\n\x1a\n fake"}).insert()
        message, _ = self.send(kind="media", file_url=file_doc.file_url, text="Today's menu")
        sent = self.run_send(message["name"])
        self.assertEqual((sent.status, sent.media_state), ("Sent", "Uploaded"))
        graph = self.fake.sent_messages()[-1]["payload"]
        self.assertEqual((graph["type"], graph["image"]["id"], graph["image"]["caption"]),
                         ("image", sent.media_id, "Today's menu"))

    def test_graph_errors_retry_fail_or_hold_as_meta_means_them(self):
        self.inbound(hooks.text(self.customer, "hi"))
        message, _ = self.send(kind="text", text="one")
        self.fake.fail_next(130429)
        retried = self.run_send(message["name"])
        self.assertEqual(retried.status, "Queued")
        self.assertGreater(retried.next_attempt_at, now_datetime())
        self.assertTrue(retried.error_message)
        frappe.db.set_value("WhatsApp Message", retried.name, "next_attempt_at", now_datetime())
        self.assertEqual(self.run_send(retried.name).status, "Sent")

        undeliverable, _ = self.send(kind="text", text="two")
        self.fake.fail_next(131026)
        failed = self.run_send(undeliverable["name"])
        self.assertEqual((failed.status, failed.error_code), ("Failed", 131026))

        held, _ = self.send(kind="text", text="three")
        self.fake.expire_token()
        with patch("frappe.publish_realtime"):
            kept = self.run_send(held["name"])
        self.assertEqual(kept.status, "Queued")
        self.assertIn("token", kept.error_message)
        self.assertEqual(frappe.db.get_value("WhatsApp Account", self.account.name, "status"), "Token expired")
        self.fake.rotate_token("unit-token-2")
        account = frappe.get_doc("WhatsApp Account", self.account.name)
        account.access_token = "unit-token-2"
        with patch.dict(frappe.conf, {"developer_mode": 1}), patch("frappe.enqueue") as enqueue:
            account.save()
        self.assertIn(held["name"], [c.kwargs.get("message_name") for c in enqueue.call_args_list])
        self.assertEqual(self.run_send(held["name"]).status, "Sent")

    def test_a_graph_outage_loses_nothing(self):
        self.inbound(hooks.text(self.customer, "hi"))
        messages = [self.send(kind="text", text=f"message {i}")[0]["name"] for i in range(3)]
        self.fake.set_mode("down")
        for name in messages:
            self.assertEqual(self.run_send(name).status, "Queued")
        self.fake.set_mode("ok")
        frappe.db.sql("UPDATE `tabWhatsApp Message` SET next_attempt_at = %s WHERE name IN %s",
                      (now_datetime() - timedelta(seconds=1), messages))
        with patch("frappe.enqueue") as enqueue:
            outbound.send_due_messages()
        due = {c.kwargs["message_name"] for c in enqueue.call_args_list}
        self.assertLessEqual(set(messages), due)
        for name in messages:
            self.assertEqual(self.run_send(name).status, "Sent")
        bodies = [m["payload"]["text"]["body"] for m in self.fake.sent_messages() if m["type"] == "text"]
        self.assertEqual(sorted(b for b in bodies if b.startswith("message ")), ["message 0", "message 1", "message 2"])

    def synced_template(self, name: str, language: str) -> str:
        with patch("frappe.publish_realtime"):
            template_sync.sync_templates(self.account.name)
        return template_sync.template_name(name, language, self.fake.waba_id)

    def test_templates_sync_list_and_preview(self):
        result = self.synced_template("order_update", "en_US")
        self.assertTrue(frappe.db.exists("WhatsApp Template", result))
        self.inbound(hooks.text(self.customer, "hi"))
        with as_user(AGENT):
            listed = api.get_templates(self.conversation().name)
            preview = api.preview_template(result, {"body": {"1": "Ana"}})
        for template in listed:
            self.assertWhatsAppContract("Template", template)
        self.assertNotIn("PENDING", {t["status"] for t in listed})
        self.assertWhatsAppContract("TemplatePreview", preview)
        self.assertEqual(preview, {"text": "Hi Ana, your order {{2}} has shipped.", "missing": [2]})

    # --- parties, permissions, inbox, timeline ---------------------------------------------------

    def test_a_known_contact_is_found_in_any_stored_format_and_can_be_relinked(self):
        suffix = uuid.uuid4().hex[:6]
        # ERPNext gives the Customer a primary Contact with its number too; the newest Contact wins.
        customer = frappe.get_doc({"doctype": "Customer", "customer_name": f"Grace {suffix} Ltd",
                                   "mobile_no": f"+1-650555{self.customer[-4:]}"}).insert()
        contact = frappe.get_doc({"doctype": "Contact", "first_name": f"Grace {suffix}",
                                  "phone_nos": [{"phone": f"(650) 555-{self.customer[-4:]}",
                                                 "is_primary_mobile_no": 1}]}).insert()
        self.inbound(hooks.text(self.customer, "hello"))
        conversation = self.conversation()
        self.assertEqual((conversation.party_doctype, conversation.party_name), ("Contact", contact.name))
        self.assertIn(f"Customer: {customer.name}", conversation.other_parties)
        with as_user(AGENT):
            view = api.link_party(conversation.name, "Customer", customer.name)
        self.assertEqual(view["party"]["name"], customer.name)
        self.assertEqual(frappe.db.get_value("WhatsApp Message", {"conversation": conversation.name}, "party_name"),
                         customer.name)

    def test_users_see_the_conversations_of_their_numbers_and_assignments_only(self):
        with patch("frappe.publish_realtime") as publish:
            self.inbound(hooks.text(self.customer, "hello"))
        name = self.conversation().name
        # Pushed to the users who may see it, and to no room that anyone who may read the Lead joins.
        pushes = [c.kwargs for c in publish.call_args_list if c.args[0] == "whatsapp_update"]
        self.assertTrue(pushes)
        self.assertTrue(all(set(p) == {"user", "after_commit"} for p in pushes), pushes)
        self.assertIn(AGENT, {p["user"] for p in pushes})
        self.assertNotIn(OTHER, {p["user"] for p in pushes})
        # The message itself is not announced to every desk user on the site (Frappe's list_update).
        self.assertEqual([c.args[0] for c in publish.call_args_list
                          if c.args[0] in ("doc_update", "list_update") and c.args[1].get("doctype") == "WhatsApp Message"], [])
        with as_user(AGENT):
            self.assertIn(name, frappe.get_list("WhatsApp Conversation", pluck="name"))
            self.assertTrue(api.get_messages(name)["messages"])
        with as_user(OTHER):
            self.assertNotIn(name, frappe.get_list("WhatsApp Conversation", pluck="name"))
            self.assertFalse(frappe.get_list("WhatsApp Message", filters={"conversation": name}))
            self.assertRaises(frappe.PermissionError, api.get_messages, name)
            self.assertRaises(frappe.PermissionError, api.send_message, name, "text", "hi")
        with as_user(AGENT):
            api.assign_conversation(name, MANAGER)
        with as_user(MANAGER):
            self.assertIn(name, [c["name"] for c in api.get_inbox("mine")["conversations"]])

    def test_inbox_filters_counts_and_mark_read(self):
        self.inbound(hooks.text(self.customer, "first"), hooks.text(self.customer, "second"))
        name = self.conversation().name
        with as_user(AGENT):
            page = api.get_inbox("unread", account=self.account.name)
            self.assertWhatsAppContract("InboxPage", page)
            self.assertIn(name, [c["name"] for c in page["conversations"]])
            self.assertGreaterEqual(page["counts"]["unread"], 1)
            found = api.get_inbox("all", search="Lovelace")
            self.assertIn(name, [c["name"] for c in found["conversations"]])
            with patch("frappe.enqueue") as enqueue:
                read = api.mark_read(name)
            self.assertEqual(read["unread_count"], 0)
            self.assertEqual(enqueue.call_args.args[0], "voice_agent.integrations.whatsapp.outbound.send_read_receipt")
            self.assertNotIn(name, [c["name"] for c in api.get_inbox("unread")["conversations"]])

    def test_messages_page_back_and_show_on_the_party_timeline(self):
        self.inbound(*[hooks.text(self.customer, f"line {i}") for i in range(7)])
        name = self.conversation().name
        with as_user(AGENT):
            first = api.get_messages(name, limit=5)
            self.assertWhatsAppContract("MessagePage", first)
            second = api.get_messages(name, before=first["messages"][-1]["name"], limit=5)
        self.assertEqual((len(first["messages"]), first["has_more"]), (5, True))
        self.assertEqual((len(second["messages"]), second["has_more"]), (2, False))
        self.assertFalse({m["name"] for m in first["messages"]} & {m["name"] for m in second["messages"]})
        from voice_agent.conversations.timeline import timeline_content

        conversation = self.conversation()
        with as_user(AGENT):
            cards = timeline_content(conversation.party_doctype, conversation.party_name)
        self.assertEqual(len(cards), 7)
        self.assertIn("line 6", cards[0]["content"])

    def test_party_panel_lists_the_records_conversations(self):
        self.inbound(hooks.text(self.customer, "hello"))
        conversation = self.conversation()
        with as_user(AGENT):
            panel = api.get_party_conversations(conversation.party_doctype, conversation.party_name)
        self.assertWhatsAppContract("PartyConversations", panel)
        self.assertEqual([c["name"] for c in panel["conversations"]], [conversation.name])
        self.assertEqual(panel["phone"], f"+{self.customer}")
        self.assertNotIn("latest_page", panel)
        # The panel opens in one round trip: the newest messages of the first conversation come along.
        self.inbound(hooks.text(self.customer, "second"), hooks.text(self.customer, "third"))
        with as_user(AGENT):
            panel = api.get_party_conversations(conversation.party_doctype, conversation.party_name, messages="2")
        self.assertWhatsAppContract("PartyConversations", panel)
        self.assertEqual([m["text"] for m in panel["latest_page"]["messages"]], ["third", "second"])
        self.assertTrue(panel["latest_page"]["has_more"])

    # --- personal data and records ---------------------------------------------------------------

    def test_personal_data_requests_find_and_redact_a_customers_messages(self):
        from frappe.website.doctype.personal_data_download_request.personal_data_download_request import (
            get_user_data,
        )

        email = f"grace-{uuid.uuid4().hex[:6]}@example.com"
        lead = frappe.get_doc({"doctype": "Lead", "first_name": "Grace", "lead_name": "Grace", "email_id": email,
                               "mobile_no": f"+{self.customer}"}).insert()
        self.inbound(hooks.text(self.customer, "my address is 1 Main Street"),
                     hooks.location(self.customer, 48.8584, 2.2945, name="Home"))
        conversation = self.conversation()
        self.assertEqual(conversation.customer_email, email)
        data = json.loads(get_user_data(email))
        self.assertEqual([c["name"] for c in data["WhatsApp Conversation"]], [conversation.name])
        self.assertEqual(len(data["WhatsApp Message"]), 2)

        request = frappe.new_doc("Personal Data Deletion Request")
        request.email = email
        request._PersonalDataDeletionRequest__set_anonymization_data(email, "deleted-user-0001@example.com")
        for ref in request.full_match_privacy_docs:
            if ref["doctype"].startswith("WhatsApp"):
                request.redact_full_match_data(ref, email)
        texts = frappe.get_all("WhatsApp Message", filters={"conversation": conversation.name},
                               fields=["text", "coordinates", "raw", "customer_email"])
        self.assertFalse([t for t in texts if "Main Street" in (t.text or "") or "48.85" in (t.coordinates or "")])
        self.assertFalse([t for t in texts if email in (t.customer_email or "") or "Main Street" in (t.raw or "")])
        self.assertNotEqual(frappe.db.get_value("WhatsApp Conversation", conversation.name, "wa_id"), self.customer)
        self.assertTrue(frappe.db.exists("Lead", lead.name))  # the Lead is ERPNext's own hook's business

    def test_messages_report_counts_volume_first_replies_and_failures(self):
        from voice_agent.voice_agent.report.whatsapp_messages import whatsapp_messages

        self.inbound(hooks.text(self.customer, "hello"))
        first, _ = self.send(kind="text", text="Hi, how can I help?")
        self.run_send(first["name"])
        failing, _ = self.send(kind="text", text="second")
        self.fake.fail_next(131026)
        self.run_send(failing["name"])
        today = frappe.utils.today()
        with as_user(MANAGER):
            columns, rows, _, chart, summary = whatsapp_messages.execute(
                {"from_date": today, "to_date": today, "account": self.account.name})
        row = next(r for r in rows if r["account"] == self.account.name)
        self.assertEqual((row["inbound"], row["outbound"], row["failed"], row["answered"]), (1, 2, 1, 1))
        self.assertIsNotNone(row["median_first_reply_min"])
        self.assertIn("131026", " ".join(s["label"] for s in summary))
        with as_user(OTHER):  # not in the number's team: sees none of it
            _, rows, *_ = whatsapp_messages.execute({"from_date": today, "to_date": today})
        self.assertFalse([r for r in rows if r["account"] == self.account.name])

    # --- the drain job, and desk sends right after the answer (docs/benchmarks.md, WhatsApp messaging) ---

    def test_one_drain_job_processes_every_stored_event_in_order(self):
        first = self.queued(self.batch(hooks.text(self.customer, "first")))
        second = self.queued(self.batch(hooks.text(self.customer, "second"), hooks.text(self.customer, "third")))
        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", return_value=False):
            webhook.drain(first)
        self.assertEqual([frappe.db.get_value(webhook.EVENT, e, "status") for e in (first, second)],
                         ["Processed", "Processed"])
        conversation = frappe.db.get_value("WhatsApp Conversation", {"account": self.account.name}, "name")
        texts = frappe.get_all("WhatsApp Message", filters={"conversation": conversation}, pluck="text",
                               order_by="creation asc")
        self.assertEqual(texts, ["first", "second", "third"])
        self.assertEqual(frappe.db.get_value("WhatsApp Conversation", conversation, "unread_count"), 3)

    def test_a_drain_waits_for_a_delivery_still_on_its_way_to_its_commit(self):
        event = self.queued(self.batch(hooks.text(self.customer, "late")))
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
        self.assertEqual(frappe.db.count("WhatsApp Message", {"text": "late", "account": self.account.name}), 1)

    def test_a_drain_stays_between_deliveries_of_a_busy_number_unless_others_need_its_worker(self):
        """Nothing to claim, nothing on its way to its commit, but a delivery landed a moment ago: the drain
        waits for the next one instead of ending (a new job is a new process). It does not wait when the
        bot's jobs are in play or another job waits on the queue."""
        event = self.queued(self.batch(hooks.text(self.customer, "next one")))
        frappe.db.set_value(webhook.EVENT, event, "status", "Processed")  # not landed yet
        landed, staying = webhook._key("last-landed"), webhook._key("staying")
        waits = []

        def sleep(_seconds: float) -> None:
            waits.append(frappe.cache.zcount(staying, time.time(), "+inf"))
            if len(waits) == 3:  # the next delivery lands while the drain waits
                frappe.db.set_value(webhook.EVENT, event, "status", "Received")
            if len(waits) > 3:  # and then the number goes quiet
                frappe.cache.delete(landed)

        def drain(**patches) -> None:
            frappe.cache.set(landed, str(time.time()), ex=60)
            with patch("frappe.enqueue"), patch.object(webhook.time, "sleep", side_effect=sleep), \
                    patch.object(webhook, "_in_flight", return_value=False), \
                    patch.object(webhook.bot.TURNS, "in_play", return_value=patches.get("bot", False)), \
                    patch.object(webhook, "_others_waiting", return_value=patches.get("others", False)):
                webhook.drain(None)

        try:
            for busy in ({"bot": True}, {"others": True}):
                drain(**busy)
                self.assertEqual(waits, [], busy)  # ended at once
            drain()
        finally:
            frappe.cache.delete(landed)
        self.assertEqual(waits, [1, 1, 1, 1], "it stays as the one staying drain")
        self.assertEqual(frappe.cache.zcard(staying), 0, "and leaves the staying set")
        self.assertEqual(frappe.db.get_value(webhook.EVENT, event, "status"), "Processed")
        self.assertEqual(frappe.db.count("WhatsApp Message", {"text": "next one", "account": self.account.name}), 1)
        # Quiet for longer than the gap: the drain ends at once.
        frappe.cache.set(landed, str(time.time() - webhook.ARRIVALS_GAP_SECONDS - 1), ex=60)
        try:
            with patch.object(webhook.bot.TURNS, "in_play", return_value=False), \
                    patch.object(webhook, "_others_waiting", return_value=False):
                self.assertFalse(webhook._between_deliveries())
        finally:
            frappe.cache.delete(landed)

    def test_a_delivery_queues_no_drain_while_one_stays_for_it(self):
        staying, in_flight = webhook._key("staying"), webhook._key("in-flight")
        try:
            with patch.object(webhook, "_enqueue_drain") as enqueue_drain:
                frappe.cache.zadd(staying, {"a-drain": time.time() + 5})
                webhook._enqueue("first-delivery")
                enqueue_drain.assert_not_called()
                self.assertIsNotNone(frappe.cache.zscore(in_flight, "first-delivery"), "the drain waits for it")
                frappe.cache.zadd(staying, {"a-drain": time.time() - 1})  # killed: its place ran out
                webhook._enqueue("second-delivery")
                enqueue_drain.assert_called_once_with("second-delivery")
        finally:
            frappe.cache.delete(staying)
            frappe.cache.zrem(in_flight, "first-delivery", "second-delivery")

    def test_a_desk_text_goes_to_meta_right_after_the_answer_not_through_a_job(self):
        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", return_value=False):
            webhook.drain(self.queued(self.batch(hooks.text(self.customer, "hello"))))
        conversation = frappe.db.get_value("WhatsApp Conversation", {"account": self.account.name}, "name")
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

    def test_the_web_process_handles_a_webhook_someone_waits_for_and_the_drain_the_rest(self):
        def post(body: dict, bot_answers: bool) -> tuple[str, list, CallbackManager]:
            raw = hooks.encode(body)
            headers = {"X-Hub-Signature-256": hooks.sign(APP_SECRET, raw), "Content-Type": "application/json"}
            with http_request(WEBHOOK, headers=headers, body=raw), patch("frappe.enqueue") as enqueue, \
                    as_user("Guest"), patch.dict(frappe.flags, {"in_test": False}), \
                    patch("voice_agent.conversations.bot.answers_for", return_value=bot_answers), \
                    patch("voice_agent.conversations.bot.expect_customer_message"):
                after = frappe.local.request.after_response = CallbackManager()
                self.assertEqual(api.whatsapp_webhook()["status"], "accepted")
            return [c.args[0] for c in enqueue.call_args_list], after

        # No bot on this number: the drain job, which goes through many events a second.
        jobs, after = post(self.batch(hooks.text(self.customer, "first")), bot_answers=False)
        self.assertEqual((jobs, len(after._functions)), ([webhook.DRAIN], 0))
        # The bot answers here: processed right after the answer, no job.
        jobs, after = post(self.batch(hooks.text(self.customer, "second")), bot_answers=True)
        self.assertEqual((jobs, len(after._functions)), ([], 1))
        with patch("frappe.enqueue"):
            after.run()
        self.assertEqual(frappe.db.count("WhatsApp Message", {"text": "second", "account": self.account.name}), 1)
        # Statuses: nobody waits for them.
        jobs, after = post(hooks.statuses_webhook([hooks.status(hooks.new_wamid(), "delivered", self.customer)]),
                           bot_answers=True)
        self.assertEqual((jobs, len(after._functions)), ([webhook.DRAIN], 0))

    def test_a_send_outside_a_request_still_goes_through_the_queue(self):
        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", return_value=False):
            webhook.drain(self.queued(self.batch(hooks.text(self.customer, "hello"))))
        conversation = frappe.db.get_value("WhatsApp Conversation", {"account": self.account.name}, "name")
        with as_user(AGENT), patch("frappe.enqueue") as enqueue:
            message = api.send_message(conversation, kind="text", text="Queued")
        self.assertEqual(enqueue.call_args.kwargs["job_id"], f"whatsapp-send:{message['name']}")
        self.assertEqual(self.fake.sent_messages(), [])

    def test_a_slow_meta_does_not_hold_the_web_worker_after_the_answer(self):
        with patch("frappe.enqueue"), patch.object(webhook, "_in_flight", return_value=False):
            webhook.drain(self.queued(self.batch(hooks.text(self.customer, "hello"))))
        conversation = frappe.db.get_value("WhatsApp Conversation", {"account": self.account.name}, "name")
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
        event = self.queued(self.batch(hooks.text(self.customer, "after a deadlock")))
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
        self.assertEqual(frappe.db.count("WhatsApp Message", {"text": "after a deadlock", "account": self.account.name}), 1)

    def test_a_drain_gives_way_to_a_send_waiting_on_its_queue(self):
        event = self.queued(self.batch(hooks.text(self.customer, "behind a send")))

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
