from __future__ import annotations

import frappe
from frappe.model.document import Document

MANAGER_ROLES = ("Voice Agent Manager", "System Manager")


class VoiceCall(Document):
    pass


def is_call_manager(user: str | None = None) -> bool:
    user = user or frappe.session.user
    return user == "Administrator" or bool(set(MANAGER_ROLES) & set(frappe.get_roles(user)))


def get_permission_query_conditions(user: str | None = None) -> str:
    """List/report filter: a Voice Agent User sees only the calls where they are the agent."""
    user = user or frappe.session.user
    if is_call_manager(user):
        return ""
    return f"`tabVoice Call`.`agent` = {frappe.db.escape(user)}"


def has_permission(doc: Document, ptype: str = "read", user: str | None = None) -> bool:
    user = user or frappe.session.user
    if is_call_manager(user):
        return True
    if doc.is_new() and ptype == "create":
        return True
    return doc.agent == user
