import frappe
from frappe import _

from voice_agent.analytics.period import report_period
from voice_agent.analytics.voice_sessions import summarize

OUTCOMES = ("Appointment", "Order", "Ticket", "None")


def execute(filters: dict | None = None):
    filters = frappe._dict(filters or {})
    start, end = report_period(filters)
    data = summarize(start, end, filters.profile)
    columns = [
        {"fieldname": "profile", "label": _("Profile"), "fieldtype": "Link", "options": "Voice Agent Profile", "width": 200},
        {"fieldname": "sessions", "label": _("Sessions"), "fieldtype": "Int", "width": 100},
        {"fieldname": "completed", "label": _("Completed"), "fieldtype": "Int", "width": 100},
        {"fieldname": "completion_rate", "label": _("Completion %"), "fieldtype": "Percent", "width": 110},
        {"fieldname": "average_duration_sec", "label": _("Avg Duration (s)"), "fieldtype": "Float", "width": 130},
    ] + [{"fieldname": o.lower(), "label": _(o), "fieldtype": "Int", "width": 110} for o in OUTCOMES]
    rows = []
    for entry in data["by_profile"]:
        row = {
            "profile": entry["profile"],
            "sessions": entry["sessions"],
            "completed": entry["completed"],
            "completion_rate": round(100 * entry["completed"] / entry["sessions"], 1) if entry["sessions"] else 0,
            "average_duration_sec": round(entry["total_duration"] / entry["completed"], 1) if entry["completed"] else 0,
        }
        for outcome in OUTCOMES:
            row[outcome.lower()] = entry["outcomes"].get(outcome, 0)
        rows.append(row)
    chart = {
        "data": {
            "labels": list(data["sessions_per_day"].keys()),
            "datasets": [{"name": _("Sessions"), "values": list(data["sessions_per_day"].values())}],
        },
        "type": "line",
    }
    summary = [
        {"label": _("Sessions"), "value": data["sessions"], "datatype": "Int", "indicator": "Blue"},
        {"label": _("Completion Rate"), "value": data["completion_rate"], "datatype": "Percent", "indicator": "Green"},
        {"label": _("Average Duration (s)"), "value": data["average_duration_sec"], "datatype": "Float"},
    ] + [
        {"label": tool, "value": count, "datatype": "Int", "indicator": "Grey"}
        for tool, count in sorted(data["tool_use"].items())
    ]
    return columns, rows, None, chart, summary
