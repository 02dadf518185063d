"""The people we talk to as ERPNext / CRM records (Customer, Contact, Lead, CRM Lead): found, or created
once even when several requests or jobs ask for the same new person at the same moment."""

from __future__ import annotations

import json
from typing import Any

import frappe

from voice_agent.locks import transaction_lock


def find_or_create(doctype: str, match: dict[str, Any], values: dict[str, Any]) -> str:
    """The name of the `doctype` record matching `match`, created from `values` when there is none.

    Creators of the same identity wait for each other (a lock held until the creator's transaction
    ends) and look with a locking read, so they find the record the one before them created. A record
    that is already there is returned without waiting: a shared one (the "WhatsApp" lead source) must
    not make every job that creates a Lead wait for the others to commit."""
    existing = frappe.db.get_value(doctype, match, "name")
    if existing:
        return existing
    creation_lock(doctype, match)
    existing = frappe.db.get_value(doctype, match, "name", for_update=True)
    if existing:
        return existing
    try:
        return frappe.get_doc({"doctype": doctype, **values}).insert(ignore_permissions=True).name
    except frappe.DuplicateEntryError:
        # Same name, different identity, created outside this lock (a person in the desk, another app):
        # nothing of ours was written, so look once more and let a real conflict surface.
        frappe.clear_last_message()
        existing = frappe.db.get_value(doctype, match, "name", for_update=True)
        if existing:
            return existing
        raise


def creation_lock(doctype: str, match: dict[str, Any]) -> None:
    """Wait until no other transaction is creating this identity, and hold that until this one ends."""
    transaction_lock(f"party:{doctype}:{json.dumps(match, sort_keys=True, default=str)}")


def find_or_create_customer(name: str, phone: str | None, email: str | None) -> str:
    """A Customer for a caller, found by name and phone (or email), else created as an individual."""
    match: dict[str, Any] = {"customer_name": name}
    if phone:
        match["mobile_no"] = phone
    elif email:
        match["email_id"] = email
    selling = frappe.get_cached_doc("Selling Settings")
    return find_or_create("Customer", match, {
        "customer_name": name,
        "customer_type": "Individual",
        "customer_group": selling.customer_group or _leaf("Customer Group"),
        "territory": selling.territory or _leaf("Territory"),
        "mobile_no": phone,
        "email_id": email,
    })


def _leaf(doctype: str) -> str | None:
    return frappe.db.get_value(doctype, {"is_group": 0}, "name", order_by="lft asc")
