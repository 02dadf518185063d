"""WhatsApp message figures over a period, per day and number: volume in and out, how fast a person
first answered the customer, what failed and why. Counts respect who may see which conversation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

import frappe

from voice_agent.conversations.access import message_query_conditions


def daily_figures(start: date, end: date, account: str | None = None) -> list[dict[str, Any]]:
    rows = _messages(start, end, account)
    per_key: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (str(row.day), row.account)
        entry = per_key.setdefault(key, {"day": row.day, "account": row.account, "inbound": 0, "outbound": 0,
                                          "failed": 0, "templates": 0, "_waits": []})
        if row.direction == "Inbound":
            entry["inbound"] += 1
        else:
            entry["outbound"] += 1
            entry["failed"] += 1 if row.status == "Failed" else 0
            entry["templates"] += 1 if row.message_type == "template" else 0
    for (day, account_name), waits in first_reply_waits(rows).items():
        if (day, account_name) in per_key:
            per_key[(day, account_name)]["_waits"] = waits
    result = []
    for entry in sorted(per_key.values(), key=lambda e: (e["day"], e["account"])):
        waits = entry.pop("_waits")
        entry["answered"] = len(waits)
        entry["median_first_reply_min"] = round(median(waits) / 60, 1) if waits else None
        entry["slowest_first_reply_min"] = round(max(waits) / 60, 1) if waits else None
        result.append(entry)
    return result


def first_reply_waits(rows: list[Any]) -> dict[tuple[str, str], list[float]]:
    """Per (day, account): seconds from a customer's first message of a turn (after the business last
    spoke, or the first ever) to the first message a person sent after it. The bot does not count."""
    waits: dict[tuple[str, str], list[float]] = {}
    waiting_since: dict[str, datetime] = {}
    for row in sorted(rows, key=lambda r: (r.conversation, r.at)):
        if row.direction == "Inbound":
            waiting_since.setdefault(row.conversation, row.at)
        elif row.sent_by and row.sent_by != "Guest" and row.conversation in waiting_since:
            since = waiting_since.pop(row.conversation)
            waits.setdefault((str(since.date()), row.account), []).append((row.at - since).total_seconds())
    return waits


def failures_by_code(start: date, end: date, account: str | None = None) -> list[dict[str, Any]]:
    counts: dict[tuple[int | None, str], int] = {}
    for row in _messages(start, end, account):
        if row.direction == "Outbound" and row.status == "Failed":
            key = (row.error_code, row.error_title or "")
            counts[key] = counts.get(key, 0) + 1
    return [{"error_code": code, "error_title": title, "count": count}
            for (code, title), count in sorted(counts.items(), key=lambda kv: -kv[1])]


def _messages(start: date, end: date, account: str | None) -> list[Any]:
    conditions = ["m.creation >= %(start)s", "m.creation < %(end)s"]
    values: dict[str, Any] = {"start": start, "end": end + timedelta(days=1)}
    if account:
        conditions.append("m.account = %(account)s")
        values["account"] = account
    visible = message_query_conditions()
    if visible:
        conditions.append(visible.replace("`tabWhatsApp Message`", "m"))
    return frappe.db.sql(
        f"""SELECT m.conversation, m.account, m.direction, m.status, m.message_type, m.sent_by, m.error_code,
            m.error_title, COALESCE(m.received_at, m.creation) AS at, DATE(COALESCE(m.received_at, m.creation)) AS day
        FROM `tabWhatsApp Message` m WHERE {" AND ".join(conditions)}""",
        values, as_dict=True)
