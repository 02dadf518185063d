"""Checking a WhatsApp Account against Meta (its "Test connection" button)."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils import now_datetime

from voice_agent.integrations.whatsapp.connect import graph_client, mark_token_expired
from voice_agent.integrations.whatsapp.errors import ErrorKind
from voice_agent.integrations.whatsapp.graph import GraphError


def test_connection(account: str) -> dict[str, Any]:
    doc = frappe.get_doc("WhatsApp Account", account)
    try:
        with graph_client(doc, timeout=10) as client:
            profile = client.phone_number_profile(doc.phone_number_id)
    except GraphError as exc:
        message = _explain(exc)
        if exc.kind is ErrorKind.AUTH_EXPIRED:
            mark_token_expired(doc.name, exc.message)
        else:
            frappe.db.set_value("WhatsApp Account", doc.name, {"status": "Error", "last_error": message,
                                                                "last_tested_at": now_datetime()})
        return {"ok": False, "message": message}
    frappe.db.set_value("WhatsApp Account", doc.name, {
        "status": "Connected", "last_error": None, "last_tested_at": now_datetime(), "token_expired_at": None,
        "display_phone_number": profile.display_phone_number, "verified_name": profile.verified_name,
    })
    return {"ok": True, "message": _("Connected: {0} ({1}), quality {2}.").format(
        profile.verified_name or "?", profile.display_phone_number or "?", profile.quality_rating or "?"),
        "display_phone_number": profile.display_phone_number, "verified_name": profile.verified_name}


def _explain(exc: GraphError) -> str:
    if exc.kind is ErrorKind.AUTH_EXPIRED:
        return _("The access token has expired or was revoked (190). Generate a new one and save it here.")
    if exc.code in (100, 33, 803):
        return _("Meta does not know this Phone Number ID for this token: {0}").format(exc.message)
    if exc.kind is ErrorKind.PERMISSION or exc.http_status in (401, 403):
        return _("Meta refused the access token ({0}): {1}").format(exc.code, exc.message)
    return _("Meta answered: {0}").format(exc.user_message)
