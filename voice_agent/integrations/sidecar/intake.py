"""The call events the sidecar's outbox posts (contracts/call-events.schema.json), applied to their
Voice Calls all or nothing: an invalid batch changes nothing, a delivered event is never applied twice."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.calling.events import InvalidEventBatch, validate_batch
from voice_agent.voice_agent.doctype.voice_call.voice_call import store_sidecar_event

SIDECAR_ROLE = "Voice Sidecar"


def require_sidecar_user() -> None:
    if frappe.session.user in ("Guest", "Administrator") or SIDECAR_ROLE not in frappe.get_roles():
        frappe.throw(
            _("Only the call server's API user (role {0}) may report call events.").format(SIDECAR_ROLE),
            frappe.PermissionError,
        )


def receive_call_events(events: list) -> dict[str, int]:
    try:
        validate_batch({"events": events})
    except InvalidEventBatch as exc:
        frappe.throw(_("Invalid call events: {0}").format(exc), title=_("Invalid call events"))
    call_ids = sorted({event["callId"] for event in events})
    known = set(frappe.get_all("Voice Call", filters={"name": ("in", call_ids)}, pluck="name"))
    if unknown := [c for c in call_ids if c not in known]:
        frappe.throw(
            _("Invalid call events: unknown call(s) {0}").format(", ".join(unknown)),
            title=_("Invalid call events"),
        )

    # Row locks in a fixed order: concurrent deliveries touching the same calls run one after the
    # other, and the duplicate check below sees what the previous one stored.
    calls = {call_id: frappe.get_doc("Voice Call", call_id, for_update=True) for call_id in call_ids}
    stored = set(
        frappe.get_all(
            "Voice Call Event", filters={"name": ("in", [e["eventId"] for e in events])}, pluck="name"
        )
    )
    changed: dict[str, str] = {}
    accepted = duplicates = 0
    for event in sorted(events, key=_order):
        if event["eventId"] in stored:
            duplicates += 1
            continue
        stored.add(event["eventId"])
        store_sidecar_event(event)
        calls[event["callId"]].apply_sidecar_event(event)
        changed[event["callId"]] = event["type"]
        accepted += 1
    for call_id, last_event_type in changed.items():
        calls[call_id].save(ignore_permissions=True)
        calls[call_id].publish(last_event_type)
    return {"accepted": accepted, "duplicates": duplicates}


def _order(event: dict[str, Any]) -> tuple[str, int]:
    return event["callId"], event["sequence"]
