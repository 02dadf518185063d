"""WhatsApp messages on the timeline of the record they belong to (hooks: additional_timeline_content):
the latest ones, each with its direction, text and ticks; the WhatsApp panel on the form has them all."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.conversations.parties import PHONE_FIELDS

TIMELINE_MESSAGES = 30
# Marks any desk font has (an emoji font is not a given on a server-rendered timeline); the word says the rest.
TICKS = {"Sent": "✓", "Delivered": "✓✓", "Read": "✓✓"}


def timeline_content(doctype: str, docname: str) -> list[dict[str, Any]]:
    if doctype not in PHONE_FIELDS or not frappe.has_permission("WhatsApp Message", "read"):
        return []
    messages = frappe.get_list(
        "WhatsApp Message",
        filters={"party_doctype": doctype, "party_name": docname},
        fields=["name", "creation", "direction", "text", "message_type", "status", "sent_by", "conversation",
                "error_message"],
        order_by="creation desc",
        limit_page_length=TIMELINE_MESSAGES,
    )
    return [{"icon": "message-1", "is_card": True, "creation": m.creation, "content": _html(m)} for m in messages]


def _html(message: Any) -> str:
    escape = frappe.utils.escape_html
    who = _("WhatsApp from the customer") if message.direction == "Inbound" else _("WhatsApp by {0}").format(
        frappe.utils.get_fullname(message.sent_by) if message.sent_by else _("the business"))
    text = message.text or _((message.message_type or "message").capitalize())
    parts = [f"<b>{escape(who)}</b>", escape(text[:300])]
    if message.direction == "Outbound":
        parts.append(escape(f"{TICKS.get(message.status, '')} {_(message.status or '')}".strip()))
    if message.error_message:
        parts.append(f'<span class="text-danger">{escape(message.error_message)}</span>')
    return " · ".join(parts)
