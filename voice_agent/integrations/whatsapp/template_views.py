"""Templates as the desk's picker shows them (contracts/whatsapp-api.schema.json#/$defs/Template)."""

from __future__ import annotations

import json
from typing import Any

import frappe
from frappe import _

from voice_agent.integrations.whatsapp import templates


def templates_for(conversation: Any) -> list[dict[str, Any]]:
    waba_id = frappe.db.get_value("WhatsApp Account", conversation.account, "waba_id")
    rows = frappe.get_all("WhatsApp Template", filters={"waba_id": waba_id, "status": "APPROVED"},
                          fields=["name", "template_name", "language", "category", "status", "components"],
                          order_by="template_name, language")
    return [view(row) for row in rows]


def view(row: Any) -> dict[str, Any]:
    components = json.loads(row.components or "[]")
    return {
        "name": row.name, "template_name": row.template_name, "language": row.language,
        "category": row.category or None, "status": row.status or "",
        **templates.summary(components),
        "parameters": [{"component": p.component, "index": p.index, "kind": p.kind, "example": p.example}
                       for p in templates.parameters(components)],
    }


def preview(template: str, values: dict[str, Any]) -> dict[str, Any]:
    if not frappe.db.exists("WhatsApp Template", template):
        frappe.throw(_("WhatsApp Template {0} does not exist.").format(template), frappe.DoesNotExistError)
    components = json.loads(frappe.db.get_value("WhatsApp Template", template, "components") or "[]")
    text, missing = templates.render(components, values)
    return {"text": text, "missing": missing}
