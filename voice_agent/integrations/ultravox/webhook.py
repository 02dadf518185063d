"""Ultravox webhooks: verified on the raw body, stored raw first in one INSERT, acknowledged at once,
processed in a background job (one per event); a failed event stays stored and the scheduler retries it."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils import add_to_date, now_datetime

from voice_agent.integrations.ultravox.connect import connect, webhook_secrets
from voice_agent.integrations.ultravox.events import (
    WebhookPayloadError,
    format_transcript,
    parse_duration_seconds,
    parse_event,
)
from voice_agent.integrations.ultravox.signature import WebhookSignatureError, verify
from voice_agent.integrations.webhook_inbox import store_once
from voice_agent.site_time import from_iso

MAX_ATTEMPTS = 6


class InvalidWebhook(frappe.ValidationError):
    http_status_code = 400


def receive() -> dict[str, str]:
    """The webhook request: verify, store, queue one job. Redeliveries change nothing."""
    raw = frappe.request.get_data(cache=True)
    settings = frappe.get_cached_doc("Voice Agent Settings")
    try:
        verify(
            raw,
            frappe.get_request_header("X-Ultravox-Webhook-Timestamp"),
            frappe.get_request_header("X-Ultravox-Webhook-Signature"),
            webhook_secrets(settings),
            tolerance_seconds=settings.webhook_tolerance_sec or 60,
        )
    except WebhookSignatureError:
        frappe.throw(_("Invalid webhook signature"), frappe.AuthenticationError)
    try:
        event = parse_event(raw)
    except WebhookPayloadError as exc:
        frappe.throw(_("Invalid webhook payload: {0}").format(str(exc)), InvalidWebhook)

    # Its job is queued, done, or failed and retried by the scheduler: one event, one job.
    stored = store_once({
        "doctype": "Voice Webhook Event", "name": event.dedupe_key, "dedupe_key": event.dedupe_key,
        "event": event.event, "ultravox_call_id": event.call_id, "status": "Received", "attempts": 0,
        "payload": raw.decode(),
    })
    if not stored:
        return {"status": "duplicate"}
    _enqueue(event.dedupe_key)
    return {"status": "accepted"}


def _enqueue(event_name: str) -> None:
    frappe.enqueue(
        "voice_agent.integrations.ultravox.webhook.process_webhook_event",
        queue="short", event_name=event_name, enqueue_after_commit=True,
    )


def process_webhook_event(event_name: str) -> None:
    record = frappe.get_doc("Voice Webhook Event", event_name)
    if record.status == "Processed":
        return
    try:
        event = parse_event(record.payload.encode())
        session = _find_session(event.call_id, event.call)
        if session:
            _apply(event.event, event.call, session)
        record.db_set({"status": "Processed", "processed_at": now_datetime(), "voice_session": session,
                       "attempts": record.attempts + 1, "error": None})
        frappe.db.commit()
    except Exception:
        frappe.db.rollback()
        record.db_set({"status": "Failed", "attempts": record.attempts + 1,
                       "error": frappe.get_traceback()[-2000:]})
        frappe.db.commit()
        frappe.log_error(title=f"Ultravox webhook {record.event} failed")


def retry_failed_webhook_events() -> None:
    """Scheduler: events that failed, or whose job never ran, are processed again."""
    stale = add_to_date(now_datetime(), minutes=-2)
    names = frappe.get_all(
        "Voice Webhook Event",
        filters={"status": ("in", ("Received", "Failed")), "attempts": ("<", MAX_ATTEMPTS), "modified": ("<", stale)},
        pluck="name", limit_page_length=100, order_by="creation asc",
    )
    for name in names:
        process_webhook_event(name)


def _find_session(call_id: str, call: dict[str, Any]) -> str | None:
    name = frappe.db.get_value("Voice Session", {"ultravox_call_id": call_id}, "name")
    if name:
        return name
    # The webhook can beat create_session's write of the call id; metadata names the session too.
    metadata = call.get("metadata") if isinstance(call.get("metadata"), dict) else {}
    candidate = metadata.get("voice_session")
    if isinstance(candidate, str) and frappe.db.get_value("Voice Session", candidate, "ultravox_call_id") in (None, ""):
        if frappe.db.exists("Voice Session", candidate):
            frappe.db.set_value("Voice Session", candidate, "ultravox_call_id", call_id, update_modified=False)
            return candidate
    return None


def _apply(event: str, call: dict[str, Any], session_name: str) -> None:
    session = frappe.get_doc("Voice Session", session_name)
    values: dict[str, Any] = {}
    if event in ("call.started", "call.joined"):
        if session.status == "Starting":
            values["status"] = "Live"
        if event == "call.joined" and call.get("joined"):
            values["joined_at"] = from_iso(call["joined"])
    elif event == "call.ended":
        values.update(_ended_values(call, session))
    elif event == "call.billed":
        billed = parse_duration_seconds(call.get("billedDuration"))
        if billed is not None:
            values["billed_duration_sec"] = billed
    if values:
        session.db_set(values)


def _ended_values(call: dict[str, Any], session) -> dict[str, Any]:
    client = connect()
    if client is None:
        raise RuntimeError("Ultravox is not configured; the transcript cannot be fetched")
    details = client.get_call(call["callId"])
    merged = {**call, **{k: v for k, v in details.items() if v is not None}}
    messages = client.list_messages(call["callId"])
    ended = from_iso(merged["ended"]) if merged.get("ended") else now_datetime()
    joined = from_iso(merged["joined"]) if merged.get("joined") else None
    values: dict[str, Any] = {
        "status": "Ended",
        "ended_at": ended,
        "end_reason": str(merged.get("endReason") or "")[:140],
        "transcript": format_transcript(messages),
        "short_summary": merged.get("shortSummary"),
        "summary": merged.get("summary"),
        "duration_sec": round((ended - joined).total_seconds(), 1) if joined else 0,
        "outcome": session.outcome or "None",
    }
    if joined and not session.joined_at:
        values["joined_at"] = joined
    billed = parse_duration_seconds(merged.get("billedDuration"))
    if billed is not None:
        values["billed_duration_sec"] = billed
    return values
