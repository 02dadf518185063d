"""Voice agent analytics over a period: sessions, durations, completion, tool use, outcomes.

Every rate and average is computed from counts and sums (never averaged from other rates), with the same
helpers for a profile, for the total and for the API, so they agree wherever they are shown."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import frappe
from frappe.utils import getdate

from voice_agent.web.periods import bucket_of, chart_buckets

COMPLETED_STATUS = "Ended"
OUTCOMES = ("Appointment", "Order", "Ticket", "None")


def completion_rate(completed: int, sessions: int) -> float:
    """Percent of the sessions that completed, to one decimal."""
    return round(100 * completed / sessions, 1) if sessions else 0.0


def average_duration(total_seconds: float, completed: int) -> float:
    """Mean duration in seconds of the completed sessions (one that never got through counts 0 s)."""
    return total_seconds / completed if completed else 0.0


def summarize(start: date, end: date, profile: str | None = None) -> dict[str, Any]:
    sessions = _sessions(start, end, profile)
    by_profile: dict[str | None, dict[str, Any]] = {}
    for s in sessions:
        entry = by_profile.setdefault(s.profile, {
            "profile": s.profile, "sessions": 0, "completed": 0, "total_duration": 0.0,
            "outcomes": dict.fromkeys(OUTCOMES, 0),
        })
        entry["sessions"] += 1
        if s.status == COMPLETED_STATUS:
            entry["completed"] += 1
            entry["total_duration"] += s.duration_sec or 0
        outcome = s.outcome if s.outcome in OUTCOMES else "None"
        entry["outcomes"][outcome] += 1
    for entry in by_profile.values():
        entry["completion_rate"] = completion_rate(entry["completed"], entry["sessions"])
        entry["average_duration_sec"] = round(average_duration(entry["total_duration"], entry["completed"]), 1)
    completed = sum(e["completed"] for e in by_profile.values())
    total_duration = sum(e["total_duration"] for e in by_profile.values())
    return {
        "from_date": str(start),
        "to_date": str(end),
        "sessions": len(sessions),
        "completed": completed,
        "completion_rate": completion_rate(completed, len(sessions)),
        "average_duration_sec": round(average_duration(total_duration, completed), 1),
        "tool_use": _tool_use([s.name for s in sessions]),
        "by_profile": sorted(by_profile.values(), key=lambda e: (-e["sessions"], e["profile"] or "")),
        "sessions_per_day": _per_day(sessions, start, end),
    }


def sessions_over_time(start: date, end: date, grain: str, profile: str | None = None) -> dict[date, int]:
    """Sessions started in each day, week, month or year (web.periods.chart_grain) of the period."""
    counts = dict.fromkeys(chart_buckets(start, end, grain), 0)
    for s in _sessions(start, end, profile):
        counts[bucket_of(getdate(s.creation), grain)] += 1
    return counts


def _sessions(start: date, end: date, profile: str | None) -> list[Any]:
    conditions: dict[str, Any] = {"creation": ("between", [f"{start} 00:00:00", f"{end} 23:59:59.999999"])}
    if profile:
        conditions["profile"] = profile
    return frappe.get_all("Voice Session", filters=conditions,
                          fields=["name", "profile", "status", "outcome", "duration_sec", "creation"],
                          limit_page_length=0)


def _tool_use(session_names: list[str]) -> dict[str, int]:
    tool_use: dict[str, int] = {}
    if not session_names:
        return tool_use
    for row in frappe.get_all("Voice Interaction", filters={"voice_session": ("in", session_names)},
                              fields=["tool", "status", "count(name) as count"], group_by="tool, status"):
        key = f"{row.tool} ({row.status})"
        tool_use[key] = tool_use.get(key, 0) + row.count
    return tool_use


def _per_day(sessions: list[Any], start: date, end: date) -> dict[str, int]:
    per_day: dict[str, int] = {}
    day = start
    while day <= end and len(per_day) < 400:
        per_day[str(day)] = 0
        day += timedelta(days=1)
    for s in sessions:
        key = str(getdate(s.creation))
        if key in per_day:
            per_day[key] += 1
    return per_day
