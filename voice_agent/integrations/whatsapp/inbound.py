"""An inbound message from Meta lands once (idempotent on its wamid) in its customer's conversation,
linked to the customer's party; its media are fetched in the background (media.py)."""

from __future__ import annotations

import json
from typing import Any

import frappe
from frappe import _

from voice_agent.conversations import bot
from voice_agent.conversations.service import conversation_for_customer
from voice_agent.integrations.whatsapp import payloads as p
from voice_agent.integrations.whatsapp.media import queue_download
from voice_agent.messaging.phones import InvalidPhoneNumber, from_wa_id
from voice_agent.site_time import from_iso

MESSAGE = "WhatsApp Message"


def apply_message(account: str, change: p.MessagesChange, message: p.InboundMessage) -> None:
    """The caller holds lock_customer(account, sender) (webhook.py locks a batch's customers up front)."""
    wa_id = message.from_wa_id or message.from_user_id
    if not wa_id:
        raise ValueError(f"message {message.wamid} names no sender")
    if frappe.db.exists(MESSAGE, {"wamid": message.wamid}):
        return  # Meta redelivered it
    contact = change.contact_for(wa_id=message.from_wa_id, user_id=message.from_user_id)
    conversation = conversation_for_customer(account, wa_id, user_id=message.from_user_id,
                                             profile_name=contact.profile_name if contact else None,
                                             # the customer waits for the bot's answer, not for the Lead
                                             defer_new_party=bool(bot.bot_profile_for(account)))
    received_at = _local(message.timestamp)
    values = {"doctype": MESSAGE, "conversation": conversation.name, "account": account, "direction": "Inbound",
              "status": "Received", "wamid": message.wamid, "received_at": received_at,
              "party_doctype": conversation.party_doctype, "party_name": conversation.party_name,
              "customer_email": conversation.customer_email,
              "raw": json.dumps(message.raw, sort_keys=True)}
    if message.context and message.context.message_id:
        values["reply_to_wamid"] = message.context.message_id
        values["reply_to"] = frappe.db.get_value(MESSAGE, {"wamid": message.context.message_id})
    values.update(_content(message))
    moved = isinstance(message.body, p.SystemBody) and message.body.kind == "user_changed_number" \
        and bool(message.body.new_wa_id)
    if moved:
        _move_conversation(conversation, message.body.new_wa_id)
    doc = frappe.get_doc(values)
    doc.flags.ignore_links = True  # the conversation, account and party just read, under the customer's lock
    # The desk learns of it from the conversation's push below; Frappe's own doc_update (to a message form
    # nobody has open) and list_update (to every desk user on the site) were two of a message's seven emits.
    doc.flags.notify_update = False
    try:
        doc.insert(ignore_permissions=True)
    except frappe.DuplicateEntryError:
        frappe.clear_last_message()
        return
    conversation.record_inbound(received_at, doc.preview())
    if moved:
        conversation.save(ignore_permissions=True)  # a new number and key: validated as any change
    else:
        conversation.save_activity()
    if doc.media_id:
        queue_download()
    if isinstance(message.body, p.CallPermissionReplyBody):
        from voice_agent.integrations.whatsapp.calls import apply_permission_reply

        apply_permission_reply(conversation, message.body, received_at)
    conversation.publish("message", doc)
    bot.on_customer_message(conversation, doc)


def _move_conversation(conversation: Any, new_wa_id: str) -> None:
    try:
        phone = from_wa_id(new_wa_id)
    except InvalidPhoneNumber:
        phone = None
    conversation.move_to_number(new_wa_id, phone)


def _content(message: p.InboundMessage) -> dict[str, Any]:
    body = message.body
    kind = message.type
    if isinstance(body, p.TextBody):
        return {"message_type": "text", "text": body.text}
    if isinstance(body, p.MediaBody):
        return {"message_type": body.kind, "text": body.caption, "media_id": body.media_id,
                "mime_type": body.mime_type.essence if body.mime_type else body.mime_type_raw,
                "media_sha256": body.sha256, "filename": body.filename, "media_state": "Pending"}
    if isinstance(body, p.ReactionBody):
        return {"message_type": "reaction", "reaction_to": body.message_id, "reaction_emoji": body.emoji,
                "text": body.emoji or _("(reaction removed)")}
    if isinstance(body, p.InteractiveReplyBody):
        return {"message_type": "interactive", "text": body.title,
                "interactive": json.dumps({"options": [], "chosen": body.reply_id})}
    if isinstance(body, p.CallPermissionReplyBody):
        answer = _("accepted") if body.response == "accept" else _("declined")
        return {"message_type": "interactive", "text": _("The customer {0} WhatsApp calls.").format(answer)}
    if isinstance(body, p.FlowReplyBody):
        return {"message_type": "interactive", "text": body.body or body.name}
    if isinstance(body, p.TemplateButtonBody):
        return {"message_type": "button", "text": body.text,
                "interactive": json.dumps({"options": [], "chosen": body.payload})}
    if isinstance(body, p.LocationBody):
        return {"message_type": "location", "coordinates": f"{body.latitude:.6f},{body.longitude:.6f}",
                "location_name": body.name, "location_address": body.address,
                "text": body.name or body.address or f"{body.latitude:.5f}, {body.longitude:.5f}"}
    if isinstance(body, p.ContactsBody):
        names = [((c.get("name") or {}).get("formatted_name") or "") for c in body.contacts if isinstance(c, dict)]
        return {"message_type": "contacts", "contacts": json.dumps(list(body.contacts)),
                "text": _("Contact card: {0}").format(", ".join(n for n in names if n) or "?")}
    if isinstance(body, p.OrderBody):
        return {"message_type": "order", "text": body.text or _("An order from the catalogue ({0} items)").format(
            len(body.items))}
    if isinstance(body, p.SystemBody):
        return {"message_type": "system", "text": body.body}
    if isinstance(body, p.UnsupportedBody):
        return {"message_type": "unsupported",
                "text": _("The customer sent something WhatsApp does not pass on to businesses.")}
    return {"message_type": "unknown" if kind not in ("text",) else kind,
            "text": _("A {0} message this version cannot show (kept as received).").format(kind)}


def _local(moment: Any):
    return from_iso(moment.isoformat())
