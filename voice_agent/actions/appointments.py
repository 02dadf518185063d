"""book_appointment: an ERPNext Appointment (with a Customer) or, without ERPNext, a public Event; in
opening hours, never in the past, never over another booking, with the nearest free slots offered."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import frappe
from frappe import _
from frappe.utils import get_system_timezone, get_time, now_datetime

from voice_agent.actions.base import Refusal, ToolResult
from voice_agent.agent.scheduling import describe_slot, nearest_free_slots, overlaps, within_hours
from voice_agent.agent.tools import parse_local_datetime
from voice_agent.parties import find_or_create_customer


def book_appointment(args: dict[str, Any], agent, doctype: str) -> ToolResult:
    duration = timedelta(minutes=agent.appointment_duration_min or 30)
    opens, closes = get_time(agent.opening_time or "09:00"), get_time(agent.closing_time or "17:00")
    start = parse_local_datetime(args["date"], args["time"])
    now = now_datetime()
    busy = _busy_intervals(doctype, start - timedelta(days=1), start + timedelta(days=9), duration)

    def alternatives() -> str:
        slots = nearest_free_slots(start, duration, busy, opens, closes, not_before=now)
        if not slots:
            return _("I have no free slots in the coming week.")
        return _("The nearest free times are {0}.").format(", ".join(describe_slot(s) for s in slots))

    if start < now:
        raise Refusal(_("That time has already passed.") + " " + alternatives())
    if not within_hours(start, duration, opens, closes):
        raise Refusal(_("We take appointments between {0} and {1}.").format(
            opens.strftime("%H:%M"), closes.strftime("%H:%M")) + " " + alternatives())
    if overlaps(start, start + duration, busy):
        raise Refusal(_("That time is already booked.") + " " + alternatives())

    end = start + duration
    title = _("Appointment with {0}").format(args["customer_name"])
    if args.get("service"):
        title += f" ({args['service']})"
    details = "\n".join(f"{k}: {v}" for k, v in args.items() if k in ("phone", "email", "service", "notes"))
    party = None
    if doctype == "Appointment":
        if not args.get("email"):
            raise Refusal(_("I need an email address to confirm the booking."))
        customer = find_or_create_customer(args["customer_name"], args.get("phone"), args.get("email"))
        party = ("Customer", customer)
        doc = frappe.get_doc({
            "doctype": "Appointment", "customer_name": args["customer_name"], "scheduled_time": start,
            "customer_phone_number": args.get("phone"), "customer_email": args["email"], "status": "Open",
            "customer_details": details, "appointment_with": "Customer", "party": customer,
        }).insert(ignore_permissions=True)
        doc.reload()
        if doc.calendar_event:
            # ERPNext's event starts and ends at the same instant; give it the real end.
            frappe.db.set_value("Event", doc.calendar_event, {"ends_on": end, "subject": title})
    else:
        doc = frappe.get_doc({
            "doctype": "Event", "subject": title, "starts_on": start, "ends_on": end, "event_type": "Public",
            "event_category": "Meeting", "status": "Open", "description": details,
        }).insert(ignore_permissions=True)
    reply = _("You are booked for {0} until {1} ({2} time). Your reference is {3}.").format(
        describe_slot(start), end.strftime("%H:%M"), get_system_timezone(), doc.name)
    return ToolResult(reply, doc.doctype, doc.name, "Appointment", party)


def _busy_intervals(doctype: str, since: datetime, until: datetime, duration: timedelta) -> list[tuple]:
    if doctype == "Appointment":
        rows = frappe.get_all("Appointment", filters={"status": ("!=", "Closed"),
                              "scheduled_time": ("between", [since, until])}, pluck="scheduled_time")
        return [(r, r + duration) for r in rows]
    rows = frappe.get_all("Event", filters={"status": "Open", "event_type": "Public",
                          "starts_on": ("between", [since, until])}, fields=["starts_on", "ends_on"])
    return [(r.starts_on, r.ends_on or r.starts_on + duration) for r in rows]
