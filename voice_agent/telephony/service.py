"""Desk calls: start one from a party's record, join it (agent, invited customer, supervisor), end it.

Whoever joins gets a join answer (contracts/frappe-api.schema.json#/$defs/JoinAnswer): the signaling URL,
ICE servers and a call token bound to this call, participant and role, minted with the sidecar's
shared secret (calling/tokens.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import frappe
from frappe import _
from frappe.utils import now_datetime

from voice_agent.calling import states
from voice_agent.calling.tokens import DEFAULT_LIFETIME_SEC, mint
from voice_agent.integrations.sidecar.connect import shared_secret
from voice_agent.telephony.registry import get_channel
from voice_agent.telephony.settings import (
    CALLER_ROLES,
    callable_doctypes,
    enabled_settings,
    ice_servers,
    signaling_url,
)
from voice_agent.voice_agent.doctype.voice_call.voice_call import history_row, is_call_manager


def start_call(reference_doctype: str, reference_name: str, channel: str,
               options: dict[str, Any] | None = None) -> dict[str, Any]:
    require_caller()
    doctypes = callable_doctypes()
    if reference_doctype not in doctypes:
        frappe.throw(_("Calls can be started from {0} only.").format(", ".join(_(dt) for dt in doctypes)))
    if not frappe.db.exists(reference_doctype, reference_name):
        frappe.throw(
            _("{0} {1} does not exist.").format(_(reference_doctype), reference_name), frappe.DoesNotExistError
        )
    reference = frappe.get_doc(reference_doctype, reference_name)
    if not reference.has_permission("read"):
        frappe.throw(
            _("You need read access to {0} {1} to call it.").format(_(reference_doctype), reference_name),
            frappe.PermissionError,
        )
    call_channel = get_channel(channel)
    settings = enabled_settings()
    shared_secret(settings)
    channel_fields = call_channel.prepare(reference, **(options or {}))

    call = frappe.get_doc(
        {
            "doctype": "Voice Call",
            "channel": call_channel.channel,
            "direction": "Outbound",
            "agent": frappe.session.user,
            "reference_doctype": reference_doctype,
            "reference_name": reference_name,
            "state": states.initial_state(),
            "started_at": now_datetime(),
            **_party_details(reference),
            **channel_fields,
        }
    )
    call.append("state_history", history_row("", call.state, call.started_at, source="frappe",
                                             note=_("call created")))
    call.insert(ignore_permissions=True)
    # The call server may report this call's first events before this request ends.
    frappe.db.commit()
    call_channel.start(call, reference)
    return join_answer(call.name, frappe.session.user, "agent")


def rejoin(call: str) -> dict[str, Any]:
    """A fresh agent token for the caller's own live call (after a page reload or a lost connection)."""
    doc = live_call(call)
    if doc.agent != frappe.session.user:
        frappe.throw(_("Only the call's agent can rejoin it."), frappe.PermissionError)
    return join_answer(doc.name, doc.agent, "agent")


def ring(call: str, **options: Any) -> dict[str, Any]:
    doc = live_call(call)
    require_agent_or_manager(doc)
    return get_channel(doc.channel).ring(doc, **options)


def supervise(call: str, listen_only: bool) -> dict[str, Any]:
    if not is_call_manager():
        frappe.throw(_("Only a Voice Agent Manager can join other agents' calls."), frappe.PermissionError)
    doc = live_call(call)
    return join_answer(doc.name, frappe.session.user, "supervisor", listen_only=listen_only)


def end_call(call: str, reason: str) -> dict[str, Any]:
    if reason not in states.end_reasons():
        frappe.throw(_("Unknown end reason {0}.").format(frappe.bold(reason)))
    if not frappe.db.exists("Voice Call", call):
        frappe.throw(_("Voice Call {0} does not exist.").format(call), frappe.DoesNotExistError)
    doc = frappe.get_doc("Voice Call", call, for_update=True)
    require_agent_or_manager(doc)
    if not states.is_terminal(doc.state):
        note = get_channel(doc.channel).end(doc, reason)
        # From the desk: the call's agent, or a manager ending someone else's call.
        ended_by = "agent" if frappe.session.user == doc.agent else "supervisor"
        doc.apply_local_state("ended", reason, note, ended_by=ended_by)
        doc.save(ignore_permissions=True)
        doc.publish("call.ended_by_frappe")
    return {"call": doc.name, "state": doc.state, "end_reason": doc.end_reason}


def call_state(call: str) -> dict[str, Any]:
    doc = frappe.get_doc("Voice Call", call)
    doc.check_permission("read")
    return doc.realtime_payload()


def join_answer(
    call: str, participant_id: str, role: str, *, name: str | None = None, listen_only: bool | None = None
) -> dict[str, Any]:
    settings = enabled_settings()
    token = mint(
        shared_secret(settings),
        call=call,
        participant_id=participant_id,
        role=role,
        name=name if name is not None else frappe.utils.get_fullname(participant_id),
        listen_only=listen_only,
        lifetime_sec=DEFAULT_LIFETIME_SEC,
    )
    return {
        "call": call,
        "signaling_url": signaling_url(settings),
        "token": token.token,
        "expires_at": datetime.fromtimestamp(token.expires_at, timezone.utc).isoformat(),
        "ice_servers": ice_servers(settings, participant_id),
        "role": role,
        "participant_id": participant_id,
    }


def require_caller() -> None:
    if frappe.session.user == "Guest" or not set(CALLER_ROLES) & set(frappe.get_roles()):
        frappe.throw(
            _("You need the role {0} to make calls.").format(_(" or ").join(CALLER_ROLES)), frappe.PermissionError
        )


def require_agent_or_manager(doc: Any) -> None:
    if doc.agent != frappe.session.user and not is_call_manager():
        frappe.throw(_("Only the call's agent or a Voice Agent Manager can do this."), frappe.PermissionError)


def live_call(call: str) -> Any:
    if not frappe.db.exists("Voice Call", call):
        frappe.throw(_("Voice Call {0} does not exist.").format(call), frappe.DoesNotExistError)
    doc = frappe.get_doc("Voice Call", call)
    doc.check_permission("read")
    if states.is_terminal(doc.state):
        frappe.throw(_("Voice Call {0} is over ({1}).").format(doc.name, _(doc.state)))
    return doc


def _party_details(reference: Any) -> dict[str, str]:
    meta = reference.meta
    name = reference.get_title() or reference.name

    def first(*fields: str) -> str:
        return next((reference.get(f) for f in fields if meta.has_field(f) and reference.get(f)), "") or ""

    return {
        "party_name": str(name)[:140],
        "party_phone": first("mobile_no", "phone", "mobile", "phone_no"),
        "party_email": first("email_id", "email", "email_address"),
    }
