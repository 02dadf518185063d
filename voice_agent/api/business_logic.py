"""The agent's tools, called by Ultravox over HTTP during a session.

They are `allow_guest=True` only because Ultravox cannot log in: the first thing each one does is
check the per-session secret that Frappe attached to the Ultravox call as a static header (stored
here only as a SHA-256, compared in constant time) and that the session is still live. Without it
nothing is read or written. Each call is idempotent on a key derived from the session, the tool and
the normalized arguments, so Ultravox's retries create one document.
"""

from __future__ import annotations

import json
import time as clock
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import frappe
from frappe import _
from frappe.utils import add_to_date, fmt_money, get_system_timezone, get_time, getdate, now_datetime, nowdate

from voice_agent.api.voice_processor import LIVE_STATUSES, offered_tools
from voice_agent.ultravox_logic.matching import match_items
from voice_agent.ultravox_logic.scheduling import describe_slot, nearest_free_slots, overlaps, within_hours
from voice_agent.ultravox_logic.signature import secrets_equal
from voice_agent.ultravox_logic.tools import (
    TOOL_SECRET_HEADER,
    ToolArgumentError,
    idempotency_key,
    parse_local_datetime,
    validate_args,
)

GENERIC_FAILURE = "Sorry, I could not do that right now. A colleague will follow up with you."


class Refusal(Exception):
    """The request cannot be done as asked; the message is what the agent should say."""


@dataclass
class ToolResult:
    reply: str
    doctype: str
    name: str
    outcome: str
    party: tuple[str, str] | None = None


