"""WhatsApp messaging for the desk (the record's WhatsApp panel and the shared inbox) and Meta's webhook
at its seed address. Answers: contracts/whatsapp-api.schema.json."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils import cint

from voice_agent.conversations import bot, service
from voice_agent.conversations.access import conversation_for, is_manager, require_chat_user
from voice_agent.integrations.whatsapp import accounts, template_sync
from voice_agent.integrations.whatsapp.api import whatsapp_webhook
from voice_agent.integrations.whatsapp.outbound import queue_message, queue_read_receipt
from voice_agent.integrations.whatsapp.template_views import preview, templates_for

__all__ = ["whatsapp_webhook"]


def _require_manager() -> None:
    if not is_manager():
        frappe.throw(_("Only a Voice Agent Manager can do this."), frappe.PermissionError)


def _json_arg(value: Any, kind: type, name: str) -> Any:
    """frappe.call sends objects and lists form-encoded, as JSON text."""
    if value is None or value == "":
        return None
    parsed = frappe.parse_json(value) if isinstance(value, str) else value
    if not isinstance(parsed, kind):
        frappe.throw(_("{0} must be {1}.").format(name, _("an object") if kind is dict else _("a list")))
    return parsed


@frappe.whitelist(methods=["POST"])
def test_connection(account: str) -> dict[str, Any]:
    _require_manager()
    return accounts.test_connection(account)


@frappe.whitelist(methods=["POST"])
def sync_templates(account: str) -> dict[str, int]:
    _require_manager()
    return template_sync.sync_templates(account)


@frappe.whitelist(methods=["GET", "POST"])
def get_party_conversations(party_doctype: str, party_name: str, messages: int = 0) -> dict[str, Any]:
    require_chat_user()
    return service.party_conversations(party_doctype, party_name, messages=cint(messages))


@frappe.whitelist(methods=["POST"])
def start_conversation(party_doctype: str, party_name: str, account: str) -> dict[str, Any]:
    require_chat_user()
    return service.conversation_for_party(party_doctype, party_name, account).view()


@frappe.whitelist(methods=["GET", "POST"])
def get_messages(conversation: str, before: str | None = None, limit: int = 50) -> dict[str, Any]:
    require_chat_user()
    return service.message_page(conversation, before, limit)


@frappe.whitelist(methods=["GET", "POST"])
def get_inbox(filter: str = "all", account: str | None = None, search: str | None = None, start: int = 0,
              limit: int = 50) -> dict[str, Any]:
    require_chat_user()
    return service.inbox(filter, account, search, start, limit)


@frappe.whitelist(methods=["POST"])
def send_message(
    conversation: str,
    kind: str = "text",
    text: str | None = None,
    reply_to: str | None = None,
    file_url: str | None = None,
    template: str | None = None,
    template_values: dict | None = None,
    options: list | None = None,
    list_button: str | None = None,
) -> dict[str, Any]:
    require_chat_user()
    doc = conversation_for(conversation)
    service.lock_customer(doc.account, doc.wa_id)
    message = queue_message(doc, kind, text=text, reply_to=reply_to, file_url=file_url, template=template,
                            template_values=_json_arg(template_values, dict, "template_values"),
                            options=_json_arg(options, list, "options"), list_button=list_button)
    if doc.bot_state == "Active":
        bot.take_over(doc, frappe.session.user, _("{0} replied to the customer.").format(frappe.session.user))
    return message.view()


@frappe.whitelist(methods=["POST"])
def mark_read(conversation: str) -> dict[str, Any]:
    require_chat_user()
    return service.mark_read(conversation)


@frappe.whitelist(methods=["POST"])
def typing(conversation: str) -> dict[str, bool]:
    """A person is writing: the customer sees "typing…" (and the last message read)."""
    require_chat_user()
    doc = conversation_for(conversation)
    last_inbound = frappe.db.get_value("WhatsApp Message", {"conversation": doc.name, "direction": "Inbound"},
                                       "name", order_by="creation desc")
    shown = bool(last_inbound) and doc.window_open()
    if shown:
        queue_read_receipt(last_inbound, typing=True)
    return {"sent": shown}


@frappe.whitelist(methods=["POST"])
def assign_conversation(conversation: str, user: str | None = None) -> dict[str, Any]:
    require_chat_user()
    return service.assign(conversation, user)


@frappe.whitelist(methods=["POST"])
def link_party(conversation: str, party_doctype: str, party_name: str) -> dict[str, Any]:
    require_chat_user()
    return service.link_party(conversation, party_doctype, party_name)


@frappe.whitelist(methods=["GET", "POST"])
def get_templates(conversation: str) -> list[dict[str, Any]]:
    require_chat_user()
    return templates_for(conversation_for(conversation))


@frappe.whitelist(methods=["POST"])
def preview_template(template: str, values: dict | None = None) -> dict[str, Any]:
    require_chat_user()
    return preview(template, _json_arg(values, dict, "values") or {})
