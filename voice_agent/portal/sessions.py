"""Public AI sessions (flow A): a visitor of /voice-agent or of the widget talks to an agent profile.

The browser gets a join URL, the session id and a per-session client token, never a key. Sessions are
capped in number (each AI minute costs money) and in duration; the cap holds under concurrent starts.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

import frappe
from frappe import _
from frappe.utils import add_to_date, get_url, now_datetime
from frappe.utils.password import get_decrypted_password

from voice_agent.integrations.ultravox.calls import call_body
from voice_agent.integrations.ultravox.client import UltravoxError
from voice_agent.integrations.ultravox.connect import connect
from voice_agent.locks import transaction_lock
from voice_agent.voice_agent.doctype.voice_session.voice_session import LIVE_STATUSES
from voice_agent.web.origins import origin_of, parse_allowed_origins
from voice_agent.web.secrets import hash_secret, secrets_equal

CLIENT_STATUSES = ("disconnected", "connecting", "idle", "listening", "thinking", "speaking", "disconnecting")
MAX_CONTEXT_BYTES = 4096
MAX_LIVE_TRANSCRIPT_CHARS = 50_000
# A session whose webhooks never came stops counting against the cap once it must have ended.
STALE_AFTER_SEC = 120


class OriginNotAllowed(frappe.PermissionError):
    http_status_code = 403


class AgentsBusy(frappe.ValidationError):
    http_status_code = 503


class UltravoxUnavailable(frappe.ValidationError):
    http_status_code = 502


def settings() -> Any:
    return frappe.get_cached_doc("Voice Agent Settings")


def public_profiles() -> list[dict[str, Any]]:
    return frappe.get_all(
        "Voice Agent Profile",
        filters={"enabled": 1, "is_public": 1},
        fields=["name", "title", "use_case", "description", "greeting"],
        order_by="title asc",
    )


def start_session(profile: str, page_url: str | None, context: dict | None) -> dict[str, Any]:
    config = settings()
    origin = check_origin(config.allowed_origins)
    agent = _startable_profile(profile)
    page_url = _clean_page_url(page_url)
    context_json = _clean_context(context)
    client = connect()
    if client is None:
        frappe.throw(_("The voice agent is not available right now."), AgentsBusy)
    max_duration = min(agent.max_duration_sec or 300, config.max_session_duration_sec or 600)

    tool_secret, client_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # Starts wait for each other from the count to the commit: the cap holds exactly.
    transaction_lock("voice-session-cap")
    _check_capacity(config.max_concurrent_sessions or 5, config.max_session_duration_sec or 600)
    session = frappe.get_doc(
        {
            "doctype": "Voice Session",
            "profile": agent.name,
            "status": "Starting",
            "channel": "Widget" if (context or {}).get("source") == "widget" else "Web",
            "page_url": page_url,
            "origin": origin,
            "client_ip": frappe.local.request_ip,
            "context": context_json,
            "started_at": now_datetime(),
            "max_duration_sec": max_duration,
            "tool_secret_hash": hash_secret(tool_secret),
            "client_token_hash": hash_secret(client_token),
        }
    ).insert(ignore_permissions=True)
    # Commit before calling Ultravox: a tool call or webhook may arrive before this request ends.
    frappe.db.commit()

    try:
        call = client.create_call(call_body(agent, session.name, tool_secret, max_duration))
    except UltravoxError as exc:
        session.db_set({"status": "Failed", "end_reason": exc.message[:140], "ended_at": now_datetime()})
        frappe.db.commit()
        frappe.log_error(title="Ultravox create call failed", message=exc.message)
        frappe.throw(_("The voice agent could not be started: {0}").format(exc.message), UltravoxUnavailable)
    session.db_set("ultravox_call_id", call["callId"])
    return {
        "session_id": session.name,
        "client_token": client_token,
        "join_url": call["joinUrl"],
        "max_duration_sec": max_duration,
        "profile_title": agent.title,
    }


def record_client_status(session_id: str, client_token: str, status: str) -> dict[str, str]:
    """What the page sees (listening, speaking...): display only, never used for outcomes or billing."""
    if status not in CLIENT_STATUSES:
        frappe.throw(_("Unknown status {0}").format(status[:40]))
    session = authorize_client(session_id, client_token)
    frappe.db.set_value("Voice Session", session.name, "client_status", status, update_modified=False)
    return {"status": session.status}


def record_live_transcript(session_id: str, client_token: str, transcripts: list) -> dict[str, int]:
    """The page's live transcript, kept for display while the call runs; the authoritative transcript
    comes from Ultravox after call.ended."""
    session = authorize_client(session_id, client_token)
    lines = []
    for item in transcripts[:500]:
        if not isinstance(item, dict) or not item.get("isFinal", True):
            continue
        speaker = "Agent" if item.get("speaker") == "agent" else "User"
        text = str(item.get("text") or "").strip()
        if text:
            lines.append(f"{speaker}: {text}")
    frappe.db.set_value(
        "Voice Session",
        session.name,
        "live_transcript",
        "\n".join(lines)[-MAX_LIVE_TRANSCRIPT_CHARS:],
        update_modified=False,
    )
    return {"lines": len(lines)}


def end_session(session_id: str, client_token: str) -> dict[str, bool]:
    """Hang up at Ultravox if the call is still live; the call.ended webhook records the end."""
    session = authorize_client(session_id, client_token)
    if session.status not in LIVE_STATUSES or not session.ultravox_call_id:
        return {"ended": False}
    client = connect()
    if client is None:
        frappe.throw(_("The voice agent is not available right now."), AgentsBusy)
    try:
        client.end_call(session.ultravox_call_id)
    except UltravoxError as exc:
        frappe.throw(_("Could not end the call: {0}").format(exc.message), UltravoxUnavailable)
    return {"ended": True}


def authorize_client(session_id: str, client_token: str) -> Any:
    row = frappe.db.get_value("Voice Session", session_id, ["name", "status", "ultravox_call_id"], as_dict=True)
    if not secrets_equal(stored_secret_hash(row, "client_token_hash"), client_token) or not row:
        frappe.throw(_("Not permitted"), frappe.PermissionError)
    return row


def stored_secret_hash(row: Any, fieldname: str) -> str | None:
    """A session's secret hash, kept encrypted outside the document so that no API returns it."""
    if not row:
        return None
    return get_decrypted_password("Voice Session", row.name, fieldname, raise_exception=False)


