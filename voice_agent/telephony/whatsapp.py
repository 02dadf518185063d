"""The WhatsApp channel: the customer's side of the call is their WhatsApp, reached through the sidecar's
WhatsApp leg and Meta's Business Calling API (Graph signaling). Outbound: with the customer's call
permission, the leg's offer goes to Graph `connect`; Meta's answer arrives by webhook (calls.py).
Inbound calls are created by the webhook; a desk user takes one with `answer`."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.conversations.access import is_manager, team_accounts
from voice_agent.conversations.service import conversation_for_customer, lock_customer, party_phone
from voice_agent.integrations.sidecar.client import SidecarError, SidecarUnreachable
from voice_agent.integrations.sidecar.connect import describe_error, sidecar_client
from voice_agent.integrations.whatsapp import calls
from voice_agent.integrations.whatsapp.call_rules import error_ending, whatsapp_participant_id
from voice_agent.integrations.whatsapp.graph import GraphError
from voice_agent.messaging.phones import to_wa_id
from voice_agent.site_time import iso_utc
from voice_agent.telephony.base import CallChannel
from voice_agent.telephony.settings import enabled_settings

ACCOUNT = "WhatsApp Account"


class WhatsAppChannel(CallChannel):
    channel = "WhatsApp"

    def prepare(self, reference: Any, account: str | None = None, **options: Any) -> dict[str, Any]:
        """The number to call from, the customer's conversation on it, and their permission, read from
        Graph now: without it the call is refused with what to do."""
        phone = party_phone(reference)
        if not phone:
            frappe.throw(_("{0} {1} has no phone number WhatsApp can reach.").format(_(reference.doctype),
                                                                                     reference.name))
        wa_id = to_wa_id(phone)
        account_name = calling_account(reference, wa_id, account)
        lock_customer(account_name, wa_id)
        conversation = conversation_for_customer(account_name, wa_id, profile_name=reference.get_title())
        if not conversation.party_name:
            conversation.party_doctype, conversation.party_name = reference.doctype, reference.name
            conversation.save(ignore_permissions=True)
        permission = calls.read_permission(conversation)
        if not permission.can_call:
            if permission.state == "No permission":
                frappe.throw(_("{0} has not allowed WhatsApp calls from this business. Ask for permission first "
                               "(Ask permission sends WhatsApp's request; you can call once they allow it).").format(
                    reference.get_title() or reference.name), calls.PermissionNeeded, title=_("Permission needed"))
            when = permission.next_call_at
            frappe.throw(_("WhatsApp's limit of calls to this customer is reached{0}.").format(
                _(": call again after {0}").format(frappe.utils.format_datetime(calls._local(when))) if when else ""),
                calls.PermissionNeeded, title=_("Call limit reached"))
        return {"whatsapp_account": account_name, "whatsapp_conversation": conversation.name,
                "party_phone": conversation.phone or phone}

    def start(self, call: Any, reference: Any) -> None:
        settings = enabled_settings()
        account = frappe.get_cached_doc(ACCOUNT, call.whatsapp_account)
        wa_id = frappe.db.get_value("WhatsApp Conversation", call.whatsapp_conversation, "wa_id")
        participant = whatsapp_participant_id(wa_id)
        try:
            client = sidecar_client(settings)
            client.create_room(call.name, ring_timeout_sec=settings.ring_timeout_sec,
                               max_duration_sec=settings.max_call_duration_sec)
            session = client.whatsapp_offer(call.name, participant, name=call.party_name or None)
        except (SidecarUnreachable, SidecarError) as exc:
            _fail(call, None, _("the call server could not make the WhatsApp offer"), describe_error(exc))
        call.db_set("sidecar_room", call.name, update_modified=False)
        frappe.db.commit()
        try:
            answer = calls._graph_action(account, "connect", to=wa_id, sdp=session["sdp"],
                                         biz_opaque_callback_data=call.name)
        except GraphError as exc:
            ending = error_ending(exc.code, exc.title)
            _fail(call, ending.reason, _("WhatsApp refused connect"), _(exc.user_message), error_code=exc.code)
        wacid = answer["calls"][0]["id"]
        # Meta's connect webhook may have stored it already (it carries our call name).
        frappe.db.sql("""UPDATE `tabVoice Call` SET whatsapp_call_id = %s
            WHERE name = %s AND IFNULL(whatsapp_call_id, '') = ''""", (wacid, call.name))
        call.whatsapp_call_id = wacid
        frappe.db.commit()

    def ring(self, call: Any, **options: Any) -> dict[str, Any]:
        """An incoming call rings the available users again (a user who was busy is free now)."""
        if call.direction != "Inbound":
            frappe.throw(_("A WhatsApp call rings the customer once: hang up and call again."))
        return {"call": call.name, "rung": calls.ring(call.name)}

    def answer(self, call: Any, user: str) -> None:
        calls.accept(call.name, user)

    def end(self, call: Any, reason: str) -> str:
        return calls.end_from_desk(call, reason)

    def participants(self, call: Any) -> list[dict[str, Any]]:
        joined = next((row.joined_at for row in call.participants if row.role == "whatsapp"), None)
        return [{"name": call.party_name or call.party_phone or _("Customer"),
                 "how": _("WhatsApp {0}").format(call.party_phone or ""), "joined_at": iso_utc(joined)}]


def calling_account(reference: Any, wa_id: str, account: str | None) -> str:
    """The WhatsApp Account to call from: the one asked for, else the one the customer last talked to,
    else the only one with calling on that the user may use."""
    usable = frappe.get_all(ACCOUNT, filters={"enabled": 1, "calling_enabled": 1}, pluck="name", order_by="title")
    if not is_manager():
        mine = set(team_accounts(frappe.session.user))
        usable = [name for name in usable if name in mine]
    if account:
        if account not in usable:
            frappe.throw(_("You cannot call from {0}: calling is off for it, or you are not in its team.").format(
                account), frappe.PermissionError)
        return account
    if not usable:
        frappe.throw(_("No WhatsApp number with calling on is available to you."), title=_("WhatsApp calling"))
    recent = frappe.get_all("WhatsApp Conversation", filters={"wa_id": wa_id, "account": ("in", usable)},
                            pluck="account", order_by="last_message_at desc", limit_page_length=1)
    if recent:
        return recent[0]
    if len(usable) > 1:
        frappe.throw(_("Choose the WhatsApp number to call from: {0}.").format(", ".join(usable)),
                     title=_("WhatsApp calling"))
    return usable[0]


def _fail(call: Any, reason: str | None, note: str, message: str, error_code: int | None = None) -> None:
    """The call could not start: recorded failed (the settle job frees the room), then the error."""
    call = frappe.get_doc("Voice Call", call.name, for_update=True)
    call.apply_local_state("failed", reason, note)
    call.error_message = message[:1000]
    call.whatsapp_error_code = error_code
    call.save(ignore_permissions=True)
    call.publish("call.failed")
    frappe.db.commit()
    frappe.throw(message, title=_("Call not started"))
