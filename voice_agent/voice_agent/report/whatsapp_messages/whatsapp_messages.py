"""WhatsApp Messages: volume in and out per day and number, how fast a person first answered, and
failures by error code."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.analytics.period import report_period
from voice_agent.analytics.whatsapp_messages import daily_figures, failures_by_code


def execute(filters: dict[str, Any] | None = None):
    filters = frappe._dict(filters or {})
    start, end = report_period(filters)
    rows = daily_figures(start, end, filters.account)
    failures = failures_by_code(start, end, filters.account)
    columns = [
        {"fieldname": "day", "label": _("Day"), "fieldtype": "Date", "width": 110},
        {"fieldname": "account", "label": _("Number"), "fieldtype": "Link", "options": "WhatsApp Account", "width": 180},
        {"fieldname": "inbound", "label": _("Received"), "fieldtype": "Int", "width": 100},
        {"fieldname": "outbound", "label": _("Sent"), "fieldtype": "Int", "width": 90},
        {"fieldname": "templates", "label": _("Templates Sent"), "fieldtype": "Int", "width": 130},
        {"fieldname": "failed", "label": _("Failed"), "fieldtype": "Int", "width": 90},
        {"fieldname": "answered", "label": _("Customers Answered"), "fieldtype": "Int", "width": 160},
        {"fieldname": "median_first_reply_min", "label": _("Median First Reply (min)"), "fieldtype": "Float",
         "precision": 1, "width": 190},
        {"fieldname": "slowest_first_reply_min", "label": _("Slowest First Reply (min)"), "fieldtype": "Float",
         "precision": 1, "width": 190},
    ]
    received, sent = sum(r["inbound"] for r in rows), sum(r["outbound"] for r in rows)
    failed = sum(r["failed"] for r in rows)
    summary = [
        {"label": _("Received"), "value": received, "datatype": "Int", "indicator": "Blue"},
        {"label": _("Sent"), "value": sent, "datatype": "Int", "indicator": "Green"},
        {"label": _("Failed"), "value": failed, "datatype": "Int", "indicator": "Red" if failed else "Grey"},
    ] + [
        {"label": _("Failed: {0}").format(f"{f['error_code']} {f['error_title']}".strip() or _("unknown")),
         "value": f["count"], "datatype": "Int", "indicator": "Orange"}
        for f in failures[:5]
    ]
    days = sorted({str(r["day"]) for r in rows})
    chart = {
        "type": "bar",
        "data": {
            "labels": days,
            "datasets": [
                {"name": _("Received"), "values": [sum(r["inbound"] for r in rows if str(r["day"]) == d) for d in days]},
                {"name": _("Sent"), "values": [sum(r["outbound"] for r in rows if str(r["day"]) == d) for d in days]},
            ],
        },
        "axisOptions": {"xIsSeries": 1},
    }
    return columns, rows, None, chart, summary
