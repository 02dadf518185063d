"""Voice Agent Analytics: sessions per profile (completion, average duration, outcomes) with their total,
the period's figures above, and sessions over time."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils import formatdate

from voice_agent.analytics.period import report_period
from voice_agent.analytics.voice_sessions import (
    OUTCOMES,
    average_duration,
    completion_rate,
    sessions_over_time,
    summarize,
)
from voice_agent.calling.display import whole_seconds
from voice_agent.web.periods import chart_grain

# Babel patterns of a chart label, short enough to fit under a point (web.periods.MAX_CHART_POINTS).
LABEL_FORMATS = {"day": "d MMM", "week": "d MMM", "month": "MMM yyyy", "year": "yyyy"}


def execute(filters: dict | None = None):
    filters = frappe._dict(filters or {})
    start, end = report_period(filters)
    data = summarize(start, end, filters.profile)
    total = _total_row(data)
    rows = [_row(entry) for entry in data["by_profile"]] + [total] if data["by_profile"] else []
    grain = chart_grain(start, end)
    chart = _chart(sessions_over_time(start, end, grain, filters.profile), grain)
    summary = [
        {"label": _("Sessions"), "value": total["sessions"], "datatype": "Int", "indicator": "Blue"},
        {"label": _("Completion Rate"), "value": total["completion_rate"], "datatype": "Percent",
         "indicator": "Green"},
        {"label": _("Average Duration"), "value": total["average_duration"], "datatype": "Duration"},
    ] + [
        {"label": tool, "value": count, "datatype": "Int", "indicator": "Grey"}
        for tool, count in sorted(data["tool_use"].items())
    ]
    return columns(), rows, None, chart, summary


def columns() -> list[dict[str, Any]]:
    # Widths fit each label with the column's menu button, so no header is cut to "...", and all of them a
    # 1280 px wide screen.
    return [
        {"fieldname": "profile", "label": _("Profile"), "fieldtype": "Link", "options": "Voice Agent Profile",
         "width": 200},
        {"fieldname": "sessions", "label": _("Sessions"), "fieldtype": "Int", "width": 100},
        {"fieldname": "completed", "label": _("Completed"), "fieldtype": "Int", "width": 110},
        {"fieldname": "completion_rate", "label": _("Completion %"), "fieldtype": "Percent", "precision": 1,
         "width": 130},
        {"fieldname": "average_duration", "label": _("Avg Duration"), "fieldtype": "Duration", "width": 130},
    ] + [
        {"fieldname": outcome.lower(), "label": _(outcome), "fieldtype": "Int", "width": 110}
        for outcome in OUTCOMES
    ]


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    row = {
        "profile": entry["profile"],
        "sessions": entry["sessions"],
        "completed": entry["completed"],
        "completion_rate": entry["completion_rate"],
        "average_duration": whole_seconds(average_duration(entry["total_duration"], entry["completed"])),
    }
    row.update({outcome.lower(): entry["outcomes"][outcome] for outcome in OUTCOMES})
    return row


def _total_row(data: dict[str, Any]) -> dict[str, Any]:
    """The period's figures from its counts and sums, as in the summary above the table."""
    entries = data["by_profile"]
    sessions = sum(e["sessions"] for e in entries)
    completed = sum(e["completed"] for e in entries)
    row = {
        "profile": _("Total"),
        "is_total_row": 1,
        "sessions": sessions,
        "completed": completed,
        "completion_rate": completion_rate(completed, sessions),
        "average_duration": whole_seconds(average_duration(sum(e["total_duration"] for e in entries), completed)),
    }
    row.update({outcome.lower(): sum(e["outcomes"][outcome] for e in entries) for outcome in OUTCOMES})
    return row


def _chart(counts: dict, grain: str) -> dict[str, Any]:
    return {
        "type": "bar",
        "data": {
            "labels": [formatdate(first, LABEL_FORMATS[grain]) for first in counts],
            "datasets": [{"name": _("Sessions"), "values": list(counts.values())}],
        },
        "fieldtype": "Int",
    }
