"""Voice agent analytics for a period (today, week, month, quarter, year, or custom dates)."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from voice_agent.analytics.voice_sessions import summarize
from voice_agent.web.periods import resolve_period


@frappe.whitelist(methods=["GET", "POST"])
def get_voice_analytics(period: str = "month", from_date: str | None = None, to_date: str | None = None) -> dict[str, Any]:
    if not frappe.has_permission("Voice Session", "read"):
        frappe.throw(_("Not permitted"), frappe.PermissionError)
    try:
        start, end = resolve_period(period, getdate(nowdate()), from_date, to_date)
    except ValueError as exc:
        frappe.throw(_("Invalid period: {0}").format(str(exc)))
    return summarize(start, end)
