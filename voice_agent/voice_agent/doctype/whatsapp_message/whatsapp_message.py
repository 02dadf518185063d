"""One WhatsApp message, in or out. Its delivery status only moves forward (messaging/statuses.py),
with the time of each status; a failure keeps Meta's code and a sentence for the sender."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import frappe
from frappe import _
from frappe.model.document import Document

from voice_agent.messaging.statuses import apply_status
from voice_agent.site_time import iso_utc

# Our Select values by Meta's status names (and ours for the queue).
STATUS_VALUES = {
    "queued": "Queued", "sending": "Sending", "sent": "Sent", "delivered": "Delivered", "read": "Read",
    "played": "Read", "failed": "Failed", "received": "Received",
}
STATUS_TIME_FIELDS = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "played": "read_at",
                      "failed": "failed_at"}


class WhatsAppMessage(Document):
    def apply_delivery_status(self, status: str, at: datetime, error: dict[str, Any] | None = None) -> bool:
        """One status from Meta; True when it changed what the desk shows."""
        time_field = STATUS_TIME_FIELDS.get(status)
        changed = False
        if time_field and not self.get(time_field):
            self.set(time_field, at)
            changed = True
        current = (self.status or "queued").lower()
        new = apply_status("queued" if current == "sending" else current, status)
        value = STATUS_VALUES.get(new)
        if value and value != self.status:
            self.status = value
            changed = True
        if status == "failed" and error and self.status == "Failed":
            self.error_code = error.get("code")
            self.error_title = (error.get("title") or "")[:140]
            self.error_message = error.get("message")
            self.error_details = error.get("details")
            changed = True
        return changed

    def preview(self) -> str:
        """One line for the inbox and the conversation list."""
        if self.text:
            return self.text
        if self.message_type == "template":
            return _("Template {0}").format(frappe.db.get_value("WhatsApp Template", self.template, "template_name") or "")
        return _((self.message_type or "message").capitalize())

    def view(self) -> dict[str, Any]:
        """contracts/whatsapp-api.schema.json#/$defs/Message"""
        return {
            "name": self.name,
            "conversation": self.conversation,
            "wamid": self.wamid or None,
            "direction": (self.direction or "Inbound").lower(),
            "kind": self.message_type or "unknown",
            "status": (self.status or "received").lower(),
            "text": self.text or None,
            "created_at": iso_utc(self.received_at or self.creation),
            "status_at": {key: iso_utc(self.get(field)) for key, field in
                          (("sent", "sent_at"), ("delivered", "delivered_at"), ("read", "read_at"),
                           ("failed", "failed_at"))},
            "error": {"code": self.error_code or None, "message": self.error_message or self.error_title or "",
                      "retrying": self.status in ("Queued", "Sending")}
            if (self.error_message or self.error_code) else None,
            "sent_by": self.sent_by or None,
            "bot_reply": bool(self.bot_reply),
            "reply_to": {"name": self.reply_to or None,
                         "text": frappe.db.get_value("WhatsApp Message", self.reply_to, "text") if self.reply_to else None}
            if (self.reply_to or self.reply_to_wamid) else None,
            "media": {
                "mime_type": self.mime_type or None,
                "state": (self.media_state or "pending").lower().replace(" ", "_"),
                "url": self.media_file or None,
                "filename": self.filename or None,
                "size": self.media_size or None,
            } if (self.media_id or self.media_file) else None,
            "template": {"name": frappe.db.get_value("WhatsApp Template", self.template, "template_name") or self.template,
                         "language": frappe.db.get_value("WhatsApp Template", self.template, "language") or ""}
            if self.template else None,
            "interactive": _choices(self.interactive),
            "reaction": {"emoji": self.reaction_emoji or None, "to": self.reaction_to or None}
            if self.message_type == "reaction" else None,
            "location": _location(self.coordinates, self.location_name, self.location_address)
            if self.message_type == "location" else None,
        }


def _choices(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    spec = json.loads(value) if isinstance(value, str) else value
    return {"options": spec.get("options") or [], "chosen": spec.get("chosen"), "list_button": spec.get("list_button")}


def _location(coordinates: str | None, name: str | None, address: str | None) -> dict[str, Any] | None:
    try:
        latitude, longitude = (float(part) for part in (coordinates or "").split(","))
    except ValueError:
        return None  # redacted by a personal data request
    return {"latitude": latitude, "longitude": longitude, "name": name or None, "address": address or None}
