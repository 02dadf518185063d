"""One WhatsApp Business phone number: its Graph credentials, who handles its conversations, and its
health (the last test, an expired token). A new App Secret keeps the previous one accepted for a day, so
webhooks signed during the switch at Meta are not refused; a new access token releases the messages held
while the old one was expired."""

from __future__ import annotations

from datetime import timedelta

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password

from voice_agent.integrations.whatsapp.graph import DEFAULT_BASE_URL

SECRET_ROTATION_WINDOW = timedelta(hours=24)


class WhatsAppAccount(Document):
    def validate(self) -> None:
        self.phone_number_id = (self.phone_number_id or "").strip()
        self.waba_id = (self.waba_id or "").strip()
        for field in ("phone_number_id", "waba_id"):
            if not self.get(field).isdigit():
                frappe.throw(_("{0} is the number Meta shows (digits only).").format(self.meta.get_label(field)))
        if not (self.graph_api_version or "").startswith("v"):
            frappe.throw(_("Graph API Version looks like v23.0."))
        base = (self.graph_base_url or DEFAULT_BASE_URL).rstrip("/")
        if base != DEFAULT_BASE_URL and not frappe.conf.developer_mode:
            frappe.throw(_("Another Graph API address than Meta's is only allowed in developer mode."))
        self._validate_bot()
        self._validate_calling()
        self._keep_previous_secret()
        if self._changed_password("access_token"):
            self.status, self.token_expired_at, self.flags.token_replaced = "Not tested", None, True

    def _validate_bot(self) -> None:
        if not self.bot_enabled:
            return
        if not self.bot_profile:
            frappe.throw(_("Choose the Voice Agent Profile whose agent answers as the bot."))
        profile = frappe.db.get_value("Voice Agent Profile", self.bot_profile,
                                      ["enabled", "chat_enabled", "chat_provider"], as_dict=True)
        if not profile or not profile.enabled:
            frappe.throw(_("Voice Agent Profile {0} does not exist or is disabled.").format(self.bot_profile))
        if not profile.chat_enabled or not profile.chat_provider:
            frappe.throw(_("Voice Agent Profile {0} does not chat: tick Chat Enabled and choose its chat provider "
                           "first.").format(self.bot_profile))

    def _validate_calling(self) -> None:
        from voice_agent.integrations.whatsapp.call_rules import call_hours

        self.call_ring_timeout_sec = self.call_ring_timeout_sec or 30
        if not 5 <= self.call_ring_timeout_sec <= 600:
            frappe.throw(_("Ring Time is 5 to 600 seconds."))
        try:
            call_hours((row.weekday, row.from_time, row.to_time) for row in self.call_hours)
        except ValueError as exc:
            frappe.throw(_("Call Hours, {0}.").format(exc))
        if self.unanswered_call_action == "Reject and send a message" and not (self.missed_call_message or "").strip():
            frappe.throw(_("Type the message a customer gets after a missed call."))

    def on_update(self) -> None:
        if self.flags.token_replaced:
            from voice_agent.integrations.whatsapp.outbound import release_held_messages

            release_held_messages(self.name)

    def _keep_previous_secret(self) -> None:
        if not self._changed_password("app_secret"):
            return
        old = get_decrypted_password(self.doctype, self.name, "app_secret", raise_exception=False)
        if old:
            self.previous_app_secret = old
            self.previous_app_secret_until = now_datetime() + SECRET_ROTATION_WINDOW

    def _changed_password(self, field: str) -> bool:
        value = self.get(field)
        return bool(value) and not self.is_new() and not self.is_dummy_password(value)
