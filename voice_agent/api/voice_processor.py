"""Public AI sessions (flow A): list profiles, start a session, live display updates, hang up.

Guest endpoints: POST only (the profile list also GET), rate-limited per IP, origin-checked, capped in
live sessions and duration. The rate limit keys on the client address Frappe reads from
X-Forwarded-For: the reverse proxy must overwrite that header (README, "Deploying").
"""

from __future__ import annotations

from typing import Any

import frappe
from frappe.rate_limiter import rate_limit

from voice_agent.portal import sessions


def _session_rate_limit() -> int:
    return sessions.settings().rate_limit_per_hour or 10


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
def get_public_profiles() -> list[dict[str, Any]]:
    return sessions.public_profiles()


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=_session_rate_limit, seconds=60 * 60, methods=["POST"])
def create_session(profile: str, page_url: str | None = None, context: dict | None = None) -> dict[str, Any]:
    return sessions.start_session(profile, page_url, context)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=600, seconds=60 * 60, methods=["POST"])
def update_session_status(session_id: str, client_token: str, status: str) -> dict[str, str]:
    return sessions.record_client_status(session_id, client_token, status)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=600, seconds=60 * 60, methods=["POST"])
def process_transcript(session_id: str, client_token: str, transcripts: list) -> dict[str, int]:
    return sessions.record_live_transcript(session_id, client_token, transcripts)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=60, seconds=60 * 60, methods=["POST"])
def end_session(session_id: str, client_token: str) -> dict[str, bool]:
    return sessions.end_session(session_id, client_token)
