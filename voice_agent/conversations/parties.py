"""The record a WhatsApp number belongs to: looked up in Contact, Lead, Customer (and CRM Lead / CRM
Deal with Frappe CRM) in the order of messaging/parties.py, or created as a Lead (or CRM Lead) for an
unknown number, once even when several messages from it arrive at the same moment."""

from __future__ import annotations

from typing import Any

import frappe

from voice_agent.messaging.parties import PartyCandidate, PartyMatch, choose_party, match_order
from voice_agent.messaging.phones import matching_variants
from voice_agent.parties import find_or_create

# Where each party doctype keeps phone numbers: fields on the record, or a child table's field.
PHONE_FIELDS: dict[str, tuple[str, ...]] = {
    "Contact": ("mobile_no", "phone"),
    "Lead": ("mobile_no", "phone", "whatsapp_no"),
    "Customer": ("mobile_no",),
    "CRM Lead": ("mobile_no", "phone"),
    "CRM Deal": ("mobile_no", "phone"),
}
CHILD_PHONE_TABLES = {"Contact": ("Contact Phone", "phone")}


def crm_installed() -> bool:
    return "crm" in frappe.get_installed_apps()


def find_party(e164: str, preferred: tuple[str, str] | None = None) -> PartyMatch:
    variants = list(matching_variants(e164))
    candidates: list[PartyCandidate] = []
    for doctype in match_order(crm_installed()):
        if not frappe.db.exists("DocType", doctype):
            continue
        meta = frappe.get_meta(doctype)
        names: set[str] = set()
        for field in PHONE_FIELDS.get(doctype, ()):
            if meta.has_field(field):
                names.update(frappe.get_all(doctype, filters={field: ("in", variants)}, pluck="name"))
        if doctype in CHILD_PHONE_TABLES:
            child, field = CHILD_PHONE_TABLES[doctype]
            names.update(frappe.get_all(child, filters={field: ("in", variants), "parenttype": doctype},
                                        pluck="parent"))
        for name in names:
            candidates.append(PartyCandidate(doctype, name, frappe.db.get_value(doctype, name, "modified")))
    return choose_party(candidates, crm_installed(), preferred)


def create_party(e164: str, profile_name: str | None) -> tuple[str, str] | None:
    """A new Lead (or CRM Lead) for an unknown number, per WhatsApp Settings; None when switched off."""
    settings = frappe.get_cached_doc("WhatsApp Settings")
    if not settings.create_party_for_unknown_numbers:
        return None
    doctype = settings.new_party_doctype or "Lead"
    if not frappe.db.exists("DocType", doctype):
        return None
    name = (profile_name or "").strip()[:140] or e164
    if doctype == "CRM Lead":
        values: dict[str, Any] = {"first_name": name, "mobile_no": e164, "source": _source("CRM Lead Source")}
    else:
        values = {"lead_name": name, "first_name": name, "mobile_no": e164, "whatsapp_no": e164,
                  "source": _source("Lead Source")}
    meta = frappe.get_meta(doctype)
    values = {k: v for k, v in values.items() if v and meta.has_field(k)}
    return doctype, find_or_create(doctype, {"mobile_no": e164}, values)


def describe(others: tuple[PartyCandidate, ...]) -> str:
    return "\n".join(f"{c.doctype}: {c.name}" for c in others)


def _source(doctype: str) -> str | None:
    """The "WhatsApp" lead source, created once if the site does not have it."""
    if not frappe.db.exists("DocType", doctype):
        return None
    field = "source_name"
    meta = frappe.get_meta(doctype)
    if not meta.has_field(field):
        return None
    return find_or_create(doctype, {field: "WhatsApp"}, {field: "WhatsApp"})
