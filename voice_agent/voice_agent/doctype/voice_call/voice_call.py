"""A call through the call server: its state (contracts/call-states.json), the state history, who took
part, durations and quality. The call server's events and Frappe's own decisions (hang-up from the desk,
a failed start) change a call only through this controller, which then publishes the update."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import frappe
from frappe.model.document import Document
from frappe.model.naming import make_autoname
from frappe.utils import get_datetime, now_datetime

from voice_agent.calling import states
from voice_agent.calling.metrics import Presence, durations, everyone_left_at, mos_score, quality_label
from voice_agent.site_time import from_iso, iso_utc
from voice_agent.telephony.settings import reference_access_message

MANAGER_ROLES = ("Voice Agent Manager", "System Manager")
REALTIME_EVENT = "voice_call_update"

NAME_SERIES = "VC-.YYYY.-.#####"


class VoiceCall(Document):
    def autoname(self) -> None:
        # A series the doctype does not declare: Frappe steps a declared series back when the newest
        # record is deleted, and the next call would get the deleted one's name, which its sidecar room
        # (kept as ended) and any unexpired token of the deleted call still carry.
        self.name = make_autoname(NAME_SERIES, doc=self)

    # --- form --------------------------------------------------------------------------------

    def onload(self) -> None:
        """For the form: an ended call is read-only, and a record the user may not read says why."""
        self.set_onload("ended", states.is_terminal(self.state))
        self.set_onload(
            "reference_access", reference_access_message(self.reference_doctype, self.reference_name)
        )

    def on_update(self) -> None:
        # A WhatsApp call that ended, however it ended, is settled with Meta and the room by one job.
        if self.channel == "WhatsApp" and states.is_terminal(self.state) and self.has_value_changed("state"):
            frappe.enqueue("voice_agent.integrations.whatsapp.calls.settle", queue="short", call=self.name,
                           job_id=f"whatsapp-call-settle:{self.name}", deduplicate=True, enqueue_after_commit=True)

    # --- changes -----------------------------------------------------------------------------

    def apply_sidecar_event(self, event: dict[str, Any]) -> None:
        """One event of contracts/call-events.schema.json (already validated and not a duplicate)."""
        at = from_iso(event["occurredAt"])
        payload = event["payload"]
        if event.get("sidecarId"):
            self.sidecar_id = event["sidecarId"]
        kind = event["type"]
        if kind == "call.state_changed":
            self._apply_state_change(event, at)
        elif kind == "participant.joined":
            row = self._participant(payload["participantId"], payload["role"])
            row.joined_at, row.left_at, row.leave_reason = at, None, ""
            row.listen_only = 1 if payload.get("listenOnly") else 0
        elif kind == "participant.left":
            row = self._participant(payload["participantId"], payload["role"])
            row.left_at, row.leave_reason = at, payload.get("reason") or ""
        elif kind == "quality.summary":
            self._apply_quality_summary(payload)
        self._update_durations()

    def apply_local_state(
        self, to_state: str, reason: str | None, note: str, at: datetime | None = None,
        ended_by: str | None = None,
    ) -> None:
        """A state Frappe decides itself (the desk ended the call, the room could not be created, the call
        server lost the call), at `at` (by default now); `ended_by` is the role of the person who did."""
        at = at or now_datetime()
        self.append(
            "state_history", history_row(self.state, to_state, at, reason=reason, source="frappe", note=note)
        )
        self.state = to_state
        if states.is_terminal(to_state):
            self.ended_at = at
            self.end_reason = reason or ""
            self.ended_by = ended_by or ""
            # Nobody is in an ended call, whether or not the call server still reports their leaving.
            for row in self.participants:
                if row.joined_at and not row.left_at:
                    row.left_at, row.leave_reason = at, "call_ended"
        self._update_durations()

    def publish(self, event_type: str) -> None:
        """The update to the agent's desk, the open Voice Call form and the party's form, after commit."""
        message = {**self.realtime_payload(), "event": event_type}
        if self.agent:  # a customer's WhatsApp call has none until someone takes it (no user: the whole site)
            frappe.publish_realtime(REALTIME_EVENT, message, user=self.agent, after_commit=True)
        frappe.publish_realtime(REALTIME_EVENT, message, doctype=self.doctype, docname=self.name, after_commit=True)
        if self.reference_doctype and self.reference_name:
            frappe.publish_realtime(
                REALTIME_EVENT, message, doctype=self.reference_doctype, docname=self.reference_name,
                after_commit=True,
            )

    def realtime_payload(self) -> dict[str, Any]:
        """contracts/frappe-api.schema.json#/$defs/VoiceCallUpdate, without its "event"."""
        return {
            "call": self.name,
            "channel": self.channel or "Browser",
            "direction": self.direction or "Outbound",
            "whatsapp": self._whatsapp_view(),
            "state": self.state,
            "end_reason": self.end_reason or None,
            "reference_doctype": self.reference_doctype,
            "reference_name": self.reference_name,
            "agent": self.agent,
            "started_at": iso_utc(self.started_at),
            "connected_at": iso_utc(self.connected_at),
            "ended_at": iso_utc(self.ended_at),
            "ring_duration": self.ring_duration or 0,
            "talk_duration": self.talk_duration or 0,
            "total_duration": self.total_duration or 0,
            "quality": {
                "packet_loss_pct": self.avg_packet_loss or 0,
                "jitter_ms": self.avg_jitter_ms or 0,
                "rtt_ms": self.avg_rtt_ms or None,
                "bitrate_kbps": self.avg_bitrate_kbps or 0,
                "mos": self.mos if self.quality_samples else None,
                "label": self.quality_label or None,
            },
            "participants": [
                {
                    "participant_id": row.participant_id,
                    "role": row.role,
                    "name": row.display_name,
                    "listen_only": bool(row.listen_only),
                    "joined": bool(row.joined_at and not row.left_at),
                }
                for row in self.participants
            ],
        }

    def _whatsapp_view(self) -> dict[str, Any] | None:
        if self.channel != "WhatsApp":
            return None
        return {
            "call_id": self.whatsapp_call_id or None,
            "account": self.whatsapp_account or None,
            "conversation": self.whatsapp_conversation or None,
            "status": self.whatsapp_status or None,
            "accepted_at": iso_utc(self.whatsapp_accepted_at),
            "error_code": self.whatsapp_error_code or None,
            "start_time": iso_utc(self.whatsapp_start_time),
            "end_time": iso_utc(self.whatsapp_end_time),
            "duration": self.whatsapp_duration if self.whatsapp_duration is not None else None,
        }

    # --- internals ---------------------------------------------------------------------------

    def _apply_state_change(self, event: dict[str, Any], at: datetime) -> None:
        payload, sequence = event["payload"], event["sequence"]
        current, target = self.state, payload["to"]
        last = self.last_state_sequence or 0
        note = ""
        if sequence <= last:
            note = f"stale: sequence {sequence} <= last applied {last}"
        elif states.is_terminal(current):
            note = f"call already {current}"
        elif target == current:
            note = "already in this state"
            self.last_state_sequence = sequence
        elif not states.can_transition(current, target):
            note = f"refused: {current} -> {target} is not allowed"
        applied = not note
        self.append(
            "state_history",
            history_row(payload["from"], target, at, reason=payload.get("reason"), sequence=sequence,
                        applied=applied, note=note, event_id=event["eventId"]),
        )
        if not applied:
            return
        self.state = target
        self.last_state_sequence = sequence
        if target == "connected" and not self.connected_at:
            self.connected_at = at
        if states.is_terminal(target):
            self.ended_at = at
            self.end_reason = payload.get("reason") or ("no_answer" if target == "missed" else "")
            self.ended_by = (payload.get("endedBy") or {}).get("role") or ""

    def _apply_quality_summary(self, summary: dict[str, Any]) -> None:
        # Cumulative over the whole call: the latest summary replaces the previous one. A sidecar older
        # than the per-participant figures sends none, and the rows keep what they had.
        _set_quality(self, summary)
        for participant_id, figures in (summary.get("participants") or {}).items():
            _set_quality(self._participant(participant_id, figures["role"]), figures)

    def _participant(self, participant_id: str, role: str) -> Any:
        for row in self.participants:
            if row.participant_id == participant_id:
                return row
        if role == "customer":
            display = frappe.db.get_value("Voice Call Invite", participant_id, "guest_name") or ""
        elif role == "whatsapp":
            display = self.party_name or ""
        else:
            display = frappe.utils.get_fullname(participant_id) if frappe.db.exists("User", participant_id) else ""
        return self.append(
            "participants", {"participant_id": participant_id, "role": role, "display_name": display}
        )

    def _update_durations(self) -> None:
        everyone_left = everyone_left_at(
            Presence(row.role, get_datetime(row.left_at) if row.left_at else None)
            for row in self.participants
        )
        result = durations(
            get_datetime(self.started_at) if self.started_at else None,
            get_datetime(self.connected_at) if self.connected_at else None,
            get_datetime(self.ended_at) if self.ended_at else None,
            everyone_left=everyone_left,
        )
        self.ring_duration, self.talk_duration, self.total_duration = result.ring, result.talk, result.total


