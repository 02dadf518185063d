"""The period every report is filtered by."""

from __future__ import annotations

from datetime import date
from typing import Any

import frappe
from frappe import _
from frappe.utils import getdate


def report_period(filters: dict[str, Any]) -> tuple[date, date]:
    """From Date and To Date of a report's filters, both required and in order."""
    if not filters.get("from_date") or not filters.get("to_date"):
        frappe.throw(_("Choose a period (From Date and To Date)."))
    start, end = getdate(filters["from_date"]), getdate(filters["to_date"])
    if start > end:
        frappe.throw(_("From Date must not be after To Date."))
    return start, end
