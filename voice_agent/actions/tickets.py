"""create_support_ticket: an Issue (ERPNext) or an HD Ticket (Helpdesk), with a known priority and
category only."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.actions.base import Refusal, ToolResult

TICKET_FIELDS = {
    "Issue": {"priority": ("priority", "Issue Priority"), "category": ("issue_type", "Issue Type")},
    "HD Ticket": {"priority": ("priority", "HD Ticket Priority"), "category": ("ticket_type", "HD Ticket Type")},
}


def create_ticket(args: dict[str, Any], agent, doctype: str) -> ToolResult:
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
