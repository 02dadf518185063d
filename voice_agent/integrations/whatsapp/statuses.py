"""Delivery statuses from Meta: each moves its message forward only (messaging/statuses.py); a status
for a message whose id we do not know yet (the webhook can beat the send job's commit) is kept and
applied when the id arrives."""

from __future__ import annotations

import json
from typing import Any

import frappe
from frappe import _

from voice_agent.integrations.whatsapp import payloads as p
from voice_agent.integrations.whatsapp.errors import describe
from voice_agent.site_time import from_iso

MESSAGE = "WhatsApp Message"
PENDING = "WhatsApp Pending Status"


def apply_status(account: str, status: p.StatusUpdate) -> None:
    name = frappe.db.get_value(MESSAGE, {"wamid": status.wamid, "account": account}, "name", for_update=True)
    if not name and status.biz_opaque_callback_data:
        # The send may have reached Meta before our job stored the wamid (or without an answer at all).
        name = frappe.db.get_value(MESSAGE, {"name": status.biz_opaque_callback_data, "account": account,
                                             "direction": "Outbound"}, "name", for_update=True)
    if not name:
        _keep_pending(account, status)
        return
    message = frappe.get_doc(MESSAGE, name)
    if not message.wamid:
        message.wamid = status.wamid
    if _apply(message, status):
        message.save(ignore_permissions=True)
        frappe.get_doc("WhatsApp Conversation", message.conversation).publish("status", message)


def apply_pending_statuses(message: Any) -> None:
    """Statuses that arrived before this message's wamid was stored (the caller saves nothing else)."""
    rows = frappe.get_all(PENDING, filters={"wamid": message.wamid, "account": message.account},
                          fields=["name", "payload"], order_by="creation asc")
    if not rows:
        return
    changed = False
    for row in rows:
        status = p.parse_messages_change(json.loads(row.payload)).statuses[0]
        changed |= _apply(message, status)
        frappe.delete_doc(PENDING, row.name, ignore_permissions=True, force=True)
    if changed:
        message.save(ignore_permissions=True)


def _apply(message: Any, status: p.StatusUpdate) -> bool:
    error = None
    if status.errors:
        first = status.errors[0]
        info = describe(first.code, title=first.title)
        error = {"code": first.code, "title": first.title or info.title, "message": _(info.message),
                 "details": first.details or first.message}
    return message.apply_delivery_status(status.status, _local(status.timestamp), error)


def _keep_pending(account: str, status: p.StatusUpdate) -> None:
    # Re-parsable on its own: a one-status messages change.
    payload = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "-"}, "statuses": [status.raw]}
    frappe.get_doc({"doctype": PENDING, "account": account, "wamid": status.wamid, "status": status.status,
                    "payload": json.dumps(payload)}).insert(ignore_permissions=True)


def _local(moment: Any):
    return from_iso(moment.isoformat())
