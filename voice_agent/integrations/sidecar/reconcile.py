"""The scheduled reconciliation with the call server (hooks: scheduler_events): the live Voice Calls the
sidecar no longer knows are closed as failed (end reason call_lost). Which ones is decided by
calling/reconcile.py; a sidecar that does not answer closes nothing."""

from __future__ import annotations

from datetime import datetime

import frappe
from frappe import _
from frappe.utils import format_datetime, get_datetime, now_datetime

from voice_agent.calling import states
from voice_agent.calling.reconcile import (
    GRACE,
    LOST_REASON,
    LOST_STATE,
    LostCall,
    OpenCall,
    known_call_ids,
    lost_calls,
)
from voice_agent.integrations.sidecar.client import SidecarError, SidecarUnreachable
from voice_agent.integrations.sidecar.connect import SETTINGS, sidecar_client
from voice_agent.site_time import from_iso

REALTIME_EVENT_TYPE = "call.lost"


def close_lost_calls() -> list[str]:
    """Scheduler: asks the sidecar which calls it still knows and closes the live ones it does not.
    Returns the names of the calls it closed."""
    asked_at = now_datetime()
    calls = _open_calls(started_before=asked_at - GRACE)
    if not calls:
        return []
    settings = frappe.get_cached_doc(SETTINGS)
    if not (settings.server_host and settings.shared_secret):
        return []
    try:
        answer = sidecar_client(settings).list_rooms()
    except SidecarUnreachable as exc:
        # Silence proves nothing: the calls stay as they are until the sidecar answers.
        frappe.logger("voice_agent").warning(f"call reconciliation skipped: {exc}")
        return []
    except SidecarError as exc:
        frappe.log_error(title="Call server reconciliation failed", message=str(exc))
        return []
    lost = lost_calls(calls, known_call_ids(answer), from_iso(answer["startedAt"]), asked_at)
    closed = []
    for call in lost:
        if _close(call, answer["sidecarId"], asked_at):
            closed.append(call.name)
    return closed


def _open_calls(started_before: datetime) -> list[OpenCall]:
    rows = frappe.get_all(
        "Voice Call",
        filters={"state": ("in", states.live_states()), "started_at": ("<=", started_before)},
        fields=["name", "state", "started_at"],
        order_by="started_at asc",
        limit_page_length=0,
    )
    if not rows:
        return []
    last_reports = dict(
        frappe.get_all(
            "Voice Call Event",
            filters={"voice_call": ("in", [row.name for row in rows])},
            fields=["voice_call", "max(occurred_at) as last_report_at"],
            group_by="voice_call",
            as_list=True,
        )
    )
    return [
        OpenCall(
            name=row.name,
            state=row.state,
            started_at=get_datetime(row.started_at),
            last_report_at=get_datetime(last_reports[row.name]) if last_reports.get(row.name) else None,
        )
        for row in rows
    ]


def _close(lost: LostCall, sidecar_id: str, asked_at: datetime) -> bool:
    doc = frappe.get_doc("Voice Call", lost.name, for_update=True)
    # Its end may have been delivered since the question.
    if states.is_terminal(doc.state) or not states.can_transition(doc.state, LOST_STATE):
        return False
    doc.apply_local_state(
        LOST_STATE, LOST_REASON, _("the call server {0} no longer knows this call").format(sidecar_id),
        at=lost.lost_at,
    )
    doc.error_message = _(
        "At {0} the call server ({1}) no longer knew this call: it lost it without reporting its end "
        "(for instance when the sidecar was killed or crashed). The durations end at its last sign of life."
    ).format(format_datetime(asked_at), sidecar_id)
    doc.save(ignore_permissions=True)
    doc.publish(REALTIME_EVENT_TYPE)
    frappe.db.commit()
    return True
