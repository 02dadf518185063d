"""Ultravox calls the agent's tools over HTTP as a guest: each request must carry its session's tool
secret (a static header Frappe attached to the call) while the session is live."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_to_date, now_datetime

from voice_agent.actions.runner import ToolCaller
from voice_agent.integrations.ultravox.tools import TOOL_SECRET_HEADER
from voice_agent.portal.sessions import stored_secret_hash
from voice_agent.voice_agent.doctype.voice_session.voice_session import LIVE_STATUSES
from voice_agent.web.secrets import secrets_equal

# Ultravox may still call a tool while it winds a call down.
GRACE_SEC = 120


def authorize_tool_request(session_name: str) -> ToolCaller:
    row = frappe.db.get_value(
        "Voice Session", session_name, ["name", "status", "profile", "started_at", "max_duration_sec"], as_dict=True
    )
    presented = frappe.get_request_header(TOOL_SECRET_HEADER)
    if not secrets_equal(stored_secret_hash(row, "tool_secret_hash"), presented) or not row:
        frappe.throw(_("Not permitted"), frappe.PermissionError)
    expires = add_to_date(row.started_at, seconds=(row.max_duration_sec or 600) + GRACE_SEC)
    if row.status not in LIVE_STATUSES or now_datetime() > expires:
        frappe.throw(_("This session has ended."), frappe.PermissionError)
    return ToolCaller(profile=row.profile, voice_session=row.name)
