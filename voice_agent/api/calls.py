"""Desk calling: start and end calls through the call server, invite links for customers, supervisors,
and the method the sidecar reports call events to (contracts/methods.json -> frappe.reportCallEvents).

Request/response shapes: docs/desk-calling.md and contracts/frappe-api.schema.json.
"""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit

from voice_agent.integrations.sidecar import intake
from voice_agent.integrations.sidecar.client import SidecarError, SidecarUnreachable
from voice_agent.integrations.sidecar.connect import SETTINGS, describe_error, sidecar_client
from voice_agent.telephony import browser, service
from voice_agent.telephony.settings import browser_config
from voice_agent.voice_agent.doctype.voice_call.voice_call import is_call_manager


@frappe.whitelist(methods=["POST"])
def initiate_call(reference_doctype: str, reference_name: str, channel: str = "Browser") -> dict[str, Any]:
    return service.start_call(reference_doctype, reference_name, channel)


@frappe.whitelist(methods=["POST"])
def rejoin_call(call: str) -> dict[str, Any]:
    return service.rejoin(call)


@frappe.whitelist(methods=["POST"])
def create_invite(call: str) -> dict[str, Any]:
    return service.ring(call)


@frappe.whitelist(methods=["POST"])
def send_invite(call: str, email: str) -> dict[str, Any]:
    return service.ring(call, email=email)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=10, seconds=300)
def join_invite(invite: str, name: str | None = None) -> dict[str, Any]:
    call, participant_id, guest_name = browser.accept_invite(invite, name)
    return service.join_answer(call, participant_id, "customer", name=guest_name)


@frappe.whitelist(methods=["POST"])
def join_as_supervisor(call: str, listen_only: bool = True) -> dict[str, Any]:
    return service.supervise(call, bool(listen_only))


@frappe.whitelist(methods=["POST"])
def end_call(call: str, reason: str = "hangup") -> dict[str, Any]:
    return service.end_call(call, reason)


@frappe.whitelist(methods=["GET", "POST"])
def get_call_state(call: str) -> dict[str, Any]:
    return service.call_state(call)


@frappe.whitelist(methods=["POST"])
def report_call_event(events: list) -> dict[str, int]:
    """The sidecar's outbox posts batches here. All-or-nothing: an invalid batch changes nothing."""
    intake.require_sidecar_user()
    return intake.receive_call_events(events)


@frappe.whitelist()
def get_mediasoup_config() -> dict[str, Any]:
    if frappe.session.user == "Guest":
        frappe.throw(_("Log in to use calling."), frappe.PermissionError)
    return browser_config(frappe.session.user)


@frappe.whitelist()
def check_mediasoup_status() -> dict[str, Any]:
    if not is_call_manager():
        frappe.throw(_("Only a Voice Agent Manager can check the call server."), frappe.PermissionError)
    client = sidecar_client(frappe.get_cached_doc(SETTINGS), authenticated=False)
    try:
        health = client.health()
    except (SidecarUnreachable, SidecarError) as exc:
        frappe.throw(describe_error(exc), title=_("Call server check failed"))
    return {"ok": health["status"] == "ok", "url": client.base_url, "health": health}