def _set_quality(target: Document, figures: dict[str, Any]) -> None:
    """The quality fields the Voice Call and its participant rows share, from a summary's figures."""
    target.quality_samples = figures["samples"]
    target.avg_packet_loss = figures["packetLossPct"]
    target.avg_jitter_ms = figures["jitterMs"]
    target.avg_rtt_ms = figures.get("rttMs") or 0
    target.avg_bitrate_kbps = figures["bitrateKbps"]
    target.mos = mos_score(figures["packetLossPct"], figures["jitterMs"], figures.get("rttMs"))
    target.quality_label = quality_label(target.mos)


def history_row(
    from_state: str,
    to_state: str,
    at: datetime,
    *,
    reason: str | None = None,
    source: str = "sidecar",
    sequence: int | None = None,
    applied: bool = True,
    note: str = "",
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason or "",
        "occurred_at": at,
        "sequence": sequence,
        "applied": 1 if applied else 0,
        "source": source,
        "note": note[:140],
        "event_id": event_id,
    }


def store_sidecar_event(event: dict[str, Any]) -> None:
    """The raw event, under its eventId (the duplicate check of the next delivery)."""
    frappe.get_doc(
        {
            "doctype": "Voice Call Event",
            "event_id": event["eventId"],
            "voice_call": event["callId"],
            "event_type": event["type"],
            "sequence": event["sequence"],
            "occurred_at": from_iso(event["occurredAt"]),
            "sidecar_id": event.get("sidecarId"),
            "payload": json.dumps(event["payload"], sort_keys=True),
        }
    ).insert(ignore_permissions=True, set_name=event["eventId"])


def is_call_manager(user: str | None = None) -> bool:
    user = user or frappe.session.user
    return user == "Administrator" or bool(set(MANAGER_ROLES) & set(frappe.get_roles(user)))


def get_permission_query_conditions(user: str | None = None) -> str:
    """List/report filter: a Voice Agent User sees only the calls where they are the agent."""
    user = user or frappe.session.user
    if is_call_manager(user):
        return ""
    return f"`tabVoice Call`.`agent` = {frappe.db.escape(user)}"


def has_permission(doc: Document, ptype: str = "read", user: str | None = None) -> bool:
    user = user or frappe.session.user
    if is_call_manager(user):
        return True
    if doc.is_new() and ptype == "create":
        return True
    return doc.agent == user