@frappe.whitelist(allow_guest=True, methods=["POST"])
def book_appointment(
    voice_session: str,
    customer_name: str | None = None,
    date: str | None = None,
    time: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    service: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    args = {"customer_name": customer_name, "date": date, "time": time, "phone": phone, "email": email,
            "service": service, "notes": notes}
    return _run_tool("book_appointment", voice_session, args, _book_appointment)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def place_restaurant_order(
    voice_session: str,
    customer_name: str | None = None,
    phone: str | None = None,
    items: list | None = None,
    delivery_date: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    args = {"customer_name": customer_name, "phone": phone, "items": items, "delivery_date": delivery_date,
            "notes": notes}
    return _run_tool("place_restaurant_order", voice_session, args, _place_order)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def create_support_ticket(
    voice_session: str,
    customer_name: str | None = None,
    subject: str | None = None,
    description: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    priority: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    args = {"customer_name": customer_name, "subject": subject, "description": description, "phone": phone,
            "email": email, "priority": priority, "category": category}
    return _run_tool("create_support_ticket", voice_session, args, _create_ticket)


# --- the shared pipeline ---------------------------------------------------------------------

def _run_tool(tool: str, session_name: str, raw_args: dict[str, Any], action: Callable) -> dict[str, Any]:
    started = clock.monotonic()
    session = _authorize(session_name)
    agent = frappe.get_cached_doc("Voice Agent Profile", session.profile)
    target = next((t for t in offered_tools(agent) if t.tool == tool), None)
    if target is None:
        return _refuse(session.name, tool, raw_args, _("I cannot do that in this conversation."), started)
    try:
        args = validate_args(tool, raw_args)
    except ToolArgumentError as exc:
        return _refuse(session.name, tool, raw_args, str(exc), started)

    key = idempotency_key(session.name, tool, args)
    previous = _previous_reply(key)
    if previous is not None:
        return {"result": previous}

    try:
        with _as_administrator():
            result: ToolResult = action(args, agent, target.doctype)
    except Refusal as exc:
        frappe.db.rollback()
        return _refuse(session.name, tool, args, str(exc), started)
    except Exception:
        frappe.db.rollback()
        frappe.log_error(title=f"Voice agent tool {tool} failed")
        _log(session.name, tool, args, "Failed", GENERIC_FAILURE, started, error=frappe.get_traceback()[-2000:])
        return {"result": _(GENERIC_FAILURE)}

    try:
        # The unique key is written in the same transaction as the document: a concurrent retry
        # blocks on it until this one commits, then fails here and rolls its own document back.
        _interaction(session.name, tool, args, "Success", result.reply, started, key=key,
                     reference=(result.doctype, result.name)).db_insert()
    except frappe.UniqueValidationError:
        frappe.db.rollback()
        frappe.clear_messages()
        return {"result": frappe.db.get_value("Voice Interaction", {"idempotency_key": key}, "reply")}
    _record_outcome(session.name, result)
    frappe.db.commit()
    return {"result": result.reply, "document": {"doctype": result.doctype, "name": result.name}}


def _previous_reply(key: str) -> str | None:
    return frappe.db.get_value("Voice Interaction", {"idempotency_key": key}, "reply")


def _authorize(session_name: str):
    row = frappe.db.get_value(
        "Voice Session", session_name,
        ["name", "status", "profile", "tool_secret_hash", "started_at", "max_duration_sec"], as_dict=True,
    )
    presented = frappe.get_request_header(TOOL_SECRET_HEADER)
    if not secrets_equal(row.tool_secret_hash if row else "0" * 64, presented) or not row:
        frappe.throw(_("Not permitted"), frappe.PermissionError)
    expires = add_to_date(row.started_at, seconds=(row.max_duration_sec or 600) + 120)
    if row.status not in LIVE_STATUSES or now_datetime() > expires:
        frappe.throw(_("This session has ended."), frappe.PermissionError)
    return row


@contextmanager
def _as_administrator():
    # ERPNext resolves defaults and permissions from the session user; a Guest has none.
    user = frappe.session.user
    frappe.set_user("Administrator")
    try:
        yield
    finally:
        frappe.set_user(user)


def _refuse(session: str, tool: str, args: dict[str, Any], reply: str, started: float) -> dict[str, Any]:
    _log(session, tool, args, "Refused", reply, started)
    return {"result": reply}


def _log(session: str, tool: str, args: dict[str, Any], status: str, reply: str, started: float,
         error: str | None = None) -> None:
    _interaction(session, tool, args, status, reply, started, error=error).db_insert()
    frappe.db.commit()


def _interaction(session: str, tool: str, args: dict[str, Any], status: str, reply: str, started: float,
                 key: str | None = None, reference: tuple[str, str] | None = None, error: str | None = None):
    # Written with db_insert (one INSERT, no document hooks): it is the agent's log, built complete
    # here, and the caller is a live conversation waiting on the reply.
    return frappe.get_doc({
        "doctype": "Voice Interaction", "voice_session": session, "tool": tool, "status": status,
        "idempotency_key": key, "inputs": json.dumps(args, sort_keys=True, default=str)[:10000],
        "reply": reply, "error": error, "duration_ms": round((clock.monotonic() - started) * 1000, 1),
        "reference_doctype": reference[0] if reference else None,
        "reference_name": reference[1] if reference else None,
    })


def _record_outcome(session_name: str, result: ToolResult) -> None:
    # One statement: two tools finishing at once in the same session cannot drop each other's document.
    # party_type is assigned before party, so both read the party the session had before.
    party_type, party = result.party or (None, None)
    frappe.db.sql(
        """UPDATE `tabVoice Session`
        SET documents_created = CONCAT_WS(%(newline)s, NULLIF(documents_created, ''), %(document)s),
            outcome = %(outcome)s,
            party_type = CASE WHEN COALESCE(party, '') = '' THEN %(party_type)s ELSE party_type END,
            party = CASE WHEN COALESCE(party, '') = '' THEN %(party)s ELSE party END
        WHERE name = %(session)s""",
        {"newline": "\n", "document": f"{result.doctype}: {result.name}", "outcome": result.outcome,
         "party_type": party_type, "party": party, "session": session_name},
    )


# --- appointments ----------------------------------------------------------------------------

def _book_appointment(args: dict[str, Any], agent, doctype: str) -> ToolResult:
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
        customer = _find_or_create_customer(args["customer_name"], args.get("phone"), args.get("email"))
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


# --- restaurant orders -----------------------------------------------------------------------

def _place_order(args: dict[str, Any], agent, doctype: str) -> ToolResult:
    price_list = frappe.db.get_single_value("Selling Settings", "selling_price_list") or "Standard Selling"
    catalogue = _sellable_items(price_list)
    wanted = args["items"]
    matches = match_items([w["item"] for w in wanted], {name: code for name, code in catalogue.items()})
    unsure = [m for m in matches if m.item is None]
    if unsure:
        first = unsure[0]
        if first.suggestions:
            raise Refusal(_("I am not sure what you mean by {0}. Did you mean {1}?").format(
                first.requested, _(" or ").join(first.suggestions)))
        raise Refusal(_("Sorry, {0} is not on our menu.").format(first.requested))

    company = _default_company()
    delivery = _delivery_date(args.get("delivery_date"))
    prices = _prices([m.item for m in matches], price_list)
    missing = [m.requested for m in matches if m.item not in prices]
    if missing:
        raise Refusal(_("Sorry, {0} cannot be ordered right now.").format(missing[0]))

    customer = _find_or_create_customer(args["customer_name"], args["phone"], None)
    order = frappe.get_doc({
        "doctype": "Sales Order", "customer": customer, "company": company, "order_type": "Sales",
        "transaction_date": nowdate(), "delivery_date": delivery, "selling_price_list": price_list,
        "ignore_pricing_rule": 0,
        "items": [
            {"item_code": m.item, "qty": w["qty"], "rate": prices[m.item], "delivery_date": delivery}
            for m, w in zip(matches, wanted, strict=True)
        ],
    })
    order.insert(ignore_permissions=True)
    if args.get("notes"):
        order.add_comment("Comment", frappe.utils.escape_html(args["notes"]))
    if agent.submit_orders_automatically:
        order.submit()
    total = fmt_money(order.grand_total, currency=order.currency)
    reply = _("Your order {0} is placed for {1}. The total is {2}.").format(
        order.name, _("today") if getdate(delivery) == getdate(nowdate()) else getdate(delivery).strftime("%A %d %B"),
        total)
    return ToolResult(reply, "Sales Order", order.name, "Order", ("Customer", customer))


def _sellable_items(price_list: str) -> dict[str, str]:
    rows = frappe.get_all("Item", filters={"disabled": 0, "is_sales_item": 1, "has_variants": 0},
                          fields=["item_code", "item_name"], limit_page_length=5000)
    catalogue: dict[str, str] = {}
    for row in rows:
        catalogue.setdefault(row.item_name or row.item_code, row.item_code)
    return catalogue


def _prices(item_codes: list[str], price_list: str) -> dict[str, float]:
    rows = frappe.get_all("Item Price", filters={"price_list": price_list, "selling": 1,
                          "item_code": ("in", item_codes)}, fields=["item_code", "price_list_rate", "valid_from"],
                          order_by="valid_from desc")
    today = getdate(nowdate())
    prices: dict[str, float] = {}
    for row in rows:
        if row.valid_from and getdate(row.valid_from) > today:
            continue
        prices.setdefault(row.item_code, row.price_list_rate)
    return prices


def _default_company() -> str:
    company = frappe.db.get_single_value("Global Defaults", "default_company")
    company = company or frappe.db.get_value("Company", {}, "name", order_by="creation asc")
    if not company:
        raise Refusal(_("Orders cannot be taken yet because no company is set up."))
    return company


def _delivery_date(requested: str | None) -> date:
    today = getdate(nowdate())  # the site's time zone
    if not requested:
        return today
    wanted = getdate(requested)
    if wanted < today:
        raise Refusal(_("That date has already passed. Would you like it today instead?"))
    return wanted


def _find_or_create_customer(name: str, phone: str | None, email: str | None) -> str:
    filters: dict[str, Any] = {"customer_name": name}
    if phone:
        filters["mobile_no"] = phone
    elif email:
        filters["email_id"] = email
    existing = frappe.db.get_value("Customer", filters, "name")
    if existing:
        return existing
    selling = frappe.get_cached_doc("Selling Settings")
    customer = frappe.get_doc({
        "doctype": "Customer", "customer_name": name, "customer_type": "Individual",
        "customer_group": selling.customer_group or _leaf("Customer Group"),
        "territory": selling.territory or _leaf("Territory"),
        "mobile_no": phone, "email_id": email,
    }).insert(ignore_permissions=True)
    return customer.name


def _leaf(doctype: str) -> str | None:
    return frappe.db.get_value(doctype, {"is_group": 0}, "name", order_by="lft asc")


# --- support tickets -------------------------------------------------------------------------

TICKET_FIELDS = {
    "Issue": {"priority": ("priority", "Issue Priority"), "category": ("issue_type", "Issue Type")},
    "HD Ticket": {"priority": ("priority", "HD Ticket Priority"), "category": ("ticket_type", "HD Ticket Type")},
}


def _create_ticket(args: dict[str, Any], agent, doctype: str) -> ToolResult:
    fields = TICKET_FIELDS[doctype]
    values: dict[str, Any] = {"doctype": doctype, "subject": args["subject"],
                              "description": _ticket_description(args)}
    for arg in ("priority", "category"):
        if not args.get(arg):
            continue
        fieldname, link_doctype = fields[arg]
        match = frappe.db.get_value(link_doctype, {"name": args[arg]}, "name")
        if not match:
            options = frappe.get_all(link_doctype, pluck="name", limit_page_length=6)
            raise Refusal(_("{0} is not a {1} I know. The options are {2}.").format(
                args[arg], _(arg), ", ".join(options) or _("none")))
        values[fieldname] = match
    if args.get("email"):
        values["raised_by"] = args["email"]
    party = None
    if doctype == "Issue":
        customer = frappe.db.get_value("Customer", {"customer_name": args["customer_name"]}, "name")
        if customer:
            values["customer"] = customer
            party = ("Customer", customer)
    ticket = frappe.get_doc(values).insert(ignore_permissions=True)
    reply = _("I have opened ticket {0} about {1}. Our team will contact you.").format(ticket.name, args["subject"])
    return ToolResult(reply, doctype, ticket.name, "Ticket", party)


def _ticket_description(args: dict[str, Any]) -> str:
    contact = ", ".join(str(args[k]) for k in ("customer_name", "phone", "email") if args.get(k))
    return f"{frappe.utils.escape_html(args['description'])}<br><br>{_('Caller')}: {frappe.utils.escape_html(contact)}"
