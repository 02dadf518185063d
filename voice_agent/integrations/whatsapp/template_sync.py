"""WhatsApp Templates synced from an account's WhatsApp Business Account (templates are made and
approved in WhatsApp Manager; the desk sends the approved ones)."""

from __future__ import annotations

import json

import frappe
from frappe.utils import now_datetime

from voice_agent.integrations.whatsapp.connect import graph_client

TEMPLATE = "WhatsApp Template"


def sync_templates(account: str) -> dict[str, int]:
    doc = frappe.get_doc("WhatsApp Account", account)
    with graph_client(doc, timeout=20) as client:
        remote = client.list_templates(doc.waba_id)
    seen = set()
    created = updated = 0
    for row in remote:
        name = template_name(row.get("name") or "", row.get("language") or "", doc.waba_id)
        seen.add(name)
        values = {"template_name": row.get("name"), "language": row.get("language"), "waba_id": doc.waba_id,
                  "category": row.get("category"), "status": row.get("status"), "template_id": row.get("id"),
                  "components": json.dumps(row.get("components") or []), "last_synced_at": now_datetime()}
        if frappe.db.exists(TEMPLATE, name):
            frappe.db.set_value(TEMPLATE, name, values)
            updated += 1
        else:
            frappe.get_doc({"doctype": TEMPLATE, **values}).insert(ignore_permissions=True, set_name=name)
            created += 1
    gone = [n for n in frappe.get_all(TEMPLATE, filters={"waba_id": doc.waba_id}, pluck="name") if n not in seen]
    for name in gone:
        frappe.db.set_value(TEMPLATE, name, "status", "DELETED")
    return {"created": created, "updated": updated, "deleted": len(gone)}


def sync_all() -> None:
    """Scheduler (daily): every enabled account's templates."""
    for account in frappe.get_all("WhatsApp Account", filters={"enabled": 1}, pluck="name"):
        try:
            sync_templates(account)
            frappe.db.commit()
        except Exception:
            frappe.db.rollback()
            frappe.log_error(title=f"WhatsApp templates of {account} could not be synced")


def template_name(name: str, language: str, waba_id: str) -> str:
    return f"{name}-{language}-{waba_id}"[:140]
