"""Per agent over a period: calls, answered / missed / failed, talk time, average quality."""

from __future__ import annotations

from datetime import date
from typing import Any

import frappe
from frappe import _
from frappe.utils import add_days

from voice_agent.analytics.period import report_period
from voice_agent.calling.metrics import quality_label


def execute(filters: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    filters = frappe._dict(filters or {})
    return columns(), rows(*report_period(filters), filters)


def columns() -> list[dict[str, Any]]:
    return [
        {"fieldname": "agent", "label": _("Agent"), "fieldtype": "Link", "options": "User", "width": 220},
        {"fieldname": "calls", "label": _("Calls"), "fieldtype": "Int", "width": 80},
        {"fieldname": "answered", "label": _("Answered"), "fieldtype": "Int", "width": 100},
        {"fieldname": "missed", "label": _("Missed"), "fieldtype": "Int", "width": 90},
        {"fieldname": "failed", "label": _("Failed"), "fieldtype": "Int", "width": 90},
        {"fieldname": "talk_time", "label": _("Talk Time"), "fieldtype": "Duration", "width": 130},
        {"fieldname": "avg_talk_time", "label": _("Avg Talk Time"), "fieldtype": "Duration", "width": 130},
        {"fieldname": "avg_mos", "label": _("Avg MOS"), "fieldtype": "Float", "precision": 2, "width": 100},
        {"fieldname": "quality", "label": _("Quality"), "fieldtype": "Data", "width": 100},
        {
            "fieldname": "avg_packet_loss",
            "label": _("Avg Loss %"),
            "fieldtype": "Float",
            "precision": 2,
            "width": 110,
        },
    ]


def rows(start: date, end: date, filters: frappe._dict) -> list[dict[str, Any]]:
    conditions: dict[str, Any] = {"started_at": ("between", [start, add_days(end, 1)])}
    if filters.agent:
        conditions["agent"] = filters.agent
    if filters.channel:
        conditions["channel"] = filters.channel
    # get_list: a Voice Agent User only sees their own calls here too.
    calls = frappe.get_list(
        "Voice Call",
        filters=conditions,
        fields=[
            "agent",
            "state",
            "connected_at",
            "talk_duration",
            "mos",
            "quality_samples",
            "avg_packet_loss",
        ],
        limit_page_length=0,
    )
    per_agent: dict[str, dict[str, Any]] = {}
    for call in calls:
        row = per_agent.setdefault(
            call.agent,
            {
                "agent": call.agent,
                "calls": 0,
                "answered": 0,
                "missed": 0,
                "failed": 0,
                "talk_time": 0.0,
                "_mos": [],
                "_loss": [],
            },
        )
        row["calls"] += 1
        row["answered"] += 1 if call.connected_at else 0
        row["missed"] += 1 if call.state == "missed" else 0
        row["failed"] += 1 if call.state == "failed" else 0
        row["talk_time"] += call.talk_duration or 0
        if call.quality_samples:
            row["_mos"].append(call.mos or 0)
            row["_loss"].append(call.avg_packet_loss or 0)
    result = []
    for row in sorted(per_agent.values(), key=lambda r: (-r["talk_time"], r["agent"] or "")):
        mos_values, loss_values = row.pop("_mos"), row.pop("_loss")
        row["avg_talk_time"] = row["talk_time"] / row["answered"] if row["answered"] else 0
        row["avg_mos"] = sum(mos_values) / len(mos_values) if mos_values else None
        row["quality"] = quality_label(row["avg_mos"])
        row["avg_packet_loss"] = sum(loss_values) / len(loss_values) if loss_values else None
        result.append(row)
    return result
