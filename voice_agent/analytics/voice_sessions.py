"""Voice agent analytics over a period: sessions, durations, completion, tool use, outcomes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import frappe
from frappe import _
from frappe.utils import getdate

COMPLETED_STATUS = "Ended"


def summarize(start: date, end: date, profile: str | None = None) -> dict[str, Any]:
    conditions = {"creation": ("between", [f"{start} 00:00:00", f"{end} 23:59:59.999999"])}
    if profile:
        conditions["profile"] = profile
    sessions = frappe.get_all("Voice Session", filters=conditions,
                              fields=["name", "profile", "status", "outcome", "duration_sec", "creation"],
                              limit_page_length=0)
    completed = [s for s in sessions if s.status == COMPLETED_STATUS]
    durations = [s.duration_sec for s in completed if s.duration_sec]
    tool_use: dict[str, int] = {}
    if sessions:
        for row in frappe.get_all("Voice Interaction", filters={"voice_session": ("in", [s.name for s in sessions])},
                                  fields=["tool", "status", "count(name) as count"], group_by="tool, status"):
            key = f"{row.tool} ({row.status})"
            tool_use[key] = tool_use.get(key, 0) + row.count
    by_profile: dict[str, dict[str, Any]] = {}
    for s in sessions:
        entry = by_profile.setdefault(s.profile or _("(none)"), {"profile": s.profile, "sessions": 0, "completed": 0,
                                                                 "total_duration": 0.0, "outcomes": {}})
        entry["sessions"] += 1
        if s.status == COMPLETED_STATUS:
            entry["completed"] += 1
            entry["total_duration"] += s.duration_sec or 0
        outcome = s.outcome or "None"
        entry["outcomes"][outcome] = entry["outcomes"].get(outcome, 0) + 1
    per_day: dict[str, int] = {}
    day = start
    while day <= end and len(per_day) < 400:
        per_day[str(day)] = 0
        day += timedelta(days=1)
    for s in sessions:
        key = str(getdate(s.creation))
        if key in per_day:
            per_day[key] += 1
    return {
        "from_date": str(start),
        "to_date": str(end),
        "sessions": len(sessions),
        "completed": len(completed),
        "completion_rate": round(100 * len(completed) / len(sessions), 1) if sessions else 0.0,
        "average_duration_sec": round(sum(durations) / len(durations), 1) if durations else 0.0,
        "tool_use": tool_use,
        "by_profile": list(by_profile.values()),
        "sessions_per_day": per_day,
    }