def check_origin(allowed_origins: str | None) -> str:
    """Same-site requests and listed origins only. Browsers always send Origin on a POST from a page."""
    origin = frappe.get_request_header("Origin") or ""
    if not origin:
        referer = frappe.get_request_header("Referer") or ""
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    origin = origin.rstrip("/").lower()
    if not origin:
        frappe.throw(_("Sessions can only be started from a web page."), OriginNotAllowed)
    allowed = set(parse_allowed_origins(allowed_origins))
    own = {origin_of(get_url())}
    if frappe.request and frappe.request.host:
        own.add(f"{frappe.request.scheme}://{frappe.request.host}".lower())
    if origin not in allowed | own:
        frappe.throw(_("This website is not allowed to start voice sessions."), OriginNotAllowed)
    return origin


def _startable_profile(profile: str) -> Any:
    row = frappe.db.get_value("Voice Agent Profile", profile, ["name", "enabled", "is_public"], as_dict=True)
    allowed = row and row.enabled and (
        row.is_public or frappe.has_permission("Voice Agent Profile", "read", row.name)
    )
    if not allowed:
        frappe.throw(_("This voice agent is not available."), frappe.DoesNotExistError)
    return frappe.get_cached_doc("Voice Agent Profile", row.name)


def _clean_page_url(page_url: str | None) -> str | None:
    if not page_url:
        return None
    if len(page_url) > 500 or urlsplit(page_url).scheme not in ("http", "https"):
        frappe.throw(_("The page address is not valid."))
    return page_url


def _clean_context(context: dict | None) -> str | None:
    if not context:
        return None
    text = json.dumps(context, sort_keys=True, default=str)
    if len(text.encode()) > MAX_CONTEXT_BYTES:
        frappe.throw(_("The context is too large."))
    return text


def live_session_count(max_duration_sec: int) -> int:
    since = add_to_date(now_datetime(), seconds=-(max_duration_sec + STALE_AFTER_SEC))
    # A locking read: it sees the sessions that starts before this one committed.
    return frappe.db.sql(
        """SELECT COUNT(*) FROM `tabVoice Session`
        WHERE status IN %(live)s AND started_at > %(since)s FOR UPDATE""",
        {"live": LIVE_STATUSES, "since": since},
    )[0][0]


def _check_capacity(max_live: int, max_duration_sec: int) -> None:
    if live_session_count(max_duration_sec) >= max_live:
        frappe.throw(_("All our agents are busy, please try again in a few minutes."), AgentsBusy)
