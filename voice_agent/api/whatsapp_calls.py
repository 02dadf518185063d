"""WhatsApp calls for the desk: call a record's WhatsApp, read and ask for the customer's call permission,
take or decline a customer's call. Answers: contracts/frappe-api.schema.json; realtime events and the
flow: docs/whatsapp-calls.md."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.conversations.access import conversation_for
from voice_agent.conversations.service import conversation_for_party
from voice_agent.integrations.whatsapp import calls
from voice_agent.telephony import service
from voice_agent.telephony.registry import get_channel


@frappe.whitelist(methods=["POST"])
def start_whatsapp_call(reference_doctype: str, reference_name: str, account: str | None = None) -> dict[str, Any]:
    """Rings the record's WhatsApp (its customer must have allowed calls): the agent's join answer."""
    return service.start_call(reference_doctype, reference_name, "WhatsApp", {"account": account})


@frappe.whitelist(methods=["POST"])
def get_call_permission(conversation: str | None = None, reference_doctype: str | None = None,
                        reference_name: str | None = None, account: str | None = None) -> dict[str, Any]:
    """The customer's call permission and remaining allowance, read from WhatsApp now (a conversation,
    or a record and the number to call it from: its conversation on that number is made if needed)."""
    service.require_caller()
    doc = _conversation(conversation, reference_doctype, reference_name, account)
    permission = calls.read_permission(doc)
    return calls.permission_view(doc, permission)


@frappe.whitelist(methods=["POST"])
def request_call_permission(conversation: str) -> dict[str, Any]:
    """Sends WhatsApp's call permission request to the customer (through the message queue)."""
    service.require_caller()
    doc = conversation_for(conversation)
    message, permission = calls.request_permission(doc)
    return {"message": message.view(), "permission": calls.permission_view(doc, permission)}


@frappe.whitelist(methods=["POST"])
def accept_whatsapp_call(call: str) -> dict[str, Any]:
    """Takes a ringing customer call (the first to accept gets it): the agent's join answer."""
    service.require_caller()
    get_channel("WhatsApp").answer(calls.offered_call(call, frappe.session.user), frappe.session.user)
    return service.join_answer(call, frappe.session.user, "agent")


@frappe.whitelist(methods=["POST"])
def decline_whatsapp_call(call: str) -> dict[str, Any]:
    """This user will not take the call; rejected once everyone it rang declined."""
    service.require_caller()
    return calls.decline(call, frappe.session.user)


@frappe.whitelist(methods=["GET", "POST"])
def get_incoming_whatsapp_calls() -> dict[str, Any]:
    """The customer calls ringing for the session user now (a page opened while they ring)."""
    service.require_caller()
    return {"calls": calls.incoming_calls(frappe.session.user)}


def _conversation(conversation: str | None, reference_doctype: str | None, reference_name: str | None,
                  account: str | None) -> Any:
    if conversation:
        return conversation_for(conversation)
    if not (reference_doctype and reference_name):
        frappe.throw(_("Name the conversation, or the record and its WhatsApp number."))
    if not frappe.db.exists(reference_doctype, reference_name):
        frappe.throw(_("{0} {1} does not exist.").format(_(reference_doctype), reference_name),
                     frappe.DoesNotExistError)
    from voice_agent.conversations.service import party_phone
    from voice_agent.messaging.phones import to_wa_id
    from voice_agent.telephony.whatsapp import calling_account

    reference = frappe.get_doc(reference_doctype, reference_name)
    phone = party_phone(reference)
    if not phone:
        frappe.throw(_("{0} {1} has no phone number WhatsApp can reach.").format(_(reference_doctype), reference_name))
    return conversation_for_party(reference_doctype, reference_name, calling_account(reference, to_wa_id(phone), account))
