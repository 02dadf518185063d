"""The inbox every provider webhook writes to first: the raw event in one INSERT, before the
acknowledgement (no document hooks: the provider waits on the answer), once per event."""

from __future__ import annotations

from typing import Any

import frappe


def store_once(values: dict[str, Any]) -> bool:
    """Insert the raw event `values` (doctype and name included); False when it is already stored —
    a redelivery, possibly racing this one (the unique name decides)."""
    if frappe.db.exists(values["doctype"], values["name"]):
        return False
    try:
        frappe.get_doc(values).db_insert()
    except frappe.DuplicateEntryError:
        frappe.clear_messages()
        return False
    return True
