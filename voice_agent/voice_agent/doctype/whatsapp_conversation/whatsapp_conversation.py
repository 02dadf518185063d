"""A chat between one business number and one customer: who the customer is (number, business-scoped
user id, the party it is linked to), who handles it, what is unread, when the 24-hour window closes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime, now_datetime

from voice_agent.site_time import iso_utc

REALTIME_EVENT = "whatsapp_update"
SERVICE_WINDOW = timedelta(hours=24)
PREVIEW_CHARS = 140
# What recording a message changes: record_inbound / record_outbound, and a newer profile name or user id.
ACTIVITY_FIELDS = ("unread_count", "status", "last_message_at", "last_message_preview", "last_inbound_at",
                   "window_ends_at", "profile_name", "user_id")


class WhatsAppConversation(Document):
    def before_insert(self) -> None:
        self.conversation_key = conversation_key(self.account, self.wa_id)

    def validate(self) -> None:
        if self.party_doctype and self.party_name and not frappe.db.exists(self.party_doctype, self.party_name):
            frappe.throw(_("{0} {1} does not exist.").format(_(self.party_doctype), self.party_name))
        if self.party_doctype and self.party_name:
            self.party_title = party_title(self.party_doctype, self.party_name)
            self.customer_email = party_email(self.party_doctype, self.party_name)

    # --- changes (the caller holds the conversation's lock and saves) ---------------------------

    def record_inbound(self, received_at: datetime, preview: str) -> None:
        self.unread_count = (self.unread_count or 0) + 1
        self.status = "Open"
        self._record_last(received_at, preview)
        if not self.last_inbound_at or get_datetime(self.last_inbound_at) < received_at:
            self.last_inbound_at = received_at
            self.window_ends_at = received_at + SERVICE_WINDOW

    def record_outbound(self, at: datetime, preview: str) -> None:
        self._record_last(at, preview)

    def save_activity(self) -> None:
        """Write what recording a message changed (ACTIVITY_FIELDS) in one UPDATE, and tell an open form.
        A full save re-read the record and re-validated the party (three more reads) for every message,
        about a third of an inbound message's cost; none of what it checks changes here, and this
        controller has no change hooks. Desk lists and the inbox learn of it from publish(): Frappe's
        list_update would go to every desk user on the site for every message. The caller holds the
        conversation's lock."""
        self.modified, self.modified_by = now_datetime(), frappe.session.user
        frappe.db.set_value(self.doctype, self.name, {field: self.get(field) for field in ACTIVITY_FIELDS},
                            modified=self.modified, modified_by=self.modified_by)
        frappe.publish_realtime("doc_update", {"modified": self.modified, "doctype": self.doctype, "name": self.name},
                                doctype=self.doctype, docname=self.name, after_commit=True)

    def move_to_number(self, new_wa_id: str, new_phone: str | None) -> None:
        """The customer changed their WhatsApp number (a `user_changed_number` system message)."""
        self.wa_id = new_wa_id
        self.phone = new_phone or self.phone
        self.conversation_key = conversation_key(self.account, new_wa_id)

    def window_open(self, now: datetime | None = None) -> bool:
        return bool(self.window_ends_at) and get_datetime(self.window_ends_at) > (now or now_datetime())

    def _record_last(self, at: datetime, preview: str) -> None:
        if not self.last_message_at or get_datetime(self.last_message_at) <= at:
            self.last_message_at = at
            self.last_message_preview = (preview or "")[:PREVIEW_CHARS]

    # --- what the desk sees --------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """contracts/whatsapp-api.schema.json#/$defs/Conversation"""
        account_title = frappe.get_cached_value("WhatsApp Account", self.account, "title") or self.account
        return {
            "name": self.name,
            "account": self.account,
            "account_title": account_title,
            "wa_id": self.wa_id,
            "profile_name": self.profile_name or None,
            "party": {"doctype": self.party_doctype, "name": self.party_name,
                      "title": self.party_title or self.party_name}
            if self.party_doctype and self.party_name else None,
            "other_parties": self._other_parties(),
            "assigned_to": self.assigned_to or None,
            "unread_count": self.unread_count or 0,
            "last_message_at": iso_utc(self.last_message_at),
            "last_message_preview": self.last_message_preview or None,
            "window_ends_at": iso_utc(self.window_ends_at),
            "status": self.status or "Open",
            "bot_state": self.bot_state or None,
            "lead_score": self.lead_score if self.lead_score else None,
            "bot": self.bot_view(),
        }

    def bot_view(self) -> dict[str, Any] | None:
        """contracts/whatsapp-api.schema.json#/$defs/BotView"""
        if not self.bot_state:
            return None
        from voice_agent.conversations.access import is_manager

        return {
            "state": self.bot_state,
            "handover_reason": self.handover_reason or None if self.bot_state == "Handed over" else None,
            "handover_detail": self.handover_detail or None if self.bot_state == "Handed over" else None,
            "handed_over_at": iso_utc(self.handed_over_at) if self.bot_state == "Handed over" else None,
            "paused_until": iso_utc(self.bot_paused_until),
            "note": self.bot_note or None,
            "language": self.bot_language or None,
            "score": int(self.lead_score or 0),
            "score_explanation": [line for line in (self.score_explanation or "").splitlines() if line.strip()],
            "cost": round(float(self.bot_cost or 0), 6) if is_manager() else None,
        }

    def _other_parties(self) -> list[dict[str, str]]:
        """Other records with the customer's number, as find_party saw them; those deleted since are left out."""
        found = []
        for doctype, _colon, name in (line.partition(":") for line in (self.other_parties or "").splitlines()):
            doctype, name = doctype.strip(), name.strip()
            title = party_title(doctype, name) if name else None
            if title is not None:
                found.append({"doctype": doctype, "name": name, "title": title})
        return found

    def publish(self, kind: str, message: Any = None) -> None:
        """A `whatsapp_update` to every desk user who may see this conversation, after commit."""
        from voice_agent.conversations.access import users_who_see

        payload = {"kind": kind, "conversation": self.view()}
        if message is not None:
            payload["message"] = message.view()
        # Not to the party's document room: everyone who may read the Lead joins it, not only those who may
        # see its conversations; the party's panel takes what concerns it from the user's own pushes.
        for user in users_who_see(self):
            frappe.publish_realtime(REALTIME_EVENT, payload, user=user, after_commit=True)


def conversation_key(account: str, wa_id: str) -> str:
    return f"{account}:{wa_id}"


def party_email(doctype: str, name: str) -> str | None:
    """The party's email (for personal data requests), from the first email field it has."""
    meta = frappe.get_meta(doctype)
    field = next((f for f in ("email_id", "email", "email_address") if meta.has_field(f)), None)
    return frappe.db.get_value(doctype, name, field) if field else None


def party_title(doctype: str, name: str) -> str | None:
    """The record's title (its name when it has none); None when there is no such record."""
    title_field = frappe.get_meta(doctype).get_title_field() or "name"  # the meta vouches for both names
    # A plain statement: building it with the query builder was a sixth of an inbound message's cost
    # (every push describes the other records with the customer's number).
    row = frappe.db.sql(f"SELECT `name`, `{title_field}` FROM `tab{doctype}` WHERE `name` = %s", (name,))
    return str(row[0][1] or name) if row else None
